"""A charm author's review of PostgreSQLClient on ``postgresql_client`` (issue 12): try to break it.

Only the public and 1.x API is used (``import pgsql``, ``pgsql.PostgreSQLClient``, its events and
accessors), with realistic hook sequences under Scenario (``ops.testing``) and Harness. The
provider is :mod:`provider_double` (written from ../shared/interface/postgresql_client.md).
Tests that fail name a defect; the others are kept as regression tests.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar, Dict, Iterator, List, Optional, Set, Tuple

import ops
import ops.charm
import ops.framework
import pytest
from provider_double import (
    NEW_PASSWORD,
    PASSWORD,
    TLS_SECRET,
    USER_SECRET,
    VARIANTS,
    Provider,
)

import pgsql
from pgsql import protocol

testing: Any = pytest.importorskip("ops.testing")
if getattr(testing, "Context", None) is None:
    pytest.skip("ops.testing.Context needs ops >= 2.17 (ops[testing])", allow_module_level=True)

JUJU_36 = "3.6.4"
JUJU_29 = "2.9.50"
JUJU_4 = "4.0.0"
META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client", "limit": 1}},
}
META_SEED: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"db": {"interface": "postgresql_client", "limit": 1}},
}
META_PEER: Dict[str, Any] = {**META, "peers": {"replicas": {"interface": "myapp-peers"}}}
META_BOTH: Dict[str, Any] = {
    "name": "myapp",
    "requires": {
        "db": {"interface": "pgsql", "limit": 1},
        "database": {"interface": "postgresql_client", "limit": 1},
    },
}
ALL_EVENTS = (*protocol.EVENT_NAMES, "database_relation_joined", "database_relation_broken")
SECRETS = (PASSWORD, NEW_PASSWORD)
_DEFERRED_ONCE: Set[str] = set()  # event kinds already deferred once in this test
_KEEP_DEFERRING: List[bool] = []  # non-empty: defer every time (a charm waiting for its workload)


# -- charms ---------------------------------------------------------------------------------------


class Declared(ops.charm.CharmBase):
    """Declarative request; records every event with what it carried; status from readiness."""

    ENDPOINTS: ClassVar[Any] = "database"
    KW: ClassVar[Dict[str, Any]] = {"database": "mydbname"}
    DEFER: ClassVar[Tuple[str, ...]] = ()  # event class names deferred the first time

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self._before_client(framework)
        self.db = pgsql.PostgreSQLClient(self, self.ENDPOINTS, **self.KW)
        self.seen: List[Tuple[str, Optional[pgsql.ConnectionString], List[Any], Any]] = []
        self.reprs: List[str] = []
        for name in ALL_EVENTS:
            framework.observe(getattr(self.db.on, name), self._record)
        framework.observe(self.on.update_status, self._on_update_status)

    def _before_client(self, framework: ops.framework.Framework) -> None:
        """Observers a charm registers before it builds the client."""

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        kind = type(event).__name__
        self.seen.append((kind, event.master, event.standbys, event.database))
        self.reprs += [repr(event), repr(event.readiness), repr(event.master), repr(event.standbys)]
        if kind in self.DEFER and (_KEEP_DEFERRING or kind not in _DEFERRED_ONCE):
            _DEFERRED_ONCE.add(kind)
            event.defer()

    def _on_update_status(self, event: ops.UpdateStatusEvent) -> None:
        r = self.db.readiness()
        if r is None:
            self.unit.status = ops.BlockedStatus("needs a database relation")
        elif not r.ready:
            self.unit.status = ops.WaitingStatus(f"database: {r.why}")
        else:
            self.unit.status = ops.ActiveStatus()


def names(charm: Declared) -> List[str]:
    return [s[0] for s in charm.seen]


# -- helpers --------------------------------------------------------------------------------------


def relation(provider: Optional[Provider] = None, **kw: Any) -> Any:
    p = provider or Provider(answered=False)
    kw.setdefault("remote_app_name", p.name)
    kw.setdefault("endpoint", "database")
    return testing.Relation(
        interface="postgresql_client",
        remote_app_data=p.app_bag(),
        remote_units_data=p.unit_bags(1),
        **kw,
    )


def secrets_of(provider: Provider, latest: Optional[Provider] = None) -> List[Any]:
    new = latest.secret_contents() if latest is not None else {}
    return [
        testing.Secret(content, id=uri, latest_content=new.get(uri, content))
        for uri, content in provider.secret_contents().items()
    ]


def provide(state: Any, rel_id: int, provider: Provider, granted: bool = True) -> Any:
    rel = state.get_relation(rel_id)
    new = dataclasses.replace(
        rel, remote_app_data=provider.app_bag(), remote_units_data=provider.unit_bags()
    )
    rels = {r for r in state.relations if r.id != rel_id} | {new}
    keep = [s for s in state.secrets if s.id not in (USER_SECRET, TLS_SECRET)]
    return dataclasses.replace(
        state, relations=rels, secrets=keep + (secrets_of(provider) if granted else [])
    )


def started(
    ctx: Any, leader: bool = True, extra: Tuple[Any, ...] = (), **kw: Any
) -> Tuple[Any, int]:
    rel = relation(**kw)
    state = testing.State(leader=leader, relations={rel, *extra})
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state)
    return state, rel.id


def run(
    ctx: Any,
    event: Any,
    state: Any,
    spy: Optional[List[str]] = None,
    writes: Optional[List[str]] = None,
) -> Tuple[Any, Any]:
    """Run one hook; returns (output state, charm).

    ``spy`` collects secret-get ids, ``writes`` every relation-set (relation id, app or unit,
    keys).
    """
    with ctx(event, state) as mgr:
        backend = mgr.charm.model._backend  # pyright: ignore[reportPrivateUsage]
        if spy is not None:
            real_get = backend.secret_get

            def secret_get(*args: Any, **kw: Any) -> Any:
                spy.append(f"{kw.get('id')}|refresh={kw.get('refresh', False)}")
                return real_get(*args, **kw)

            backend.secret_get = secret_get
        if writes is not None:
            real_set = backend.relation_set

            def relation_set(relation_id: int, data: Any, is_app: bool, **kw: Any) -> Any:
                where = "app" if is_app else "unit"
                writes.append(f"{relation_id}:{where}:{','.join(sorted(data))}")
                return real_set(relation_id, data, is_app, **kw)

            backend.relation_set = relation_set
        out = mgr.run()
        return out, mgr.charm


def changed(ctx: Any, state: Any, rel_id: int, spy: Optional[List[str]] = None) -> Tuple[Any, Any]:
    return run(ctx, ctx.on.relation_changed(state.get_relation(rel_id), remote_unit=0), state, spy)


def everything(ctx: Any, state: Any, charm: Any = None) -> str:
    """Every output a password could leak into."""
    parts = [str(line) for line in ctx.juju_log]
    for rel in state.relations:
        parts += [json.dumps(dict(rel.local_app_data)), json.dumps(dict(rel.local_unit_data))]
    parts += [repr(s.content) for s in state.stored_states]
    parts += [repr(n) for n in state.deferred]
    parts.append(repr(state.unit_status))
    if charm is not None:
        parts += charm.reprs
    return "\n".join(parts)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


@pytest.fixture(autouse=True)
def _reset_defer() -> Iterator[None]:
    _DEFERRED_ONCE.clear()
    yield
    _DEFERRED_ONCE.clear()
    _KEEP_DEFERRING.clear()


def deferring(*kinds: str, **kw: Any) -> type:
    """A Declared charm that defers each of these events once (the first time it sees it)."""
    attrs: Dict[str, Any] = {"DEFER": kinds}
    if kw:
        attrs["KW"] = kw
    return type("Deferring", (Declared,), attrs)


# == hook-tool economy: each provider secret read at most once per hook ==========================


def _reads(spy: List[str]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for call in spy:
        uri = call.split("|")[0]
        out[uri] = out.get(uri, 0) + 1
    return out


def _at_most_once(spy: List[str]) -> bool:
    """Each secret read at most once (the TLS secret's content is kept between hooks)."""
    reads = _reads(spy)
    return reads.get(USER_SECRET) == 1 and reads.get(TLS_SECRET, 0) <= 1


def test_a_deferred_event_rerun_then_the_hook_reads_each_secret_once() -> None:
    """Issue 12, Costs: "each secret read at most once per hook", with a deferred event re-run."""
    ctx = testing.Context(deferring("MasterChangedEvent"), meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    assert len(state.deferred) == 1
    spy: List[str] = []
    state, _charm = changed(ctx, state, rel_id, spy)
    assert not state.deferred
    assert _at_most_once(spy), spy


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
    assert _at_most_once(spy), spy


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
    assert _at_most_once(spy), spy


# == a secret granted after it was published ======================================================


def test_a_grant_that_arrives_without_a_relation_hook_is_told_at_the_next_hook() -> None:
    """Facts: a secret can arrive before the grant; the grant itself fires no hook here.

    The next hook (update-status) computes readiness() live and sees it ready; the charm must then
    also be told (master_available/master_changed), or a 1.x charm sits "active" per readiness()
    with no connection string ever delivered, until some unrelated relation-changed.
    """
    ctx = testing.Context(Declared, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, charm = changed(ctx, provide(state, rel_id, Provider(), granted=False), rel_id)
    assert names(charm) == []
    state = provide(state, rel_id, Provider(), granted=True)  # the grant, no hook for it
    state, charm = run(ctx, ctx.on.update_status(), state)
    assert state.unit_status == ops.ActiveStatus()  # readiness() says ready...
    assert "MasterChangedEvent" in names(charm)  # ...so the charm must have been told


# == a request changed after the provider answered ===============================================


class ConfigRoles(Declared):
    """Roles from config: an operator changes them after the relation was created."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        type(self).KW = {"database": "mydbname", "roles": [str(framework.model.config["roles"])]}
        super().__init__(framework)


CONFIG_ROLES = {"options": {"roles": {"type": "string", "default": "charmed_read"}}}


def test_roles_changed_after_the_answer_are_a_reason_and_not_written() -> None:
    """Facts: a changed extra-user-roles makes the PostgreSQL charm's hook raise (LIBPATCH >= 50).

    Issue 12: "A request changed after the provider answered gets a clear reason (real providers
    ignore or reject it), never a crash": writing it crashes the provider's hook.
    """
    ctx = testing.Context(ConfigRoles, meta=META, config=CONFIG_ROLES, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    assert state.get_relation(rel_id).local_app_data["extra-user-roles"] == "charmed_read"
    answered = Provider(request={"database": "mydbname", "extra-user-roles": "charmed_read"})
    state, _ = changed(ctx, provide(state, rel_id, answered), rel_id)
    state = dataclasses.replace(state, config={"roles": "charmed_dml"})
    state, charm = run(ctx, ctx.on.config_changed(), state)
    r = charm.db.readiness()
    assert r is not None
    assert protocol.REQUEST_CHANGED in {x.code for x in r.reasons}
    assert state.get_relation(rel_id).local_app_data["extra-user-roles"] == "charmed_read"


# == migration: db (pgsql) and database (postgresql_client) ======================================


class Both(Declared):
    ENDPOINTS: ClassVar[Any] = ("db", "database")


OLD_PASSWORD = "pgsql-14-Pa55"  # the pgsql relation's (its cache is documented to hold it: §8)


def _pgsql_relation(**kw: Any) -> Any:
    master = f"host=10.9.9.9 dbname=mydbname user=old password={OLD_PASSWORD}"
    bag = {"database": "mydbname", "master": master, "allowed-units": "myapp/0", "version": "14"}
    return testing.Relation(
        "db",
        "pgsql",
        remote_app_name="postgresql14",
        remote_units_data={0: bag},
        local_unit_data={"egress-subnets": "192.0.2.10/32"},
        **kw,
    )


def _both_related(ctx: Any) -> Any:
    old = _pgsql_relation(id=3)
    state = testing.State(leader=True, relations={old})
    state = ctx.run(ctx.on.relation_created(old), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(3), remote_unit=0), state)
    state, charm = changed(ctx, state, 3)
    assert "MasterAvailableEvent" in names(charm)
    new = relation(endpoint="database", id=9)
    state = dataclasses.replace(state, relations={*state.relations, new})
    state = ctx.run(ctx.on.relation_created(new), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(9), remote_unit=0), state)
    state, charm = changed(ctx, provide(state, 9, Provider()), 9)
    assert "MasterAvailableEvent" not in names(charm)
    return state


def test_removing_the_unserved_database_relation_tells_the_charm_nothing_is_gone() -> None:
    """Migration: the operator relates database, then backs out (removes it) while db serves.

    The charm's one set of handlers must not hear that its database is gone: no gone events, and
    the served master stays.
    """
    ctx = testing.Context(Both, meta=META_BOTH, juju_version=JUJU_36)
    state = _both_related(ctx)
    state, charm = run(ctx, ctx.on.relation_broken(state.get_relation(9)), state)
    # only the 1.x "broken" of that relation: a charm that reacts to it without looking at
    # event.relation would drop its (still served) database; see the review report
    assert names(charm) == ["DatabaseRelationBrokenEvent"]
    master = charm.db.master()
    assert master is not None
    assert master.host == "10.9.9.9"


def test_removing_the_served_db_relation_switches_to_database_in_the_same_hook() -> None:
    ctx = testing.Context(Both, meta=META_BOTH, juju_version=JUJU_36)
    state = _both_related(ctx)
    state, charm = run(ctx, ctx.on.relation_broken(state.get_relation(3)), state)
    seen = names(charm)
    assert seen.index("MasterGoneEvent") < seen.index("MasterAvailableEvent")
    last = [s for s in charm.seen if s[0] == "MasterChangedEvent"][-1]
    assert last[1] is not None
    assert last[1].host == "10.0.0.5"
    assert last[3] == "mydbname"
    served = charm.db.relation()
    assert served is not None
    assert served.id == 9
    assert_no_secret(everything(ctx, state, charm))
    # the next hook on the now-served relation tells nothing new
    state, charm = changed(ctx, state, 9)
    assert names(charm) == []


def test_both_related_status_names_the_relation_to_remove_without_a_password() -> None:
    ctx = testing.Context(Both, meta=META_BOTH, juju_version=JUJU_36)
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
    assert_no_secret(repr(r) + r.why + everything(ctx, out))


# == relation removed while events are deferred ==================================================


def test_a_master_changed_deferred_past_the_removal_runs_without_an_exception() -> None:
    ctx = testing.Context(deferring("MasterChangedEvent"), meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    assert len(state.deferred) == 1
    _KEEP_DEFERRING.append(True)  # the workload is not up yet: it keeps deferring
    state, charm = run(ctx, ctx.on.relation_broken(state.get_relation(rel_id)), state)
    assert len(state.deferred) == 2  # the first master_changed, and the gone one
    _KEEP_DEFERRING.clear()  # the workload is up: the deferred event is handled now
    gone = dataclasses.replace(state, relations=set(), secrets=[])
    state, charm = run(ctx, ctx.on.update_status(), gone)
    assert not state.deferred
    rerun = [s for s in charm.seen if s[0] == "MasterChangedEvent"]
    assert len(rerun) == 2
    assert all(s[1] is None and s[2] == [] and s[3] == "mydbname" for s in rerun)
    assert state.unit_status == ops.BlockedStatus("needs a database relation")


# == leadership ===================================================================================


class Setter(Declared):
    """The 1.x way: the leader sets database, roles and extensions in database_relation_joined."""

    KW: ClassVar[Dict[str, Any]] = {}

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.db.on.database_relation_joined, self._on_joined)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "mydbname"
            event.roles = ["charmed_read"]
            event.extensions = ["citext"]
        elif event.database != "mydbname":
            event.defer()


def test_a_new_leader_keeps_the_extensions_note_learnt_from_the_peer_relation() -> None:
    """Issue 12: extensions are not on the wire, "readiness says so"; after a leader move too."""
    ctx = testing.Context(Setter, meta=META_PEER, juju_version=JUJU_36)
    peer = testing.PeerRelation("replicas")
    state, rel_id = started(ctx, extra=(peer,))
    state, charm = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    r = charm.db.readiness()
    assert r is not None
    assert r.ready
    assert protocol.EXTENSIONS_BY_CONFIG in {x.code for x in r.reasons}
    # leadership moves to unit 1, which has the leader's peer copy and our app bag
    ctx1 = testing.Context(Setter, meta=META_PEER, juju_version=JUJU_36, unit_id=1)
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
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_4)
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
    assert_no_secret(everything(ctx, state, charm))


def test_relation_changed_before_joined_with_the_1x_setters_publishes_and_tells() -> None:
    ctx = testing.Context(Setter, meta=META, juju_version=JUJU_36)
    rel = relation()
    state = ctx.run(ctx.on.relation_created(rel), testing.State(leader=True, relations={rel}))
    assert dict(state.get_relation(rel.id).local_app_data) == {}
    state, charm = changed(ctx, state, rel.id)  # before -joined, nothing answered yet
    assert names(charm) == ["DatabaseRelationJoinedEvent"]
    assert state.get_relation(rel.id).local_app_data["database"] == "mydbname"
    state = ctx.run(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state)
    state, charm = changed(ctx, provide(state, rel.id, Provider()), rel.id)
    assert names(charm)[:2] == ["MasterAvailableEvent", "MasterChangedEvent"]


class InitRequest(Declared):
    """request() from __init__, computed from config."""

    KW: ClassVar[Dict[str, Any]] = {}

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db.request(database=str(self.config["database"]))


CONFIG_DB = {"options": {"database": {"type": "string", "default": "mydbname"}}}


@pytest.mark.parametrize("leader", [True, False])
def test_init_time_request_publishes_once_and_is_told(leader: bool) -> None:
    ctx = testing.Context(
        InitRequest, meta=META, config=CONFIG_DB, juju_version=JUJU_36, unit_id=0 if leader else 1
    )
    state, rel_id = started(ctx, leader=leader)
    bag = dict(state.get_relation(rel_id).local_app_data)
    assert bag.get("database") == ("mydbname" if leader else None)
    state, charm = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    assert names(charm)[:2] == ["MasterAvailableEvent", "MasterChangedEvent"]
    assert charm.seen[1][3] == "mydbname"
    # a later config change of the database: a reason, the master is no longer served
    state = dataclasses.replace(state, config={"database": "otherdb"})
    state, charm = run(ctx, ctx.on.config_changed(), state)
    r = charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert {x.code for x in r.reasons} & {protocol.DATABASE_MISMATCH, protocol.REQUEST_CHANGED}
    assert "MasterGoneEvent" in names(charm)


def test_lost_stored_state_on_a_non_leader_is_told_again_without_writes() -> None:
    ctx = testing.Context(Declared, meta=META, juju_version=JUJU_36, unit_id=1)
    state, rel_id = started(ctx, leader=False)
    state, _ = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    fresh = dataclasses.replace(state, stored_states=[])
    spy: List[str] = []
    out, charm = changed(ctx, fresh, rel_id, spy)
    assert names(charm)[:3] == [
        "DatabaseRelationJoinedEvent",
        "MasterAvailableEvent",
        "MasterChangedEvent",
    ]
    mine = out.get_relation(rel_id)
    assert dict(mine.local_app_data) == {}
    assert dict(mine.local_unit_data) == dict(state.get_relation(rel_id).local_unit_data)
    assert _at_most_once(spy), spy


# == secrets: removed, rotated away, plaintext start ==============================================


def test_a_removed_secret_is_master_gone_with_a_reason_never_an_exception() -> None:
    ctx = testing.Context(Declared, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    removed = dataclasses.replace(state, secrets=[])  # the provider removed its secrets
    state, charm = changed(ctx, removed, rel_id)
    assert "MasterGoneEvent" in names(charm)
    state, charm = run(ctx, ctx.on.update_status(), state)
    assert isinstance(state.unit_status, ops.WaitingStatus)
    assert "secret" in state.unit_status.message
    assert_no_secret(everything(ctx, state, charm))


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
    assert names(charm)[:2] == ["MasterChangedEvent", "MasterGoneEvent"]
    r = charm.db.readiness()
    assert r is not None
    assert protocol.NO_CREDENTIALS in {x.code for x in r.reasons}


def test_a_relation_that_started_in_plaintext_stays_ready_after_a_juju_upgrade() -> None:
    """Facts: "A relation that started in plaintext stays so", Juju 2.9 then 3.6."""
    ctx29 = testing.Context(Declared, meta=META, juju_version=JUJU_29)
    state, rel_id = started(ctx29)
    plain_provider = Provider(secrets=False)
    state, charm = changed(ctx29, provide(state, rel_id, plain_provider), rel_id)
    assert "MasterAvailableEvent" in names(charm)
    ctx36 = testing.Context(Declared, meta=META, juju_version=JUJU_36)
    state, charm = run(ctx36, ctx36.on.upgrade_charm(), state)
    spy: List[str] = []
    state, charm = changed(ctx36, state, rel_id, spy)
    assert names(charm) == []
    assert charm.db.is_ready()
    assert spy == []
    assert_no_secret(everything(ctx36, state, charm))


# == every variant, leader and non-leader, both Juju shapes: nothing leaks =======================


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("juju", [JUJU_36, JUJU_29])
@pytest.mark.parametrize("leader", [True, False])
def test_no_password_in_any_output(variant: str, juju: str, leader: bool) -> None:
    ctx = testing.Context(Declared, meta=META, juju_version=juju, unit_id=0 if leader else 1)
    state, rel_id = started(ctx, leader=leader)
    provider = Provider(variant=variant, secrets=juju == JUJU_36)
    state, charm = changed(ctx, provide(state, rel_id, provider), rel_id)
    assert "MasterAvailableEvent" in names(charm)
    if juju == JUJU_36 and variant != "libpatch-17":
        rotated = provider.evolve(password=NEW_PASSWORD)
        state = dataclasses.replace(state, secrets=secrets_of(provider, latest=rotated))
        state, charm2 = run(ctx, ctx.on.secret_changed(state.get_secret(id=USER_SECRET)), state)
        assert "MasterChangedEvent" in names(charm2)
        charm.reprs += charm2.reprs
    state, charm3 = run(ctx, ctx.on.update_status(), state)
    r = charm3.db.readiness()
    assert r is not None
    text = everything(ctx, state, charm) + repr(r) + r.why + repr(r.reasons) + repr(r.bags)
    assert_no_secret(text)
    if leader:
        assert set(state.get_relation(rel_id).local_app_data) <= {
            "database",
            "extra-user-roles",
            "requested-secrets",
            "external-node-connectivity",
        }


# == malformed provider data: never an exception, a reason to show, no password in it ============

_URI = f"postgresql://relation-7:{PASSWORD}@10.0.0.5:5432/mydbname"
_BASE = {"database": "mydbname", "endpoints": "10.0.0.5:5432", "version": "16.14"}
MALFORMED_BAGS = {
    "uri-in-endpoints": {**_BASE, "endpoints": _URI, "username": "u", "password": PASSWORD},
    "userinfo-in-endpoints": {
        **_BASE,
        "endpoints": f"relation-7:{PASSWORD}@10.0.0.5:5432",
        "username": "u",
        "password": PASSWORD,
    },
    "uris-only-doubled-port": {**_BASE, "uris": _URI.replace(":5432/", ":5432:5432/")},
    "uris-only-bad-escape": {**_BASE, "uris": _URI.replace(PASSWORD, PASSWORD + "%zz")},
    "uris-only-space": {**_BASE, "uris": _URI.replace(PASSWORD, PASSWORD + " x")},
    "nul-in-password": {**_BASE, "username": "u", "password": PASSWORD + "\x00"},
    "newline-in-password": {**_BASE, "username": "u", "password": PASSWORD + "\nhost=evil"},
    "ro-uris-garbage": {
        **_BASE,
        "read-only-endpoints": "10.0.0.6:5432",
        "username": "u",
        "password": PASSWORD,
        "read-only-uris": f"postgresql://u:{PASSWORD}@[::1/x",
    },
    "data-not-json": {**_BASE, "username": "u", "password": PASSWORD, "data": f"{{{PASSWORD}"},
    "secret-and-bag-both-garbage": {**_BASE, "secret-user": "secret:", "secret-tls": " "},
    "tls-garbage": {**_BASE, "username": "u", "password": PASSWORD, "tls": "yes", "tls-ca": "x"},
    "many-endpoints": {
        **_BASE,
        "endpoints": ",".join(f"10.0.{i // 250}.{i % 250}:5432" for i in range(300)),
        "username": "u",
        "password": PASSWORD,
    },
}


@pytest.mark.parametrize("case", sorted(MALFORMED_BAGS))
def test_malformed_provider_data_is_a_reason_without_the_password(case: str) -> None:
    ctx = testing.Context(Declared, meta=META, juju_version=JUJU_29)
    state, rel_id = started(ctx)
    rel = dataclasses.replace(state.get_relation(rel_id), remote_app_data=MALFORMED_BAGS[case])
    state = dataclasses.replace(state, relations={rel})
    state, charm = changed(ctx, state, rel_id)
    state, charm2 = run(ctx, ctx.on.update_status(), state)
    r = charm2.db.readiness()
    assert r is not None
    text = repr(r) + r.why + "".join(str(x) + repr(x) for x in r.reasons)
    text += everything(ctx, state, charm) + "".join(charm2.reprs)
    assert_no_secret(text)
    if not r.ready:
        assert isinstance(state.unit_status, ops.WaitingStatus)
        assert r.why


# == Harness (the 1.x charms' own tests use it) ===================================================

HARNESS_META = """
name: myapp
requires:
  database:
    interface: postgresql_client
    limit: 1
"""


def _harness(
    leader: bool, provider: Provider, grant: bool = True
) -> Tuple[Any, int, Dict[str, str]]:
    harness: Any = testing.Harness(Declared, meta=HARNESS_META)
    harness.set_leader(leader)
    harness.begin()
    rel_id = harness.add_relation("database", provider.name)
    harness.add_relation_unit(rel_id, f"{provider.name}/0")
    ids: Dict[str, str] = {}
    bag = provider.app_bag()
    for uri, content in provider.secret_contents().items():
        secret_id = harness.add_model_secret(provider.name, content)
        if grant:
            harness.grant_secret(secret_id, "myapp")
        ids[uri] = secret_id
        for key, value in list(bag.items()):
            if value == uri:
                bag[key] = secret_id
    harness.update_relation_data(rel_id, provider.name, bag)
    return harness, rel_id, ids


def test_harness_a_late_grant_is_seen_by_readiness_and_the_next_update_status() -> None:
    harness, _, ids = _harness(True, Provider(), grant=False)
    charm: Declared = harness.charm
    assert not charm.db.is_ready()
    for secret_id in ids.values():
        harness.grant_secret(secret_id, "myapp")
    assert charm.db.is_ready()
    charm.seen.clear()
    harness.charm.on.update_status.emit()
    assert "MasterChangedEvent" in names(charm)
    assert harness.model.unit.status == ops.ActiveStatus()
    harness.cleanup()


@pytest.mark.parametrize("leader", [True, False])
def test_harness_rotation_while_master_changed_is_deferred(leader: bool) -> None:
    _DEFERRED_ONCE.clear()
    harness: Any = testing.Harness(deferring("MasterChangedEvent"), meta=HARNESS_META)
    harness.set_leader(leader)
    harness.begin()
    provider = Provider()
    rel_id = harness.add_relation("database", provider.name)
    harness.add_relation_unit(rel_id, "postgresql/0")
    ids: Dict[str, str] = {}
    bag = provider.app_bag()
    for uri, content in provider.secret_contents().items():
        ids[uri] = harness.add_model_secret(provider.name, content)
        harness.grant_secret(ids[uri], "myapp")
        bag = {k: (ids[uri] if v == uri else v) for k, v in bag.items()}
    harness.update_relation_data(rel_id, provider.name, bag)
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


# == hook-tool economy: writes =====================================================================


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
def test_the_1x_setter_charm_writes_only_what_a_requirer_needs_over_a_lifecycle(juju: str) -> None:
    """Issue 12, Costs: no unit-bag writes on postgresql_client, no rewrite of unchanged keys."""
    ctx = testing.Context(Setter, meta=META_PEER, juju_version=juju)
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
    assert _at_most_once(spy), spy


def test_harness_events_emitted_by_hand_read_the_relation_as_1x_tests_do() -> None:
    """compat.md: tests emit client events by hand with four positional arguments."""
    harness, rel_id, _ = _harness(False, Provider(secrets=False))
    charm: Declared = harness.charm
    charm.seen.clear()
    relation_ = harness.model.get_relation("database", rel_id)
    charm.db.on.master_changed.emit(relation_, relation_.app, None, harness.model.unit)
    assert len(charm.seen) == 1
    kind, master, standbys, database = charm.seen[0]
    assert kind == "MasterChangedEvent"
    assert master is not None
    assert master.password == PASSWORD
    assert len(standbys) == 2
    assert database == "mydbname"
    harness.cleanup()
