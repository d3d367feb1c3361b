"""Provider secrets rotated, dropped or removed, and a plaintext relation across a Juju
upgrade: what the charm is told (``postgresql_client``).
"""

from __future__ import annotations

import dataclasses
from typing import List

import ops
from fix_client_postgresql_client import (
    JUJU_29,
    JUJU_36,
    META,
    ROTATED_CA,
    TLS_PROVIDER,
    CaRecorder,
    Declared,
    answered,
    changed,
    charm_class,
    everything,
    kinds,
    no_password,
    provide,
    provider_harness,
    reads,
    rotate,
    run,
    spy_run,
    started,
    testing,
)
from provider_double import (
    CA,
    NEW_CA,
    TLS_SECRET,
    USER_SECRET,
    Provider,
)

from pgsql import protocol


def test_a_removed_secret_is_master_gone_with_a_reason_never_an_exception() -> None:
    ctx = testing.Context(Declared, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    removed = dataclasses.replace(state, secrets=[])  # the provider removed its secrets
    state, charm = changed(ctx, removed, rel_id)
    assert "MasterGoneEvent" in kinds(charm)
    state, charm = run(ctx, ctx.on.update_status(), state)
    assert isinstance(state.unit_status, ops.WaitingStatus)
    assert "secret" in state.unit_status.message
    no_password(everything(ctx, state, charm))


def test_a_rotation_that_drops_the_password_is_master_gone() -> None:
    ctx = testing.Context(Declared, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    latest = {
        USER_SECRET: {"username": "relation-7"},
        TLS_SECRET: Provider().tls_content(),
    }
    state = dataclasses.replace(
        state,
        secrets=[
            testing.Secret(c, id=u, latest_content=latest[u])
            for u, c in Provider().secret_contents().items()
        ],
    )
    state, charm = run(ctx, ctx.on.secret_changed(state.get_secret(id=USER_SECRET)), state)
    assert kinds(charm)[:2] == ["MasterChangedEvent", "MasterGoneEvent"]
    r = charm.db.readiness()
    assert r is not None
    assert protocol.NO_CREDENTIALS in {x.code for x in r.reasons}


def test_a_relation_that_started_in_plaintext_stays_ready_after_a_juju_upgrade() -> None:
    """Facts: "A relation that started in plaintext stays so", Juju 2.9 then 3.6."""
    ctx29 = testing.Context(Declared, meta=META, juju_version=JUJU_29)
    state, rel_id = started(ctx29)
    plain_provider = Provider(secrets=False)
    state, charm = changed(ctx29, provide(state, rel_id, plain_provider), rel_id)
    assert "MasterAvailableEvent" in kinds(charm)
    ctx36 = testing.Context(Declared, meta=META, juju_version=JUJU_36)
    state, charm = run(ctx36, ctx36.on.upgrade_charm(), state)
    spy: List[str] = []
    state, charm = changed(ctx36, state, rel_id, spy)
    assert kinds(charm) == []
    assert charm.db.is_ready()
    assert spy == []
    no_password(everything(ctx36, state, charm))


def test_ca_rotation_is_master_changed_with_the_new_ca() -> None:
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36)
    state, _, charm = answered(ctx)
    assert [s[2] for s in charm.seen if s[0] == "MasterChangedEvent"] == [CA]
    state = rotate(state, TLS_PROVIDER, ROTATED_CA)
    state, charm, spy = spy_run(ctx, ctx.on.secret_changed(state.get_secret(id=TLS_SECRET)), state)
    assert [s[2] for s in charm.seen if s[0] == "MasterChangedEvent"] == [NEW_CA]
    assert charm.db.tls_ca() == NEW_CA
    assert reads(spy).get(TLS_SECRET) == 1
    # the next hook keeps the new CA without reading the TLS secret again
    state, charm, spy = spy_run(ctx, ctx.on.update_status(), state)
    assert charm.db.tls_ca() == NEW_CA
    assert TLS_SECRET not in reads(spy)
    assert kinds(charm) == []
    no_password(everything(ctx, state))


def test_harness_ca_rotation_is_master_changed_with_the_new_ca() -> None:
    harness, _, ids = provider_harness(CaRecorder, TLS_PROVIDER)
    charm: CaRecorder = harness.charm
    assert charm.db.tls_ca() == CA
    charm.seen.clear()
    harness.set_secret_content(ids[TLS_SECRET], ROTATED_CA.tls_content())
    assert [s[2] for s in charm.seen if s[0] == "MasterChangedEvent"] == [NEW_CA]
    assert charm.db.tls_ca() == NEW_CA
    harness.cleanup()
