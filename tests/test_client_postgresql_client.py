"""PostgreSQLClient on a ``postgresql_client`` endpoint, under Scenario (``ops.testing``).

The provider is :mod:`provider_double` (written from the interface facts, not from the
library). Juju 3.6 shapes (credentials in Juju secrets) and Juju 2.9 shapes (plaintext), leader
and non-leader, every provider variant, rotation, broken, and the 1.x seed charm with only its
metadata changed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
import pytest
import yaml
from needs import requires_scenario
from provider_double import (
    CA,
    NEW_CA,
    NEW_PASSWORD,
    OLD_LIBPATCH,
    PASSWORD,
    PG14_VM,
    PG16_K8S,
    PGB_K8S,
    PGB_VM,
    TLS_SECRET,
    USER,
    USER_SECRET,
    VARIANTS,
    Provider,
)
from test_client_support import seed_charm

import pgsql
from pgsql import protocol

testing: Any = requires_scenario()

META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"db": {"interface": "postgresql_client", "limit": 1}},
}
META_BOTH: Dict[str, Any] = {
    "name": "myapp",
    "requires": {
        "db": {"interface": "pgsql", "limit": 1},
        "database": {"interface": "postgresql_client", "limit": 1},
    },
}
DEPRECATED = "ignore:ops.lib is deprecated:DeprecationWarning"
JUJU_36 = "3.6.4"
JUJU_29 = "2.9.50"
ALL_EVENTS = (*protocol.EVENT_NAMES, "database_relation_joined", "database_relation_broken")


class Recorder(ops.charm.CharmBase):
    """Declarative request on ``db``; records every client event with what it carried."""

    ENDPOINTS: ClassVar[Any] = "db"
    KW: ClassVar[Dict[str, Any]] = {"database": "mydbname", "roles": ["charmed_read"]}

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, self.ENDPOINTS, **self.KW)
        self.seen: List[Tuple[str, Optional[pgsql.ConnectionString], List[Any], Any]] = []
        for name in ALL_EVENTS:
            framework.observe(getattr(self.db.on, name), self._record)

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        self.seen.append((type(event).__name__, event.master, event.standbys, event.tls_ca))


def names(charm: Recorder) -> List[str]:
    return [s[0] for s in charm.seen]


def relation(provider: Optional[Provider] = None, units: int = 1, **kw: Any) -> Any:
    """The relation as the requirer sees it, with the provider's bags."""
    p = provider or Provider(answered=False)
    kw.setdefault("remote_app_name", p.name)
    kw.setdefault("endpoint", "db")
    return testing.Relation(
        interface="postgresql_client",
        remote_app_data=p.app_bag(),
        remote_units_data=p.unit_bags(units),
        **kw,
    )


def secrets(provider: Provider, granted: bool = True, latest: Optional[Provider] = None) -> Any:
    """The provider's secrets as the requirer can see them (none when not granted)."""
    if not granted:
        return []
    new = latest.secret_contents() if latest is not None else {}
    return [
        testing.Secret(content, id=uri, latest_content=new.get(uri, content))
        for uri, content in provider.secret_contents().items()
    ]


def provide(state: Any, rel: Any, provider: Provider, granted: bool = True) -> Any:
    """The state once the provider published ``provider`` on ``rel``."""
    new = dataclasses.replace(
        rel, remote_app_data=provider.app_bag(), remote_units_data=provider.unit_bags()
    )
    rels = {r for r in state.relations if r.id != rel.id} | {new}
    return dataclasses.replace(state, relations=rels, secrets=secrets(provider, granted))


def run_changed(
    ctx: Any, state: Any, rel_id: int, provider: Provider, granted: bool = True
) -> Tuple[Any, Recorder]:
    rel = state.get_relation(rel_id)
    state = provide(state, rel, provider, granted)
    with ctx(ctx.on.relation_changed(state.get_relation(rel_id), remote_unit=0), state) as mgr:
        out = mgr.run()
        return out, mgr.charm


def started(ctx: Any, leader: bool = True, **kw: Any) -> Tuple[Any, int]:
    """relation-created then -joined, nothing answered yet."""
    rel = relation(**kw)
    state = testing.State(leader=leader, relations={rel})
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state)
    return state, rel.id


