"""Hooks in the orders Juju may run them on ``postgresql_client``: relation-changed
before relation-joined, an application bag answered before any unit joined.
"""

from __future__ import annotations

import dataclasses

from fix_client_postgresql_client import (
    ANSWER,
    JUJU_36,
    META,
    JoinedSetter,
    LearningSetter,
    changed,
    everything,
    kinds,
    no_password,
    provide,
    relation,
    secrets_of,
    setter_run,
    testing,
)
from provider_double import (
    Provider,
)


def test_relation_changed_before_joined_with_the_1x_setters_publishes_and_tells() -> None:
    ctx = testing.Context(JoinedSetter, meta=META, juju_version=JUJU_36)
    rel = relation()
    state = ctx.run(ctx.on.relation_created(rel), testing.State(leader=True, relations={rel}))
    assert dict(state.get_relation(rel.id).local_app_data) == {}
    state, charm = changed(ctx, state, rel.id)  # before -joined, nothing answered yet
    assert kinds(charm) == ["DatabaseRelationJoinedEvent"]
    assert state.get_relation(rel.id).local_app_data["database"] == "mydbname"
    state = ctx.run(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state)
    state, charm = changed(ctx, provide(state, rel.id, Provider()), rel.id)
    assert kinds(charm)[:2] == ["MasterAvailableEvent", "MasterChangedEvent"]


def test_an_app_bag_answered_before_any_unit_joined_is_told_once_a_unit_joins() -> None:
    ctx = testing.Context(LearningSetter, meta=META, juju_version=JUJU_36)
    p = ANSWER
    rel = testing.Relation(
        endpoint="database",
        interface="postgresql_client",
        remote_app_name=p.name,
        remote_app_data=p.app_bag(),
        remote_units_data={},
    )
    state = testing.State(leader=True, relations={rel}, secrets=secrets_of(p))
    state, c = setter_run(ctx, ctx.on.relation_created(rel), state)
    assert "MasterAvailableEvent" not in kinds(c)  # no provider unit: nothing serves it
    r = c.db.readiness()
    assert r is not None
    assert not r.ready
    rel = dataclasses.replace(state.get_relation(rel.id), remote_units_data={0: {}})
    state = dataclasses.replace(state, relations={rel})
    state, c = setter_run(ctx, ctx.on.relation_joined(rel, remote_unit=0), state)
    seen = kinds(c)
    state, c = setter_run(
        ctx, ctx.on.relation_changed(state.get_relation(rel.id), remote_unit=0), state
    )
    seen += kinds(c)
    assert seen.count("DatabaseRelationJoinedEvent") == 1, seen
    assert seen.count("MasterAvailableEvent") == 1, seen
    assert state.get_relation(rel.id).local_app_data["database"] == "mydbname"
    no_password(everything(ctx, state, c))
