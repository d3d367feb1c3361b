"""The ``pgsql`` command: ``connstr``, ``doctor`` and ``demo``.

Each subcommand lives in its own module and is imported only when run, so ``pgsql connstr``
never imports ``ops``.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from typing import Callable, List, Optional, Sequence

# subcommand -> (module, help); each module has ``add_arguments(parser)`` and ``run(args) -> int``.
_COMMANDS = {
    "connstr": ("pgsql._cmd_connstr", "parse, check and reformat a libpq connection string or URI"),
    "doctor": (
        "pgsql.doctor",
        "explain a pgsql or postgresql_client relation from `juju show-unit` output",
    ),
    "demo": ("pgsql.demo", "run the whole relation lifecycle against a real PostgreSQL"),
}

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`(~?)([^`<]*?)\s*(?:<([^`>]*)>)?`")


def _role_text(match: re.Match[str]) -> str:
    tilde, title, target = match.group(1), match.group(2), match.group(3)
    if target:  # :role:`title <target>`
        return title
    return title.rsplit(".", 1)[-1] if tilde else title


def _plain(text: str) -> str:
    """Turn the reST of a docstring into the plain text shown by ``--help``.

    Roles show what Sphinx would (``:class:`x.Y``` gives ``x.Y``, ``:func:`~x.y``` gives ``y``,
    ``:ref:`title <target>``` gives ``title``), inline literals lose their double backquotes, and
    a paragraph ending in ``::`` (a literal block follows) ends in ``:``.
    """
    text = _ROLE.sub(_role_text, text)
    text = text.replace("``", "")
    return re.sub(r"(\S)::$", r"\1:", text, flags=re.MULTILINE)


class _PlainHelpFormatter(argparse.HelpFormatter):
    """Every description, epilog and option help is shown through :func:`_plain`."""

    def _format_text(self, text: str) -> str:
        return super()._format_text(_plain(text))

    def _get_help_string(self, action: argparse.Action) -> Optional[str]:
        help_text = super()._get_help_string(action)
        return None if help_text is None else _plain(help_text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``pgsql`` command line; returns the exit status."""
    args: List[str] = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="pgsql",
        description=(__doc__ or "pgsql").splitlines()[0],
        formatter_class=_PlainHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    name = args[0] if args and args[0] in _COMMANDS else None
    for command, (module_name, help_text) in _COMMANDS.items():
        p = sub.add_parser(
            command, help=help_text, description=help_text, formatter_class=_PlainHelpFormatter
        )
        if command == name:  # import only the module that runs
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            run: Callable[[argparse.Namespace], int] = module.run
            p.set_defaults(_run=run)
    ns = parser.parse_args(args)
    return ns._run(ns)
