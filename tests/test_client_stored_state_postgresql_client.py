"""What the client keeps in StoredState on ``postgresql_client`` (the TLS flag and CA,
nothing secret) and how it recovers when StoredState is lost or a secret is
revoked or unreadable.
"""

from __future__ import annotations

import dataclasses
from typing import List

import pytest
from fix_client_postgresql_client import (
    JUJU_36,
    META,
    ROTATED_CA,
    TLS_ANSWER,
    TLS_PROVIDER,
    Declared,
    LearningSetter,
    answered,
    at_most_once,
    changed,
    charm_class,
    everything,
    kinds,
    no_password,
    provide,
    reads,
    secrets_of,
    setter_changed,
    setter_run,
    setter_started,
    spy_run,
    started,
    testing,
    with_secret_content,
)
from provider_double import (
    CA,
    NEW_CA,
    PASSWORD,
    TLS_SECRET,
    USER_SECRET,
    Provider,
)

from pgsql import protocol


def test_lost_stored_state_on_a_non_leader_is_told_again_without_writes() -> None:
    ctx = testing.Context(Declared, meta=META, juju_version=JUJU_36, unit_id=1)
    state, rel_id = started(ctx, leader=False)
    state, _ = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    fresh = dataclasses.replace(state, stored_states=[])
    spy: List[str] = []
    out, charm = changed(ctx, fresh, rel_id, spy)
    assert kinds(charm)[:3] == [
        "DatabaseRelationJoinedEvent",
        "MasterAvailableEvent",
        "MasterChangedEvent",
    ]
    mine = out.get_relation(rel_id)
    assert dict(mine.local_app_data) == {}
    assert dict(mine.local_unit_data) == dict(state.get_relation(rel_id).local_unit_data)
    assert at_most_once(spy), spy


def test_lost_stored_state_reads_the_tls_secret_again() -> None:
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36)
    state, rel_id, _ = answered(ctx)
    fresh = dataclasses.replace(state, stored_states=[])
    state, charm, spy = spy_run(
        ctx, ctx.on.relation_changed(fresh.get_relation(rel_id), remote_unit=0), fresh
    )
    assert reads(spy) == {USER_SECRET: 1, TLS_SECRET: 1}
    assert charm.db.tls_ca() == CA
    assert "MasterChangedEvent" in kinds(charm)


def test_upgrade_charm_reads_the_tls_secret_again_and_follows_a_ca_missed_meanwhile() -> None:
    """The CA rotated while the unit tracked the old revision (secret-changed lost): the
    upgrade re-reads the TLS secret. (It reads the tracked revision: Juju moves tracking only
    with --refresh, so the old CA is what this unit is entitled to until secret-changed.)"""
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36)
    state, _, _ = answered(ctx)
    # the provider re-created the TLS secret content under the same id (tracked revision now)
    state = dataclasses.replace(state, secrets=secrets_of(ROTATED_CA))
    state, charm, spy = spy_run(ctx, ctx.on.upgrade_charm(), state)
    assert reads(spy).get(TLS_SECRET) == 1
    assert charm.db.tls_ca() == NEW_CA
    assert [s[2] for s in charm.seen if s[0] == "MasterChangedEvent"] == [NEW_CA]


def test_a_revoked_tls_secret_judges_a_cached_unit_as_a_fresh_unit() -> None:
    """The provider revokes (or removes) its TLS secret, the user secret stays readable.

    A unit that kept the TLS content in StoredState and a unit that did not (a new unit, a
    lost StoredState) must reach the same verdict on the same relation data.
    """
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36)
    state, rel_id, _ = answered(ctx)
    revoked = dataclasses.replace(state, secrets=[s for s in state.secrets if s.id != TLS_SECRET])
    _kept, kept_charm = changed(ctx, revoked, rel_id)
    fresh = dataclasses.replace(revoked, stored_states=[])
    _new, new_charm = changed(ctx, fresh, rel_id)
    a = kept_charm.db.readiness()
    b = new_charm.db.readiness()
    assert a is not None
    assert b is not None
    # The TLS secret only says whether TLS is on and with which CA: both units use the
    # credentials. The kept unit still knows the CA; the fresh one notes it cannot read it.
    assert (a.ready, a.master) == (b.ready, b.master)
    assert a.ready
    assert protocol.SECRET_NOT_GRANTED in {r.code for r in b.reasons if not r.blocking}
    assert not [r for r in a.reasons + b.reasons if r.blocking]


def test_only_the_tls_flag_and_ca_of_the_tls_secret_are_kept_in_stored_state() -> None:
    """The doc keeps "a flag and a public CA": whatever else a provider put in its TLS secret
    (a private key, a password) must not be copied into StoredState in clear."""
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state = provide(state, rel_id, TLS_PROVIDER)
    odd = {**TLS_PROVIDER.tls_content(), "password": PASSWORD, "tls-key": "PRIVATE-KEY-x"}
    state = with_secret_content(state, TLS_SECRET, odd)
    state, charm = changed(ctx, state, rel_id)
    assert charm.db.tls_ca() == CA
    kept = repr([s.content for s in state.stored_states])
    assert CA.split("\n")[1] in kept  # the CA is kept (documented)
    assert PASSWORD not in kept
    assert "PRIVATE-KEY-x" not in kept


@pytest.mark.parametrize("leader", [True, False])
def test_an_unreadable_tls_secret_is_a_note_and_the_credentials_are_used(leader: bool) -> None:
    ctx = testing.Context(LearningSetter, meta=META, juju_version=JUJU_36)
    state, rel_id, _ = setter_started(ctx, leader=leader)
    state = provide(state, rel_id, TLS_ANSWER)
    state = dataclasses.replace(state, secrets=[s for s in state.secrets if s.id != TLS_SECRET])
    spy: List[str] = []
    state, c = setter_run(
        ctx, ctx.on.relation_changed(state.get_relation(rel_id), remote_unit=0), state, spy=spy
    )
    available = [s for s in c.seen if s[0] == "MasterAvailableEvent"]
    assert available
    assert available[0][1] is not None
    assert available[0][4] is None
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    assert r.tls is None
    assert r.tls_ca is None
    notes = [x for x in r.reasons if x.code == protocol.SECRET_NOT_GRANTED]
    assert notes
    assert not any(x.blocking for x in notes)
    # StoredState keeps nothing of the TLS secret it could not read
    kept = repr([s.content for s in state.stored_states])
    assert TLS_SECRET.split("/")[-1] not in kept  # no 'tls' record (id and content)
    no_password(everything(ctx, state, c) + r.why)
    # granted later: the next hook sees the CA (a master_changed)
    state = dataclasses.replace(state, secrets=secrets_of(TLS_ANSWER))
    state, c = setter_run(ctx, ctx.on.update_status(), state)
    state, c = setter_changed(ctx, state, rel_id)
    assert c.db.tls_ca() == CA


def test_the_tls_secret_is_kept_only_as_tls_and_tls_ca() -> None:
    ctx = testing.Context(LearningSetter, meta=META, juju_version=JUJU_36)
    state, rel_id, _ = setter_started(ctx, leader=True)
    state = provide(state, rel_id, TLS_ANSWER)
    odd = {**TLS_ANSWER.tls_content(), "password": PASSWORD, "uris": f"postgresql://u:{PASSWORD}@h"}
    state = with_secret_content(state, TLS_SECRET, odd)
    state, c = setter_changed(ctx, state, rel_id)
    assert c.db.tls_ca() == CA
    for stored in state.stored_states:
        text = repr(stored.content)
        assert PASSWORD not in text
        assert "postgresql://u:" not in text
    no_password(everything(ctx, state, c))
