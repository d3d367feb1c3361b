"""A third review of PostgreSQLClient on ``postgresql_client``: try to break the latest changes.

Fresh eyes on: non-leaders learning the request from the provider's ``data`` snapshot, leadership
bookkeeping (``was_leader``) on Juju 3 and 4, the last provider unit departing and re-joining, an
unreadable TLS secret, and the secret-changed hook however the dispatch path spells it. Only the
public and 1.x API, realistic hook sequences under Scenario (``ops.testing``); the provider is
:mod:`provider_double`. A failing test names a defect (its name is the expected behaviour); the
passing ones are kept as regression tests.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
import pytest
from provider_double import CA, NEW_CA, NEW_PASSWORD, PASSWORD, TLS_SECRET, USER_SECRET, Provider

import pgsql
from pgsql import protocol

testing: Any = pytest.importorskip("ops.testing")
if getattr(testing, "Context", None) is None:
    pytest.skip("ops.testing.Context needs ops >= 2.17 (ops[testing])", allow_module_level=True)

# The first reviews' helpers (same guard above: those modules skip where this one does).
from test_review_postgresql_client import (  # noqa: E402
    ALL_EVENTS,
    META,
    everything,
    provide,
    relation,
    secrets_of,
)

JUJU_36 = "3.6.4"
JUJU_4 = "4.0.0"
ANSWER = Provider(request={"database": "mydbname", "extra-user-roles": "charmed_read"})
TLS_ANSWER = ANSWER.evolve(tls=True, ca=CA)


def no_password(text: str) -> None:
    for secret in (PASSWORD, NEW_PASSWORD):
        assert secret not in text


# -- the charms -----------------------------------------------------------------------------------


class Setter(ops.charm.CharmBase):
    """The 1.x way: the leader sets the request in database_relation_joined; non-leaders wait
    (defer) until they know the database; every event is recorded with what it carried."""

    KW: ClassVar[Dict[str, Any]] = {}
    DEFER: ClassVar[Tuple[str, ...]] = ()

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", **self.KW)
        self.seen: List[Tuple[str, Optional[pgsql.ConnectionString], Any, Any, Any]] = []
        self.reprs: List[str] = []
        for name in ALL_EVENTS:
            framework.observe(getattr(self.db.on, name), self._record)
        framework.observe(self.db.on.database_relation_joined, self._on_joined)

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        kind = type(event).__name__
        self.seen.append((kind, event.master, event.database, list(event.roles), event.tls_ca))
        self.reprs += [repr(event), repr(event.readiness), repr(event.master)]
        if kind in self.DEFER and not getattr(type(self), "_deferred_once", False):
            type(self)._deferred_once = True  # type: ignore[attr-defined]
            event.defer()

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.KW:
            return
        if self.unit.is_leader():
            event.database = "mydbname"
            event.roles = ["charmed_read"]
        elif event.database != "mydbname":
            event.defer()


class Declared(Setter):
    KW: ClassVar[Dict[str, Any]] = {"database": "mydbname", "roles": "charmed_read"}


def charm(base: type = Setter, **attrs: Any) -> type:
    return type("Review3Charm", (base,), dict(attrs))


def kinds(c: Any) -> List[str]:
    return [s[0] for s in c.seen]


def run(
    ctx: Any,
    event: Any,
    state: Any,
    writes: Optional[List[str]] = None,
    spy: Optional[List[str]] = None,
    dispatch: Optional[str] = None,
) -> Tuple[Any, Any]:
    """Run one hook: (output state, charm); ``writes`` collects relation-set calls, ``spy``
    secret-get ids, ``dispatch`` overrides JUJU_DISPATCH_PATH as another runner spells it."""
    with ctx(event, state) as mgr:
        backend = mgr.charm.model._backend  # pyright: ignore[reportPrivateUsage]
        if writes is not None:
            real_set = backend.relation_set

            def relation_set(relation_id: int, data: Any, is_app: bool, **kw: Any) -> Any:
                where = "app" if is_app else "unit"
                writes.append(f"{relation_id}:{where}:{','.join(sorted(data))}")
                return real_set(relation_id, data, is_app, **kw)

            backend.relation_set = relation_set
        if spy is not None:
            real_get = backend.secret_get

            def secret_get(*args: Any, **kw: Any) -> Any:
                spy.append(str(kw.get("id")))
                return real_get(*args, **kw)

            backend.secret_get = secret_get
        if dispatch is not None:
            os.environ["JUJU_DISPATCH_PATH"] = dispatch
        out = mgr.run()
        return out, mgr.charm


def changed(ctx: Any, state: Any, rel_id: int, writes: Optional[List[str]] = None) -> Any:
    return run(
        ctx, ctx.on.relation_changed(state.get_relation(rel_id), remote_unit=0), state, writes
    )


def started(ctx: Any, leader: bool, writes: Optional[List[str]] = None, **kw: Any) -> Any:
    rel = relation(**kw)
    state = testing.State(leader=leader, relations={rel})
    state, _ = run(ctx, ctx.on.relation_created(rel), state, writes)
    state, c = run(
        ctx, ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state, writes
    )
    return state, rel.id, c


def with_data(state: Any, rel_id: int, provider: Provider, data: Optional[str]) -> Any:
    """The provider answered, its ``data`` replaced (None: removed)."""
    state = provide(state, rel_id, provider)
    rel = state.get_relation(rel_id)
    bag = dict(rel.remote_app_data)
    if data is None:
        bag.pop("data", None)
    else:
        bag["data"] = data
    rel = dataclasses.replace(rel, remote_app_data=bag)
    return dataclasses.replace(state, relations={rel})


def app_writes(writes: List[str]) -> List[str]:
    return [w for w in writes if ":app:" in w]


# == 1. a non-leader without a peer relation learns the request from the provider's snapshot =====


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
def test_non_leader_learns_database_and_roles_from_the_answered_snapshot(juju: str) -> None:
    ctx = testing.Context(Setter, meta=META, juju_version=juju, unit_id=1)
    writes: List[str] = []
    state, rel_id, c = started(ctx, leader=False, writes=writes)
    assert kinds(c) == ["DatabaseRelationJoinedEvent"]
    assert not c.seen[0][2]  # not answered: the database is not known yet
    assert len(state.deferred) == 1
    state, c = changed(ctx, provide(state, rel_id, ANSWER), rel_id, writes)
    # the deferred joined re-runs and now knows the database: nothing deferred any more
    assert state.deferred == []
    available = [s for s in c.seen if s[0] == "MasterAvailableEvent"]
    assert available
    assert available[0][1] is not None
    assert available[0][2] == "mydbname"
    assert available[0][3] == ["charmed_read"]
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    assert protocol.REQUEST_UNKNOWN not in {x.code for x in r.reasons}
    assert writes == []  # a non-leader writes nothing on postgresql_client
    no_password(everything(ctx, state, c))


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        "[1, 2]",
        '{"database": 5}',
        '{"database": ""}',
        '{"extra-user-roles": "charmed_read"}',
        "",
        None,
    ],
)
def test_non_leader_with_a_malformed_snapshot_trusts_the_echo_and_never_raises(
    data: Optional[str],
) -> None:
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_4, unit_id=1)
    state, rel_id, _ = started(ctx, leader=False)
    state, c = changed(ctx, with_data(state, rel_id, ANSWER, data), rel_id)
    available = [s for s in c.seen if s[0] == "MasterAvailableEvent"]
    assert available, kinds(c)
    assert available[0][2] == "mydbname"  # the echo
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    no_password(everything(ctx, state, c) + r.why)


def test_non_leader_whose_snapshot_names_another_database_is_not_ready_without_a_password() -> None:
    """The leader changed its request to otherdb after the provider created mydbname: the
    provider's snapshot says otherdb, its echo mydbname. Nobody connects to a database that
    is not the one requested."""
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_4, unit_id=1)
    state, rel_id, _ = started(ctx, leader=False)
    other = ANSWER.evolve(request={"database": "otherdb"})
    state, c = changed(ctx, provide(state, rel_id, other), rel_id)
    assert "MasterAvailableEvent" not in kinds(c)
    r = c.db.readiness()
    assert r is not None
    assert not r.ready
    assert r.master is None
    no_password(everything(ctx, state, c) + r.why + repr(r))


def _answered_non_leader(ctx: Any, base: type = Setter) -> Tuple[Any, int]:
    state, rel_id, _ = started(ctx, leader=False)
    state, c = changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    assert "MasterAvailableEvent" in kinds(c)
    return state, rel_id


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
def test_new_leader_with_the_request_in_its_app_bag_writes_nothing_and_stays_ready(
    juju: str,
) -> None:
    ctx = testing.Context(Setter, meta=META, juju_version=juju, unit_id=1)
    state, rel_id = _answered_non_leader(ctx)
    rel = state.get_relation(rel_id)
    old_leader_wrote = {
        "database": "mydbname",
        "extra-user-roles": "charmed_read",
        "requested-secrets": json.dumps(list(protocol.REQUESTED_SECRETS)),
    }
    rel = dataclasses.replace(rel, local_app_data=old_leader_wrote)
    state = dataclasses.replace(state, relations={rel}, leader=True)
    writes: List[str] = []
    state, c = run(ctx, ctx.on.leader_elected(), state, writes)
    assert app_writes(writes) == []
    assert kinds(c) == []  # nothing changed for the charm
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    state, c = changed(ctx, state, rel_id, writes)
    assert app_writes(writes) == []
    no_password(everything(ctx, state, c))


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
def test_new_leader_never_publishes_a_request_it_only_read_from_the_provider(juju: str) -> None:
    """A non-leader learnt "mydbname" from the provider's snapshot; it becomes leader with an
    application bag that requests nothing (the charm never set a request there). It must not
    publish the provider's snapshot as its own request."""
    ctx = testing.Context(Setter, meta=META, juju_version=juju, unit_id=1)
    state, rel_id = _answered_non_leader(ctx)
    state = dataclasses.replace(state, leader=True)
    writes: List[str] = []
    state, c = run(ctx, ctx.on.leader_elected(), state, writes)
    state, c = changed(ctx, state, rel_id, writes)
    assert app_writes(writes) == []
    assert "database" not in state.get_relation(rel_id).local_app_data
    no_password(everything(ctx, state, c))


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
def test_new_leader_first_hook_before_leader_elected_publishes_nothing_it_read(juju: str) -> None:
    """Juju may run a queued relation-changed on the new leader before leader-elected."""
    ctx = testing.Context(Setter, meta=META, juju_version=juju, unit_id=1)
    state, rel_id = _answered_non_leader(ctx)
    state = dataclasses.replace(state, leader=True)
    writes: List[str] = []
    state, c = changed(ctx, state, rel_id, writes)
    assert app_writes(writes) == []
    no_password(everything(ctx, state, c))


