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
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import importlib
import importlib.machinery
import importlib.util
import json
import signal
import sys
import time
import warnings
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Dict, Generator, List, Mapping, Optional, Set, Tuple

from .. import protocol
from .._passwords import PASSWORD_KEYS, passwords_in, redact
from ..connstr import ConnectionString, ConnectionStringError, mask_value

__all__ = ["DemoError", "add_arguments", "load_charm", "modern_meta", "run"]

SIMULATED = (
    "Juju is simulated with ops.testing: each hook runs the example charms' real code "
    "in-process and the demo carries the databags between the units as Juju would. "
    "PostgreSQL is real."
)
MASK = "******"
CLIENT_APP = "myapp"  # the seed charm on pgsql
MODERN_APP = "myapp-modern"  # the same charm, its db endpoint declared postgresql_client
SERVER_APP = "postgresql"
MODERN_ENDPOINT = "database"  # the provider's postgresql_client endpoint
CLIENT_UNITS = 2
DATABASE = "mydbname"  # what the seed example requests
EXTENSION = "citext"
PLUGIN = "plugin-citext-enable"  # the provider's option creating it on postgresql_client
ROTATE = "rotate-password"  # the provider's action
REL_ID = 3
INTERFACES = ("pgsql", "postgresql_client")
BOTH = "both"
CHOICES = (*INTERFACES, BOTH)
NEW_CHARM = "new"  # --charm: examples/postgresql-client-charm, the default
OLD_CHARM = "1.x"  # --charm: examples/pgsql-client, the 1.0.0 README charm
_MAX_HOOKS = 300
_CLIENT_EVENTS = frozenset({*protocol.EVENT_NAMES, "database_relation_joined"})
_SERVER_EVENTS = frozenset({"request_changed", "relation_broken"})
_QUERY = (
    "SELECT current_database(), current_user,"
    " (SELECT extversion FROM pg_extension WHERE extname = 'citext')"
)
_CITEXT_QUERY = "SELECT 'A'::citext = 'a'::citext"


class DemoError(Exception):
    """The demo cannot run or did not reach its end; the message says why."""


# ---------------------------------------------------------------------------------------------
# Loading the example charms
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Charm:
    """An example charm loaded from its directory.

    Attributes:
        directory: the charm's root (holding ``charmcraft.yaml`` and ``src/charm.py``).
        charm_type: its ``CharmBase`` subclass.
        meta: its metadata (``charmcraft.yaml`` without ``config`` and ``actions``).
        config: its ``config`` section (``{"options": ...}``).
        actions: its ``actions`` section (action name to its description and ``params``).
    """

    directory: Path
    charm_type: Any
    meta: Dict[str, Any]
    config: Dict[str, Any]
    actions: Dict[str, Any]

    @property
    def peer(self) -> Optional[str]:
        """The charm's peer endpoint, if it has one."""
        peers: Dict[str, Any] = self.meta.get("peers") or {}
        return next(iter(peers), None)


def load_charm(directory: Path, module_name: str) -> Charm:
    """Load a charm's ``src/charm.py`` under ``module_name``, as Juju's dispatch would run it.

    The charm's ``src/`` is its import root (``charm.py`` imports its siblings as top-level
    modules): it is on ``sys.path`` only while the module runs, and the sibling modules it
    imported are dropped from ``sys.modules`` afterwards (the charm keeps its references), so
    two charms can both have a ``charm.py`` or a generic ``provision.py``.

    Raises:
        DemoError: no such charm, or it does not define exactly one ``CharmBase`` subclass.
    """
    import ops
    import yaml

    src = directory / "src"
    path = src / "charm.py"
    spec_file = directory / "charmcraft.yaml"
    if not path.is_file() or not spec_file.is_file():
        raise DemoError(f"{directory} is not a charm (no src/charm.py or charmcraft.yaml)")
    spec: Dict[str, Any] = yaml.safe_load(spec_file.read_text())
    before = set(sys.modules)
    sys.path.insert(0, str(src))
    try:
        loader = importlib.machinery.SourceFileLoader(module_name, str(path))
        module_spec = importlib.util.spec_from_loader(module_name, loader)
        if module_spec is None:  # pragma: no cover - a SourceFileLoader always yields a spec
            raise DemoError(f"cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        with warnings.catch_warnings():
            # the client example is the 1.x README charm: ops.lib.use on purpose
            warnings.filterwarnings("ignore", "ops.lib is deprecated", DeprecationWarning)
            loader.exec_module(module)
    finally:
        sys.path.remove(str(src))
        for name in set(sys.modules) - before - {module_name}:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if Path(file).parent == src:
                del sys.modules[name]
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ops.charm.CharmBase)
        and value.__module__ == module_name
    ]
    if len(classes) != 1:
        raise DemoError(f"{path} defines {len(classes)} charm classes, expected one")
    meta = {k: v for k, v in spec.items() if k not in ("config", "actions")}
    return Charm(
        directory,
        classes[0],
        meta,
        dict(spec.get("config") or {}),
        dict(spec.get("actions") or {}),
    )


