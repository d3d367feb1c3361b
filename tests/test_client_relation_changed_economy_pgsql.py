"""What one ``relation-changed`` costs a ``pgsql`` client in hook-tool calls, against a
hand-written plain-ops charm: nothing new costs at most one call more and writes nothing, a
ready one reads the triggering unit's bag (and the local one once) and little else.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import ops.charm
import ops.framework
from fix_client_pgsql_harness import Declared
from fix_client_pgsql_harness import relate as _relate
from test_client_support import CONFIG, CallSpy, fresh_model, harness_for, server_bag


class Bare(ops.charm.CharmBase):
    """What a charm author would write by hand: read the master from the triggering unit."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on["db"].relation_changed, self._on_changed)
        self.master: Optional[str] = None

    def _on_changed(self, event: ops.charm.RelationChangedEvent) -> None:
        if event.unit is not None:
            self.master = event.relation.data[event.unit].get("master")


def _measure(
    charm_cls: Any, change: Dict[str, str], config: Optional[str] = CONFIG
) -> Dict[str, int]:
    harness = harness_for(charm_cls, config=config)
    rel_id = _relate(harness)
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb"))
    spy = CallSpy(harness._backend, harness.framework)  # pyright: ignore[reportPrivateUsage]
    fresh_model(harness)
    spy.reset()
    harness.update_relation_data(rel_id, "postgresql/0", change)
    counts = spy.summary()
    harness.cleanup()
    return counts


def test_relation_changed_with_nothing_new_costs_at_most_one_call_more_than_bare() -> None:
    bare = _measure(Bare, {"version": "17"}, config=None)
    ours = _measure(Declared, {"version": "17"})
    print("bare", bare, "ours", ours)
    assert sum(ours.values()) <= sum(bare.values()) + 1
    assert ours.get("update_relation_data", 0) + ours.get("relation_set", 0) == 0
    assert ours.get("is_leader", 0) == 0


def test_ready_relation_changed_costs_few_calls() -> None:
    harness = harness_for(Declared, config=CONFIG)
    rel_id = _relate(harness)
    spy = CallSpy(harness._backend, harness.framework)  # pyright: ignore[reportPrivateUsage]
    fresh_model(harness)
    spy.reset()
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb"))
    counts = spy.summary()
    print("ready relation-changed", counts)
    assert harness.charm.db.is_ready()
    assert counts.get("relation_get", 0) <= 2  # the triggering unit's bag (+ the local one once)
    assert counts.get("update_relation_data", 0) + counts.get("relation_set", 0) == 0
    assert sum(counts.values()) <= 5
    harness.cleanup()