def test_a_deferred_joined_rerun_under_new_leadership_publishes_the_setter_request_once() -> None:
    """The old leader went away before it published; the non-leader deferred joined (database
    unknown); it becomes leader: the re-run joined sets the request, published once."""
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_4, unit_id=1)
    state, rel_id, _ = started(ctx, leader=False)
    assert len(state.deferred) == 1
    state = dataclasses.replace(state, leader=True)
    writes: List[str] = []
    state, c = run(ctx, ctx.on.leader_elected(), state, writes)
    assert state.deferred == []
    # two relation-set calls in that hook (the two setters of a re-emitted deferred event run
    # outside the client's batching): Juju commits them together at the hook's end
    in_hook = len(app_writes(writes))
    assert 1 <= in_hook <= 2, writes
    bag = state.get_relation(rel_id).local_app_data
    assert bag["database"] == "mydbname"
    assert bag["extra-user-roles"] == "charmed_read"
    state, c = changed(ctx, state, rel_id, writes)
    assert len(app_writes(writes)) == in_hook, writes
    no_password(everything(ctx, state, c))


# == 2. was_leader bookkeeping: a new leader publishes once, an ex-leader stops ==================


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
@pytest.mark.parametrize("base", [Declared, Setter])
def test_ex_leader_writes_nothing_and_stays_ready(juju: str, base: type) -> None:
    ctx = testing.Context(base, meta=META, juju_version=juju)
    state, rel_id, _ = started(ctx, leader=True)
    assert state.get_relation(rel_id).local_app_data["database"] == "mydbname"
    state, c = changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    assert "MasterAvailableEvent" in kinds(c)
    # leadership moves away; Juju 4 says nothing (no leader-settings-changed)
    state = dataclasses.replace(state, leader=False)
    writes: List[str] = []
    state, c = changed(ctx, state, rel_id, writes)
    state, c = run(ctx, ctx.on.config_changed(), state, writes)
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
    ctx = testing.Context(Declared, meta=META, juju_version=juju, unit_id=1)
    writes: List[str] = []
    state, rel_id, _ = started(ctx, leader=False, writes=writes)
    state, c = changed(ctx, provide(state, rel_id, ANSWER), rel_id, writes)
    assert writes == []
    state = dataclasses.replace(state, leader=True)  # the old leader never wrote (died first)
    state, c = run(ctx, ctx.on.leader_elected(), state, writes)
    assert len(app_writes(writes)) == 1, writes
    bag = state.get_relation(rel_id).local_app_data
    assert bag["database"] == "mydbname"
    for ev in (ctx.on.update_status(), ctx.on.config_changed(), ctx.on.leader_elected()):
        state, c = run(ctx, ev, state, writes)
    state, c = changed(ctx, state, rel_id, writes)
    assert len(app_writes(writes)) == 1, writes
    no_password(everything(ctx, state, c))


