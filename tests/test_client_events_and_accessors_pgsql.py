"""A ``pgsql`` client's events over a relation's life (each once, in order; a departing server
unit forgotten) and its accessors (``readiness()``, ``master()``, ``standbys()``, ``version()``,
``is_ready()``) before a relation, while waiting and when ready, read in collect-status too.
"""

from __future__ import annotations

from typing import Any

import ops.charm
import ops.framework
import ops.model
import ops.testing
import pytest
from fix_client_pgsql_harness import Declared
from fix_client_pgsql_harness import relate as _relate
from fix_client_pgsql_scenario import META
from fix_client_pgsql_scenario import relation as _relation
from needs import needs_scenario
from test_client_support import CONFIG, STANDBY, harness_for, server_bag

import pgsql
from pgsql import protocol

testing: Any = ops.testing
pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")


def test_events_over_a_lifecycle_come_once_each_in_order() -> None:
    harness = harness_for(Declared, config=CONFIG)
    rel_id = _relate(harness)
    seen = harness.charm.seen
    assert seen == ["DatabaseRelationJoinedEvent"]
    seen.clear()
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb"))
    assert seen == [
        "MasterAvailableEvent",
        "MasterChangedEvent",
        "DatabaseAvailableEvent",
        "DatabaseChangedEvent",
    ]
    seen.clear()
    harness.update_relation_data(rel_id, "postgresql/0", {"version": "17"})
    assert seen == []  # nothing new for the charm
    assert harness.charm.db.version() == "17"
    harness.update_relation_data(rel_id, "postgresql/0", {"standbys": STANDBY})
    assert seen == [
        "StandbyAvailableEvent",
        "StandbyChangedEvent",
        "DatabaseAvailableEvent",
        "DatabaseChangedEvent",
    ]
    seen.clear()
    harness.update_relation_data(rel_id, "postgresql/0", {"master": ""})
    assert seen == ["MasterChangedEvent", "MasterGoneEvent", "DatabaseChangedEvent"]
    seen.clear()
    harness.remove_relation(rel_id)
    assert seen == [
        "StandbyChangedEvent",
        "StandbyGoneEvent",
        "DatabaseChangedEvent",
        "DatabaseGoneEvent",
        "DatabaseRelationBrokenEvent",
    ]
    assert harness.charm.db.readiness() is None
    harness.cleanup()


def test_accessors_say_none_without_a_relation_then_why_not_ready_then_the_servers() -> None:
    harness = harness_for(Declared, config=CONFIG)
    db = harness.charm.db
    assert db.readiness() is None
    assert db.master() is None
    assert db.standbys() == []
    assert db.version() is None
    assert not db.is_ready()
    rel_id = _relate(harness)
    readiness = db.readiness()
    assert readiness is not None
    assert not readiness.ready
    assert readiness.why  # a reason, e.g. waiting for the server
    harness.update_relation_data(
        rel_id,
        "postgresql/0",
        server_bag("mydb", granted={"myapp/9": {"egress-subnets": "10.9.9.9/32"}}),
    )
    readiness = db.readiness()
    assert readiness is not None
    assert not readiness.ready
    assert readiness.reasons[0].code == protocol.EGRESS_NOT_ALLOWED
    assert "10.0.0.10/32" in readiness.why
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb", standbys=(STANDBY,)))
    master = db.master()
    assert db.is_ready()
    assert master is not None
    assert master.host == "10.0.0.20"
    assert [s.host for s in db.standbys()] == ["10.0.0.21"]
    assert db.version() == "16"
    harness.cleanup()


def test_departing_remote_unit_is_forgotten_and_own_departure_ignored() -> None:
    harness = harness_for(Declared, config=CONFIG)
    rel_id = _relate(harness)
    harness.add_relation_unit(rel_id, "postgresql/1")
    harness.update_relation_data(rel_id, "postgresql/1", server_bag("mydb", state="master"))
    assert harness.charm.db.is_ready()
    harness.charm.seen.clear()
    harness.remove_relation_unit(rel_id, "postgresql/1")
    assert harness.charm.seen[:2] == ["MasterChangedEvent", "MasterGoneEvent"]
    assert not harness.charm.db.is_ready()
    harness.cleanup()


@needs_scenario
def test_collect_status_from_the_accessors_is_blocked_then_waiting_then_active() -> None:
    if not hasattr(ops.charm.CharmEvents, "collect_unit_status"):
        pytest.skip("collect-status needs ops >= 2.5")

    class Status(ops.charm.CharmBase):
        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "db", database="mydb")
            framework.observe(self.on.collect_unit_status, self._on_collect)

        def _on_collect(self, event: Any) -> None:
            r = self.db.readiness()
            if r is None:
                event.add_status(ops.model.BlockedStatus("needs a database relation"))
            elif not r.ready:
                event.add_status(ops.model.WaitingStatus(f"database: {r.why}"))
            else:
                event.add_status(ops.model.ActiveStatus())

    ctx = testing.Context(Status, meta=META)
    out = ctx.run(ctx.on.update_status(), testing.State(leader=True))
    assert out.unit_status == ops.model.BlockedStatus("needs a database relation")
    rel = _relation({0: server_bag("mydb", granted={"myapp/7": {"egress-subnets": "10.7.7.7/32"}})})
    out = ctx.run(ctx.on.update_status(), testing.State(leader=True, relations={rel}))
    assert isinstance(out.unit_status, ops.model.WaitingStatus)
    assert "10.0.0.10/32" in out.unit_status.message
    rel = _relation({0: server_bag("mydb")})
    out = ctx.run(ctx.on.update_status(), testing.State(leader=True, relations={rel}))
    assert out.unit_status == ops.model.ActiveStatus()