EXAMPLES = ("pgsql-client", "pgsql-provider", "postgresql-client-charm")
# where pyproject.toml's data-files put the client example's charm code, under the install prefix
_INSTALLED_CLIENT = "share/ops-lib-pgsql/examples/pgsql-client/src/charm.py"


def _has_examples(root: Path) -> bool:
    return all((root / name / "src" / "charm.py").is_file() for name in EXAMPLES)


def example_dirs() -> List[Path]:
    """Where the example charms are looked for without ``--examples``, in order.

    The copy a wheel installed (the data files listed in the ``RECORD`` of the distribution
    installed next to this ``pgsql`` package), then the source checkout holding this package
    (``examples/`` next to ``src/``: an editable install or a source tree on ``sys.path``).
    """
    from importlib import metadata

    import pgsql

    package = Path(pgsql.__file__).resolve().parent
    found: List[Path] = []
    for info in sorted(package.parent.glob("ops_lib_pgsql-*.dist-info")):
        for file in metadata.Distribution.at(info).files or ():
            if file.as_posix().endswith(_INSTALLED_CLIENT):
                found.append(Path(file.locate()).resolve().parents[2])
    if package.parent.name == "src":
        found.append(package.parent.parent / "examples")
    return found


def _examples(args: argparse.Namespace) -> Path:
    given: Optional[str] = args.examples
    if given:
        root = Path(given)
        if not _has_examples(root):
            raise DemoError(
                f"the example charms are not in {root}: --examples names a directory holding "
                f"{', '.join(n + '/' for n in EXAMPLES)} (the repository's examples/; "
                "python3 tasks.py demo runs a source checkout's)"
            )
        return root
    candidates = example_dirs()
    root = next((c for c in candidates if _has_examples(c)), None)
    if root is None:
        looked = f" (looked in {', '.join(str(c) for c in candidates)})" if candidates else ""
        raise DemoError(
            f"the example charms are not installed with this pgsql{looked}: reinstall "
            "ops-lib-pgsql from its wheel, run a source checkout (git clone "
            "https://github.com/canonical/ops-lib-pgsql && cd ops-lib-pgsql && python3 tasks.py "
            "demo), or pass --examples DIR"
        )
    return root


# ---------------------------------------------------------------------------------------------
# Masking secrets
# ---------------------------------------------------------------------------------------------


def _mask_conn(value: str) -> str:
    parts: List[str] = []
    for raw in protocol.split_standbys(value) or [value]:
        try:
            cs = ConnectionString(raw)
        except ConnectionStringError:
            return MASK  # cannot tell where a password would be: show nothing
        parts.append(cs.masked(MASK))
    return "\n".join(parts)


_secrets_of = passwords_in  # every password in a bag or a secret's content, for the scrubber


def _mask_bag(bag: Mapping[str, str]) -> Dict[str, str]:
    """A bag (or a secret's content) with every password masked, for showing it."""
    out: Dict[str, str] = {}
    for key, value in bag.items():
        if key in ("master", "standbys"):
            out[key] = _mask_conn(value)
        elif key in PASSWORD_KEYS:
            out[key] = MASK
        elif key.startswith("db-") and value.startswith("{"):  # the provider's peer entries
            try:
                entry: Dict[str, str] = json.loads(value)
            except ValueError:
                out[key] = MASK
                continue
            out[key] = json.dumps(
                {k: (MASK if k == "password" else v) for k, v in entry.items()}, sort_keys=True
            )
        else:  # uris and read-only-uris included: their userinfo password is cut
            out[key] = mask_value(value, MASK)
    return out


# ---------------------------------------------------------------------------------------------
# The walk-through: each hook pgsql.testing.Model runs, as a step (passwords masked)
# ---------------------------------------------------------------------------------------------


