"""The 1.x charm over ``postgresql_client``: its metadata changed, citext by config, a rotation."""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping, Set

from .. import protocol
from ..connstr import ConnectionString
from ._common import (
    CLIENT_APP,
    DATABASE,
    MASK,
    MODERN_APP,
    MODERN_ENDPOINT,
    PLUGIN,
    ROTATE,
    SERVER_APP,
    DemoError,
)

# under the names the walk-throughs were written with
from ._lifecycle import Lifecycle as _Lifecycle
from ._lifecycle import juju as _juju
from ._lifecycle import server_message as _server_message
from ._output import masked_values as _masked_values


class PostgresqlClientWalkThrough(_Lifecycle):
    """The same charm over ``postgresql_client``, as a second application."""

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


def _modern_address(number: int) -> str:
    """Units of the postgresql_client client: ``203.0.113.(10+n)`` (documentation range)."""
    return f"203.0.113.{10 + number}"
