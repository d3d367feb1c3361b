"""PostgreSQLClient under Scenario (``ops.testing``): one fresh charm per hook, as in production."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
import pytest
from needs import requires_scenario
from test_client_support import (
    EGRESS0,
    EGRESS1,
    MASTER,
    PASSWORD,
    STANDBY,
    CallSpy,
    seed_charm,
    server_bag,
)

import pgsql
import pgsql.client
from pgsql import protocol

testing: Any = requires_scenario()

META: Dict[str, Any] = {"name": "myapp", "requires": {"db": {"interface": "pgsql", "limit": 1}}}
META_PEER: Dict[str, Any] = {**META, "peers": {"replicas": {"interface": "myapp-peers"}}}
DEPRECATED = "ignore:ops.lib is deprecated:DeprecationWarning"
OWNER = "MyCharm/PostgreSQLClient[db]"


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


def _relation(units: Optional[Dict[int, Dict[str, str]]] = None, **kw: Any) -> Any:
    return testing.Relation(
        "db",
        "pgsql",
        remote_app_name="postgresql",
        remote_units_data=units if units is not None else {0: {}},
        local_unit_data=dict(EGRESS0),
        **kw,
    )


def _run(
    charm: Any, event: Any, state: Any, meta: Dict[str, Any] = META, unit_id: int = 0
) -> Tuple[Any, List[Tuple[str, Optional[str]]]]:
    ctx = testing.Context(charm, meta=meta, unit_id=unit_id)
    with ctx(event(ctx), state) as manager:
        out = manager.run()
        seen = list(getattr(manager.charm, "seen", []))
    return out, seen


# -- the seed example ------------------------------------------------------------------------


@pytest.mark.filterwarnings(DEPRECATED)
@pytest.mark.parametrize("via", ["ops.lib.use", "import pgsql"])
def test_seed_leader_lifecycle(via: str) -> None:
    charm = seed_charm(via)
    rel = _relation()
    state = testing.State(leader=True, relations={rel})
    ctx = testing.Context(charm, meta=META)
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(rel, remote_unit=0), state)
    rel = state.get_relation(rel.id)
    assert rel.local_app_data == {"database": "mydbname", "extensions": "citext"}
    rel = _with_remote(rel, {0: server_bag("mydbname")})
    state = ctx.run(ctx.on.relation_changed(rel, remote_unit=0), _replace(state, rel))
    assert _charm_state(state)["db_uri"] == pgsql.ConnectionString(MASTER).uri
    assert not state.deferred


@pytest.mark.filterwarnings(DEPRECATED)
def test_seed_non_leader_defers_joined_until_the_echo_then_connects() -> None:
    charm = seed_charm("import pgsql")
    rel = _relation()
    ctx = testing.Context(charm, meta=META, unit_id=1)
    state = ctx.run(ctx.on.relation_joined(rel, remote_unit=0), testing.State(relations={rel}))
    assert len(state.deferred) == 1  # event.database unknown yet: the charm defers
    rel = _with_remote(
        state.get_relation(rel.id), {0: server_bag("mydbname", granted={"myapp/1": EGRESS1})}
    )
    rel = _local(rel, EGRESS1)
    state = ctx.run(ctx.on.relation_changed(rel, remote_unit=0), _replace(state, rel))
    assert not state.deferred  # re-run: the echo says mydbname
    assert _charm_state(state)["db_uri"] == pgsql.ConnectionString(MASTER).uri


def _charm_state(state: Any) -> Dict[str, Any]:
    """The seed charm's own ``_state`` (not the client's, which has the same name)."""
    (stored,) = [s for s in state.stored_states if s.owner_path == "MyCharm"]
    return dict(stored.content)


def _with_remote(rel: Any, units: Dict[int, Dict[str, str]]) -> Any:
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


def _local(rel: Any, unit_data: Dict[str, str]) -> Any:
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


def _replace(state: Any, rel: Any) -> Any:
    others = [r for r in state.relations if r.id != rel.id]
    return testing.State(
        leader=state.leader,
        relations={rel, *others},
        stored_states=state.stored_states,
        deferred=state.deferred,
        config=dict(state.config),
    )


def _event(kind: str, rel: Any) -> Any:
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


# -- peers, leadership, Juju 4 ----------------------------------------------------------------


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


def test_leader_writes_the_peer_copy_and_a_non_leader_reads_it() -> None:
    rel = _relation()
    peer = testing.PeerRelation("replicas")
    ctx = testing.Context(OneX, meta=META_PEER)
    state = ctx.run(
        ctx.on.relation_joined(rel, remote_unit=0),
        testing.State(leader=True, relations={rel, peer}),
    )
    shared = state.get_relation(peer.id).local_app_data["pgsql-db"]
    assert shared == f'{{"{rel.id}":{{"database":"mydb"}}}}'
    # a non-leader with that peer data: mirrors the request, insists on its echo
    peer2 = testing.PeerRelation("replicas", local_app_data={"pgsql-db": shared})
    rel2 = _with_remote(
        _local(rel, EGRESS1), {0: server_bag("otherdb", granted={"myapp/1": EGRESS1})}
    )
    out, seen = _run(
        OneX,
        _event("changed", rel2),
        testing.State(relations={rel2, peer2}),
        META_PEER,
        unit_id=1,
    )
    assert out.get_relation(rel2.id).local_unit_data["database"] == "mydb"
    assert seen == []  # otherdb != mydb: not ready
    rel3 = _with_remote(rel2, {0: server_bag("mydb", granted={"myapp/1": EGRESS1})})
    out, seen = _run(
        OneX,
        _event("changed", rel3),
        _replace(out, rel3),
        META_PEER,
        unit_id=1,
    )
    assert seen == [("master", "10.0.0.20"), ("database", "mydb")]


def test_juju_4_runs_no_hook_tool_outside_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("no process may run")

    monkeypatch.setattr(pgsql.client.subprocess, "check_output", boom)
    monkeypatch.setattr(pgsql.client.subprocess, "check_call", boom)
    for leader in (True, False):
        rel = _relation({0: server_bag("mydb", granted={"myapp/0": EGRESS0})})
        ctx = testing.Context(OneX, meta=META, juju_version="4.0.0")
        state = testing.State(leader=leader, relations={rel})
        for kind in ("created", "joined", "changed", "leader", "config", "upgrade", "broken"):
            rel = state.get_relation(rel.id)
            if kind == "leader":
                event = ctx.on.leader_elected()
            elif kind == "config":
                event = ctx.on.config_changed()
            elif kind == "upgrade":
                event = ctx.on.upgrade_charm()
            else:
                event = _event(kind, rel)(ctx)
            state = ctx.run(event, state)


# -- robustness -------------------------------------------------------------------------------


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


def test_upgrade_from_1x_stored_state() -> None:
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


@pytest.mark.parametrize(
    "bag",
    [
        {"master": "host='unterminated", "database": "mydb", "allowed-subnets": "10.0.0.10/32"},
        {"master": "hots=db", "database": "mydb"},
        {"master": "x" * 200_000, "standbys": "y=" * 50_000, "database": "mydb"},
        {"master": "host=\udcff\u202e\u0000", "allowed-subnets": "\u2603,,", "database": "mydb"},
        {"master": "host=db", "standbys": "dbname='a,host=b", "allowed-units": "\n\n"},
        {
            "allowed-subnets": "not-a-subnet",
            "master": "host=h",
            "database": "mydb",
            "extensions": ",",
        },
    ],
)
def test_malformed_remote_data_is_not_ready_with_a_reason(bag: Dict[str, str]) -> None:
    rel = _relation({0: bag}, remote_app_data={"master": "\x00", "version": "\ud800"})
    ctx = testing.Context(Recorder, meta=META)
    with ctx(
        ctx.on.relation_changed(rel, remote_unit=0), testing.State(leader=True, relations={rel})
    ) as manager:
        manager.run()
        readiness = manager.charm.db.readiness()
    assert readiness is not None
    assert not readiness.ready
    assert readiness.why
    assert readiness.reasons


def test_collect_status_from_the_accessors() -> None:
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


# -- cost -------------------------------------------------------------------------------------


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


def test_hook_tool_calls_against_a_hand_written_charm() -> None:
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
