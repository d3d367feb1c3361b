"""``pgsql demo``: the whole ``pgsql`` relation lifecycle between the two example charms.

A real PostgreSQL server is started in a temporary directory (:class:`pgsql._localpg.LocalPostgres`,
from the server binaries installed on the machine). Juju is simulated with ``ops.testing``: every
hook runs the example charms' real code in-process, and :class:`pgsql.testing.Model` carries the
databags between the units the way Juju would (a unit sees a remote unit only after its
relation-joined hook; each changed bag queues relation-changed on the units that see it; units
take turns, as they run in parallel under Juju). The client is ``examples/pgsql-client`` (the
1.0.0 README example, unchanged), two units of ``myapp``; the server is
``examples/pgsql-provider``, one unit of ``postgresql``, which provisions on the real server. At
the end the demo connects with the master connection string the client charm was given and
queries the requested database.

The example charms ship with the package: a wheel installs what the demo loads from them (their
charm code and ``charmcraft.yaml``, not their tests) under ``share/ops-lib-pgsql/examples`` of
the installation prefix, found through the package's installed-files record, so the installed
command runs from any directory. An editable install or a source tree uses the checkout's
``examples/`` (next to ``src/``); ``--examples DIR`` runs another copy.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
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

from . import protocol
from .connstr import ConnectionString, ConnectionStringError, mask_value

__all__ = ["DemoError", "add_arguments", "load_charm", "run"]

SIMULATED = (
    "Juju is simulated with ops.testing: each hook runs the example charms' real code "
    "in-process and the demo carries the databags between the units as Juju would. "
    "PostgreSQL is real."
)
MASK = "******"
CLIENT_APP = "myapp"
SERVER_APP = "postgresql"
CLIENT_UNITS = 2
DATABASE = "mydbname"  # what the seed example requests
EXTENSION = "citext"
REL_ID = 3
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


EXAMPLES = ("pgsql-client", "pgsql-provider")
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
                "pgsql-client/ and pgsql-provider/ (the repository's examples/; python3 "
                "tasks.py demo runs a source checkout's)"
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


def _mask_bag(bag: Mapping[str, str]) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for key, value in bag.items():
        if key in ("master", "standbys"):
            out[key] = _mask_conn(value)
        elif key.startswith("db-") and value.startswith("{"):  # the provider's peer entries
            try:
                entry: Dict[str, str] = json.loads(value)
            except ValueError:
                out[key] = MASK
                continue
            out[key] = json.dumps(
                {k: (MASK if k == "password" else v) for k, v in entry.items()}, sort_keys=True
            )
        else:
            out[key] = mask_value(value, MASK)
    return out


def _secrets_of(bag: Mapping[str, str]) -> Set[str]:
    found: Set[str] = set()
    for key, value in bag.items():
        if key in ("master", "standbys"):
            for raw in protocol.split_standbys(value):
                with contextlib.suppress(ConnectionStringError):
                    password = ConnectionString(raw).password
                    if password:
                        found.add(password)
        elif key.startswith("db-") and value.startswith("{"):
            with contextlib.suppress(ValueError, AttributeError):
                password = json.loads(value).get("password")
                if isinstance(password, str) and password:
                    found.add(password)
    return found


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
        self.phase = ""
        self.status: Dict[str, str] = {}  # by unit: the status its last hook left
        self.readiness: Dict[str, protocol.Readiness] = {}  # by client unit: its last verdict

    def __call__(self, run: Any) -> None:
        names = _CLIENT_EVENTS if run.unit.startswith(f"{CLIENT_APP}/") else _SERVER_EVENTS
        wrote: Dict[str, Dict[str, Optional[str]]] = run.wrote
        for changes in wrote.values():
            written = {k: v for k, v in changes.items() if v is not None}
            self.printer.secrets |= _secrets_of(written)
        step: Dict[str, Any] = {
            "n": run.n,
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
        status = _status_text(run.status)
        if status != self.status.get(run.unit, "unknown"):
            step["status"] = status
        self.status[run.unit] = status
        if run.seen is not None:
            self.readiness[run.unit] = run.seen
            step["readiness"] = _readiness_json(run.seen)
        self.printer.step(step)


def _juju(command: Callable[[], object]) -> None:
    """Run a model command: the example charms' hooks, until quiet."""
    from . import testing as pgt

    try:
        with warnings.catch_warnings():
            # the client example is the 1.x README charm: ops.lib.use on purpose
            warnings.filterwarnings("ignore", "ops.lib is deprecated", DeprecationWarning)
            command()
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
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def line(self, text: str = "") -> None:
        if not self.as_json:
            print(self.scrub(text), file=self.stream, flush=True)

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
        for bag, changes in step["wrote"].items():
            self.line(f"         wrote {bag}:")
            for key, value in changes.items():
                shown = "(deleted)" if value is None else value.replace("\n", "\n" + " " * 14)
                self.line(f"           {key} = {shown}")
        if "status" in step:
            self.line(f"         status: {step['status']}")
        r = step.get("readiness")
        if r is not None:
            if r["ready"]:
                self.line(f"         readiness: READY (master from {r['source']})")
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
        "--examples",
        metavar="DIR",
        help="directory holding pgsql-client/ and pgsql-provider/ (default: the example charms "
        "installed with pgsql, or a source checkout's examples/)",
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