def all_output(ctx: Any, state: Any) -> str:
    """Everything a test could see: logs, the charm's bags and stored state."""
    parts = [str(line) for line in ctx.juju_log]
    for rel in state.relations:
        parts += [json.dumps(dict(rel.local_app_data)), json.dumps(dict(rel.local_unit_data))]
    parts += [repr(s.content) for s in state.stored_states]
    return "\n".join(parts)


# -- the request -----------------------------------------------------------------------------


def test_leader_publishes_the_request_at_relation_created_in_its_app_bag_only() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    rel = relation()
    out = ctx.run(ctx.on.relation_created(rel), testing.State(leader=True, relations={rel}))
    mine = out.get_relation(rel.id)
    assert dict(mine.local_app_data) == {
        "database": "mydbname",
        "extra-user-roles": "charmed_read",
        "requested-secrets": json.dumps(list(protocol.REQUESTED_SECRETS)),
    }
    assert set(json.loads(mine.local_app_data["requested-secrets"])) >= {
        "username",
        "password",
        "tls",
        "tls-ca",
        "uris",
        "read-only-uris",
    }
    assert dict(mine.local_unit_data) == dict(rel.local_unit_data)  # no unit-bag writes


def test_non_leader_writes_nothing() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36, unit_id=1)
    state, rel_id = started(ctx, leader=False)
    out, _ = run_changed(ctx, state, rel_id, Provider())
    mine = out.get_relation(rel_id)
    assert dict(mine.local_app_data) == {}
    assert "database" not in mine.local_unit_data


def test_external_node_connectivity_is_an_option() -> None:
    class External(Recorder):
        KW: ClassVar[Dict[str, Any]] = {"database": "mydbname", "external": True}

    ctx = testing.Context(External, meta=META, juju_version=JUJU_36)
    rel = relation()
    out = ctx.run(ctx.on.relation_created(rel), testing.State(leader=True, relations={rel}))
    assert out.get_relation(rel.id).local_app_data["external-node-connectivity"] == "true"


def test_extensions_are_a_note_naming_the_server_option_not_a_wire_key() -> None:
    class WithExtension(Recorder):
        KW: ClassVar[Dict[str, Any]] = {"database": "mydbname", "extensions": ["citext", "pg_trgm"]}

    ctx = testing.Context(WithExtension, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    assert "extensions" not in state.get_relation(rel_id).local_app_data
    _, charm = run_changed(ctx, state, rel_id, Provider())
    r = charm.db.readiness()
    assert r is not None
    assert r.ready
    notes = [x for x in r.reasons if x.code == protocol.EXTENSIONS_BY_CONFIG]
    assert [x.advice for x in notes] == [
        "juju config postgresql plugin-citext-enable=true",
        "juju config postgresql plugin-pg-trgm-enable=true",
    ]
    assert "MasterChangedEvent" in names(charm)


# -- readiness, Juju 3.6 (secrets) and Juju 2.9 (plaintext) -----------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("juju", [JUJU_36, JUJU_29])
def test_every_variant_becomes_ready_with_the_master_and_standbys(variant: str, juju: str) -> None:
    provider = Provider(variant=variant, secrets=juju == JUJU_36)
    ctx = testing.Context(Recorder, meta=META, juju_version=juju)
    state, rel_id = started(ctx)
    out, charm = run_changed(ctx, state, rel_id, provider)
    assert names(charm) == [
        "MasterAvailableEvent",
        "MasterChangedEvent",
        "StandbyAvailableEvent",
        "StandbyChangedEvent",
        "DatabaseAvailableEvent",
        "DatabaseChangedEvent",
    ]
    master, standbys = charm.seen[1][1], charm.seen[1][2]
    assert master is not None
    host, port = provider.endpoints()[0].rsplit(":", 1)
    assert (master.host, master.port, master.dbname) == (host, port, "mydbname")
    assert (master.user, master.password) == (USER, PASSWORD)
    ro_db = "mydbname_readonly" if variant in (PGB_VM, PGB_K8S) else "mydbname"
    assert [s.dbname for s in standbys] == [ro_db] * len(provider.endpoints()[1].split(","))
    if variant == PG16_K8S:  # the doubled port of read-only-uris is not used
        assert [s.port for s in standbys] == ["5432"]
    assert charm.db.version() == ("14.12" if variant in (PG14_VM, OLD_LIBPATCH) else "16.14")
    assert PASSWORD not in all_output(ctx, out)


def test_pgbouncer_subordinate_is_ready_only_once_its_unit_says_so() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    waiting = Provider(variant=PGB_VM, unit_ready=False)
    state, charm = run_changed(ctx, state, rel_id, waiting)
    r = charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert protocol.SUBORDINATE_NOT_READY in {x.code for x in r.reasons}
    assert "MasterChangedEvent" not in names(charm)
    state, charm = run_changed(ctx, state, rel_id, waiting.evolve(unit_ready=True))
    assert "MasterAvailableEvent" in names(charm)
    master = charm.seen[1][1]
    assert master is not None
    assert master.host == "localhost"


@pytest.mark.parametrize("leader", [True, False])
def test_secret_not_granted_yet_is_not_ready_with_a_reason_then_ready(leader: bool) -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36, unit_id=0 if leader else 1)
    state, rel_id = started(ctx, leader=leader)
    state, charm = run_changed(ctx, state, rel_id, Provider(), granted=False)
    r = charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert protocol.SECRET_NOT_GRANTED in {x.code for x in r.reasons}
    assert "not granted" in r.why
    assert names(charm) == []
    state, charm = run_changed(ctx, state, rel_id, Provider())
    assert names(charm)[:2] == ["MasterAvailableEvent", "MasterChangedEvent"]


