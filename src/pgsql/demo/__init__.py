"""``pgsql demo``: the whole relation lifecycle between example charms, against a real PostgreSQL.

By default the client is the new-charm example, ``examples/postgresql-client-charm`` (the
README's charm, ``postgresql_client``): :mod:`pgsql.demo._new_charm` runs it. ``--charm 1.x``
(implied by ``--interface``) runs the 1.x example charm as described below.

A real PostgreSQL server is started in a temporary directory (:class:`pgsql._localpg.LocalPostgres`,
from the server binaries installed on the machine). Juju is simulated with ``ops.testing``: every
hook runs the example charms' real code in-process, and :class:`pgsql.testing.Model` carries the
databags and Juju secrets between the units the way Juju would (a unit sees a remote unit only
after its relation-joined hook; each changed bag queues relation-changed on the units that see
it; a new revision of a secret queues secret-changed on the units it is granted to; units take
turns, as they run in parallel under Juju). The server is ``examples/pgsql-provider``, one unit
of ``postgresql``, which provisions on the real server. ``--interface`` chooses what runs (by
default both, one after the other, on one model and one server):

``pgsql``
    The client is ``examples/pgsql-client`` (the 1.0.0 README example, unchanged), two units of
    ``myapp``, related on ``postgresql:db``. At the end the demo connects with the master
    connection string the client charm was given and queries the requested database and its
    ``citext`` extension.
``postgresql_client``
    The same charm code, two units of ``myapp-modern``, with only its metadata changed: its
    ``db`` endpoint says ``interface: postgresql_client`` (what Charmed PostgreSQL 16 speaks), and
    it is related on ``postgresql:database``. The seed asks for ``citext``, which this interface
    cannot carry: the demo sets the provider's ``plugin-citext-enable`` option, as an operator
    would, and the client's readiness notes ``extensions-by-config``. The credentials come in a
    Juju secret granted to the relation (``secret-user``). After connecting, the demo runs the
    provider's ``rotate-password`` action (ALTER ROLE ... PASSWORD, a new revision of the secret);
    the client units get secret-changed and ``master_changed``, and the demo connects with the
    rotated password (it works) and the old one (the server refuses it).

Every password (the server's superuser's, each client's, every revision of every secret) is
masked in what the demo prints, as text and as ``--json``. The JSON document holds the steps
(each hook, with its ``interface`` and ``phase``), ``postgresql`` (the server), the ``pgsql``
relation's ``databags``, ``readiness``, ``status`` and ``result`` at the top level (as before
``postgresql_client`` existed), and ``postgresql_client``: the same for that relation plus its
``secrets`` and the ``rotation``.

The example charms ship with the package: a wheel installs what the demo loads from them (their
charm code and ``charmcraft.yaml``, not their tests) under ``share/ops-lib-pgsql/examples`` of
the installation prefix, found through the package's installed-files record, so the installed
command runs from any directory. An editable install or a source tree uses the checkout's
``examples/`` (next to ``src/``); ``--examples DIR`` runs another copy.

The package's modules, each one job:

- ``__init__``: the command (options, what runs, the server's life) and the names tests use.
- ``_common``: the names, applications and error every part shares.
- ``_charms``: loading an example charm; where the installed ones are.
- ``_steps``: each hook the model runs, as a step of the walk-through.
- ``_output``: printing steps, bags (masked) and readiness; the JSON document.
- ``_lifecycle``: the Juju commands every run shares: deploy, databags, secrets, readiness,
  query, status.
- ``_pgsql``, ``_postgresql_client``: the 1.x charm's walk-through on each interface.
- ``_new_charm``: the new charm's walk-through (the default).
- ``_prefix``: its last part, a prefix request (``database="shop_*"``) served on the server.

Which passwords to hide is :mod:`pgsql._passwords`' rule, shared with ``pgsql doctor``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any, Dict, Generator, List, Optional, Tuple

from .._passwords import passwords_in
from ._charms import EXAMPLES, Charm, example_dirs, has_examples, load_charm
from ._common import (
    BOTH,
    CHOICES,
    CLIENT_APP,
    CLIENT_UNITS,
    INTERFACES,
    MODERN_APP,
    NEW_CHARM,
    OLD_CHARM,
    SERVER_APP,
    SIMULATED,
    DemoError,
)
from ._output import Printer, mask_bag
from ._pgsql import PgsqlWalkThrough
from ._postgresql_client import PostgresqlClientWalkThrough, modern_meta

__all__ = ["DemoError", "add_arguments", "load_charm", "modern_meta", "run"]

# what the walk-through hides and how it shows a bag, under the names the tests use
_secrets_of = passwords_in
_mask_bag = mask_bag


def _examples(args: argparse.Namespace) -> Path:
    given: Optional[str] = args.examples
    if given:
        root = Path(given)
        if not has_examples(root):
            raise DemoError(
                f"the example charms are not in {root}: --examples names a directory holding "
                f"{', '.join(n + '/' for n in EXAMPLES)} (the repository's examples/; "
                "python3 tasks.py demo runs a source checkout's)"
            )
        return root
    candidates = example_dirs()
    root = next((c for c in candidates if has_examples(c)), None)
    if root is None:
        looked = f" (looked in {', '.join(str(c) for c in candidates)})" if candidates else ""
        raise DemoError(
            f"the example charms are not installed with this pgsql{looked}: reinstall "
            "ops-lib-pgsql from its wheel, run a source checkout (git clone "
            "https://github.com/canonical/ops-lib-pgsql && cd ops-lib-pgsql && python3 tasks.py "
            "demo), or pass --examples DIR"
        )
    return root


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo`` options."""
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document instead of the walk-through"
    )
    parser.add_argument(
        "--charm",
        choices=(NEW_CHARM, OLD_CHARM),
        help="which client charm to run: new (examples/postgresql-client-charm, the README's "
        "charm on postgresql_client; the default) or 1.x (examples/pgsql-client, the 1.0.0 "
        "README charm; the default when --interface is given)",
    )
    parser.add_argument(
        "--interface",
        choices=CHOICES,
        help="which relation the 1.x charm runs: pgsql (the db endpoint), postgresql_client "
        "(what PostgreSQL 16 speaks, with a password rotation), or both, one after the other "
        "(its default); the new charm speaks postgresql_client only",
    )
    parser.add_argument(
        "--examples",
        metavar="DIR",
        help=f"directory holding {', '.join(n + '/' for n in EXAMPLES)} (default: the example "
        "charms installed with pgsql, or a source checkout's examples/)",
    )


