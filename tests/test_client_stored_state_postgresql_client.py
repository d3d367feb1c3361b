"""A second review of PostgreSQLClient on ``postgresql_client`` (issues 12 and 13): try to break it.

Fresh eyes on what was added after the first review (tests/test_review_postgresql_client.py):
roles kept once the provider answered, the TLS secret's content kept in StoredState, departing
provider units judged only behind a subordinate, update-status while waiting for a grant, secret
reads per hook, Harness freshness and one client serving ``("db", "database")``. Only the public
and 1.x API, realistic hook sequences under Scenario (``ops.testing``) and Harness; the provider
is :mod:`provider_double`. A failing test names a defect (its name is the expected behaviour);
the passing ones are kept as regression tests.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
import pytest
from provider_double import (
    CA,
    NEW_CA,
    NEW_PASSWORD,
    PASSWORD,
    PGB_VM,
    TLS_SECRET,
    USER_SECRET,
    Provider,
)

import pgsql
from pgsql import protocol

testing: Any = pytest.importorskip("ops.testing")
if getattr(testing, "Context", None) is None:
    pytest.skip("ops.testing.Context needs ops >= 2.17 (ops[testing])", allow_module_level=True)

# The first review's helpers (same guard above: that module skips where this one does).
from test_review_postgresql_client import (  # noqa: E402
    ALL_EVENTS,
    META,
    META_BOTH,
    _pgsql_relation,  # pyright: ignore[reportPrivateUsage]
    changed,
    everything,
    provide,
    relation,
    run,
    secrets_of,
    started,
)

JUJU_36 = "3.6.4"
SECRETS = (PASSWORD, NEW_PASSWORD)
TLS_PROVIDER = Provider(tls=True, ca=CA)
ROTATED_CA = Provider(tls=True, ca=NEW_CA)


def no_password(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# -- the charm ------------------------------------------------------------------------------------


class Charm(ops.charm.CharmBase):
    """Declarative request; records each event with its master, CA and TLS flag."""

    ENDPOINTS: ClassVar[Any] = "database"
    KW: ClassVar[Dict[str, Any]] = {"database": "mydbname"}
    DEFER: ClassVar[Tuple[str, ...]] = ()
    OWN_SECRET_HANDLER: ClassVar[bool] = False

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.own_secret_reads: List[Optional[str]] = []
        if self.OWN_SECRET_HANDLER:
            # registered before the client: runs first in secret-changed
            framework.observe(self.on.secret_changed, self._on_secret_changed)
        self.db = pgsql.PostgreSQLClient(self, self.ENDPOINTS, **self.KW)
        self.seen: List[Tuple[str, Optional[pgsql.ConnectionString], Optional[str], int]] = []
        self.reprs: List[str] = []
        for name in ALL_EVENTS:
            framework.observe(getattr(self.db.on, name), self._record)
        framework.observe(self.on.update_status, self._on_update_status)

    def _on_secret_changed(self, event: ops.SecretChangedEvent) -> None:
        self.own_secret_reads.append(self.db.tls_ca())

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        kind = type(event).__name__
        self.seen.append((kind, event.master, event.tls_ca, event.relation.id))
        self.reprs += [repr(event), repr(event.readiness), repr(event.master), repr(event.standbys)]
        if kind in self.DEFER and not getattr(type(self), "_deferred_once", False):
            type(self)._deferred_once = True  # type: ignore[attr-defined]
            event.defer()

    def _on_update_status(self, event: ops.UpdateStatusEvent) -> None:
        r = self.db.readiness()
        if r is None:
            self.unit.status = ops.BlockedStatus("needs a database relation")
        elif not r.ready:
            self.unit.status = ops.WaitingStatus(f"database: {r.why}")
        else:
            self.unit.status = ops.ActiveStatus()


def charm_class(**attrs: Any) -> type:
    return type("ReviewCharm", (Charm,), dict(attrs))


def kinds(charm: Charm) -> List[str]:
    return [s[0] for s in charm.seen]


def spy_run(ctx: Any, event: Any, state: Any) -> Tuple[Any, Any, List[str]]:
    spy: List[str] = []
    out, charm = run(ctx, event, state, spy)
    return out, charm, spy


def reads(spy: List[str]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for call in spy:
        uri = call.split("|")[0]
        out[uri] = out.get(uri, 0) + 1
    return out


def answered(ctx: Any, provider: Provider = TLS_PROVIDER) -> Tuple[Any, int, Any]:
    state, rel_id = started(ctx)
    state, charm = changed(ctx, provide(state, rel_id, provider), rel_id)
    return state, rel_id, charm


def rotate(state: Any, old: Provider, new: Provider) -> Any:
    return dataclasses.replace(state, secrets=secrets_of(old, latest=new))


# == the TLS secret kept in StoredState ===========================================================


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


# == departing provider units =====================================================================


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


# == one client, two endpoints: database served first, db added later ============================

Both = charm_class(ENDPOINTS=("db", "database"))


def _database_then_db(ctx: Any) -> Any:
    """database (postgresql_client, id 4) served; the operator then relates db (pgsql, id 8)."""
    new = relation(endpoint="database", id=4)
    state = testing.State(leader=True, relations={new})
    state = ctx.run(ctx.on.relation_created(new), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(4), remote_unit=0), state)
    state, charm = changed(ctx, provide(state, 4, TLS_PROVIDER), 4)
    assert "MasterAvailableEvent" in kinds(charm)
    old = _pgsql_relation(id=8)
    state = dataclasses.replace(state, relations={*state.relations, old})
    state = ctx.run(ctx.on.relation_created(old), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(8), remote_unit=0), state)
    state, charm = changed(ctx, state, 8)
    assert kinds(charm) == []  # db is not served: nothing told, the database master stays
    return state


def test_db_related_after_database_is_the_conflict_and_database_stays_served() -> None:
    ctx = testing.Context(Both, meta=META_BOTH, juju_version=JUJU_36)
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
    ctx = testing.Context(Both, meta=META_BOTH, juju_version=JUJU_36)
    state = _database_then_db(ctx)
    state, charm = run(ctx, ctx.on.relation_departed(state.get_relation(8), remote_unit=0), state)
    state, charm2 = run(ctx, ctx.on.relation_broken(state.get_relation(8)), state)
    told = kinds(charm) + kinds(charm2)
    assert not [k for k in told if "Gone" in k or "Available" in k or "Changed" in k], told
    master = charm2.db.master()
    assert master is not None
    assert master.host == "10.0.0.5"


def test_removing_the_served_database_relation_switches_to_db_in_the_same_hook() -> None:
    ctx = testing.Context(Both, meta=META_BOTH, juju_version=JUJU_36)
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
    ctx = testing.Context(Both, meta=META_BOTH, juju_version=JUJU_36)
    old = _pgsql_relation(id=3)
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


# == the request changed after the provider answered ==============================================


class ConfigRequest(Charm):
    """Database and roles from config: an operator changes them after the relation was made."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        roles = str(framework.model.config["roles"])
        type(self).KW = {
            "database": str(framework.model.config["database"]),
            "roles": roles.split(",") if roles else [],
        }
        super().__init__(framework)