def test_juju4_leadership_there_and_back_again_publishes_nothing_new() -> None:
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_4)
    state, rel_id, _ = started(ctx, leader=True)
    state, c = changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    published = dict(state.get_relation(rel_id).local_app_data)
    writes: List[str] = []
    state = dataclasses.replace(state, leader=False)
    state, c = changed(ctx, state, rel_id, writes)
    state = dataclasses.replace(state, leader=True)
    state, c = run(ctx, ctx.on.leader_elected(), state, writes)
    state, c = changed(ctx, state, rel_id, writes)
    assert writes == []
    assert dict(state.get_relation(rel_id).local_app_data) == published
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    state, c = run(ctx, ctx.on.update_status(), state)
    no_password(everything(ctx, state, c))


# == 3. provider units leaving and coming back ===================================================


def _departed(ctx: Any, state: Any, rel_id: int, unit: int) -> Any:
    rel = state.get_relation(rel_id)
    left = {n: b for n, b in rel.remote_units_data.items() if n != unit}
    rel2 = dataclasses.replace(rel, remote_units_data=left)
    state = dataclasses.replace(state, relations={rel2})
    return run(ctx, ctx.on.relation_departed(rel2, remote_unit=unit, departing_unit=unit), state)


@pytest.mark.parametrize("leader", [True, False])
def test_last_unit_departing_is_master_gone_and_a_unit_rejoining_is_master_available(
    leader: bool,
) -> None:
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_4)
    state, rel_id, _ = started(ctx, leader=leader)
    state, c = changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    assert "MasterAvailableEvent" in kinds(c)
    state, c = _departed(ctx, state, rel_id, 0)
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
    state, c = run(ctx, ctx.on.relation_joined(rel, remote_unit=1), state)
    seen = kinds(c)
    state, c = run(ctx, ctx.on.relation_changed(state.get_relation(rel_id), remote_unit=1), state)
    seen += kinds(c)
    assert seen.count("MasterAvailableEvent") == 1, seen
    assert "DatabaseRelationJoinedEvent" not in seen  # 1.x: once per relation
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    no_password(everything(ctx, state, c))