def test_not_answered_yet_says_so() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, _ = started(ctx)
    with ctx(ctx.on.update_status(), state) as mgr:
        mgr.run()
        r = mgr.charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert [x.code for x in r.reasons if x.blocking] == [protocol.NOT_ANSWERED]


@pytest.mark.parametrize(
    "bag",
    [
        {"endpoints": "::::"},
        {"endpoints": "10.0.0.5:5432", "secret-user": "not a uri"},
        {"endpoints": "10.0.0.5:99999", "username": "u", "password": "p"},
        {"endpoints": "10.0.0.5:5432", "data": "{", "uris": "postgresql://%zz"},
        {"endpoints": "10.0.0.5:5432", "subordinated": "true", "username": "u", "password": "p"},
    ],
)
def test_malformed_provider_data_is_not_ready_never_an_exception(bag: Dict[str, str]) -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    rel = dataclasses.replace(state.get_relation(rel_id), remote_app_data=bag)
    with ctx(ctx.on.relation_changed(rel, remote_unit=0), _with(state, rel)) as mgr:
        mgr.run()
        r = mgr.charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert r.why


# -- rotation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("leader", [True, False])
def test_a_password_rotated_in_the_secret_is_master_changed_with_the_new_password(
    leader: bool,
) -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36, unit_id=0 if leader else 1)
    state, rel_id = started(ctx, leader=leader)
    provider = Provider()
    state, _ = run_changed(ctx, state, rel_id, provider)
    rotated = provider.evolve(password=NEW_PASSWORD)
    state = dataclasses.replace(state, secrets=secrets(provider, latest=rotated))
    user_secret = state.get_secret(id=USER_SECRET)
    with ctx(ctx.on.secret_changed(user_secret), state) as mgr:
        out = mgr.run()
        charm: Recorder = mgr.charm
    assert names(charm) == ["MasterChangedEvent", "DatabaseChangedEvent"] or names(charm) == [
        "MasterChangedEvent",
        "StandbyChangedEvent",
        "DatabaseChangedEvent",
    ]
    master = charm.seen[0][1]
    assert master is not None
    assert master.password == NEW_PASSWORD
    # the unit now tracks the new revision: the next hook reads the new password too
    assert out.get_secret(id=USER_SECRET).tracked_content["password"] == NEW_PASSWORD
    text = all_output(ctx, out)
    assert PASSWORD not in text
    assert NEW_PASSWORD not in text


def test_a_rotated_ca_is_master_changed_and_readable() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    provider = Provider(tls=True, ca=CA)
    state, charm = run_changed(ctx, state, rel_id, provider)
    r = charm.db.readiness()
    assert r is not None
    assert r.tls is True
    assert r.tls_ca == CA
    assert charm.db.tls_ca() == CA
    assert charm.seen[1][3] == CA
    rotated = provider.evolve(ca=NEW_CA)
    state = dataclasses.replace(state, secrets=secrets(provider, latest=rotated))
    with ctx(ctx.on.secret_changed(state.get_secret(id=TLS_SECRET)), state) as mgr:
        mgr.run()
        charm = mgr.charm
    assert names(charm) == ["MasterChangedEvent", "DatabaseChangedEvent"]
    assert charm.seen[0][3] == NEW_CA