CONFIG = {
    "options": {
        "roles": {"type": "string", "default": "charmed_read"},
        "database": {"type": "string", "default": "mydbname"},
    }
}


def _configured(**config: str) -> Tuple[Any, Any, int]:
    ctx = testing.Context(ConfigRequest, meta=META, config=CONFIG, juju_version=JUJU_36)
    rel = relation()
    state = testing.State(leader=True, relations={rel}, config=dict(config))
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state)
    request = {
        k: v
        for k, v in state.get_relation(rel.id).local_app_data.items()
        if k != "requested-secrets"
    }
    prov = TLS_PROVIDER.evolve(request=request)
    state, charm = changed(ctx, provide(state, rel.id, prov), rel.id)
    assert "MasterAvailableEvent" in kinds(charm)
    return ctx, state, rel.id


def test_a_changed_database_is_written_blocks_and_changing_it_back_is_ready_again() -> None:
    ctx, state, rel_id = _configured()
    state = dataclasses.replace(state, config={"database": "otherdb"})
    state, charm = run(ctx, ctx.on.config_changed(), state)
    bag = state.get_relation(rel_id).local_app_data
    assert bag["database"] == "otherdb"
    assert bag["extra-user-roles"] == "charmed_read"
    r = charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert protocol.REQUEST_CHANGED in {x.code for x in r.reasons if x.blocking}
    assert "MasterGoneEvent" in kinds(charm)
    no_password(r.why + everything(ctx, state, charm))
    state = dataclasses.replace(state, config={"database": "mydbname"})
    state, charm = run(ctx, ctx.on.config_changed(), state)
    assert state.get_relation(rel_id).local_app_data["database"] == "mydbname"
    assert charm.db.is_ready()
    assert "MasterAvailableEvent" in kinds(charm)