def test_an_app_bag_answered_before_any_unit_joined_is_told_once_a_unit_joins() -> None:
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_36)
    p = ANSWER
    rel = testing.Relation(
        endpoint="database",
        interface="postgresql_client",
        remote_app_name=p.name,
        remote_app_data=p.app_bag(),
        remote_units_data={},
    )
    state = testing.State(leader=True, relations={rel}, secrets=secrets_of(p))
    state, c = run(ctx, ctx.on.relation_created(rel), state)
    assert "MasterAvailableEvent" not in kinds(c)  # no provider unit: nothing serves it
    r = c.db.readiness()
    assert r is not None
    assert not r.ready
    rel = dataclasses.replace(state.get_relation(rel.id), remote_units_data={0: {}})
    state = dataclasses.replace(state, relations={rel})
    state, c = run(ctx, ctx.on.relation_joined(rel, remote_unit=0), state)
    seen = kinds(c)
    state, c = run(ctx, ctx.on.relation_changed(state.get_relation(rel.id), remote_unit=0), state)
    seen += kinds(c)
    assert seen.count("DatabaseRelationJoinedEvent") == 1, seen
    assert seen.count("MasterAvailableEvent") == 1, seen
    assert state.get_relation(rel.id).local_app_data["database"] == "mydbname"
    no_password(everything(ctx, state, c))


