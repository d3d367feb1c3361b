"""Migration between ``db`` (``pgsql``) and ``database`` (``postgresql_client``) served by
one client: which relation serves, what the charm is told when either is removed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import ops
from fix_client_postgresql_client import (
    JUJU_36,
    META_BOTH,
    TLS_PROVIDER,
    BothEndpoints,
    changed,
    charm_class,
    everything,
    kinds,
    no_password,
    pgsql_relation,
    provide,
    relation,
    rotate,
    run,
    testing,
)
from provider_double import (
    NEW_PASSWORD,
    USER_SECRET,
    Provider,
)


def _both_related(ctx: Any) -> Any:
    old = pgsql_relation(id=3)
    state = testing.State(leader=True, relations={old})
    state = ctx.run(ctx.on.relation_created(old), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(3), remote_unit=0), state)
    state, charm = changed(ctx, state, 3)
    assert "MasterAvailableEvent" in kinds(charm)
    new = relation(endpoint="database", id=9)
    state = dataclasses.replace(state, relations={*state.relations, new})
    state = ctx.run(ctx.on.relation_created(new), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(9), remote_unit=0), state)
    state, charm = changed(ctx, provide(state, 9, Provider()), 9)
    assert "MasterAvailableEvent" not in kinds(charm)
    return state


def test_removing_the_unserved_database_relation_tells_the_charm_nothing_is_gone() -> None:
    """Migration: the operator relates database, then backs out (removes it) while db serves.

    The charm's one set of handlers must not hear that its database is gone: no gone events, and
    the served master stays.
    """
    ctx = testing.Context(BothEndpoints, meta=META_BOTH, juju_version=JUJU_36)
    state = _both_related(ctx)
    state, charm = run(ctx, ctx.on.relation_broken(state.get_relation(9)), state)
    # only the 1.x "broken" of that relation: a charm that reacts to it without looking at
    # event.relation would drop its (still served) database; see the review report
    assert kinds(charm) == ["DatabaseRelationBrokenEvent"]
    master = charm.db.master()
    assert master is not None
    assert master.host == "10.9.9.9"


def test_removing_the_served_db_relation_switches_to_database_in_the_same_hook() -> None:
    ctx = testing.Context(BothEndpoints, meta=META_BOTH, juju_version=JUJU_36)
    state = _both_related(ctx)
    state, charm = run(ctx, ctx.on.relation_broken(state.get_relation(3)), state)
    seen = kinds(charm)
    assert seen.index("MasterGoneEvent") < seen.index("MasterAvailableEvent")
    last = [s for s in charm.seen if s[0] == "MasterChangedEvent"][-1]
    assert last[1] is not None
    assert last[1].host == "10.0.0.5"
    assert last[3] == "mydbname"
    served = charm.db.relation()
    assert served is not None
    assert served.id == 9
    no_password(everything(ctx, state, charm))
    # the next hook on the now-served relation tells nothing new
    state, charm = changed(ctx, state, 9)
    assert kinds(charm) == []


def test_both_related_status_names_the_relation_to_remove_without_a_password() -> None:
    ctx = testing.Context(BothEndpoints, meta=META_BOTH, juju_version=JUJU_36)
    state = _both_related(ctx)
    with ctx(ctx.on.update_status(), state) as mgr:
        out = mgr.run()
        r = mgr.charm.db.readiness(mgr.charm.model.get_relation("database"))
        served = mgr.charm.db.readiness()
    assert served is not None
    assert served.ready
    assert r is not None
    assert not r.ready
    assert "db:3" in r.why
    assert out.unit_status == ops.ActiveStatus()
    no_password(repr(r) + r.why + everything(ctx, out))


BothEndpointsCa = charm_class(ENDPOINTS=("db", "database"))


def _database_then_db(ctx: Any) -> Any:
    """database (postgresql_client, id 4) served; the operator then relates db (pgsql, id 8)."""
    new = relation(endpoint="database", id=4)
    state = testing.State(leader=True, relations={new})
    state = ctx.run(ctx.on.relation_created(new), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(4), remote_unit=0), state)
    state, charm = changed(ctx, provide(state, 4, TLS_PROVIDER), 4)
    assert "MasterAvailableEvent" in kinds(charm)
    old = pgsql_relation(id=8)
    state = dataclasses.replace(state, relations={*state.relations, old})
    state = ctx.run(ctx.on.relation_created(old), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(8), remote_unit=0), state)
    state, charm = changed(ctx, state, 8)
    assert kinds(charm) == []  # db is not served: nothing told, the database master stays
    return state


def test_db_related_after_database_is_the_conflict_and_database_stays_served() -> None:
    ctx = testing.Context(BothEndpointsCa, meta=META_BOTH, juju_version=JUJU_36)
    state = _database_then_db(ctx)
    with ctx(ctx.on.update_status(), state) as mgr:
        out = mgr.run()
        charm = mgr.charm
        served = charm.db.readiness()
        other = charm.db.readiness(charm.model.get_relation("db"))
        master = charm.db.master()
    assert served is not None
    assert served.ready
    assert master is not None
    assert master.host == "10.0.0.5"
    assert other is not None
    assert not other.ready
    assert other.reasons[0].code == "endpoint-conflict"
    assert "database:4" in other.why
    assert out.unit_status == ops.ActiveStatus()
    no_password(other.why + repr(other) + everything(ctx, out))


def test_backing_out_the_newer_db_relation_tells_nothing() -> None:
    ctx = testing.Context(BothEndpointsCa, meta=META_BOTH, juju_version=JUJU_36)
    state = _database_then_db(ctx)
    state, charm = run(ctx, ctx.on.relation_departed(state.get_relation(8), remote_unit=0), state)
    state, charm2 = run(ctx, ctx.on.relation_broken(state.get_relation(8)), state)
    told = kinds(charm) + kinds(charm2)
    assert not [k for k in told if "Gone" in k or "Available" in k or "Changed" in k], told
    master = charm2.db.master()
    assert master is not None
    assert master.host == "10.0.0.5"


def test_removing_the_served_database_relation_switches_to_db_in_the_same_hook() -> None:
    ctx = testing.Context(BothEndpointsCa, meta=META_BOTH, juju_version=JUJU_36)
    state = _database_then_db(ctx)
    state, charm = run(ctx, ctx.on.relation_broken(state.get_relation(4)), state)
    seen = kinds(charm)
    assert "MasterGoneEvent" in seen
    assert "MasterAvailableEvent" in seen
    assert seen.index("MasterGoneEvent") < seen.index("MasterAvailableEvent")
    last = [s for s in charm.seen if s[0] == "MasterChangedEvent"][-1]
    assert last[1] is not None
    assert last[1].host == "10.9.9.9"
    assert last[3] == 8
    assert last[2] is None  # pgsql publishes no CA: the database relation's is not carried over
    no_password(everything(ctx, state, charm))


def test_a_rotation_on_the_unserved_database_relation_tells_nothing() -> None:
    """db served (older), database related too: the provider of database rotates."""
    ctx = testing.Context(BothEndpointsCa, meta=META_BOTH, juju_version=JUJU_36)
    old = pgsql_relation(id=3)
    state = testing.State(leader=True, relations={old})
    state = ctx.run(ctx.on.relation_created(old), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(3), remote_unit=0), state)
    state, _ = changed(ctx, state, 3)
    new = relation(endpoint="database", id=9)
    state = dataclasses.replace(state, relations={*state.relations, new})
    state = ctx.run(ctx.on.relation_created(new), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(9), remote_unit=0), state)
    state, _ = changed(ctx, provide(state, 9, TLS_PROVIDER), 9)
    state = rotate(state, TLS_PROVIDER, TLS_PROVIDER.evolve(password=NEW_PASSWORD))
    state, charm = run(ctx, ctx.on.secret_changed(state.get_secret(id=USER_SECRET)), state)
    assert kinds(charm) == []
    master = charm.db.master()
    assert master is not None
    assert master.host == "10.9.9.9"
