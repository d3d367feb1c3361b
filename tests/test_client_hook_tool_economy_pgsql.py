"""Hook-tool economy on ``pgsql`` over a relation's whole life, hook by hook, against a
hand-written plain-ops client: as few hook tools as the protocol allows, nothing at all in
update-status, and one log line per custom event plus one per readiness change.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import ops.charm
from fix_client_pgsql_scenario import META, Recorder
from fix_client_pgsql_scenario import event as _event
from fix_client_pgsql_scenario import relation as _relation
from fix_client_pgsql_scenario import replace as _replace
from fix_client_pgsql_scenario import with_remote as _with_remote
from needs import requires_scenario
from test_client_support import CallSpy, server_bag

testing: Any = requires_scenario()


class Bare(ops.charm.CharmBase):
    """A hand-written plain-ops client: request on joined, read master on changed."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on["db"].relation_joined, self._on_joined)
        framework.observe(self.on["db"].relation_changed, self._on_changed)

    def _on_joined(self, event: ops.charm.RelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.relation.data[self.app].update({"database": "mydb", "extensions": "citext"})

    def _on_changed(self, event: ops.charm.RelationChangedEvent) -> None:
        if event.unit is not None:
            master = event.relation.data[event.unit].get("master")
            if master and event.relation.data[event.unit].get("database") == "mydb":
                self.master = master


def _count(charm: Any, event: Any, state: Any) -> Tuple[Any, Dict[str, int]]:
    ctx = testing.Context(charm, meta=META)
    with ctx(event(ctx), state) as manager:
        spy = CallSpy(manager.charm.model._backend, manager.charm.framework)  # pyright: ignore[reportPrivateUsage]
        out = manager.run()
    return out, spy.summary()


LIFECYCLE: List[Tuple[str, Optional[Dict[int, Dict[str, str]]]]] = [
    ("created", None),
    ("joined", None),
    ("changed", None),
    ("changed", {0: server_bag("mydb")}),
    ("changed", {0: {**server_bag("mydb"), "version": "17"}}),
    ("changed", {0: {**server_bag("mydb"), "version": "18"}}),
    ("update-status", None),
    ("broken", None),
]


def _lifecycle(charm: Any) -> List[Dict[str, int]]:
    rel = _relation({0: {}})
    state = testing.State(leader=True, relations={rel})
    steps: List[Dict[str, int]] = []
    for kind, units in LIFECYCLE:
        rel = state.get_relation(rel.id)
        if units is not None:
            rel = _with_remote(rel, units)
            state = _replace(state, rel)
        state, counts = _count(charm, _event(kind, rel), state)
        steps.append(counts)
    return steps


def test_lifecycle_costs_few_more_hook_tools_than_a_hand_written_charm() -> None:
    """Per hook, as few hook tools as the protocol allows.

    juju-log is counted apart: ops itself logs every custom event it emits at DEBUG (one
    juju-log each in production), which a charm without custom events never pays.
    """
    bare = _lifecycle(Bare)
    ours = _lifecycle(Recorder)
    print("bare", bare)
    print("ours", ours)

    def tools(step: Dict[str, int]) -> int:
        return sum(v for k, v in step.items() if k != "juju_log")

    # relation-changed with nothing new: no more than the hand-written charm (+1 allowed)
    assert tools(ours[4]) <= tools(bare[4]) + 1
    assert tools(ours[5]) <= tools(bare[5]) + 1
    assert ours[5].get("relation_set", 0) == 0
    # the ready relation-changed reads the triggering unit's bag only
    assert ours[3].get("relation_get", 0) == 1
    assert ours[6] == {}  # update-status: nothing at all
    # one-off costs: publishing at relation-created, the first full read, relation-broken
    assert sum(map(tools, ours)) <= 2 * sum(map(tools, bare))
    # logging: ops' one line per custom event, plus one decision line per readiness change
    events = 1 + 4 + 5  # joined; available+changed x2; gone+changed x2 + broken
    assert sum(s.get("juju_log", 0) for s in ours) <= events + 2
