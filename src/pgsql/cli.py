"""The ``pgsql`` command: ``connstr``, ``doctor`` and ``demo``.

Each subcommand lives in its own module and is imported only when run, so ``pgsql connstr``
never imports ``ops``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Callable, List, Optional, Sequence

# subcommand -> (module, help); each module has ``add_arguments(parser)`` and ``run(args) -> int``.
_COMMANDS = {
    "connstr": ("pgsql._cmd_connstr", "parse, check and reformat a libpq connection string or URI"),
    "doctor": ("pgsql.doctor", "explain a pgsql relation from `juju show-unit` output"),
    "demo": ("pgsql.demo", "run the whole relation lifecycle against a real PostgreSQL"),
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``pgsql`` command line; returns the exit status."""
    args: List[str] = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="pgsql", description=(__doc__ or "pgsql").splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    name = args[0] if args and args[0] in _COMMANDS else None
    for command, (module_name, help_text) in _COMMANDS.items():
        p = sub.add_parser(command, help=help_text, description=help_text)
        if command == name:  # import only the module that runs
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            run: Callable[[argparse.Namespace], int] = module.run
            p.set_defaults(_run=run)
    ns = parser.parse_args(args)
    return ns._run(ns)
