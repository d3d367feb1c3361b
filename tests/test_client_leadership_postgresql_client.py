"""Leadership moving on ``postgresql_client``: a new leader publishes once and never what
it only read from the provider, an ex-leader writes nothing and stays ready (Juju 3
and 4, with and without a peer relation).
"""

from __future__ import annotations

import dataclasses
import json
from typing import List

import pytest
from fix_client_postgresql_client import (
    ANSWER,
    JUJU_4,
    JUJU_36,
    META,
    META_PEER,
    DeclaredSetter,
    JoinedSetter,
    LearningSetter,
    answered_non_leader,
    app_writes,
    changed,
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
    Provider,
)

from pgsql import protocol


def test_a_new_leader_keeps_the_extensions_note_learnt_from_the_peer_relation() -> None:
    """Issue 12: extensions are not on the wire, "readiness says so"; after a leader move too."""
    ctx = testing.Context(JoinedSetter, meta=META_PEER, juju_version=JUJU_36)
    peer = testing.PeerRelation("replicas")
    state, rel_id = started(ctx, extra=(peer,))
    state, charm = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    r = charm.db.readiness()
    assert r is not None
    assert r.ready
    assert protocol.EXTENSIONS_BY_CONFIG in {x.code for x in r.reasons}
    # leadership moves to unit 1, which has the leader's peer copy and our app bag
    ctx1 = testing.Context(JoinedSetter, meta=META_PEER, juju_version=JUJU_36, unit_id=1)
    s1 = testing.State(
        leader=True,
        relations={state.get_relation(rel_id), state.get_relation(peer.id)},
        secrets=state.secrets,
    )
    s1, charm = run(ctx1, ctx1.on.leader_elected(), s1)
    r = charm.db.readiness()
    assert r is not None
    assert r.ready
    assert charm.db.relation() is not None
    assert protocol.EXTENSIONS_BY_CONFIG in {x.code for x in r.reasons}


def test_juju4_ex_leader_without_peer_writes_nothing_and_follows_the_echo() -> None:
    """Juju 4: leadership moves, no leader-settings-changed, no peer relation, no leader-get."""
    ctx = testing.Context(JoinedSetter, meta=META, juju_version=JUJU_4)
    state, rel_id = started(ctx)
    published = dict(state.get_relation(rel_id).local_app_data)
    assert published["database"] == "mydbname"
    assert published["extra-user-roles"] == "charmed_read"
    state = dataclasses.replace(provide(state, rel_id, Provider()), leader=False)
    state, charm = changed(ctx, state, rel_id)
    assert dict(state.get_relation(rel_id).local_app_data) == published
    assert "extensions" not in published
    last = [s for s in charm.seen if s[0] == "MasterChangedEvent"][-1]
    assert last[1] is not None
    assert last[3] == "mydbname"
    no_password(everything(ctx, state, charm))


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
def test_new_leader_with_the_request_in_its_app_bag_writes_nothing_and_stays_ready(
    juju: str,
) -> None:
    ctx = testing.Context(LearningSetter, meta=META, juju_version=juju, unit_id=1)
    state, rel_id = answered_non_leader(ctx)
    rel = state.get_relation(rel_id)
    old_leader_wrote = {
        "database": "mydbname",
        "extra-user-roles": "charmed_read",
        "requested-secrets": json.dumps(list(protocol.REQUESTED_SECRETS)),
    }
    rel = dataclasses.replace(rel, local_app_data=old_leader_wrote)
    state = dataclasses.replace(state, relations={rel}, leader=True)
    writes: List[str] = []
    state, c = setter_run(ctx, ctx.on.leader_elected(), state, writes)
    assert app_writes(writes) == []
    assert kinds(c) == []  # nothing changed for the charm
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    state, c = setter_changed(ctx, state, rel_id, writes)
    assert app_writes(writes) == []
    no_password(everything(ctx, state, c))


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
def test_new_leader_never_publishes_a_request_it_only_read_from_the_provider(juju: str) -> None:
    """A non-leader learnt "mydbname" from the provider's snapshot; it becomes leader with an
    application bag that requests nothing (the charm never set a request there). It must not
    publish the provider's snapshot as its own request."""
    ctx = testing.Context(LearningSetter, meta=META, juju_version=juju, unit_id=1)
    state, rel_id = answered_non_leader(ctx)
    state = dataclasses.replace(state, leader=True)
    writes: List[str] = []
    state, c = setter_run(ctx, ctx.on.leader_elected(), state, writes)
    state, c = setter_changed(ctx, state, rel_id, writes)
    assert app_writes(writes) == []
    assert "database" not in state.get_relation(rel_id).local_app_data
    no_password(everything(ctx, state, c))


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
def test_new_leader_first_hook_before_leader_elected_publishes_nothing_it_read(juju: str) -> None:
    """Juju may run a queued relation-changed on the new leader before leader-elected."""
    ctx = testing.Context(LearningSetter, meta=META, juju_version=juju, unit_id=1)
    state, rel_id = answered_non_leader(ctx)
    state = dataclasses.replace(state, leader=True)
    writes: List[str] = []
    state, c = setter_changed(ctx, state, rel_id, writes)
    assert app_writes(writes) == []
    no_password(everything(ctx, state, c))