# == 4. the TLS secret ===========================================================================


@pytest.mark.parametrize("leader", [True, False])
def test_an_unreadable_tls_secret_is_a_note_and_the_credentials_are_used(leader: bool) -> None:
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_36)
    state, rel_id, _ = started(ctx, leader=leader)
    state = provide(state, rel_id, TLS_ANSWER)
    state = dataclasses.replace(state, secrets=[s for s in state.secrets if s.id != TLS_SECRET])
    spy: List[str] = []
    state, c = run(
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
    state, c = run(ctx, ctx.on.update_status(), state)
    state, c = changed(ctx, state, rel_id)
    assert c.db.tls_ca() == CA


def test_the_tls_secret_is_kept_only_as_tls_and_tls_ca() -> None:
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_36)
    state, rel_id, _ = started(ctx, leader=True)
    state = provide(state, rel_id, TLS_ANSWER)
    odd = {**TLS_ANSWER.tls_content(), "password": PASSWORD, "uris": f"postgresql://u:{PASSWORD}@h"}
    state = dataclasses.replace(
        state,
        secrets=[
            s if s.id != TLS_SECRET else testing.Secret(odd, id=TLS_SECRET) for s in state.secrets
        ],
    )
    state, c = changed(ctx, state, rel_id)
    assert c.db.tls_ca() == CA
    for stored in state.stored_states:
        text = repr(stored.content)
        assert PASSWORD not in text
        assert "postgresql://u:" not in text
    no_password(everything(ctx, state, c))


# == 5. secret-changed however the dispatch path spells it =======================================


@pytest.mark.parametrize("dispatch", ["hooks/secret-changed", "hooks/secret_changed"])
def test_a_deferred_master_changed_rerun_in_secret_changed_sees_the_rotated_secrets(
    dispatch: str,
) -> None:
    ctx = testing.Context(charm(DEFER=("MasterChangedEvent",)), meta=META, juju_version=JUJU_36)
    state, rel_id, _ = started(ctx, leader=True)
    state, c = changed(ctx, provide(state, rel_id, TLS_ANSWER), rel_id)
    assert len(state.deferred) == 1
    new = TLS_ANSWER.evolve(ca=NEW_CA)
    state = dataclasses.replace(state, secrets=secrets_of(TLS_ANSWER, latest=new))
    spy: List[str] = []
    state, c = run(
        ctx,
        ctx.on.secret_changed(state.get_secret(id=TLS_SECRET)),
        state,
        spy=spy,
        dispatch=dispatch,
    )
    cas = [s[4] for s in c.seen if s[0] == "MasterChangedEvent"]
    assert cas
    assert all(ca == NEW_CA for ca in cas), cas
    assert spy.count(TLS_SECRET) == 1, spy


