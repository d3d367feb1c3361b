"""Client events emitted by hand, and patched 1.x internals, as 1.x charms' Harness
tests do (compat.md) on ``pgsql``.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import ops
import ops.charm
import ops.framework
from ops.testing import Harness
from test_client_support import harness_for

import pgsql

_LEADER_DATA = {0: {"database": "mydbname", "roles": "", "extensions": ""}}


class _UriCharm(ops.charm.CharmBase):
    _state = ops.framework.StoredState()

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self._state.set_default(uri=None)
        self.joined = 0
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.db.on.database_relation_joined, self._joined)
        framework.observe(self.db.on.master_changed, self._master_changed)

    def _joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        self.joined += 1
        if self.unit.is_leader():
            event.database = "mydbname"

    def _master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        self._state.uri = None if event.master is None else event.master.uri


def _hand_emit_master_changed(harness: Harness[_UriCharm], rel_id: int) -> None:
    rel = harness.model.get_relation("db", rel_id)
    unit = harness.model.get_unit("postgresql/0")
    assert rel is not None
    harness.charm.db.on.master_changed.emit(rel, unit.app, unit, harness.charm.unit)


@mock.patch("pgsql.client._set_pgsql_leader_data")
@mock.patch("pgsql.client._get_pgsql_leader_data", return_value=_LEADER_DATA)
def test_hand_emitted_event_reads_is_ready_and_bags_live(*_patches: Any) -> None:
    harness = harness_for(_UriCharm)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    with mock.patch("pgsql.client._is_ready", return_value=True):
        master = {"master": "host=master", "database": "mydbname"}
        harness.update_relation_data(rel_id, "postgresql/0", master)
        assert harness.charm._state.uri == "postgresql://master"
        with harness.hooks_disabled():
            harness.update_relation_data(rel_id, "postgresql/0", {"master": "host=new_master"})
        _hand_emit_master_changed(harness, rel_id)
        assert harness.charm._state.uri == "postgresql://new_master"
    with mock.patch("pgsql.client._is_ready", return_value=False):
        _hand_emit_master_changed(harness, rel_id)
    assert harness.charm._state.uri is None


@mock.patch("pgsql.client._set_pgsql_leader_data")
@mock.patch("pgsql.client._get_pgsql_leader_data", return_value=_LEADER_DATA)
@mock.patch("pgsql.client._is_ready", return_value=True)
def test_hand_emitted_events_with_hooks_disabled_throughout(*_patches: Any) -> None:
    harness = harness_for(_UriCharm)
    with harness.hooks_disabled():
        rel_id = harness.add_relation("db", "postgresql")
        harness.add_relation_unit(rel_id, "postgresql/0")
        master = {"master": "host=master", "database": "mydbname"}
        harness.update_relation_data(rel_id, "postgresql/0", master)
    _hand_emit_master_changed(harness, rel_id)
    assert harness.charm._state.uri == "postgresql://master"
    with harness.hooks_disabled():
        harness.update_relation_data(rel_id, "postgresql/0", {"master": "host=new_master"})
    _hand_emit_master_changed(harness, rel_id)
    assert harness.charm._state.uri == "postgresql://new_master"


@mock.patch("pgsql.client._set_pgsql_leader_data")
@mock.patch("pgsql.client._get_pgsql_leader_data", return_value={})
def test_patched_on_joined_means_no_joined_event(*_patches: Any) -> None:
    harness = harness_for(_UriCharm)
    with mock.patch("pgsql.client.PostgreSQLClient._on_joined") as on_joined:
        rel_id = harness.add_relation("db", "postgresql")
        harness.add_relation_unit(rel_id, "postgresql/0")
        master = {"master": "host=master", "database": "myapp"}
        harness.update_relation_data(rel_id, "postgresql/0", master)
        assert on_joined.call_count == 1
    assert harness.charm.joined == 0
    assert harness.get_relation_data(rel_id, "myapp") == {}
