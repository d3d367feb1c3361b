"""Hook-tool economy on ``postgresql_client``: each provider secret read at most once per
hook (deferred events and the charm's own secret-changed handler included), and no
relation-set but what a requirer needs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, List, Optional

import ops
import ops.framework
import pytest
from fix_client_postgresql_client import (
    JUJU_4,
    JUJU_36,
    META,
    META_PEER,
    META_SEED,
    ROTATED_CA,
    TLS_PROVIDER,
    Declared,
    JoinedSetter,
    answered,
    at_most_once,
    changed,
    charm_class,
    deferring,
    everything,
    no_password,
    provide,
    reads,
    relation,
    rotate,
    run,
    secrets_of,
    spy_run,
    started,
    testing,
)
from provider_double import (
    NEW_CA,
    NEW_PASSWORD,
    TLS_SECRET,
    USER_SECRET,
    Provider,
)


def test_a_deferred_event_rerun_then_the_hook_reads_each_secret_once() -> None:
    """Issue 12, Costs: "each secret read at most once per hook", with a deferred event re-run."""
    ctx = testing.Context(deferring("MasterChangedEvent"), meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    assert len(state.deferred) == 1
    spy: List[str] = []
    state, _charm = changed(ctx, state, rel_id, spy)
    assert not state.deferred
    assert at_most_once(spy), spy


def test_secret_changed_with_a_deferred_event_reads_the_rotated_secret_once() -> None:
    """Issue 12, Costs, and rotation while the charm deferred master_changed."""
    ctx = testing.Context(deferring("MasterChangedEvent"), meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    assert len(state.deferred) == 1
    rotated = Provider(password=NEW_PASSWORD)
    state = dataclasses.replace(state, secrets=secrets_of(Provider(), latest=rotated))
    spy: List[str] = []
    state, charm = run(ctx, ctx.on.secret_changed(state.get_secret(id=USER_SECRET)), state, spy)
    masters = [s[1] for s in charm.seen if s[0] == "MasterChangedEvent"]
    assert masters
    assert all(m is not None and m.password == NEW_PASSWORD for m in masters)
    assert at_most_once(spy), spy


def test_seed_charm_non_leader_deferred_joined_does_not_double_the_secret_reads() -> None:
    """The 1.x seed charm defers joined on non-leaders; its re-run must not cost extra reads."""
    from test_client_support import seed_charm

    ctx = testing.Context(
        seed_charm("import pgsql"), meta=META_SEED, juju_version=JUJU_36, unit_id=1
    )
    rel = relation(endpoint="db")
    state = ctx.run(ctx.on.relation_joined(rel, remote_unit=0), testing.State(relations={rel}))
    assert len(state.deferred) == 1
    state = provide(state, rel.id, Provider())
    spy: List[str] = []
    state, _ = changed(ctx, state, rel.id, spy)
    assert not state.deferred
    assert at_most_once(spy), spy


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
def test_the_1x_setter_charm_writes_only_what_a_requirer_needs_over_a_lifecycle(juju: str) -> None:
    """Issue 12, Costs: no unit-bag writes on postgresql_client, no rewrite of unchanged keys."""
    ctx = testing.Context(JoinedSetter, meta=META_PEER, juju_version=juju)
    peer = testing.PeerRelation("replicas")
    rel = relation()
    state = testing.State(leader=True, relations={rel, peer})
    per_hook: List[List[str]] = []

    def hook(event: Any) -> Any:
        writes: List[str] = []
        out, charm = run(ctx, event, state, writes=writes)
        per_hook.append(writes)
        return out, charm

    state, _ = hook(ctx.on.relation_created(rel))
    state, _ = hook(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0))
    state = provide(state, rel.id, Provider())
    state, _ = hook(ctx.on.relation_changed(state.get_relation(rel.id), remote_unit=0))
    rotated = Provider(password=NEW_PASSWORD)
    state = dataclasses.replace(state, secrets=secrets_of(Provider(), latest=rotated))
    state, _ = hook(ctx.on.secret_changed(state.get_secret(id=USER_SECRET)))
    state, _ = hook(ctx.on.update_status())
    state, _ = hook(ctx.on.leader_elected())
    state, _ = hook(ctx.on.upgrade_charm())
    state, _ = hook(ctx.on.config_changed())
    state, _ = hook(ctx.on.relation_changed(state.get_relation(rel.id), remote_unit=0))
    every = [w for ws in per_hook for w in ws]
    assert not [w for w in every if w.startswith(f"{rel.id}:unit")], every
    # the request once (joined: the 1.x setters), the peer copy once
    assert [w for w in every if w.startswith(f"{rel.id}:app")] == [
        f"{rel.id}:app:database,extra-user-roles,requested-secrets"
    ], every
    assert len([w for w in every if w.startswith(f"{peer.id}:")]) == 1, every
    assert per_hook[2:] == [[]] * (len(per_hook) - 2), per_hook


class ObservesSecretsFirst(Declared):
    """A charm that observes secret-changed itself, before it builds the client (its own secrets),
    and looks at the database from there."""

    passwords: ClassVar[List[Optional[str]]] = []

    def _before_client(self, framework: ops.framework.Framework) -> None:
        framework.observe(self.on.secret_changed, self._on_secret_changed)

    def _on_secret_changed(self, event: ops.SecretChangedEvent) -> None:
        master = self.db.master()
        self.passwords.append(None if master is None else master.password)


def test_a_charm_reading_the_client_in_its_own_secret_changed_handler_costs_no_extra_reads() -> (
    None
):
    """Issue 12, Costs: each secret read at most once per hook, whoever asks first."""
    ctx = testing.Context(ObservesSecretsFirst, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    rotated = Provider(password=NEW_PASSWORD)
    state = dataclasses.replace(state, secrets=secrets_of(Provider(), latest=rotated))
    spy: List[str] = []
    ObservesSecretsFirst.passwords.clear()
    state, charm = run(ctx, ctx.on.secret_changed(state.get_secret(id=USER_SECRET)), state, spy)
    assert ObservesSecretsFirst.passwords == [NEW_PASSWORD]
    assert [s[1].password for s in charm.seen if s[0] == "MasterChangedEvent" and s[1]] == [
        NEW_PASSWORD
    ]
    assert at_most_once(spy), spy


def test_the_charms_own_secret_changed_handler_sees_the_rotated_ca() -> None:
    """A charm observing secret-changed before it builds the client reads ``tls_ca()`` there."""
    ctx = testing.Context(charm_class(OWN_SECRET_HANDLER=True), meta=META, juju_version=JUJU_36)
    state, _, _ = answered(ctx)
    state = rotate(state, TLS_PROVIDER, ROTATED_CA)
    state, charm, spy = spy_run(ctx, ctx.on.secret_changed(state.get_secret(id=TLS_SECRET)), state)
    assert charm.own_secret_reads == [NEW_CA]
    assert reads(spy).get(TLS_SECRET) == 1


def test_the_charms_own_secret_changed_handler_sees_the_rotated_password_reading_it_once() -> None:
    ctx = testing.Context(charm_class(OWN_SECRET_HANDLER=True), meta=META, juju_version=JUJU_36)
    state, _, _ = answered(ctx)
    new = TLS_PROVIDER.evolve(password=NEW_PASSWORD)
    state = rotate(state, TLS_PROVIDER, new)
    state, charm, spy = spy_run(ctx, ctx.on.secret_changed(state.get_secret(id=USER_SECRET)), state)
    masters = [s[1] for s in charm.seen if s[0] == "MasterChangedEvent"]
    assert [m.password for m in masters if m is not None] == [NEW_PASSWORD]
    assert reads(spy) == {USER_SECRET: 1}
    no_password(everything(ctx, state, charm))