@pytest.mark.parametrize("dispatch", ["hooks/secret-changed", "hooks/secret_changed"])
def test_a_password_rotation_is_one_master_changed_whatever_the_dispatch_spelling(
    dispatch: str,
) -> None:
    ctx = testing.Context(charm(DEFER=("MasterChangedEvent",)), meta=META, juju_version=JUJU_36)
    state, rel_id, _ = started(ctx, leader=False)
    state, c = changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    assert len(state.deferred) == 1
    new = ANSWER.evolve(password=NEW_PASSWORD)
    state = dataclasses.replace(state, secrets=secrets_of(ANSWER, latest=new))
    spy: List[str] = []
    state, c = run(
        ctx,
        ctx.on.secret_changed(state.get_secret(id=USER_SECRET)),
        state,
        spy=spy,
        dispatch=dispatch,
    )
    masters = [s[1] for s in c.seen if s[0] == "MasterChangedEvent"]
    assert masters
    assert all(m is not None and m.password == NEW_PASSWORD for m in masters)
    assert spy.count(USER_SECRET) == 1, spy
    no_password(everything(ctx, state, c))


def test_an_action_whose_name_ends_in_secret_changed_refreshes_no_secret() -> None:
    """``actions/check-secret-changed`` is not the secret-changed hook (no JUJU_SECRET_ID)."""
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_36)
    state, rel_id, _ = started(ctx, leader=True)
    state, c = changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    new = ANSWER.evolve(password=NEW_PASSWORD)
    state = dataclasses.replace(state, secrets=secrets_of(ANSWER, latest=new))
    state, c = run(ctx, ctx.on.update_status(), state, dispatch="hooks/check-secret-changed")
    assert kinds(c) == []
    m = c.db.master()
    assert m is not None
    assert m.password == PASSWORD


def test_non_leader_broken_event_carries_the_database_learnt_from_the_snapshot() -> None:
    """1.x charms compare ``event.database`` in every event, relation-broken included."""
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_4, unit_id=1)
    state, rel_id = _answered_non_leader(ctx)
    rel = dataclasses.replace(state.get_relation(rel_id), remote_units_data={})
    state = dataclasses.replace(state, relations={rel})
    state, c = run(ctx, ctx.on.relation_broken(rel), state)
    gone = [s for s in c.seen if s[0] in ("MasterGoneEvent", "DatabaseRelationBrokenEvent")]
    assert gone, kinds(c)
    assert all(s[2] == "mydbname" for s in gone), gone
    no_password(everything(ctx, state, c))


def test_the_dispatch_spelling_is_what_makes_the_deferred_rerun_see_the_rotation() -> None:
    """Control for the two tests above: outside secret-changed the tracked revision is read."""
    ctx = testing.Context(charm(DEFER=("MasterChangedEvent",)), meta=META, juju_version=JUJU_36)
    state, rel_id, _ = started(ctx, leader=True)
    state, c = changed(ctx, provide(state, rel_id, TLS_ANSWER), rel_id)
    new = TLS_ANSWER.evolve(ca=NEW_CA)
    state = dataclasses.replace(state, secrets=secrets_of(TLS_ANSWER, latest=new))
    state, c = run(ctx, ctx.on.update_status(), state)
    cas = [s[4] for s in c.seen if s[0] == "MasterChangedEvent"]
    assert cas == [CA]
