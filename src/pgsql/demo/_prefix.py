"""The default run's last part: a prefix request (``database="shop_*"``), PostgreSQL 16's way.

Two databases starting with ``shop_`` and one that does not are created on the real server,
none open to PUBLIC. A one-unit application, ``shop``, asks for ``shop_*``; the provider example
grants its relation's user CONNECT on every matching database and answers with
``prefix-databases`` and URIs naming the first (as PostgreSQL 16 does, docs/protocol.md). The
demo checks what the charm's ``master_changed`` received (the list, and a master on the first
database), connects through libpq with that master, is refused on the database that does not
match, then removes the relation (the provider removes its secret).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import ops

from ..client import MasterChangedEvent, PostgreSQLClient
from ..connstr import ConnectionString
from ._common import MASK, MODERN_ENDPOINT, SERVER_APP, DemoError
from ._lifecycle import Lifecycle
from ._lifecycle import juju as _juju
from ._lifecycle import server_message as _server_message

APP = "shop"
REQUEST = "shop_*"
MATCHING = ("shop_eu", "shop_us")
OTHER = "stock"  # exists, does not start with shop_: not served
_QUERY = "SELECT current_database(), current_user"
_META = {"name": APP, "requires": {"database": {"interface": "postgresql_client", "limit": 1}}}

#: by unit: what its last master_changed said (the master, the databases); None: no master
SEEN: Dict[str, Optional[Tuple[ConnectionString, Tuple[str, ...]]]] = {}


class ShopCharm(ops.CharmBase):
    """Asks for every database whose name starts with ``shop_``."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.db = PostgreSQLClient(self, "database", database=REQUEST)
        framework.observe(self.db.on.master_changed, self._on_master_changed)

    def _on_master_changed(self, event: MasterChangedEvent) -> None:
        master = event.master
        SEEN[self.unit.name] = None if master is None else (master, event.databases)


def _readiness(charm: Any) -> Any:
    return charm.db.readiness()


def run(life: Lifecycle) -> Dict[str, Any]:
    """Create the databases, deploy ``shop``, relate it, check and connect, remove the relation."""
    line = life.line
    SEEN.clear()  # a module's: the demo may run twice in one process
    life.steps.phase = "prefix"
    line(f'\n=== a prefix request, served the way PostgreSQL 16 serves it: database="{REQUEST}"')
    created = [*MATCHING, OTHER]
    _create_databases(life, created)
    line(f"  on the server: CREATE DATABASE {', '.join(created)} (none open to PUBLIC)")
    life.model.add_app(APP, ShopCharm, units=1, meta=_META, inspect=_readiness)
    line(f"\n== juju deploy {APP}")
    _juju(life.model.deploy)
    endpoints = (f"{APP}:{MODERN_ENDPOINT}", f"{SERVER_APP}:{MODERN_ENDPOINT}")
    line(f"\n== juju integrate {endpoints[0]} {endpoints[1]}")
    rel = _juju(lambda: life.model.relate(*endpoints))
    user = f"relation_id_{rel.id}"
    served = life.model.relation(rel.id).databags()[SERVER_APP]
    secrets = life.secrets(rel.id)  # uris: the first of the databases
    unit = f"{APP}/0"
    seen = SEEN.get(unit)
    if seen is None:
        raise DemoError(f"{unit} was given no master for {REQUEST}")
    master, databases = seen
    if master.password:
        life.printer.secrets.add(master.password)
    line(f"\n== what {unit}'s master_changed received")
    line(f"  event.databases: {', '.join(databases)}")
    line(f"  event.master: {master.masked(MASK)}")
    if databases != MATCHING or master.dbname != MATCHING[0]:
        raise DemoError(f"{unit} was given {databases} and a master on {master.dbname}")
    result = _connect(life, master, user)
    line(f"\n== juju remove-relation {endpoints[0]} {endpoints[1]}")
    _juju(lambda: life.model.remove_relation(rel))
    return {
        "app": APP,
        "request": REQUEST,
        "relation_id": rel.id,
        "created": created,
        "prefix_databases": served.get("prefix-databases"),
        "databases": list(databases),
        "master": master.masked(MASK),
        "secrets": secrets,
        **result,
    }


def _create_databases(life: Lifecycle, names: List[str]) -> None:
    sql = life.psycopg.sql
    with life.psycopg.connect(life.pg.dsn(), autocommit=True, connect_timeout=10) as conn:
        for name in names:
            db = sql.Identifier(name)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(db))
            conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(db))


def _connect(life: Lifecycle, master: ConnectionString, user: str) -> Dict[str, Any]:
    """Connect with the master (libpq), then to the database that does not match (refused)."""
    psycopg = life.psycopg
    life.line(f"\n== connect with that master, then to {OTHER} (which does not match)")
    try:
        with psycopg.connect(master.conn_str, connect_timeout=10) as conn:
            row = conn.execute(_QUERY).fetchone()
    except psycopg.Error as exc:
        raise DemoError(f"{APP}'s master does not work: {_server_message(str(exc))}") from exc
    life.line(f"  > {_QUERY}")
    life.line(f"    {row[0]} | {row[1]}")
    if (row[0], row[1]) != (MATCHING[0], user):
        raise DemoError(f"connected to {row[0]} as {row[1]}, not to {MATCHING[0]} as {user}")
    try:
        psycopg.connect(master.replace(dbname=OTHER).conn_str, connect_timeout=10).close()
    except psycopg.OperationalError as exc:
        refused = _server_message(str(exc))
    else:
        raise DemoError(f"{user} could connect to {OTHER}, which its request does not match")
    if "permission denied" not in refused:
        raise DemoError(f"{OTHER} could not be tried: {refused}")
    life.line(f"  {OTHER}: refused: {refused}")
    return {
        "result": {"database": row[0], "user": row[1]},
        "other": {"database": OTHER, "refused": True, "error": refused},
    }