def test_a_secret_changed_for_another_secret_tells_nothing() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = run_changed(ctx, state, rel_id, Provider())
    other = testing.Secret({"k": "v"}, latest_content={"k": "w"})
    state = dataclasses.replace(state, secrets=[*state.secrets, other])
    with ctx(ctx.on.secret_changed(other), state) as mgr:
        mgr.run()
        assert names(mgr.charm) == []


def test_secrets_are_read_once_per_hook() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state = provide(state, state.get_relation(rel_id), Provider())
    calls: List[str] = []

    class Curious(Recorder):
        def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
            super()._record(event)
            for _ in range(3):  # a charm reading the state again and again in one hook
                self.db.readiness()
                self.db.master()
                self.db.tls_ca()

    ctx = testing.Context(Curious, meta=META, juju_version=JUJU_36)
    with ctx(ctx.on.relation_changed(state.get_relation(rel_id), remote_unit=0), state) as mgr:
        backend = mgr.charm.model._backend  # pyright: ignore[reportPrivateUsage]
        real = backend.secret_get

        def spy(*args: Any, **kw: Any) -> Any:
            calls.append(str(kw.get("id")))
            return real(*args, **kw)

        backend.secret_get = spy
        mgr.run()
        assert "MasterChangedEvent" in names(mgr.charm)
    assert sorted(calls) == sorted([USER_SECRET, TLS_SECRET])


# -- request changed, broken, leadership -------------------------------------------------------


def test_a_request_changed_after_the_answer_is_a_reason_not_a_crash() -> None:
    class Changing(Recorder):
        KW: ClassVar[Dict[str, Any]] = {"database": "otherdb"}

    ctx = testing.Context(Changing, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    # the provider answered "mydbname" (the request before the charm changed it)
    state, charm = run_changed(ctx, state, rel_id, Provider())
    r = charm.db.readiness()
    assert r is not None
    assert not r.ready
    codes = {x.code for x in r.reasons}
    assert codes & {protocol.DATABASE_MISMATCH, protocol.REQUEST_CHANGED}
    assert "MasterChangedEvent" not in names(charm)


def test_broken_emits_the_gone_events_then_broken() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = run_changed(ctx, state, rel_id, Provider())
    with ctx(ctx.on.relation_broken(state.get_relation(rel_id)), state) as mgr:
        mgr.run()
        charm: Recorder = mgr.charm
    assert names(charm) == [
        "MasterChangedEvent",
        "MasterGoneEvent",
        "StandbyChangedEvent",
        "StandbyGoneEvent",
        "DatabaseChangedEvent",
        "DatabaseGoneEvent",
        "DatabaseRelationBrokenEvent",
    ]
    assert all(s[1] is None for s in charm.seen)


def test_provider_withdrawing_credentials_is_master_gone() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_29)
    state, rel_id = started(ctx)
    state, _ = run_changed(ctx, state, rel_id, Provider(secrets=False))
    state, charm = run_changed(ctx, state, rel_id, Provider(secrets=False, answered=False))
    assert "MasterGoneEvent" in names(charm)
    assert "DatabaseGoneEvent" in names(charm)


# -- the 1.x seed charm, metadata changed only ------------------------------------------------


@pytest.mark.filterwarnings(DEPRECATED)
@pytest.mark.parametrize("juju", [JUJU_36, JUJU_29])
def test_seed_charm_with_only_its_metadata_changed(juju: str) -> None:
    charm = seed_charm("ops.lib.use")
    ctx = testing.Context(charm, meta=META, juju_version=juju)
    provider = Provider(secrets=juju == JUJU_36)
    rel = relation()
    state = testing.State(leader=True, relations={rel})
    state = ctx.run(ctx.on.relation_created(rel), state)
    assert dict(state.get_relation(rel.id).local_app_data) == {}  # no database known yet
    state = ctx.run(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state)
    published = dict(state.get_relation(rel.id).local_app_data)
    assert published["database"] == "mydbname"
    assert "extensions" not in published
    state = provide(state, state.get_relation(rel.id), provider)
    state = ctx.run(ctx.on.relation_changed(state.get_relation(rel.id), remote_unit=0), state)
    stored = _seed_state(state)
    master = pgsql.ConnectionString(stored["db_conn_str"])
    assert (master.host, master.dbname, master.password) == ("10.0.0.5", "mydbname", PASSWORD)
    assert len(stored["db_ro_uris"]) == 2
    assert not state.deferred


