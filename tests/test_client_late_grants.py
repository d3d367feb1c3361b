"""A secret granted after the provider published it (the grant runs no hook): readiness,
the next hook and Harness see it; a revoke is seen too (``postgresql_client``).
"""

from __future__ import annotations

from typing import Any, Tuple

import ops
import pytest
from fix_client_postgresql_client import (
    JUJU_36,
    META,
    TLS_PROVIDER,
    CaRecorder,
    Declared,
    changed,
    charm_class,
    everything,
    kinds,
    no_password,
    provide,
    provider_harness,
    reads,
    run,
    spy_run,
    started,
    testing,
)
from provider_double import (
    TLS_SECRET,
    USER_SECRET,
    Provider,
)

from pgsql import protocol


def test_a_grant_that_arrives_without_a_relation_hook_is_told_at_the_next_hook() -> None:
    """Facts: a secret can arrive before the grant; the grant itself fires no hook here.

    The next hook (update-status) computes readiness() live and sees it ready; the charm must then
    also be told (master_available/master_changed), or a 1.x charm sits "active" per readiness()
    with no connection string ever delivered, until some unrelated relation-changed.
    """
    ctx = testing.Context(Declared, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, charm = changed(ctx, provide(state, rel_id, Provider(), granted=False), rel_id)
    assert kinds(charm) == []
    state = provide(state, rel_id, Provider(), granted=True)  # the grant, no hook for it
    state, charm = run(ctx, ctx.on.update_status(), state)
    assert state.unit_status == ops.ActiveStatus()  # readiness() says ready...
    assert "MasterChangedEvent" in kinds(charm)  # ...so the charm must have been told


def test_harness_a_late_grant_is_seen_by_readiness_and_the_next_update_status() -> None:
    harness, _, ids = provider_harness(Declared, Provider(), grant=False)
    charm: Declared = harness.charm
    assert not charm.db.is_ready()
    for secret_id in ids.values():
        harness.grant_secret(secret_id, "myapp")
    assert charm.db.is_ready()
    charm.seen.clear()
    harness.charm.on.update_status.emit()
    assert "MasterChangedEvent" in kinds(charm)
    assert harness.model.unit.status == ops.ActiveStatus()
    harness.cleanup()


def test_harness_readiness_after_a_revoke_is_not_ready() -> None:
    harness, _, ids = provider_harness(CaRecorder, TLS_PROVIDER)
    charm: CaRecorder = harness.charm
    assert charm.db.is_ready()
    for secret_id in ids.values():
        harness.revoke_secret(secret_id, "myapp")
    r = charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert protocol.SECRET_NOT_GRANTED in {x.code for x in r.reasons}
    harness.cleanup()


def _waiting(ctx: Any, leader: bool = True) -> Tuple[Any, int]:
    state, rel_id = started(ctx, leader=leader)
    state, charm = changed(ctx, provide(state, rel_id, TLS_PROVIDER, granted=False), rel_id)
    assert kinds(charm) == []
    return provide(state, rel_id, TLS_PROVIDER, granted=True), rel_id  # granted: no hook


@pytest.mark.parametrize("leader", [True, False])
def test_a_late_grant_is_told_at_update_status_reading_each_secret_once(leader: bool) -> None:
    ctx = testing.Context(
        charm_class(), meta=META, juju_version=JUJU_36, unit_id=0 if leader else 1
    )
    state, _ = _waiting(ctx, leader)
    state, charm, spy = spy_run(ctx, ctx.on.update_status(), state)
    assert kinds(charm)[:2] == ["MasterAvailableEvent", "MasterChangedEvent"]
    assert state.unit_status == ops.ActiveStatus()
    assert reads(spy) == {USER_SECRET: 1, TLS_SECRET: 1}
    no_password(everything(ctx, state, charm))
    # once told, update-status is not observed any more: no reads, nothing told
    state, charm, spy = spy_run(ctx, ctx.on.update_status(), state)
    assert kinds(charm) == []
    # the charm's own status comes from the verdict it was told: nothing read again
    assert reads(spy) == {}


def test_a_late_grant_then_a_non_relation_hook_tells_the_charm_as_readiness_says_ready() -> None:
    """The grant runs no hook; the next hook is config-changed (``juju config``) or a
    leader-elected, not update-status. The charm's status from ``readiness()`` says ready
    there: the charm must be told in the same hook, not up to 5 minutes later."""
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36)
    state, _ = _waiting(ctx)
    with ctx(ctx.on.config_changed(), state) as mgr:
        mgr.run()
        charm = mgr.charm
        ready = charm.db.is_ready()
    assert ready
    assert "MasterChangedEvent" in kinds(charm)