def test_roles_added_after_an_answer_without_roles_are_not_written_and_noted() -> None:
    ctx, state, rel_id = _configured(roles="")
    assert "extra-user-roles" not in state.get_relation(rel_id).local_app_data
    state = dataclasses.replace(state, config={"roles": "charmed_dml"})
    state, charm = run(ctx, ctx.on.config_changed(), state)
    assert "extra-user-roles" not in state.get_relation(rel_id).local_app_data
    r = charm.db.readiness()
    assert r is not None
    assert r.ready
    assert protocol.REQUEST_CHANGED in {x.code for x in r.reasons}
    assert kinds(charm) == []


def test_roles_removed_after_the_answer_keep_the_written_roles() -> None:
    ctx, state, rel_id = _configured()
    state = dataclasses.replace(state, config={"roles": ""})
    state, _ = run(ctx, ctx.on.config_changed(), state)
    assert state.get_relation(rel_id).local_app_data["extra-user-roles"] == "charmed_read"


def test_a_new_leader_keeps_the_roles_the_provider_acted_on() -> None:
    ctx, state, rel_id = _configured()
    state = dataclasses.replace(state, config={"roles": "charmed_dml"})
    state, _ = run(ctx, ctx.on.config_changed(), state)
    # another unit becomes leader: no StoredState of this unit
    other = testing.Context(
        ConfigRequest, meta=META, config=CONFIG, juju_version=JUJU_36, unit_id=1
    )
    fresh = dataclasses.replace(state, stored_states=[], leader=True)
    out, charm = run(other, other.on.leader_elected(), fresh)
    assert out.get_relation(rel_id).local_app_data["extra-user-roles"] == "charmed_read"
    assert charm.db.is_ready()


# == Harness: secrets read afresh between events ==================================================

HARNESS_META = """
name: myapp
requires:
  database:
    interface: postgresql_client
    limit: 1
"""


def _harness(
    provider: Provider, grant: bool = True, leader: bool = True
) -> Tuple[Any, int, Dict[str, str]]:
    harness: Any = testing.Harness(Charm, meta=HARNESS_META)
    harness.set_leader(leader)
    harness.begin()
    rel_id = harness.add_relation("database", provider.name)
    harness.add_relation_unit(rel_id, f"{provider.name}/0")
    ids: Dict[str, str] = {}
    bag = provider.app_bag()
    for uri, content in provider.secret_contents().items():
        ids[uri] = harness.add_model_secret(provider.name, content)
        if grant:
            harness.grant_secret(ids[uri], "myapp")
        bag = {k: (ids[uri] if v == uri else v) for k, v in bag.items()}
    harness.update_relation_data(rel_id, provider.name, bag)
    return harness, rel_id, ids


def test_harness_ca_rotation_is_master_changed_with_the_new_ca() -> None:
    harness, _, ids = _harness(TLS_PROVIDER)
    charm: Charm = harness.charm
    assert charm.db.tls_ca() == CA
    charm.seen.clear()
    harness.set_secret_content(ids[TLS_SECRET], ROTATED_CA.tls_content())
    assert [s[2] for s in charm.seen if s[0] == "MasterChangedEvent"] == [NEW_CA]
    assert charm.db.tls_ca() == NEW_CA
    harness.cleanup()


def test_harness_an_event_emitted_by_hand_after_a_late_grant_carries_the_master() -> None:
    """1.x tests emit events by hand (compat.md) and read ``event.master``: after the grant,
    the event must see the secret as ``readiness()`` does."""
    harness, rel_id, ids = _harness(TLS_PROVIDER, grant=False)
    charm: Charm = harness.charm
    assert not charm.db.is_ready()
    for secret_id in ids.values():
        harness.grant_secret(secret_id, "myapp")
    rel = harness.model.get_relation("database", rel_id)
    charm.seen.clear()
    charm.db.on.master_changed.emit(rel, rel.app, None, harness.model.unit)
    (event,) = charm.seen
    assert event[1] is not None
    assert event[1].password == PASSWORD
    assert charm.db.is_ready()
    harness.cleanup()


def test_harness_readiness_after_a_revoke_is_not_ready() -> None:
    harness, _, ids = _harness(TLS_PROVIDER)
    charm: Charm = harness.charm
    assert charm.db.is_ready()
    for secret_id in ids.values():
        harness.revoke_secret(secret_id, "myapp")
    r = charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert protocol.SECRET_NOT_GRANTED in {x.code for x in r.reasons}
    harness.cleanup()