def test_a_deferred_joined_rerun_under_new_leadership_publishes_the_setter_request_once() -> None:
    """The old leader went away before it published; the non-leader deferred joined (database
    unknown); it becomes leader: the re-run joined sets the request, published once."""
    ctx = testing.Context(LearningSetter, meta=META, juju_version=JUJU_4, unit_id=1)
    state, rel_id, _ = setter_started(ctx, leader=False)
    assert len(state.deferred) == 1
    state = dataclasses.replace(state, leader=True)
    writes: List[str] = []
    state, c = setter_run(ctx, ctx.on.leader_elected(), state, writes)
    assert state.deferred == []
    # two relation-set calls in that hook (the two setters of a re-emitted deferred event run
    # outside the client's batching): Juju commits them together at the hook's end
    in_hook = len(app_writes(writes))
    assert 1 <= in_hook <= 2, writes
    bag = state.get_relation(rel_id).local_app_data
    assert bag["database"] == "mydbname"
    assert bag["extra-user-roles"] == "charmed_read"
    state, c = setter_changed(ctx, state, rel_id, writes)
    assert len(app_writes(writes)) == in_hook, writes
    no_password(everything(ctx, state, c))


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
@pytest.mark.parametrize("base", [DeclaredSetter, LearningSetter])
def test_ex_leader_writes_nothing_and_stays_ready(juju: str, base: type) -> None:
    ctx = testing.Context(base, meta=META, juju_version=juju)
    state, rel_id, _ = setter_started(ctx, leader=True)
    assert state.get_relation(rel_id).local_app_data["database"] == "mydbname"
    state, c = setter_changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    assert "MasterAvailableEvent" in kinds(c)
    # leadership moves away; Juju 4 says nothing (no leader-settings-changed)
    state = dataclasses.replace(state, leader=False)
    writes: List[str] = []
    state, c = setter_changed(ctx, state, rel_id, writes)
    state, c = setter_run(ctx, ctx.on.config_changed(), state, writes)
    assert writes == []
    assert "MasterGoneEvent" not in kinds(c)
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    ev = c.db.readiness()
    assert ev is not None
    assert ev.database == "mydbname"
    no_password(everything(ctx, state, c))


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
def test_declared_new_leader_publishes_exactly_once(juju: str) -> None:
    ctx = testing.Context(DeclaredSetter, meta=META, juju_version=juju, unit_id=1)
    writes: List[str] = []
    state, rel_id, _ = setter_started(ctx, leader=False, writes=writes)
    state, c = setter_changed(ctx, provide(state, rel_id, ANSWER), rel_id, writes)
    assert writes == []
    state = dataclasses.replace(state, leader=True)  # the old leader never wrote (died first)
    state, c = setter_run(ctx, ctx.on.leader_elected(), state, writes)
    assert len(app_writes(writes)) == 1, writes
    bag = state.get_relation(rel_id).local_app_data
    assert bag["database"] == "mydbname"
    for ev in (ctx.on.update_status(), ctx.on.config_changed(), ctx.on.leader_elected()):
        state, c = setter_run(ctx, ev, state, writes)
    state, c = setter_changed(ctx, state, rel_id, writes)
    assert len(app_writes(writes)) == 1, writes
    no_password(everything(ctx, state, c))


def test_juju4_leadership_there_and_back_again_publishes_nothing_new() -> None:
    ctx = testing.Context(LearningSetter, meta=META, juju_version=JUJU_4)
    state, rel_id, _ = setter_started(ctx, leader=True)
    state, c = setter_changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    published = dict(state.get_relation(rel_id).local_app_data)
    writes: List[str] = []
    state = dataclasses.replace(state, leader=False)
    state, c = setter_changed(ctx, state, rel_id, writes)
    state = dataclasses.replace(state, leader=True)
    state, c = setter_run(ctx, ctx.on.leader_elected(), state, writes)
    state, c = setter_changed(ctx, state, rel_id, writes)
    assert writes == []
    assert dict(state.get_relation(rel_id).local_app_data) == published
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    state, c = setter_run(ctx, ctx.on.update_status(), state)
    no_password(everything(ctx, state, c))
