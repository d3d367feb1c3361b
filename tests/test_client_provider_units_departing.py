"""Provider units departing on ``postgresql_client``: the subordinate PgBouncer unit, the
last unit (and one joining again), or one of several.
"""

from __future__ import annotations

import dataclasses
from typing import Any, List

import pytest
from fix_client_postgresql_client import (
    ANSWER,
    JUJU_4,
    JUJU_36,
    META,
    TLS_PROVIDER,
    LearningSetter,
    Looking,
    answered,
    changed,
    charm_class,
    count_reads,
    everything,
    kinds,
    no_password,
    provide,
    run,
    setter_changed,
    setter_run,
    setter_started,
    started,
    testing,
)
from provider_double import (
    PGB_VM,
    Provider,
)

from pgsql import protocol


def departed(ctx: Any, state: Any, rel_id: int, unit: int = 0, keep_data: bool = False) -> Any:
    """relation-departed of a provider unit; Juju no longer lists it (its bag goes with it)."""
    rel = state.get_relation(rel_id)
    left = {n: b for n, b in rel.remote_units_data.items() if n != unit or keep_data}
    rel2 = dataclasses.replace(rel, remote_units_data=left)
    state = dataclasses.replace(
        state, relations={*(r for r in state.relations if r.id != rel_id), rel2}
    )
    return run(ctx, ctx.on.relation_departed(rel2, remote_unit=unit, departing_unit=unit), state)


def test_the_subordinate_pgbouncer_unit_departing_is_master_gone() -> None:
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36)
    pgb = Provider(variant=PGB_VM)
    state, rel_id = started(ctx, provider=pgb)
    state, charm = changed(ctx, provide(state, rel_id, pgb), rel_id)
    assert "MasterAvailableEvent" in kinds(charm)
    state, charm = departed(ctx, state, rel_id)
    assert "MasterGoneEvent" in kinds(charm)
    r = charm.db.readiness()
    assert r is not None
    assert protocol.SUBORDINATE_NOT_READY in {x.code for x in r.reasons}


def test_pgbouncer_refreshed_to_say_subordinated_then_its_unit_departing_is_master_gone() -> None:
    """An old PgBouncer VM (no ``subordinated``) refreshed to one that says it; then its unit
    leaves."""
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36)
    pgb = Provider(variant=PGB_VM)
    old_bag = {k: v for k, v in pgb.app_bag().items() if k != "subordinated"}
    state, rel_id = started(ctx, provider=pgb)
    state = provide(state, rel_id, pgb)
    rel = state.get_relation(rel_id)
    state = dataclasses.replace(
        state, relations={dataclasses.replace(rel, remote_app_data=old_bag)}
    )
    state, charm = changed(ctx, state, rel_id)
    assert "MasterAvailableEvent" in kinds(charm)
    state = provide(state, rel_id, pgb)  # the refresh: subordinated: "true" appears
    state, charm = changed(ctx, state, rel_id)
    assert kinds(charm) == []
    state, charm = departed(ctx, state, rel_id)
    assert "MasterGoneEvent" in kinds(charm)


def test_a_provider_unit_departing_while_others_remain_tells_nothing_and_reads_no_secret() -> None:
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state = provide(state, rel_id, TLS_PROVIDER)
    rel = state.get_relation(rel_id)
    rel = dataclasses.replace(rel, remote_units_data={0: {}, 1: {}, 2: {}})
    state = dataclasses.replace(state, relations={rel})
    state, charm = changed(ctx, state, rel_id)
    assert "MasterAvailableEvent" in kinds(charm)
    spy: List[str] = []
    rel = state.get_relation(rel_id)
    rel2 = dataclasses.replace(rel, remote_units_data={0: {}, 2: {}})
    state2 = dataclasses.replace(state, relations={rel2})
    _out, charm = run(
        ctx, ctx.on.relation_departed(rel2, remote_unit=1, departing_unit=1), state2, spy
    )
    assert kinds(charm) == []
    assert spy == []


