"""A ``pgsql`` relation gone or no longer granted: the master is cleared, deferred events
stop or run later, and gone events carry the last known database.
"""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional

import ops
import ops.charm
import ops.framework
import pytest
from fix_client_pgsql import (
    META_PGSQL,
    bag_for,
    db_relation,
    stored_content,
    with_db_relation,
)
from needs import requires_scenario
from test_client_support import EGRESS0, EGRESS1, MASTER, harness_for, seed_charm, server_bag
from test_client_support import META as META_1X

import pgsql


def _seed_non_leader() -> Any:
    cls = seed_charm()
    harness = harness_for(cls, meta=META_1X, leader=False)
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, "myapp/0", dict(EGRESS0))
    harness.add_relation_unit(rel_id, "postgresql/0")
    return harness, rel_id


def test_non_leader_clears_the_master_when_access_is_revoked() -> None:
    harness, rel_id = _seed_non_leader()
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydbname"))
    assert harness.charm._state.db_conn_str == pgsql.ConnectionString(MASTER).conn_str
    # the server drops this unit from allowed-units and its echo
    bag = server_bag("mydbname", granted={"myapp/9": EGRESS1})
    bag = {k: ("" if k in {"database", "allowed-units"} else v) for k, v in bag.items()}
    harness.update_relation_data(rel_id, "postgresql/0", bag)
    assert harness.charm._state.db_conn_str is None
    assert harness.charm._state.db_uri is None


def test_non_leader_clears_the_master_when_the_relation_is_broken() -> None:
    harness, rel_id = _seed_non_leader()
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydbname"))
    assert harness.charm._state.db_conn_str == pgsql.ConnectionString(MASTER).conn_str
    harness.remove_relation(rel_id)
    assert harness.charm._state.db_conn_str is None


def test_deferred_joined_stops_deferring_once_the_relation_is_gone() -> None:
    harness, rel_id = _seed_non_leader()
    storage: Any = harness.framework._storage  # pyright: ignore[reportPrivateUsage]
    # the seed charm's non-leader defers joined until it knows the request
    assert any("database_relation_joined" in n[0] for n in storage.notices(None))
    harness.remove_relation(rel_id)
    harness.framework.reemit()
    assert not any("database_relation_joined" in n[0] for n in storage.notices(None))


def test_gone_event_database_is_the_last_known_request() -> None:
    seed = seed_charm()

    class Seed(seed):  # type: ignore[misc, valid-type]
        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)  # pyright: ignore[reportUnknownMemberType]
            self.gone: List[Optional[str]] = []
            framework.observe(self.db.on.master_gone, self._on_gone)

        def _on_gone(self, event: Any) -> None:
            self.gone.append(event.database)

    harness = harness_for(Seed, meta=META_1X, leader=False)
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, "myapp/0", dict(EGRESS0))
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydbname"))
    harness.remove_relation(rel_id)
    assert harness.charm.gone == ["mydbname"]


class _BusyCharm(ops.charm.CharmBase):
    _st = ops.framework.StoredState()

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self._st.set_default(conn="unset", broken_seen=0)
        self.db = pgsql.PostgreSQLClient(self, "db", database="mydbname")
        framework.observe(self.db.on.master_changed, self._master)
        framework.observe(self.db.on.database_relation_broken, self._broken)

    def _master(self, event: pgsql.MasterChangedEvent) -> None:
        if self.config["busy"]:
            event.defer()
            return
        self._st.conn = None if event.master is None else event.master.conn_str

    def _broken(self, event: pgsql.DatabaseRelationBrokenEvent) -> None:
        if self.config["busy"]:
            event.defer()
            return
        self._st.broken_seen += 1


@pytest.mark.scenario
def test_gone_and_broken_events_deferred_at_broken_run_later() -> None:
    testing = requires_scenario()
    config = {"options": {"busy": {"type": "boolean", "default": False}}}
    ctx = testing.Context(_BusyCharm, meta=META_PGSQL, config=config, unit_id=0)
    rel = db_relation(0, {0: {"ingress-address": "10.0.0.20"}})
    state = testing.State(leader=True, relations={rel})
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(4), remote_unit=0), state)
    state = with_db_relation(state, remote_units_data={0: bag_for("mydbname")})
    state = ctx.run(ctx.on.relation_changed(state.get_relation(4), remote_unit=0), state)
    assert stored_content(state, "/_st")["conn"]
    state = dataclasses.replace(state, config={"busy": True})
    state = ctx.run(ctx.on.relation_broken(state.get_relation(4)), state)
    state = dataclasses.replace(state, relations=set(), config={"busy": False})
    state = ctx.run(ctx.on.update_status(), state)
    assert stored_content(state, "/_st")["conn"] is None
    assert stored_content(state, "/_st")["broken_seen"] == 1