@contextlib.contextmanager
def _sigterm_exits() -> Generator[None, None, None]:
    """SIGTERM raises SystemExit, so the server is stopped and its directory removed."""

    def handler(signum: int, frame: Optional[FrameType]) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _checkout() -> Optional[Path]:
    """The source checkout this ``pgsql`` runs from (``src/pgsql`` next to ``tasks.py``), if any."""
    import pgsql

    root = Path(pgsql.__file__).resolve().parents[2]
    return root if (root / "tasks.py").is_file() and (root / "src" / "pgsql").is_dir() else None


def _missing_packages() -> List[str]:
    """What of the ``demo`` extra cannot be imported, each with what it is for."""
    missing: List[str] = []
    try:
        import ops.testing
    except ImportError:  # pragma: no cover - ops is a dependency
        has_context = False
    else:
        has_context = getattr(ops.testing, "Context", None) is not None
    if not has_context:
        missing.append("ops.testing (ops >= 2.17 with its testing extra: Juju is simulated)")
    try:
        importlib.import_module("psycopg")
    except ImportError:
        missing.append("psycopg (the provider charm provisions with it)")
    return missing


def _preflight() -> Tuple[Any, Any]:
    """What the demo needs, or one error naming everything missing and how to install it."""
    from .. import _localpg

    problems: List[str] = []
    missing = _missing_packages()
    if missing:
        how = "pip install 'ops-lib-pgsql[demo]'"
        if _checkout() is not None:
            how += " (python3 tasks.py demo installs it)"
        problems.append(f"the demo needs {' and '.join(missing)}: {how}")
    try:
        _localpg.find_binaries()
    except _localpg.PostgresNotFound as exc:
        problems.append(str(exc))
    if problems:
        raise DemoError("; and ".join(problems))
    import ops.testing
    import psycopg

    return ops.testing, psycopg


def _charm(args: argparse.Namespace) -> str:
    """``--charm``: given, or 1.x when ``--interface`` is (it chose a 1.x run), else new."""
    given: Optional[str] = getattr(args, "charm", None)
    if given is None:
        return OLD_CHARM if getattr(args, "interface", None) else NEW_CHARM
    if given not in (NEW_CHARM, OLD_CHARM):
        raise DemoError(f"--charm is {NEW_CHARM} or {OLD_CHARM}, not {given!r}")
    return given