def test_the_last_provider_unit_departing_is_master_gone() -> None:
    """The provider application is scaled to 0 (``juju remove-unit`` of its last unit): Juju
    lists no provider unit, nothing serves the published endpoints any more.

    On ``pgsql`` (1.x and this library) that is ``master_gone`` (``no-remote-units``); the same
    charm with only its metadata changed to ``postgresql_client`` keeps a dead master and is
    told nothing, and ``readiness()`` says ready.
    """
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36)
    state, rel_id, charm = answered(ctx)
    state, charm = departed(ctx, state, rel_id)
    assert "MasterGoneEvent" in kinds(charm)
    assert not charm.db.is_ready()


def setter_departed(ctx: Any, state: Any, rel_id: int, unit: int) -> Any:
    rel = state.get_relation(rel_id)
    left = {n: b for n, b in rel.remote_units_data.items() if n != unit}
    rel2 = dataclasses.replace(rel, remote_units_data=left)
    state = dataclasses.replace(state, relations={rel2})
    return setter_run(
        ctx, ctx.on.relation_departed(rel2, remote_unit=unit, departing_unit=unit), state
    )


@pytest.mark.parametrize("leader", [True, False])
def test_last_unit_departing_is_master_gone_and_a_unit_rejoining_is_master_available(
    leader: bool,
) -> None:
    ctx = testing.Context(LearningSetter, meta=META, juju_version=JUJU_4)
    state, rel_id, _ = setter_started(ctx, leader=leader)
    state, c = setter_changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    assert "MasterAvailableEvent" in kinds(c)
    state, c = setter_departed(ctx, state, rel_id, 0)
    assert "MasterGoneEvent" in kinds(c)
    r = c.db.readiness()
    assert r is not None
    assert not r.ready
    assert protocol.NO_REMOTE in {x.code for x in r.reasons}
    no_password(r.why)
    # the provider is scaled up again: unit 1 joins, then its relation-changed
    rel = state.get_relation(rel_id)
    rel = dataclasses.replace(rel, remote_units_data={1: {}})
    state = dataclasses.replace(state, relations={rel})
    state, c = setter_run(ctx, ctx.on.relation_joined(rel, remote_unit=1), state)
    seen = kinds(c)
    state, c = setter_run(
        ctx, ctx.on.relation_changed(state.get_relation(rel_id), remote_unit=1), state
    )
    seen += kinds(c)
    assert seen.count("MasterAvailableEvent") == 1, seen
    assert "DatabaseRelationJoinedEvent" not in seen  # 1.x: once per relation
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    no_password(everything(ctx, state, c))


def test_the_last_provider_unit_departing_reads_neither_the_bag_nor_a_secret() -> None:
    """No provider unit: not ready whatever the provider's bag says, so nothing is read."""
    ctx = testing.Context(Looking, meta=META, juju_version=JUJU_36)
    state, rel_id, _ = answered(ctx)
    rel = state.get_relation(rel_id)
    gone = dataclasses.replace(rel, remote_units_data={})
    state = dataclasses.replace(state, relations={gone})
    seen: List[Any] = []
    _out, charm, calls = count_reads(
        ctx,
        ctx.on.relation_departed(gone, remote_unit=0, departing_unit=0),
        state,
        lambda c: seen.append(c.db.readiness()),
    )
    assert "MasterGoneEvent" in kinds(charm)
    assert [r.code for r in seen[0].reasons if r.blocking] == [protocol.NO_REMOTE]
    assert calls == {"relation-get": 0, "secret-get": 0}


def test_before_any_provider_unit_joins_the_unit_waits_for_one_reading_nothing() -> None:
    ctx = testing.Context(Looking, meta=META, juju_version=JUJU_36)
    rel = testing.Relation(
        "database",
        interface="postgresql_client",
        remote_app_name="postgresql",
        remote_units_data={},
    )
    seen: List[Any] = []
    _out, _charm, calls = count_reads(
        ctx,
        ctx.on.relation_created(rel),
        testing.State(leader=True, relations={rel}),
        lambda c: seen.append(c.db.readiness()),
    )
    assert seen[0].why.startswith("the provider has no units in the relation (none joined yet")
    assert calls == {"relation-get": 0, "secret-get": 0}
