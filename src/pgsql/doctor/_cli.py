"""The ``pgsql doctor`` command: its options, reading files or stdin, the exit status.

:mod:`pgsql.cli` imports this package only when ``pgsql doctor`` runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, List, Sequence, Tuple

from .._passwords import redact
from ._diagnose import EXIT_BAD_INPUT, INTERFACES, diagnose
from ._read import UNIT_NAME, InputError, Unit, load_documents, parse_units
from ._render import render, to_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``pgsql doctor``'s options."""
    parser.description = (
        "Explain pgsql and postgresql_client relations from `juju show-unit` output (YAML or "
        "JSON). Give the client unit and the server units, e.g. `juju show-unit myapp/0 "
        "postgresql/0 --format json | pgsql doctor`. Exit status: 0 ready (with the credentials "
        "in Juju secrets: ready as far as show-unit shows), 1 not ready or cannot tell, 2 bad "
        "input."
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="`juju show-unit` output files; `-` or none reads standard input",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--juju-version",
        metavar="VERSION",
        help="the controller's Juju version (e.g. 3.6): decides whose data application-data is "
        "when the content does not tell",
    )
    parser.add_argument(
        "--unit", metavar="UNIT", help="the client unit to examine (default: every one shown)"
    )
    parser.add_argument(
        "--endpoint",
        metavar="NAME",
        help="examine relations on this endpoint even before any data is published: as pgsql "
        "unless their keys, or a PostgreSQL or PgBouncer charm's endpoint name (database), say "
        "postgresql_client",
    )
    parser.add_argument(
        "--interface",
        choices=INTERFACES,
        help="with --endpoint: read the relations on that endpoint as this interface, whatever "
        "their keys say",
    )


def _read_inputs(files: Sequence[str], stdin: IO[bytes]) -> List[Tuple[str, bytes]]:
    if not files:
        files = ["-"]
    out: List[Tuple[str, bytes]] = []
    for name in files:
        if name == "-":
            out.append(("<stdin>", stdin.read()))
            continue
        try:
            with open(name, "rb") as f:
                out.append((name, f.read()))
        except OSError as e:
            raise InputError(f"{name}: {e.strerror or e}") from None
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``pgsql doctor``; returns the exit status."""
    files: List[str] = list(args.files or [])
    try:
        if not files and sys.stdin.isatty():
            raise InputError(
                "no input: pipe `juju show-unit <client unit> <server unit> --format json` "
                "into pgsql doctor, or name files"
            )
        units: List[Unit] = []
        for label, raw in _read_inputs(files, sys.stdin.buffer):
            docs = load_documents(raw, label)
            for n, doc in enumerate(docs, 1):
                where = label if len(docs) == 1 else f"{label} document {n}"
                units.extend(parse_units(doc, where))
        if not units:
            raise InputError("no `juju show-unit` documents in the input (it is empty)")
        if args.unit is not None and not UNIT_NAME.match(args.unit):
            raise InputError(f"--unit {args.unit!r} is not a unit name such as myapp/0")
        diagnosis = diagnose(
            units,
            juju_version=args.juju_version,
            client_unit=args.unit,
            endpoint=args.endpoint,
            interface=args.interface,
        )
    except InputError as e:
        print(f"pgsql doctor: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    text = json.dumps(to_json(diagnosis), indent=2) + "\n" if args.json else render(diagnosis)
    sys.stdout.write(redact(text, diagnosis.secrets))
    return diagnosis.exit_code