def _interfaces(args: argparse.Namespace) -> Tuple[str, ...]:
    chosen: str = getattr(args, "interface", None) or BOTH
    if _charm(args) == NEW_CHARM:
        if chosen not in ("postgresql_client", BOTH) or getattr(args, "interface", None) == BOTH:
            raise DemoError(
                f"the new example charm speaks postgresql_client only: --interface {chosen} "
                f"runs the 1.x charm (--charm {OLD_CHARM})"
            )
        return ("postgresql_client",)
    if chosen == BOTH:
        return INTERFACES
    if chosen not in INTERFACES:
        raise DemoError(f"--interface is one of {', '.join(CHOICES)}, not {chosen!r}")
    return (chosen,)


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 when every check passed, 1 with a clear message otherwise."""
    as_json: bool = bool(args.json)
    printer = Printer(as_json, sys.stdout)
    began = time.monotonic()
    doc: Dict[str, Any] = {
        "ok": False,
        "simulated": SIMULATED,
        "interface": getattr(args, "interface", None) or BOTH,  # what runs: set by _demo
        "steps": printer.steps,
    }
    try:
        with _sigterm_exits():
            _demo(args, printer, doc)
        doc["ok"] = True
    except DemoError as exc:
        doc["error"] = printer.scrub(str(exc))
    doc["seconds"] = round(time.monotonic() - began, 2)
    if as_json:
        print(printer.scrub(json.dumps(doc, indent=2, sort_keys=True)), flush=True)
    elif doc["ok"]:
        printer.line(f"\nDemo passed in {doc['seconds']:.1f}s; {doc['cleanup']}.")
    else:
        print(f"pgsql demo failed: {doc['error']}", file=sys.stderr, flush=True)
    return 0 if doc["ok"] else 1


def _intro(interfaces: Tuple[str, ...], client_charm: Charm) -> List[str]:
    """What the demo of the 1.x charm says it runs, before it starts."""
    if interfaces == INTERFACES:
        lines = [
            "pgsql demo: the pgsql and postgresql_client relations between the example charms, "
            "on a real PostgreSQL."
        ]
    else:
        lines = [
            f"pgsql demo: the {interfaces[0]} relation between two example charms, on a real "
            "PostgreSQL."
        ]
    lines.append(SIMULATED)
    if "pgsql" in interfaces:
        lines.append(f"  client: {CLIENT_APP} ({client_charm.directory}), {CLIENT_UNITS} units")
    if "postgresql_client" in interfaces:
        lines.append(
            f"  client: {MODERN_APP} ({client_charm.directory}), {CLIENT_UNITS} units: the same "
            "charm code, its db endpoint declared interface: postgresql_client"
        )
    return lines


def _demo(args: argparse.Namespace, printer: Printer, doc: Dict[str, Any]) -> None:
    _testing, psycopg = _preflight()
    from .. import _localpg
    from . import _new_charm as new

    interfaces = _interfaces(args)
    charm = _charm(args)
    doc["charm"] = charm
    doc["interface"] = BOTH if interfaces == INTERFACES else interfaces[0]
    root = _examples(args)
    if charm == NEW_CHARM:
        client_charm = new.load(root)
    else:
        client_charm = load_charm(root / "pgsql-client", "pgsql_demo_client_charm")
    server_charm = load_charm(root / "pgsql-provider", "pgsql_demo_provider_charm")
    line = printer.line
    intro = new.intro(client_charm) if charm == NEW_CHARM else _intro(interfaces, client_charm)
    for text in intro:
        line(text)
    line(f"  server: {SERVER_APP} ({server_charm.directory}), 1 unit")

    started = time.monotonic()
    try:
        pg = _localpg.LocalPostgres()
        pg.start()
    except _localpg.PostgresStartError as exc:
        raise DemoError(f"cannot start PostgreSQL: {exc}") from exc
    directory = pg.directory
    printer.secrets.add(pg.superuser_password)
    try:
        doc["postgresql"] = {
            "version": pg.version,
            "host": pg.host,
            "port": pg.port,
            "directory": str(directory),
            "run_as": pg.run_as,
            "start_seconds": round(time.monotonic() - started, 2),
        }
        line(
            f"\nPostgreSQL {pg.version} started on {pg.host}:{pg.port} in {directory}"
            + (f" (as {pg.run_as})" if pg.run_as else "")
            + f", {time.monotonic() - started:.1f}s"
        )
        lifecycle = _Walkthroughs(pg, client_charm, server_charm, printer, doc, psycopg)
        if charm == NEW_CHARM:
            new.NewCharmRun(lifecycle, client_charm).run(doc)
        else:
            lifecycle.run(interfaces)
    finally:
        pg.stop()
        gone = directory is not None and not directory.exists()
        doc["cleanup"] = (
            f"PostgreSQL stopped and {directory} removed"
            if gone
            else f"PostgreSQL stopped; could not remove {directory}"
        )
        doc["cleaned_up"] = gone


class _Walkthroughs(PgsqlWalkThrough, PostgresqlClientWalkThrough):
    """The 1.x charm's runs, one after the other, on one model and one server."""

    def run(self, interfaces: Tuple[str, ...]) -> None:
        for interface in interfaces:
            self.steps.interface = interface
            if interface == "pgsql":
                self.pgsql()
            else:
                self.postgresql_client(after_pgsql="pgsql" in interfaces)
