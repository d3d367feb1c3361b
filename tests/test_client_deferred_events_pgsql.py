"""Deferred ``pgsql`` client events: re-run in a later hook, they say what is true then (the
master gone), not what was true when they were deferred.
"""

from __future__ import annotations

from typing import Any

import ops.framework
from fix_client_pgsql_scenario import META, Recorder
from fix_client_pgsql_scenario import relation as _relation
from fix_client_pgsql_scenario import with_remote as _with_remote
from needs import requires_scenario
from test_client_support import server_bag

import pgsql

testing: Any = requires_scenario()


def test_deferred_events_compute_their_attributes_when_re_run() -> None:
    class Defers(Recorder):
        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)
            framework.observe(self.db.on.master_changed, self._maybe_defer)

        def _maybe_defer(self, event: pgsql.MasterChangedEvent) -> None:
            if self.config.get("defer"):
                event.defer()

    meta = META
    rel = _relation({0: server_bag("mydb")})
    ctx = testing.Context(
        Defers, meta=meta, config={"options": {"defer": {"type": "boolean", "default": False}}}
    )
    state = testing.State(leader=True, relations={rel}, config={"defer": True})
    state = ctx.run(ctx.on.relation_changed(rel, remote_unit=0), state)
    assert len(state.deferred) == 1
    # the master goes away; the deferred event, re-run, says so
    rel2 = _with_remote(state.get_relation(rel.id), {0: server_bag("mydb", master=None)})
    state2 = testing.State(
        leader=True,
        relations={rel2},
        stored_states=state.stored_states,
        deferred=state.deferred,
        config={"defer": False},
    )
    with ctx(ctx.on.relation_changed(rel2, remote_unit=0), state2) as manager:
        out = manager.run()
        seen = manager.charm.seen
    assert not out.deferred
    assert ("MasterChangedEvent", None) in seen
