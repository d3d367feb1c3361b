"""``pgsql`` client charms and relation helpers for the Scenario tests (ops >= 2.17).

One fresh charm per hook, as in production. Nothing here touches ``ops.testing``'s Scenario
names at import, so modules with Harness tests too can import it on ops 2.0 (their Scenario
tests are marked ``needs.needs_scenario``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import ops.charm
import ops.framework
import ops.testing
from test_client_support import EGRESS0

import pgsql
from pgsql import protocol

testing: Any = ops.testing

META: Dict[str, Any] = {"name": "myapp", "requires": {"db": {"interface": "pgsql", "limit": 1}}}
META_PEER: Dict[str, Any] = {**META, "peers": {"replicas": {"interface": "myapp-peers"}}}


class Recorder(ops.charm.CharmBase):
    """Declarative request; records client events (and what they said)."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database="mydb", extensions=["citext"])
        self.seen: List[Tuple[str, Optional[str]]] = []
        for name in (*protocol.EVENT_NAMES, "database_relation_joined", "database_relation_broken"):
            framework.observe(getattr(self.db.on, name), self._record)

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        host = event.master.host if event.master is not None else None
        self.seen.append((type(event).__name__, host))


class OneX(ops.charm.CharmBase):
    """The 1.x way: the leader requests in database_relation_joined."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.seen: List[Tuple[str, Optional[str]]] = []
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        framework.observe(self.db.on.master_changed, self._on_master)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "mydb"

    def _on_master(self, event: pgsql.MasterChangedEvent) -> None:
        self.seen.append(("master", event.master.host if event.master else None))
        self.seen.append(("database", event.database))


def relation(units: Optional[Dict[int, Dict[str, str]]] = None, **kw: Any) -> Any:
    """The ``db`` relation to ``postgresql``, its units' bags ``units`` (default: one, empty)."""
    return testing.Relation(
        "db",
        "pgsql",
        remote_app_name="postgresql",
        remote_units_data=units if units is not None else {0: {}},
        local_unit_data=dict(EGRESS0),
        **kw,
    )


def run(
    charm: Any, event: Any, state: Any, meta: Dict[str, Any] = META, unit_id: int = 0
) -> Tuple[Any, List[Tuple[str, Optional[str]]]]:
    """One hook of ``charm``: the output state and the client events the charm saw."""
    ctx = testing.Context(charm, meta=meta, unit_id=unit_id)
    with ctx(event(ctx), state) as manager:
        out = manager.run()
        seen = list(getattr(manager.charm, "seen", []))
    return out, seen


def with_remote(rel: Any, units: Dict[int, Dict[str, str]]) -> Any:
    """``rel`` with its remote units' bags replaced by ``units``."""
    return testing.Relation(
        rel.endpoint,
        rel.interface,
        id=rel.id,
        remote_app_name=rel.remote_app_name,
        remote_app_data=dict(rel.remote_app_data),
        remote_units_data=units,
        local_app_data=dict(rel.local_app_data),
        local_unit_data=dict(rel.local_unit_data),
    )


def local(rel: Any, unit_data: Dict[str, str]) -> Any:
    """``rel`` with ``unit_data`` added to the local unit's bag."""
    return testing.Relation(
        rel.endpoint,
        rel.interface,
        id=rel.id,
        remote_app_name=rel.remote_app_name,
        remote_app_data=dict(rel.remote_app_data),
        remote_units_data={k: dict(v) for k, v in rel.remote_units_data.items()},
        local_app_data=dict(rel.local_app_data),
        local_unit_data={**rel.local_unit_data, **unit_data},
    )


def replace(state: Any, rel: Any) -> Any:
    """``state`` with ``rel`` in place of its old self (stored states, deferred, config kept)."""
    others = [r for r in state.relations if r.id != rel.id]
    return testing.State(
        leader=state.leader,
        relations={rel, *others},
        stored_states=state.stored_states,
        deferred=state.deferred,
        config=dict(state.config),
    )


def event(kind: str, rel: Any) -> Any:
    """A maker of the ``kind`` hook's event on ``rel``, for a given Context."""

    def make(ctx: Any) -> Any:
        if kind == "created":
            return ctx.on.relation_created(rel)
        if kind == "joined":
            return ctx.on.relation_joined(rel, remote_unit=0)
        if kind == "changed":
            return ctx.on.relation_changed(rel, remote_unit=0)
        if kind == "broken":
            return ctx.on.relation_broken(rel)
        if kind == "config":
            return ctx.on.config_changed()
        if kind == "upgrade":
            return ctx.on.upgrade_charm()
        if kind == "leader":
            return ctx.on.leader_elected()
        return ctx.on.update_status()

    return make
