"""A relation's record is a value: loaded once per entry into the client, saved once, if changed.

Every StoredState write dirties the commit (``state-set`` on some substrates), so a hook that
decides several things about a relation (joined, published, judged) writes its record once.
"""

from __future__ import annotations

from typing import Any, List

import ops
import ops.charm
import ops.framework
import pytest
from test_client_support import CONFIG, EGRESS0, META, harness_for, server_bag

import pgsql

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")


class Declared(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database="mydb", extensions=["citext"])
        self.masters: List[str] = []
        framework.observe(self.db.on.master_changed, self._on_master_changed)

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        # the charm reads the event and the accessors while the client is handling the hook
        self.masters.append(str(event.master.host) if event.master is not None else "")
        self.db.readiness()


@pytest.fixture
def record_writes(monkeypatch: pytest.MonkeyPatch) -> List[object]:
    """The keys of every item assignment into a StoredState dict (the client's records)."""
    writes: List[object] = []
    original = ops.framework.StoredDict.__setitem__

    def counting(self: Any, key: object, value: object) -> None:
        writes.append(key)
        original(self, key, value)

    monkeypatch.setattr(ops.framework.StoredDict, "__setitem__", counting)
    return writes


def test_a_relation_changed_that_tells_the_charm_writes_the_record_once(
    record_writes: List[object],
) -> None:
    harness = harness_for(Declared, META, CONFIG)
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, harness.charm.unit.name, EGRESS0)
    harness.add_relation_unit(rel_id, "postgresql/0")
    record_writes.clear()

    # joined (first verdict), the server bag cached, the verdict and what the charm was told
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb"))

    assert harness.charm.masters == ["10.0.0.20"]
    assert record_writes.count(rel_id) == 1


def test_a_hook_that_changes_nothing_writes_no_record(record_writes: List[object]) -> None:
    harness = harness_for(Declared, META, CONFIG)
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, harness.charm.unit.name, EGRESS0)
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb"))
    record_writes.clear()

    harness.charm.on.config_changed.emit()
    harness.charm.on.update_status.emit()
    assert harness.charm.db.is_ready()

    assert record_writes == []
