"""Hooks in the orders Juju may run them on ``pgsql``: relation-changed before any unit
joined, before the client's record exists, or after StoredState was lost.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import ops
import ops.charm
import ops.framework
import ops.testing
import pytest
from fix_client_pgsql import (
    CLIENT_ADDRESSES,
    META_PGSQL,
    META_PGSQL_PEERS,
    SERVER_APP,
    LeaderRequestsFirst,
    PgsqlRecorder,
    bag_for,
    db_relation,
    served_relation,
    server_answer,
    stored_content,
)
from fix_client_pgsql_scenario import Recorder
from fix_client_pgsql_scenario import event as _event
from fix_client_pgsql_scenario import relation as _relation
from fix_client_pgsql_scenario import run as _run
from needs import needs_scenario, requires_scenario
from ops.testing import Harness
from test_client_support import EGRESS0, harness_for, server_bag
from test_client_support import PASSWORD as SEED_PASSWORD

import pgsql

testing: Any = ops.testing


def test_app_bag_changed_before_any_unit_joined_emits_nothing() -> None:
    harness = harness_for(PgsqlRecorder)
    charm: PgsqlRecorder = harness.charm
    rel_id = harness.add_relation("db", SERVER_APP)
    harness.update_relation_data(rel_id, SERVER_APP, server_bag("mydbname"))
    assert charm.seen == []  # 1.x: nothing until a unit joined; no joined handler run here
    harness.add_relation_unit(rel_id, f"{SERVER_APP}/0")
    assert charm.seen == ["DatabaseRelationJoinedEvent"]
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "mydbname"}
    harness.update_relation_data(rel_id, f"{SERVER_APP}/0", {"ingress-address": "10.0.0.20"})
    assert "MasterChangedEvent" in charm.seen
    master = charm.db.master()
    assert master is not None
    assert master.password == SEED_PASSWORD
    # nothing was deferred along the way: no event waits forever
    assert list(harness.framework._storage.notices(None)) == []  # pyright: ignore[reportPrivateUsage]


def test_changed_with_a_joined_unit_but_no_record_still_tells_joined() -> None:
    # lost StoredState (a replaced pod), or -changed before -joined: Juju lists a joined unit
    testing = requires_scenario()
    meta = {"name": "myapp", "requires": {"db": {"interface": "pgsql"}}}
    ctx = testing.Context(PgsqlRecorder, meta=meta, unit_id=0)
    rel = testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name=SERVER_APP,
        id=7,
        local_unit_data=dict(EGRESS0),
        local_app_data={"database": "mydbname", "extensions": "citext"},
        remote_units_data={0: server_bag("mydbname")},
    )
    with ctx(
        ctx.on.relation_changed(rel, remote_unit=0), testing.State(leader=True, relations={rel})
    ) as mgr:
        mgr.run()
        charm: PgsqlRecorder = mgr.charm  # type: ignore[assignment]
        assert charm.seen[0] == "DatabaseRelationJoinedEvent"
        assert "MasterChangedEvent" in charm.seen


class _StatusCharm(PgsqlRecorder):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on.collect_unit_status, self._status)

    def _status(self, event: Any) -> None:
        r = self.db.readiness()
        event.add_status(ops.ActiveStatus() if r and r.ready else ops.WaitingStatus("db"))


def test_app_bag_before_any_unit_is_seen_after_an_early_readiness_read() -> None:
    # a readiness() read (collect-status) before the server wrote its app bag cached an empty
    # one; the relation-changed for the app bag before any unit joined must still refresh it
    if not hasattr(Harness, "evaluate_status"):
        pytest.skip("Harness.evaluate_status needs ops >= 2.5")
    harness = harness_for(_StatusCharm)
    charm: _StatusCharm = harness.charm
    rel_id = harness.add_relation("db", SERVER_APP)
    harness.update_relation_data(rel_id, "myapp/0", dict(EGRESS0))
    harness.evaluate_status()
    harness.update_relation_data(rel_id, SERVER_APP, server_bag("mydbname"))
    harness.evaluate_status()
    harness.add_relation_unit(rel_id, f"{SERVER_APP}/0")
    harness.update_relation_data(rel_id, f"{SERVER_APP}/0", {"ingress-address": "10.0.0.20"})
    assert "MasterChangedEvent" in charm.seen
    assert charm.db.is_ready()


class _JoinedUnits(ops.charm.CharmBase):
    _st = ops.framework.StoredState()

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self._st.set_default(joined_units=[])
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.db.on.database_relation_joined, self._joined)

    def _joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        self._st.joined_units.append(event.unit.name if event.unit else None)


@pytest.mark.scenario
@pytest.mark.parametrize("hook", ["upgrade_charm", "leader_elected", "update_status"])
def test_joined_after_lost_state_names_a_remote_unit(hook: str) -> None:
    testing = requires_scenario()
    ctx = testing.Context(_JoinedUnits, meta=META_PGSQL, unit_id=0)
    rel = db_relation(0, {0: bag_for("mydbname")}, {"database": "mydbname"})
    state = ctx.run(getattr(ctx.on, hook)(), testing.State(leader=True, relations={rel}))
    units = stored_content(state, "/_st")["joined_units"]
    assert None not in units


@pytest.mark.scenario
def test_a_server_answering_in_its_app_bag_only_is_seen_ready() -> None:
    # Fixed: relation-changed always re-reads the server's application bag.
    # caught by test_chaos_client (app_bag_written): a server that publishes in its application
    # bag only (K8s PostgreSQL non-leaders write nothing) was never seen as ready
    testing = requires_scenario()
    ctx = testing.Context(LeaderRequestsFirst, meta=META_PGSQL_PEERS, unit_id=0)
    rel = served_relation(
        testing,
        "first",
        local_app_data={"database": "first"},
        local_unit_data={**CLIENT_ADDRESSES, "database": "first"},
        remote_units_data={0: {"ingress-address": "10.0.1.0"}},  # nothing in its unit bag
    )
    state = testing.State(leader=True, relations={rel})
    state = ctx.run(ctx.on.relation_changed(rel, remote_unit=0), state)
    rel2 = dataclasses.replace(state.get_relation(5), remote_app_data=server_answer("first"))
    state = dataclasses.replace(state, relations={rel2})
    ctx.emitted_events.clear()
    with ctx(ctx.on.relation_changed(rel2), state) as mgr:
        mgr.run()
        charm: LeaderRequestsFirst = mgr.charm  # type: ignore[assignment]
        assert charm.db.is_ready()


@needs_scenario
def test_changed_before_joined_emits_joined_first_and_does_not_defer() -> None:
    rel = _relation({0: server_bag("mydb")})
    out, seen = _run(
        Recorder,
        _event("changed", rel),
        testing.State(leader=True, relations={rel}),
    )
    assert [n for n, _ in seen] == [
        "DatabaseRelationJoinedEvent",
        "MasterAvailableEvent",
        "MasterChangedEvent",
        "DatabaseAvailableEvent",
        "DatabaseChangedEvent",
    ]
    assert not out.deferred
    # and the next relation-changed with nothing new emits nothing
    rel = out.get_relation(rel.id)
    out2, seen2 = _run(Recorder, _event("changed", rel), out)
    assert seen2 == []
    assert not out2.deferred