def _status_text(status: Any) -> str:
    return status.name + (f": {status.message}" if status.message else "")


def _client_readiness(charm: Any) -> Optional[protocol.Readiness]:
    """What the client charm's PostgreSQLClient makes of the relation (None: no relation)."""
    readiness: Optional[protocol.Readiness] = charm.db.readiness()
    return readiness


class _Steps:
    """Turns every hook the model runs into a step of the walk-through, as it runs."""

    def __init__(self, printer: _Printer) -> None:
        self.printer = printer
        self.model: Any = None  # the pgsql.testing.Model, once made: its secrets are scrubbed
        self.phase = ""
        self.interface = ""
        self.status: Dict[str, str] = {}  # by unit: the status its last hook left
        self.readiness: Dict[str, protocol.Readiness] = {}  # by client unit: its last verdict

    def learn_secrets(self) -> None:
        """Tell the scrubber every password in every revision of every secret of the model."""
        if self.model is None:
            return
        for record in self.model.secrets.values():
            for content in record.revisions:
                self.printer.secrets |= passwords_in(content)

    def __call__(self, run: Any) -> None:
        # before anything of this hook is printed: the passwords it may have brought
        self.learn_secrets()
        server = run.unit.startswith(f"{SERVER_APP}/")
        names = _SERVER_EVENTS if server else _CLIENT_EVENTS
        wrote: Dict[str, Dict[str, Optional[str]]] = run.wrote
        for changes in wrote.values():
            written = {k: v for k, v in changes.items() if v is not None}
            self.printer.secrets |= passwords_in(written)
        step: Dict[str, Any] = {
            "n": run.n,
            "interface": self.interface,
            "phase": self.phase,
            "unit": run.unit,
            "hook": run.hook,
            "remote_unit": run.remote_unit,
            "events": [e for e in run.events if e in names],
            "deferred": [path.rpartition("/")[2] for path in run.deferred],
            "wrote": {
                bag: {k: (_mask_bag({k: v})[k] if v is not None else None) for k, v in c.items()}
                for bag, c in wrote.items()
            },
        }
        action = getattr(run, "action", None)
        if action is not None:
            step["action"] = {
                "name": action.name,
                "params": _masked_values(action.params),
                "results": _masked_values(action.results),
                "failure": None if action.failure is None else mask_value(action.failure, MASK),
            }
        status = _status_text(run.status)
        if status != self.status.get(run.unit, "unknown"):
            step["status"] = status
        self.status[run.unit] = status
        if run.seen is not None:
            self.readiness[run.unit] = run.seen
            step["readiness"] = _readiness_json(run.seen)
        self.printer.step(step)


def _masked_values(values: Mapping[str, Any]) -> Dict[str, Any]:
    """Action parameters or results, any password in a string value masked."""
    return {k: mask_value(v, MASK) if isinstance(v, str) else v for k, v in values.items()}


def _juju(command: Callable[[], object]) -> Any:
    """Run a model command: the example charms' hooks, until quiet; what the command returned."""
    from .. import testing as pgt

    try:
        with warnings.catch_warnings():
            # the client example is the 1.x README charm: ops.lib.use on purpose
            warnings.filterwarnings("ignore", "ops.lib is deprecated", DeprecationWarning)
            return command()
    except pgt.HookStormError:
        raise DemoError(
            f"more than {_MAX_HOOKS} hooks: the charms keep changing their bags"
        ) from None
    except pgt.ModelError as exc:
        raise DemoError(str(exc)) from exc


def _readiness_json(r: protocol.Readiness) -> Dict[str, Any]:
    return {
        "ready": r.ready,
        "why": r.why,
        "source": r.source,
        "master": _mask_conn(str(r.master)) if r.master is not None else None,
        "reasons": [
            {"code": x.code, "message": mask_value(str(x), MASK), "blocking": x.blocking}
            for x in r.reasons
        ],
    }


def _stored_charm_state(unit: Any) -> Dict[str, Any]:
    """The client charm's own StoredState (``_state``: db_conn_str, db_uri, db_ro_uris)."""
    for stored in unit.stored:
        content: Dict[str, Any] = dict(stored.content)
        if stored.name == "_state" and "db_conn_str" in content:
            return content
    return {}


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


