"""Events the charm defers on ``postgresql_client``: re-run later with what is current
then, past a rotation or the relation's removal.
"""

from __future__ import annotations

import dataclasses

import ops
import pytest
from fix_client_postgresql_client import (
    JUJU_36,
    META,
    ROTATED_CA,
    TLS_PROVIDER,
    answered,
    changed,
    charm_class,
    deferring,
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
    NEW_CA,
    NEW_PASSWORD,
    PASSWORD,
    TLS_SECRET,
    USER_SECRET,
    Provider,
)


def test_a_master_changed_deferred_past_the_removal_runs_without_an_exception() -> None:
    charm_cls = deferring("MasterChangedEvent")
    ctx = testing.Context(charm_cls, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    assert len(state.deferred) == 1
    charm_cls.KEEP_DEFERRING = True  # the workload is not up yet: it keeps deferring
    state, charm = run(ctx, ctx.on.relation_broken(state.get_relation(rel_id)), state)
    assert len(state.deferred) == 2  # the first master_changed, and the gone one
    charm_cls.KEEP_DEFERRING = False  # the workload is up: the deferred event is handled now
    gone = dataclasses.replace(state, relations=set(), secrets=[])
    state, charm = run(ctx, ctx.on.update_status(), gone)
    assert not state.deferred
    rerun = [s for s in charm.seen if s[0] == "MasterChangedEvent"]
    assert len(rerun) == 2
    assert all(s[1] is None and s[2] == [] and s[3] == "mydbname" for s in rerun)
    assert state.unit_status == ops.BlockedStatus("needs a database relation")


@pytest.mark.parametrize("leader", [True, False])
def test_harness_rotation_while_master_changed_is_deferred(leader: bool) -> None:
    harness, _, ids = provider_harness(deferring("MasterChangedEvent"), Provider(), leader=leader)
    charm = harness.charm
    assert [s[1].password for s in charm.seen if s[0] == "MasterChangedEvent" and s[1]] == [
        PASSWORD
    ]
    charm.seen.clear()
    harness.set_secret_content(ids[USER_SECRET], Provider(password=NEW_PASSWORD).user_content())
    masters = [s[1] for s in charm.seen if s[0] == "MasterChangedEvent"]
    assert masters
    assert all(m is not None and m.password == NEW_PASSWORD for m in masters)
    master = charm.db.master()
    assert master is not None
    assert master.password == NEW_PASSWORD
    harness.cleanup()


def test_a_deferred_master_changed_rerun_in_the_ca_secret_changed_hook_sees_the_new_ca() -> None:
    """docs/protocol.md §11: "A deferred event re-run at the start of that hook sees the new
    revision too" -- for the TLS secret as for the user secret.

    Sequence: master_changed deferred (the workload is not up); the provider rotates its CA; the
    secret-changed hook re-runs the deferred event first.
    """
    ctx = testing.Context(
        charm_class(DEFER=("MasterChangedEvent",)), meta=META, juju_version=JUJU_36
    )
    state, _, charm = answered(ctx)
    assert len(state.deferred) == 1
    state = rotate(state, TLS_PROVIDER, ROTATED_CA)
    state, charm, spy = spy_run(ctx, ctx.on.secret_changed(state.get_secret(id=TLS_SECRET)), state)
    cas = [s[2] for s in charm.seen if s[0] == "MasterChangedEvent"]
    assert cas
    assert all(ca == NEW_CA for ca in cas), cas
    assert reads(spy).get(TLS_SECRET) == 1
