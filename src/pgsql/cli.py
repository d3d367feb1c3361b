"""The ``pgsql`` command: ``connstr``, ``doctor`` and ``demo``.

Each subcommand lives in its own module and is imported only when run, so ``pgsql connstr``
never imports ``ops``.

A closed standard output (``pgsql demo | head``) ends any command quietly, with the status a
command killed by SIGPIPE has in the shell, 141 (128 + 13), as Python's documentation advises
("Note on SIGPIPE"): no traceback, and what the command was doing is wound down first (the
demo's server stopped, its directory removed).
"""

from __future__ import annotations

import argparse
import importlib
import os
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


#: The exit status when standard output was closed early: the shell's for death by SIGPIPE.
PIPE_CLOSED = 141  # 128 + SIGPIPE (13)

DISTRIBUTION = "ops-lib-pgsql"


def version_line() -> str:
    """What ``pgsql --version`` prints: the installed distribution's version.

    From the distribution's metadata; a source tree that is not installed says so and gives the
    package's own ``__version__``.
    """
    from importlib import metadata

    try:
        return f"pgsql ({DISTRIBUTION}) {metadata.version(DISTRIBUTION)}"
    except metadata.PackageNotFoundError:
        import pgsql

        return f"pgsql ({DISTRIBUTION}, not installed) {pgsql.__version__}"


def _quiet_stdout() -> None:
    """Point standard output at the null device, so that nothing more fails writing to it.

    Python flushes ``sys.stdout`` again at exit: that would raise on the closed pipe.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``pgsql`` command line; returns the exit status.

    :data:`PIPE_CLOSED` when the reader of standard output went away.
    """
    try:
        try:
            status = _main(argv)
        finally:  # also after --help or --version: their text may still be in the buffer
            sys.stdout.flush()  # the last buffered lines may be the ones meeting the closed pipe
    except BrokenPipeError:
        _quiet_stdout()
        return PIPE_CLOSED
    return status


def _main(argv: Optional[Sequence[str]]) -> int:
    args: List[str] = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="pgsql",
        description=(__doc__ or "pgsql").splitlines()[0],
        formatter_class=_PlainHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=version_line(), help="show the version and exit"
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