def _preflight() -> Tuple[Any, Any]:
    try:
        import ops.testing
    except ImportError as exc:  # pragma: no cover - ops is a dependency
        raise DemoError(f"cannot import ops.testing: {exc}") from exc
    if getattr(ops.testing, "Context", None) is None:
        raise DemoError(
            "the demo simulates Juju with ops.testing, which needs ops >= 2.17 with the "
            "testing extra: pip install 'ops[testing]' (python3 tasks.py demo installs it)"
        )
    try:
        import psycopg
    except ImportError as exc:
        raise DemoError(
            "the demo's provider charm provisions with psycopg: pip install 'ops-lib-pgsql[demo]' "
            "(python3 tasks.py demo installs it)"
        ) from exc
    from . import _localpg

    try:
        _localpg.find_binaries()
    except _localpg.PostgresNotFound as exc:
        raise DemoError(str(exc)) from exc
    return ops.testing, psycopg


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 when the final query succeeded, 1 with a clear message otherwise."""
    as_json: bool = bool(args.json)
    printer = _Printer(as_json, sys.stdout)
    began = time.monotonic()
    doc: Dict[str, Any] = {"ok": False, "simulated": SIMULATED, "steps": printer.steps}
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


def _demo(args: argparse.Namespace, printer: _Printer, doc: Dict[str, Any]) -> None:
    _testing, psycopg = _preflight()
    from . import _localpg

    root = _examples(args)
    client_charm = load_charm(root / "pgsql-client", "pgsql_demo_client_charm")
    server_charm = load_charm(root / "pgsql-provider", "pgsql_demo_provider_charm")
    line = printer.line
    line("pgsql demo: the pgsql relation between two example charms, on a real PostgreSQL.")
    line(SIMULATED)
    line(f"  client: {CLIENT_APP} ({client_charm.directory}), {CLIENT_UNITS} units")
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
        _lifecycle(pg, client_charm, server_charm, printer, doc, psycopg)
    finally:
        pg.stop()
        gone = directory is not None and not directory.exists()
        doc["cleanup"] = (
            f"PostgreSQL stopped and {directory} removed"
            if gone
            else f"PostgreSQL stopped; could not remove {directory}"
        )
        doc["cleaned_up"] = gone


def _lifecycle(
    pg: Any,
    client_charm: Charm,
    server_charm: Charm,
    printer: _Printer,
    doc: Dict[str, Any],
    psycopg: Any,
) -> None:
    from . import testing as pgt

    line = printer.line
    steps = _Steps(printer)
    model = pgt.Model(max_hooks=_MAX_HOOKS, on_hook=steps)
    client = model.add_app(
        CLIENT_APP,
        client_charm.charm_type,
        units=CLIENT_UNITS,
        meta=client_charm.meta,
        config=client_charm.config,
        address=pgt.Client.address,
        inspect=_client_readiness,
    )
    model.add_app(
        SERVER_APP,
        server_charm.charm_type,
        units=1,
        meta=server_charm.meta,
        config=server_charm.config,
        options={"admin-dsn": pg.dsn(), "host": pg.host, "port": pg.port},
        address=pgt.Server.address,
    )

    steps.phase = "deploy"
    line(f"\n== juju deploy {CLIENT_APP} -n {CLIENT_UNITS}; juju deploy {SERVER_APP}")
    line(
        f"   (config of {SERVER_APP}: admin-dsn=<superuser on the demo server>, "
        f"host={pg.host}, port={pg.port})"
    )
    _juju(model.deploy)

    steps.phase = "relate"
    line(f"\n== juju integrate {CLIENT_APP}:db {SERVER_APP}:db")
    line("   every hook below runs on one unit; 'wrote' is what that hook changed in a databag")
    _juju(lambda: model.relate(f"{CLIENT_APP}:db", f"{SERVER_APP}:db", relation_id=REL_ID))

    doc["databags"] = {
        name if "/" in name else f"{name} (app)": _mask_bag(bag)
        for name, bag in model.relation(REL_ID).databags().items()
    }
    line("\n== the db relation's databags, settled (passwords masked)")
    for bag, content in doc["databags"].items():
        line(f"  {bag}:")
        for key, value in sorted(content.items()):
            line(f"    {key} = {value}".replace("\n", "\n" + " " * (7 + len(key))))

    readiness: Dict[str, Any] = {}
    line("\n== readiness, as each client unit's PostgreSQLClient sees it")
    for unit in client.units.values():
        r = steps.readiness.get(unit.name)
        readiness[unit.name] = _readiness_json(r) if r is not None else None
        verdict = "READY" if r is not None and r.ready else f"not ready ({r.why if r else '?'})"
        line(f"  {unit.name}: {verdict}")
    doc["readiness"] = readiness
    doc["status"] = {u.name: steps.status.get(u.name, "unknown") for u in model.units()}
    line(f"  {SERVER_APP}/0 status: {doc['status'][f'{SERVER_APP}/0']}")

    # What the client charm itself kept from master_changed, in its own StoredState.
    kept = {u.name: _stored_charm_state(u) for u in client.units.values()}
    leader = kept[f"{CLIENT_APP}/0"]
    conn_str = leader.get("db_conn_str")
    if not conn_str:
        raise DemoError(
            f"{CLIENT_APP}/0 was never given a master connection string; "
            f"last readiness: {readiness.get(f'{CLIENT_APP}/0')}"
        )
    for name, state in kept.items():
        if state.get("db_conn_str") != conn_str:
            raise DemoError(f"{name} holds another master than the leader: {state.get('db_uri')}")
    master = ConnectionString(conn_str)
    printer.secrets.add(master.password or "")
    printer.secrets.discard("")
    shown = master.masked(MASK)
    line("\n== connect with the master connection string the client charm was given")
    line(f"  every {CLIENT_APP} unit stored (from master_changed): {shown}")
    with psycopg.connect(conn_str, connect_timeout=10) as conn:
        row = conn.execute(_QUERY).fetchone()
        equal = conn.execute(_CITEXT_QUERY).fetchone()
    result = {
        "conn_str": str(shown),
        "database": row[0],
        "user": row[1],
        "citext_version": row[2],
        "citext_equal": "t" if equal[0] else "f",
    }
    doc["result"] = result
    line(f"  > {_QUERY}")
    line(f"    {row[0]} | {row[1]} | {row[2]}")
    line(f"  > {_CITEXT_QUERY}")
    line(f"    {result['citext_equal']}")
    if row[0] != DATABASE or row[2] is None or not equal[0]:
        raise DemoError(f"unexpected result: {result}")