class _Printer:
    """Prints steps as they happen (text mode) and keeps them for the JSON document."""

    def __init__(self, as_json: bool, stream: Any) -> None:
        self.as_json = as_json
        self.stream = stream
        self.steps: List[Dict[str, Any]] = []
        self.secrets: Set[str] = set()

    def scrub(self, text: str) -> str:
        return redact(text, self.secrets, MASK)

    def line(self, text: str = "") -> None:
        if not self.as_json:
            print(self.scrub(text), file=self.stream, flush=True)

    def bag(self, content: Mapping[str, str], indent: int = 4) -> None:
        """A masked bag (or secret content), one sorted key a line."""
        pad = " " * indent
        for key, value in sorted(content.items()):
            self.line(f"{pad}{key} = {value}".replace("\n", "\n" + " " * (indent + 3 + len(key))))

    def step(self, step: Dict[str, Any]) -> None:
        self.steps.append(step)
        if self.as_json:
            return
        remote = f" ({step['remote_unit']})" if step["remote_unit"] else ""
        self.line(f"  [{step['n']:>2}] {step['unit']:<14} {step['hook']}{remote}")
        if step["events"]:
            self.line(f"         events: {', '.join(step['events'])}")
        if step["deferred"]:
            self.line(f"         deferred: {', '.join(step['deferred'])}")
        action = step.get("action")
        if action is not None:
            results = ", ".join(f"{k}={v}" for k, v in sorted(action["results"].items()))
            self.line(f"         results: {results or '(none)'}")
            if action["failure"] is not None:
                self.line(f"         failed: {action['failure']}")
        for bag, changes in step["wrote"].items():
            self.line(f"         wrote {bag}:")
            for key, value in changes.items():
                shown = "(deleted)" if value is None else value.replace("\n", "\n" + " " * 14)
                self.line(f"           {key} = {shown}")
        if "status" in step:
            self.line(f"         status: {step['status']}")
        r = step.get("readiness")
        if r is not None:
            notes = ", ".join(x["code"] for x in r["reasons"] if not x["blocking"])
            if r["ready"]:
                more = f"; notes: {notes}" if notes else ""
                self.line(f"         readiness: READY (master from {r['source']}{more})")
            else:
                codes = ", ".join(x["code"] for x in r["reasons"] if x["blocking"])
                self.line(f"         readiness: not ready: {r['why']} [{codes}]")


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


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
    printer = _Printer(as_json, sys.stdout)
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


def _demo(args: argparse.Namespace, printer: _Printer, doc: Dict[str, Any]) -> None:
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
        lifecycle = _Lifecycle(pg, client_charm, server_charm, printer, doc, psycopg)
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


def modern_meta(meta: Mapping[str, Any], endpoint: str = "db") -> Dict[str, Any]:
    """A copy of a charm's metadata whose ``requires`` ``endpoint`` speaks ``postgresql_client``.

    What a charm author changes to move a ``pgsql`` charm to PostgreSQL 16 when the charm has
    only this endpoint: the metadata, not the code (``PostgreSQLClient(self, 'db')`` speaks
    whichever interface the endpoint declares).

    Raises:
        DemoError: the charm has no such ``requires`` endpoint.
    """
    copied: Dict[str, Any] = copy.deepcopy(dict(meta))
    requires: Dict[str, Any] = copied.get("requires") or {}
    spec = requires.get(endpoint)
    if not isinstance(spec, dict):
        raise DemoError(f"the client charm has no requires endpoint {endpoint!r}")
    typed: Dict[str, Any] = spec  # pyright: ignore[reportUnknownVariableType]
    typed["interface"] = "postgresql_client"
    return copied


