"""A ``pgsql`` client's StoredState: 1.x's record (raw connection strings) is migrated on
upgrade-charm without telling the charm again what 1.x had told it, and keeps no password; a
unit whose StoredState was lost (Kubernetes) is told once again what is current.
"""

from __future__ import annotations

from typing import Any

import ops.testing
import pytest
from fix_client_pgsql_harness import LeaderSets
from fix_client_pgsql_harness import relate as _relate
from fix_client_pgsql_scenario import Recorder
from fix_client_pgsql_scenario import event as _event
from fix_client_pgsql_scenario import relation as _relation
from fix_client_pgsql_scenario import run as _run
from needs import needs_scenario
from test_client_support import MASTER, PASSWORD, STANDBY, harness_for, server_bag

testing: Any = ops.testing
pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")


def test_upgrade_from_1x_stored_state_emits_nothing_spurious() -> None:
    harness = harness_for(LeaderSets)
    rel_id = _relate(harness)
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb", standbys=(STANDBY,)))
    # what 1.4 kept: raw strings, as the server wrote them (not in canonical order)
    harness.charm.db._state.rels = {rel_id: {"master": MASTER, "standbys": [STANDBY]}}
    harness.charm.seen.clear()
    harness.charm.on.upgrade_charm.emit()
    assert harness.charm.seen == []
    assert harness.charm.db._state.rels[rel_id]["v"] == 2
    # 1.x saw nothing yet: the upgrade announces what is there
    harness.charm.db._state.rels = {rel_id: {"master": None, "standbys": None}}
    harness.charm.on.upgrade_charm.emit()
    assert harness.charm.seen[0] == "MasterAvailableEvent"
    assert "DatabaseRelationJoinedEvent" not in harness.charm.seen
    harness.cleanup()


@needs_scenario
def test_upgrade_charm_over_1x_stored_state_emits_nothing_and_keeps_no_password() -> None:
    rel = _relation({0: server_bag("mydb", standbys=(STANDBY,))})
    one_x = testing.StoredState(
        "_state",
        owner_path="Recorder/PostgreSQLClient[db]",
        content={"rels": {rel.id: {"master": MASTER, "standbys": [STANDBY]}}},
    )
    state = testing.State(leader=True, relations={rel}, stored_states={one_x})
    out, seen = _run(Recorder, _event("upgrade", rel), state)
    assert seen == []  # same master and standbys as 1.x had told the charm
    content = {s.name: s for s in out.stored_states if (s.owner_path or "").endswith("[db]")}[
        "_state"
    ].content
    record = content["rels"][rel.id]
    assert record["v"] == 2
    assert PASSWORD not in str(record["snap"])


@needs_scenario
def test_lost_stored_state_re_emits_what_is_current() -> None:
    rel = _relation({0: server_bag("mydb", standbys=(STANDBY,))})
    state = testing.State(leader=True, relations={rel})
    out, _ = _run(Recorder, _event("changed", rel), state)
    lost = testing.State(leader=True, relations=set(out.relations))  # no stored_states
    rel = out.get_relation(rel.id)
    for event in (
        _event("changed", rel),
        _event("config", rel),
        _event("upgrade", rel),
    ):
        again, seen = _run(Recorder, event, lost)
        names = [n for n, _ in seen]
        if names:  # the hooks that evaluate announce everything again, once
            assert "MasterAvailableEvent" in names
            assert "StandbyAvailableEvent" in names
        assert not again.deferred