# == waiting for a grant ==========================================================================


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
    assert reads(spy) == {USER_SECRET: 1}  # the charm's own status: one read


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


# == nothing secret kept or shown =================================================================


def test_only_the_tls_flag_and_ca_of_the_tls_secret_are_kept_in_stored_state() -> None:
    """The doc keeps "a flag and a public CA": whatever else a provider put in its TLS secret
    (a private key, a password) must not be copied into StoredState in clear."""
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state = provide(state, rel_id, TLS_PROVIDER)
    odd = {**TLS_PROVIDER.tls_content(), "password": PASSWORD, "tls-key": "PRIVATE-KEY-x"}
    state = dataclasses.replace(
        state,
        secrets=[
            s if s.id != TLS_SECRET else testing.Secret(odd, id=TLS_SECRET) for s in state.secrets
        ],
    )
    state, charm = changed(ctx, state, rel_id)
    assert charm.db.tls_ca() == CA
    kept = repr([s.content for s in state.stored_states])
    assert CA.split("\n")[1] in kept  # the CA is kept (documented)
    assert PASSWORD not in kept
    assert "PRIVATE-KEY-x" not in kept


@pytest.mark.parametrize("secrets", [True, False])
def test_no_password_in_any_output_over_a_ca_and_password_rotation(secrets: bool) -> None:
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36 if secrets else "2.9.50")
    first = TLS_PROVIDER.evolve(secrets=secrets)
    state, rel_id, charm = answered(ctx, first)
    texts = [everything(ctx, state, charm)]
    new = first.evolve(password=NEW_PASSWORD, ca=NEW_CA)
    if secrets:
        state = rotate(state, first, new)
        for uri in (USER_SECRET, TLS_SECRET):
            state, charm = run(ctx, ctx.on.secret_changed(state.get_secret(id=uri)), state)
            texts.append(everything(ctx, state, charm))
    else:
        state, charm = changed(ctx, provide(state, rel_id, new), rel_id)
        texts.append(everything(ctx, state, charm))
    master = charm.db.master()
    assert master is not None
    assert master.password == NEW_PASSWORD
    assert charm.db.tls_ca() == NEW_CA
    state, charm = run(ctx, ctx.on.update_status(), state)
    texts.append(
        everything(ctx, state, charm) + json.dumps([repr(r) for r in [charm.db.readiness()]])
    )
    no_password("\n".join(texts))


# == pgsql demo: nothing generated is shown, even in DEBUG logs ====================================


@pytest.mark.postgres
@pytest.mark.heavy
@pytest.mark.parametrize("mode", ["pgsql", "postgresql_client", "both"])
def test_demo_shows_no_generated_secret_in_output_or_debug_logs(
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every token the demo generates (the superuser's password, each relation password, the
    rotated one) is absent from stdout, stderr and every log record down to DEBUG (under Juju,
    ops sends library DEBUG records to juju-log)."""
    import secrets as secrets_module
    from pathlib import Path

    from pgsql import cli

    tokens: List[str] = []
    real_urlsafe, real_hex = secrets_module.token_urlsafe, secrets_module.token_hex

    def urlsafe(nbytes: Optional[int] = None) -> str:
        tokens.append(real_urlsafe(nbytes))
        return tokens[-1]

    def hexa(nbytes: Optional[int] = None) -> str:
        tokens.append(real_hex(nbytes))
        return tokens[-1]

    monkeypatch.setattr(secrets_module, "token_urlsafe", urlsafe)
    monkeypatch.setattr(secrets_module, "token_hex", hexa)
    caplog.set_level(1)
    examples = Path(__file__).resolve().parents[1] / "examples"
    texts: List[str] = []
    for extra in ([], ["--json"]):
        assert cli.main(["demo", "--interface", mode, *extra, "--examples", str(examples)]) == 0
        out, err = capsys.readouterr()
        texts += [out, err]
    texts += [r.getMessage() for r in caplog.records]
    text = "\n".join(texts)
    # superuser + one password per relation (+ the rotated one on postgresql_client), per run
    assert (
        len([t for t in tokens if len(t) >= 32])
        >= 2 * {"pgsql": 2, "postgresql_client": 3, "both": 4}[mode]
    )
    for token in tokens:
        assert token not in text
        if len(token) >= 32:
            assert token[:16] not in text
            assert token[-16:] not in text
    assert "rotate-password" in text or mode == "pgsql"
    assert ("old password: refused: password authentication failed" in text) == (mode != "pgsql")