class _Lifecycle:
    """The demo's Juju commands, run on one model, with what they show."""

    def __init__(
        self,
        pg: Any,
        client_charm: Charm,
        server_charm: Charm,
        printer: _Printer,
        doc: Dict[str, Any],
        psycopg: Any,
    ) -> None:
        from .. import testing as pgt

        self.pg = pg
        self.client_charm = client_charm
        self.server_charm = server_charm
        self.printer = printer
        self.line = printer.line
        self.doc = doc
        self.psycopg = psycopg
        self.steps = _Steps(printer)
        self.model: Any = pgt.Model(max_hooks=_MAX_HOOKS, on_hook=self.steps)
        self.steps.model = self.model
        self.server_added = False

    def run(self, interfaces: Tuple[str, ...]) -> None:
        for interface in interfaces:
            self.steps.interface = interface
            if interface == "pgsql":
                self.pgsql()
            else:
                self.postgresql_client(after_pgsql="pgsql" in interfaces)

    # ---- the parts both relations share ---------------------------------------------------

    def deploy(self, app: str, meta: Dict[str, Any], address: Callable[[int], str]) -> Any:
        """Add a client application (and the server, the first time); deploy them."""
        from .. import testing as pgt

        client = self.model.add_app(
            app,
            self.client_charm.charm_type,
            units=CLIENT_UNITS,
            meta=meta,
            config=self.client_charm.config,
            address=address,
            inspect=_client_readiness,
        )
        command = f"juju deploy {app} -n {CLIENT_UNITS}"
        with_server = not self.server_added
        if with_server:
            self.model.add_app(
                SERVER_APP,
                self.server_charm.charm_type,
                units=1,
                meta=self.server_charm.meta,
                config=self.server_charm.config,
                actions=self.server_charm.actions,
                options={"admin-dsn": self.pg.dsn(), "host": self.pg.host, "port": self.pg.port},
                address=pgt.Server.address,
            )
            self.server_added = True
            command += f"; juju deploy {SERVER_APP}"
        self.steps.phase = "deploy"
        self.line(f"\n== {command}")
        if with_server:
            self.line(
                f"   (config of {SERVER_APP}: admin-dsn=<superuser on the demo server>, "
                f"host={self.pg.host}, port={self.pg.port})"
            )
        _juju(self.model.deploy)
        return client

    def databags(self, rel_id: int, endpoint: str) -> Dict[str, Dict[str, str]]:
        shown = {
            name if "/" in name else f"{name} (app)": _mask_bag(bag)
            for name, bag in self.model.relation(rel_id).databags().items()
        }
        self.line(f"\n== the {endpoint} relation's databags, settled (passwords masked)")
        for bag, content in shown.items():
            self.line(f"  {bag}:")
            self.printer.bag(content)
        return shown

    def readiness(self, client: Any) -> Dict[str, Any]:
        found: Dict[str, Any] = {}
        self.line("\n== readiness, as each client unit's PostgreSQLClient sees it")
        for unit in client.units.values():
            r = self.steps.readiness.get(unit.name)
            found[unit.name] = _readiness_json(r) if r is not None else None
            if r is None or not r.ready:
                self.line(f"  {unit.name}: not ready ({r.why if r else '?'})")
                continue
            self.line(f"  {unit.name}: READY")
            for note in r.reasons:
                self.line(f"    note {note.code}: {mask_value(str(note), MASK)}")
        return found

    def kept_master(self, client: Any) -> ConnectionString:
        """The master every unit of ``client`` kept from master_changed (all the same)."""
        kept = {u.name: _stored_charm_state(u) for u in client.units.values()}
        leader = kept[f"{client.name}/0"]
        conn_str = leader.get("db_conn_str")
        if not conn_str:
            r = self.steps.readiness.get(f"{client.name}/0")
            raise DemoError(
                f"{client.name}/0 was never given a master connection string; "
                f"last readiness: {_readiness_json(r) if r is not None else None}"
            )
        for name, state in kept.items():
            if state.get("db_conn_str") != conn_str:
                raise DemoError(f"{name} holds another master than the leader")
        master = ConnectionString(conn_str)
        if master.password:
            self.printer.secrets.add(master.password)
        return master

    def query(self, master: ConnectionString, app: str, user: str) -> Dict[str, Any]:
        """Connect as the client charm would and use the requested database and citext."""
        shown = master.masked(MASK)
        self.line("\n== connect with the master connection string the client charm was given")
        self.line(f"  every {app} unit stored (from master_changed): {shown}")
        try:
            with self.psycopg.connect(master.conn_str, connect_timeout=10) as conn:
                row = conn.execute(_QUERY).fetchone()
                equal = conn.execute(_CITEXT_QUERY).fetchone()
        except self.psycopg.Error as exc:
            raise DemoError(f"{app}'s master does not work: {_server_message(str(exc))}") from exc
        result = {
            "conn_str": str(shown),
            "database": row[0],
            "user": row[1],
            "citext_version": row[2],
            "citext_equal": "t" if equal[0] else "f",
        }
        self.line(f"  > {_QUERY}")
        self.line(f"    {row[0]} | {row[1]} | {row[2]}")
        self.line(f"  > {_CITEXT_QUERY}")
        self.line(f"    {result['citext_equal']}")
        if (row[0], row[1]) != (DATABASE, user) or row[2] is None or not equal[0]:
            raise DemoError(f"unexpected result: {result}")
        return result

    def status(self, units: List[Any]) -> Dict[str, str]:
        return {u.name: self.steps.status.get(u.name, "unknown") for u in units}

    # ---- pgsql ----------------------------------------------------------------------------

    def pgsql(self) -> None:
        from .. import testing as pgt

        client = self.deploy(CLIENT_APP, self.client_charm.meta, pgt.Client.address)
        self.steps.phase = "relate"
        self.line(f"\n== juju integrate {CLIENT_APP}:db {SERVER_APP}:db")
        self.line(
            "   every hook below runs on one unit; 'wrote' is what that hook changed in a databag"
        )
        _juju(lambda: self.model.relate(f"{CLIENT_APP}:db", f"{SERVER_APP}:db", relation_id=REL_ID))
        doc = self.doc
        doc["databags"] = self.databags(REL_ID, "db")
        doc["readiness"] = self.readiness(client)
        doc["status"] = self.status(self.model.units())
        self.line(f"  {SERVER_APP}/0 status: {doc['status'][f'{SERVER_APP}/0']}")
        master = self.kept_master(client)
        doc["result"] = self.query(master, CLIENT_APP, f"juju_{CLIENT_APP}")

    # ---- postgresql_client ----------------------------------------------------------------

    def postgresql_client(self, *, after_pgsql: bool) -> None:
        part: Dict[str, Any] = {"app": MODERN_APP, "endpoint": MODERN_ENDPOINT}
        self.doc["postgresql_client"] = part
        line = self.line
        if after_pgsql:
            line(
                f"\n=== the same charm over postgresql_client (Charmed PostgreSQL 16 speaks "
                f"nothing else), as a second application, {MODERN_APP}"
            )
        client = self.deploy(MODERN_APP, modern_meta(self.client_charm.meta), _modern_address)

        self.steps.phase = "config"
        line(f"\n== juju config {SERVER_APP} {PLUGIN}=true")
        line(
            "   (postgresql_client carries no extension requests: the operator enables citext "
            "on the server, as on Charmed PostgreSQL)"
        )
        _juju(lambda: self.model.config(SERVER_APP, {PLUGIN: True}))

        existed = self.database_exists()
        part["database_existed"] = existed
        self.steps.phase = "relate"
        line(f"\n== juju integrate {MODERN_APP}:db {SERVER_APP}:{MODERN_ENDPOINT}")
        if existed:
            line(
                f"   ({DATABASE} exists already, created for {CLIENT_APP} with citext: the seed "
                f"charm asks for it by name; {SERVER_APP} gives this relation its own login role "
                "and CONNECT on it)"
            )
        line("   every hook below runs on one unit; 'wrote' is what that hook changed in a databag")
        rel = _juju(
            lambda: self.model.relate(f"{MODERN_APP}:db", f"{SERVER_APP}:{MODERN_ENDPOINT}")
        )
        rel_id: int = rel.id
        part["relation_id"] = rel_id
        user = f"relation_id_{rel_id}"
        part["databags"] = self.databags(rel_id, MODERN_ENDPOINT)
        part["secrets"] = self.secrets(rel_id)
        part["readiness"] = self.readiness(client)
        units = [*client.units.values(), *self.model.app(SERVER_APP).units.values()]
        part["status"] = self.status(units)
        line(f"  {SERVER_APP}/0 status: {part['status'][f'{SERVER_APP}/0']}")
        for unit in client.units.values():
            r = self.steps.readiness.get(unit.name)
            codes: Set[str] = {x.code for x in r.reasons} if r is not None else set()
            if r is None or not r.ready or protocol.EXTENSIONS_BY_CONFIG not in codes:
                raise DemoError(f"{unit.name} is not ready with the extensions-by-config note")
        old = self.kept_master(client)
        part["result"] = self.query(old, MODERN_APP, user)
        part["rotation"] = self.rotate(client, rel_id, old, user)

    def database_exists(self) -> bool:
        with self.psycopg.connect(self.pg.dsn(), connect_timeout=10) as conn:
            row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            return row.fetchone() is not None

    def secrets(self, rel_id: int) -> List[Dict[str, Any]]:
        """The secrets granted on the relation: who owns them, their content masked."""
        self.steps.learn_secrets()
        shown: List[Dict[str, Any]] = []
        for record in self.model.secrets.values():
            if rel_id not in record.grants:
                continue
            grants: Dict[str, List[str]] = {
                str(k): sorted(v) for k, v in sorted(record.grants.items())
            }
            content = _mask_bag(record.content)
            revision = len(record.revisions)
            shown.append(
                {
                    "id": record.id,
                    "owner": record.owner,
                    "label": record.label,
                    "granted": grants,
                    "revision": revision,
                    "content": content,
                }
            )
            granted = "; ".join(f"relation {k}: {', '.join(v)}" for k, v in grants.items())
            self.line(
                f"\n== the secret {record.id} (owner {record.owner}, granted to {granted}, "
                f"revision {revision}; content masked)"
            )
            self.printer.bag(content, indent=2)
        return shown

    def rotate(self, client: Any, rel_id: int, old: ConnectionString, user: str) -> Dict[str, Any]:
        """rotate-password on the provider: the clients follow; the new password works."""
        line = self.line
        self.steps.phase = "rotate"
        params = {"relation-id": rel_id}
        line(f"\n== juju run {SERVER_APP}/0 {ROTATE} relation-id={rel_id}")
        line(
            f"   (ALTER ROLE {user} PASSWORD on the server; a new revision of the relation's "
            "secret, which Juju tells the client units with secret-changed)"
        )
        first = len(self.printer.steps)
        run = _juju(lambda: self.model.run_action(f"{SERVER_APP}/0", ROTATE, params))
        outcome = run.action
        if outcome is None or not outcome.ok:
            why = outcome.failure if outcome is not None else "no outcome"
            raise DemoError(f"{ROTATE} failed: {why}")
        self.steps.learn_secrets()
        told = sorted(
            step["unit"]
            for step in self.printer.steps[first:]
            if step["hook"] == "secret-changed" and "master_changed" in step["events"]
        )
        expected = sorted(u.name for u in client.units.values())
        if told != expected:
            raise DemoError(f"master_changed after the rotation on {told}, not on {expected}")
        new = self.kept_master(client)
        if new.password == old.password or new != old.replace(password=new.password):
            raise DemoError("the client units did not keep the rotated password")
        records = [r for r in self.model.secrets.values() if rel_id in r.grants]
        revisions = {r.id: len(r.revisions) for r in records}
        for record in records:
            tracked = sorted(u for u, i in record.tracked.items() if i == len(record.revisions) - 1)
            line(
                f"\n  the secret {record.id} is at revision {len(record.revisions)}; units "
                f"tracking it: {', '.join(tracked) or 'none'}"
            )
        line("\n== connect again, with the rotated password and with the old one")
        line(f"  every {MODERN_APP} unit stored (from master_changed): {new.masked(MASK)}")
        try:
            with self.psycopg.connect(new.conn_str, connect_timeout=10) as conn:
                row = conn.execute("SELECT current_user").fetchone()
        except self.psycopg.Error as exc:
            raise DemoError(
                f"the rotated password does not work: {_server_message(str(exc))}"
            ) from exc
        line(f"  new password: connected as {row[0]}")
        try:
            self.psycopg.connect(old.conn_str, connect_timeout=10).close()
        except self.psycopg.OperationalError as exc:
            refused = _server_message(str(exc))
        else:
            raise DemoError("the old password still works after the rotation")
        if "password authentication failed" not in refused:
            raise DemoError(f"the old password could not be tried: {refused}")
        line(f"  old password: refused: {refused}")
        if row[0] != user:
            raise DemoError(f"connected as {row[0]}, not {user}")
        return {
            "action": {
                "name": ROTATE,
                "params": params,
                "results": _masked_values(outcome.results),
            },
            "secret_revisions": revisions,
            "master_changed": told,
            "conn_str": new.masked(MASK),
            "new_password": {"connected": True, "user": row[0]},
            "old_password": {"refused": True, "error": refused},
        }


def _modern_address(number: int) -> str:
    """Units of the postgresql_client client: ``203.0.113.(10+n)`` (documentation range)."""
    return f"203.0.113.{10 + number}"


def _server_message(error: str) -> str:
    """The server's reason in a libpq connection error (its last ``FATAL:`` line)."""
    for text in reversed(error.strip().splitlines()):
        _, fatal, reason = text.partition("FATAL:")
        if fatal:
            return reason.strip()
    return error.strip().splitlines()[-1] if error.strip() else error
