"""``pgsql connstr``: parse, check and reformat a libpq connection string or URI.

Reads the string from the argument, or from standard input when it is absent or ``-``, and
prints it in canonical keyword/value form (the default), as a URI (``--uri``) or as a JSON
object of keyword to value (``--json``). Passwords and other secrets print as ``********``
unless ``--show-password`` is given, and so does whatever follows ``password=`` inside another
value (separators mangled into one value, as in ``dbname=x|password=y``). A malformed string is
reported on one line of standard error, with exit status 2. Only the standard library is
imported (never ``ops``).
"""

from __future__ import annotations

import argparse
import json
import sys

from .connstr import MASK, SECRET_KEYWORDS, ConnectionString, ConnectionStringError, mask_value

_PROG = "pgsql connstr"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``connstr`` options to ``parser``."""
    parser.add_argument(
        "conn_str",
        nargs="?",
        default="-",
        metavar="CONNSTR",
        help="keyword/value connection string or postgresql:// URI; '-' or absent reads stdin",
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--uri", action="store_true", help="print a postgresql:// URI")
    fmt.add_argument("--json", action="store_true", help="print a JSON object of keyword: value")
    parser.add_argument(
        "--show-password",
        action="store_true",
        help="print passwords and other secrets instead of ********",
    )


def _read(arg: str) -> str:
    if arg != "-":
        return arg
    text = sys.stdin.read()
    # A trailing line end is how the string was typed or piped, not part of it (in a URI it
    # would end up inside the last component).
    if text.endswith("\n"):
        text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
    return text


def run(args: argparse.Namespace) -> int:
    """Run ``pgsql connstr``; returns the exit status (0, or 2 for a malformed string)."""
    try:
        cs = ConnectionString(_read(args.conn_str))
    except (ConnectionStringError, UnicodeDecodeError) as e:
        message = str(e) if isinstance(e, ConnectionStringError) else "input is not valid UTF-8"
        print(f"{_PROG}: error: {message}", file=sys.stderr)
        return 2
    show: bool = args.show_password
    if args.json:
        data = cs.to_dict()
        if not show:
            data = {
                k: MASK if k in SECRET_KEYWORDS else mask_value(v, keyword=k)
                for k, v in data.items()
            }
        out = json.dumps(data, sort_keys=True)
    elif args.uri:
        out = cs.uri if show else cs.masked_uri()
    else:
        out = str(cs) if show else cs.masked()
    print(out)
    return 0