@pytest.mark.filterwarnings(DEPRECATED)
def test_seed_charm_non_leader_defers_until_the_echo_then_connects() -> None:
    charm = seed_charm("import pgsql")
    ctx = testing.Context(charm, meta=META, juju_version=JUJU_36, unit_id=1)
    rel = relation()
    state = ctx.run(ctx.on.relation_joined(rel, remote_unit=0), testing.State(relations={rel}))
    assert len(state.deferred) == 1
    state = provide(state, state.get_relation(rel.id), Provider())
    state = ctx.run(ctx.on.relation_changed(state.get_relation(rel.id), remote_unit=0), state)
    assert not state.deferred
    assert pgsql.ConnectionString(_seed_state(state)["db_conn_str"]).password == PASSWORD


def _seed_state(state: Any) -> Dict[str, Any]:
    (stored,) = [s for s in state.stored_states if s.owner_path == "MyCharm"]
    return dict(stored.content)


def _with(state: Any, rel: Any) -> Any:
    others = {r for r in state.relations if r.id != rel.id}
    return dataclasses.replace(state, relations=others | {rel})


# -- migration: db (pgsql) and database (postgresql_client) with one client -------------------


class Both(Recorder):
    ENDPOINTS: ClassVar[Any] = ("db", "database")
    KW: ClassVar[Dict[str, Any]] = {"database": "mydbname"}


def _pgsql_relation(**kw: Any) -> Any:
    master = f"host=10.9.9.9 dbname=mydbname user=old password={PASSWORD}"
    bag = {
        "database": "mydbname",
        "master": master,
        "allowed-units": "myapp/0",
        "version": "14",
    }
    return testing.Relation(
        "db",
        "pgsql",
        remote_app_name="postgresql14",
        remote_units_data={0: bag},
        local_unit_data={"egress-subnets": "192.0.2.10/32"},
        **kw,
    )


def test_one_client_serves_both_endpoints_and_the_older_relation_when_both_are_related() -> None:
    ctx = testing.Context(Both, meta=META_BOTH, juju_version=JUJU_36)
    old = _pgsql_relation(id=3)
    new = relation(endpoint="database", id=9)
    state = testing.State(leader=True, relations={old, new})
    state = ctx.run(ctx.on.relation_created(new), state)
    assert state.get_relation(9).local_app_data["database"] == "mydbname"
    with ctx(ctx.on.relation_changed(state.get_relation(3), remote_unit=0), state) as mgr:
        state = mgr.run()
        charm: Recorder = mgr.charm
        served = charm.db.relation()
        assert served is not None
        assert served.id == 3
        old_master = charm.db.master()
        assert old_master is not None
        assert old_master.host == "10.9.9.9"
    state, charm = run_changed(ctx, state, 9, Provider())
    r = charm.db.readiness(charm.model.get_relation("database"))
    assert r is not None
    assert not r.ready
    assert r.reasons[0].code == pgsql.client.ENDPOINT_CONFLICT
    assert "db" in r.why
    assert "remove" in r.why
    assert "MasterAvailableEvent" not in names(charm)
    # the operator removes the old relation: the new one is served, and the charm is told
    with ctx(ctx.on.relation_broken(state.get_relation(3)), state) as mgr:
        state = mgr.run()
        charm = mgr.charm
    assert names(charm)[:2] == ["MasterChangedEvent", "MasterGoneEvent"]
    assert "MasterAvailableEvent" in names(charm)  # the database relation, served now
    master = charm.seen[names(charm).index("MasterAvailableEvent")][1]
    assert master is not None
    assert master.host == "10.0.0.5"
    served = charm.db.relation()
    assert served is not None
    assert served.id == 9


