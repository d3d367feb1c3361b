"""The demo's Juju commands on one model: deploy, databags, secrets, readiness, query, status."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, List, Optional

from .. import protocol
from ..connstr import ConnectionString, mask_value
from ._charms import Charm
from ._common import CLIENT_UNITS, DATABASE, MASK, SERVER_APP, DemoError
from ._output import Printer, mask_bag, readiness_json
from ._steps import Steps

_MAX_HOOKS = 300
_QUERY = (
    "SELECT current_database(), current_user,"
    " (SELECT extversion FROM pg_extension WHERE extname = 'citext')"
)
_CITEXT_QUERY = "SELECT 'A'::citext = 'a'::citext"


def _client_readiness(charm: Any) -> Optional[protocol.Readiness]:
    """What the client charm's PostgreSQLClient makes of the relation (None: no relation)."""
    readiness: Optional[protocol.Readiness] = charm.db.readiness()
    return readiness


def juju(command: Callable[[], object]) -> Any:
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


def _stored_charm_state(unit: Any) -> Dict[str, Any]:
    """The client charm's own StoredState (``_state``: db_conn_str, db_uri, db_ro_uris)."""
    for stored in unit.stored:
        content: Dict[str, Any] = dict(stored.content)
        if stored.name == "_state" and "db_conn_str" in content:
            return content
    return {}


class Lifecycle:
    """The demo's Juju commands, run on one model, with what they show: what every run shares."""

    def __init__(
        self,
        pg: Any,
        client_charm: Charm,
        server_charm: Charm,
        printer: Printer,
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
        self.steps = Steps(printer)
        self.model: Any = pgt.Model(max_hooks=_MAX_HOOKS, on_hook=self.steps)
        self.steps.model = self.model
        self.server_added = False

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
        juju(self.model.deploy)
        return client

    def databags(self, rel_id: int, endpoint: str) -> Dict[str, Dict[str, str]]:
        shown = {
            name if "/" in name else f"{name} (app)": mask_bag(bag)
            for name, bag in self.model.relation(rel_id).databags().items()
        }
        self.line(f"\n== the {endpoint} relation's databags, settled (passwords masked)")
        for bag, content in shown.items():
            self.line(f"  {bag}:")
            self.printer.bag(content)
        return shown

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
            content = mask_bag(record.content)
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

    def readiness(self, client: Any) -> Dict[str, Any]:
        found: Dict[str, Any] = {}
        self.line("\n== readiness, as each client unit's PostgreSQLClient sees it")
        for unit in client.units.values():
            r = self.steps.readiness.get(unit.name)
            found[unit.name] = readiness_json(r) if r is not None else None
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
                f"last readiness: {readiness_json(r) if r is not None else None}"
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
            raise DemoError(f"{app}'s master does not work: {server_message(str(exc))}") from exc
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


def server_message(error: str) -> str:
    """The server's reason in a libpq connection error (its last ``FATAL:`` line)."""
    for text in reversed(error.strip().splitlines()):
        _, fatal, reason = text.partition("FATAL:")
        if fatal:
            return reason.strip()
    return error.strip().splitlines()[-1] if error.strip() else error