def test_two_endpoints_route_events_to_one_set_of_handlers() -> None:
    ctx = testing.Context(Both, meta=META_BOTH, juju_version=JUJU_36)
    new = relation(endpoint="database")
    state = testing.State(leader=True, relations={new})
    state = ctx.run(ctx.on.relation_created(new), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(new.id), remote_unit=0), state)
    state, charm = run_changed(ctx, state, new.id, Provider())
    assert names(charm)[:2] == ["MasterAvailableEvent", "MasterChangedEvent"]
    assert charm.db.relation() is not None
    assert charm.db.interface(charm.db.relation()) == "postgresql_client"  # type: ignore[arg-type]


# -- 1.x setters, leadership moves, lost state -------------------------------------------------


class Setter(ops.charm.CharmBase):
    """The 1.x way: the leader sets database and roles in database_relation_joined."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.seen: List[Tuple[str, Optional[str], List[str]]] = []
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        framework.observe(self.db.on.master_changed, self._on_master_changed)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "mydbname"
            event.roles = ["createdb", "charmed_admin"]  # two roles PostgreSQL 16 accepts together

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        self.seen.append(
            (event.database or "", str(event.master.host) if event.master else None, event.roles)
        )


META_PEER: Dict[str, Any] = {**META, "peers": {"replicas": {"interface": "myapp-peers"}}}


def test_setters_publish_roles_as_extra_user_roles_and_a_new_leader_relearns_them() -> None:
    ctx = testing.Context(Setter, meta=META_PEER, juju_version=JUJU_36)
    peer = testing.PeerRelation("replicas")
    rel = relation()
    state = testing.State(leader=True, relations={rel, peer})
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state)
    bag = state.get_relation(rel.id).local_app_data
    assert bag["database"] == "mydbname"
    assert bag["extra-user-roles"] == "charmed_admin,createdb"
    shared = state.get_relation(peer.id).local_app_data
    assert "pgsql-db" in shared  # what non-leaders learn the request from
    # a non-leader of the same application, with the leader's peer data
    follower = testing.Context(Setter, meta=META_PEER, juju_version=JUJU_36, unit_id=1)
    fstate = testing.State(
        secrets=secrets(Provider()),
        leader=False,
        relations={
            relation(Provider(), id=rel.id),
            dataclasses.replace(peer, local_app_data=dict(shared)),
        },
    )
    with follower(
        follower.on.relation_changed(fstate.get_relation(rel.id), remote_unit=0), fstate
    ) as mgr:
        mgr.run()
        charm: Setter = mgr.charm
    assert charm.seen == [("mydbname", "10.0.0.5", ["charmed_admin", "createdb"])]
    # leadership moves to a unit that lost its StoredState (a replaced pod): it reads the
    # request back from the app bag, roles included, and rewrites nothing
    new_leader = testing.Context(Setter, meta=META_PEER, juju_version=JUJU_36, unit_id=2)
    lstate = testing.State(
        secrets=secrets(Provider()),
        leader=True,
        relations={
            dataclasses.replace(relation(Provider(), id=rel.id), local_app_data=dict(bag)),
            dataclasses.replace(peer, local_app_data=dict(shared)),
        },
    )
    with new_leader(new_leader.on.leader_elected(), lstate) as mgr:
        out = mgr.run()
        charm = mgr.charm
        r = charm.db.requested(charm.model.get_relation("db"))  # type: ignore[arg-type]
    assert r == protocol.Request.build("mydbname", ["createdb", "charmed_admin"])
    assert dict(out.get_relation(rel.id).local_app_data) == dict(bag)
    assert charm.seen == [("mydbname", "10.0.0.5", ["charmed_admin", "createdb"])]


def test_a_non_leader_setting_the_database_raises_not_leader() -> None:
    class Misuse(Setter):
        def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
            event.database = "mydbname"

    ctx = testing.Context(Misuse, meta=META, juju_version=JUJU_36, unit_id=1)
    rel = relation()
    with pytest.raises(testing.errors.UncaughtCharmError, match="is not the leader") as info:
        ctx.run(ctx.on.relation_joined(rel, remote_unit=0), testing.State(relations={rel}))
    assert isinstance(info.value.__cause__, pgsql.NotLeaderError)


def test_lost_stored_state_tells_again_without_a_write() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = run_changed(ctx, state, rel_id, Provider())
    bag = dict(state.get_relation(rel_id).local_app_data)
    fresh = dataclasses.replace(state, stored_states=[])  # a re-created pod
    with ctx(ctx.on.update_status(), fresh) as mgr:
        out = mgr.run()
        assert mgr.charm.db.is_ready()
    assert dict(out.get_relation(rel_id).local_app_data) == bag
    out, charm = run_changed(ctx, out, rel_id, Provider())
    # told from scratch, joined first (a 1.x charm requests there), without a rewrite
    assert names(charm)[:3] == [
        "DatabaseRelationJoinedEvent",
        "MasterAvailableEvent",
        "MasterChangedEvent",
    ]
    assert dict(out.get_relation(rel_id).local_app_data) == bag


def test_juju4_leader_without_peer_or_leader_get() -> None:
    ctx = testing.Context(Setter, meta=META, juju_version="4.0.0")
    state, rel_id = started(ctx)
    out, charm = run_changed(ctx, state, rel_id, Provider())
    assert charm.seen == [("mydbname", "10.0.0.5", ["charmed_admin", "createdb"])]
    assert out.get_relation(rel_id).local_app_data["database"] == "mydbname"


def test_a_deferred_master_changed_reads_the_rotated_password_when_it_runs_again() -> None:
    class Deferring(Recorder):
        KW: ClassVar[Dict[str, Any]] = {"database": "mydbname"}
        first = True

        def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
            super()._record(event)
            if isinstance(event, pgsql.MasterChangedEvent) and Deferring.first:
                Deferring.first = False
                event.defer()

    ctx = testing.Context(Deferring, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = run_changed(ctx, state, rel_id, Provider())
    assert len(state.deferred) == 1
    rotated = Provider(password=NEW_PASSWORD)
    state = dataclasses.replace(state, secrets=secrets(Provider(), latest=rotated))
    with ctx(ctx.on.secret_changed(state.get_secret(id=USER_SECRET)), state) as mgr:
        out = mgr.run()
        charm: Recorder = mgr.charm
    masters = [s[1] for s in charm.seen if s[0] == "MasterChangedEvent"]
    assert masters
    assert all(m is not None and m.password == NEW_PASSWORD for m in masters)
    assert not out.deferred


# -- docs/migration.md, as written ----------------------------------------------------------------


def _migration_doc() -> Tuple[Dict[str, Any], str]:
    text = (Path(__file__).parent.parent / "docs" / "migration.md").read_text()
    meta_block = re.search(r"```yaml\n(requires:.*?)```", text, flags=re.DOTALL)
    code_block = re.search(r"# after\n(.*?)\n```", text, flags=re.DOTALL)
    assert meta_block is not None
    assert code_block is not None
    meta: Dict[str, Any] = {"name": "myapp", **yaml.safe_load(meta_block.group(1))}
    return meta, code_block.group(1).strip()


@pytest.mark.filterwarnings(DEPRECATED)
def test_the_migration_doc_turns_the_seed_charm_into_one_serving_both_endpoints() -> None:
    meta, line = _migration_doc()
    assert line == 'self.db = pgsql.PostgreSQLClient(self, ("db", "database"))'
    old = "pgsql.PostgreSQLClient(self, 'db')"
    charm = seed_charm("ops.lib.use", replace=(old, line[len("self.db = ") :]))
    ctx = testing.Context(charm, meta=meta, juju_version=JUJU_36)
    rel = relation(endpoint="database")
    state = testing.State(leader=True, relations={rel})
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state)
    assert state.get_relation(rel.id).local_app_data["database"] == "mydbname"
    state = provide(state, state.get_relation(rel.id), Provider())
    state = ctx.run(ctx.on.relation_changed(state.get_relation(rel.id), remote_unit=0), state)
    assert pgsql.ConnectionString(_seed_state(state)["db_conn_str"]).password == PASSWORD


def test_a_grant_alone_is_told_at_the_next_update_status() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, charm = run_changed(ctx, state, rel_id, Provider(), granted=False)
    assert names(charm) == []
    state = dataclasses.replace(state, secrets=secrets(Provider()))  # the grant: no hook
    with ctx(ctx.on.update_status(), state) as mgr:
        state = mgr.run()
        charm = mgr.charm
    assert names(charm)[:2] == ["MasterAvailableEvent", "MasterChangedEvent"]
    # once told, update-status costs nothing: the client does not even observe it
    with ctx(ctx.on.update_status(), state) as mgr:
        backend = mgr.charm.model._backend  # pyright: ignore[reportPrivateUsage]
        calls: List[str] = []
        real = backend.relation_get

        def spy(*args: Any, **kw: Any) -> Any:
            calls.append("relation_get")
            return real(*args, **kw)

        backend.relation_get = spy
        mgr.run()
        assert names(mgr.charm) == []
    assert calls == []


def test_the_ca_keeps_its_final_newline() -> None:
    pem = CA + "\n"
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    _, charm = run_changed(ctx, state, rel_id, Provider(tls=True, ca=pem))
    assert charm.db.tls_ca() == pem


def _secret_reads(ctx: Any, state: Any, event: Any) -> Tuple[Any, List[str], Recorder]:
    calls: List[str] = []
    with ctx(event, state) as mgr:
        backend = mgr.charm.model._backend  # pyright: ignore[reportPrivateUsage]
        real = backend.secret_get

        def spy(*args: Any, **kw: Any) -> Any:
            calls.append(str(kw.get("id")))
            return real(*args, **kw)

        backend.secret_get = spy
        out = mgr.run()
        return out, calls, mgr.charm


def test_the_tls_secret_is_kept_and_read_again_only_when_rotated() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = run_changed(ctx, state, rel_id, Provider(tls=True, ca=CA))
    again = ctx.on.relation_changed(state.get_relation(rel_id), remote_unit=0)
    state, calls, charm = _secret_reads(ctx, state, again)
    assert calls == [USER_SECRET]  # the CA is known: only the credentials are read
    assert charm.db.tls_ca() == CA
    stored = repr([s.content for s in state.stored_states])
    assert PASSWORD not in stored
    rotated = Provider(tls=True, ca=NEW_CA)
    state = dataclasses.replace(state, secrets=secrets(Provider(tls=True, ca=CA), latest=rotated))
    state, calls, charm = _secret_reads(
        ctx, state, ctx.on.secret_changed(state.get_secret(id=TLS_SECRET))
    )
    assert sorted(calls) == sorted([USER_SECRET, TLS_SECRET])  # each once
    assert names(charm) == ["MasterChangedEvent", "DatabaseChangedEvent"]
    assert charm.seen[0][3] == NEW_CA


def test_a_departing_provider_unit_costs_nothing_but_behind_a_subordinate() -> None:
    ctx = testing.Context(Recorder, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state, _ = run_changed(ctx, state, rel_id, Provider())
    departed = ctx.on.relation_departed(state.get_relation(rel_id), remote_unit=0)
    _, calls, charm = _secret_reads(ctx, state, departed)
    assert calls == []
    assert names(charm) == []
    # behind PgBouncer VM the unit bags say whether it serves: a departure is judged
    state, rel_id = started(ctx)
    state, _ = run_changed(ctx, state, rel_id, Provider(variant=PGB_VM))
    departed = ctx.on.relation_departed(state.get_relation(rel_id), remote_unit=0)
    _, calls, _ = _secret_reads(ctx, state, departed)
    assert calls


def test_a_non_leader_without_a_peer_learns_the_request_from_the_providers_snapshot() -> None:
    # no peer relation, and no leadership-settings copy on postgresql_client: the provider's
    # `data` snapshot of the request tells a non-leader what was asked, roles included
    follower = testing.Context(Setter, meta=META, juju_version=JUJU_36, unit_id=1)
    answered = Provider(request={"database": "mydbname", "extra-user-roles": "charmed_dml"})
    rel = relation(answered)
    fstate = testing.State(relations={rel}, secrets=secrets(answered))
    with follower(follower.on.relation_changed(rel, remote_unit=0), fstate) as mgr:
        mgr.run()
        charm: Setter = mgr.charm
    assert charm.seen == [("mydbname", "10.0.0.5", ["charmed_dml"])]
    # before the provider answered, nothing is known: the echo is trusted once it comes
    rel = relation()
    fstate = testing.State(relations={rel})
    with follower(follower.on.relation_changed(rel, remote_unit=0), fstate) as mgr:
        mgr.run()
        assert mgr.charm.db.requested(mgr.charm.model.get_relation("db")) is None  # type: ignore[arg-type]
