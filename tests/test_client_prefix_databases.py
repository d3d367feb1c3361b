"""Prefix requests, names PostgreSQL 16 refuses and its roles, on ``postgresql_client``.

Under Scenario (``ops.testing``), with the provider's application bag written the way
Charmed PostgreSQL 16 (``16/edge``) and 14 write it (credentials in clear, as for fields not
in ``requested-secrets``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
import pytest
from needs import needs_scenario

import pgsql
from pgsql import protocol

pytestmark = needs_scenario

testing: Any = pytest.importorskip("ops.testing")

META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client", "limit": 1}},
}
META_PGSQL: Dict[str, Any] = {"name": "myapp", "requires": {"db": {"interface": "pgsql"}}}
PASSWORD = "Pr3fix-Pa55"  # a test vector


class Recorder(ops.charm.CharmBase):
    """Declarative request on ``database``; records the events with what they carried."""

    KW: ClassVar[Dict[str, Any]] = {"database": "mydb_*"}

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", **self.KW)
        self.seen: List[Tuple[str, Optional[str], Tuple[str, ...]]] = []
        for name in protocol.EVENT_NAMES:
            framework.observe(getattr(self.db.on, name), self._record)

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        dbname = event.master.dbname if event.master is not None else None
        self.seen.append((type(event).__name__, dbname, event.databases))


def pg16_bag(
    database: str = "mydb_*",
    listed: Optional[str] = "mydb_a,mydb_b",
    version: str = "16.9",
    roles: str = "",
) -> Dict[str, str]:
    """PostgreSQL 16's answer to a prefix request: ``uris`` names the first listed database."""
    first = (listed or "").split(",")[0]
    bag = {
        "database": database,
        "endpoints": "10.0.0.5:5432",
        "read-only-endpoints": "10.0.0.6:5432",
        "username": "relation-4",
        "password": PASSWORD,
        "version": version,
        "tls": "False",
    }
    if listed:
        bag["prefix-databases"] = listed
        bag["uris"] = f"postgresql://relation-4:{PASSWORD}@10.0.0.5:5432/{first}"
    elif not database.endswith("*"):
        bag["uris"] = f"postgresql://relation-4:{PASSWORD}@10.0.0.5:5432/{database}"
    if roles:
        bag["data"] = f'{{"database": "{database}", "extra-user-roles": "{roles}"}}'
    return bag


def run(charm: type, bags: List[Dict[str, str]], leader: bool = True) -> Tuple[List[Any], Any, Any]:
    """relation-created, then one relation-changed per provider bag; the last charm and state."""
    ctx = testing.Context(charm, meta=META, juju_version="3.6.4")
    rel = testing.Relation("database", interface="postgresql_client", remote_app_name="postgresql")
    state = ctx.run(ctx.on.relation_created(rel), testing.State(leader=leader, relations={rel}))
    seen: List[Any] = []
    last: Any = None
    for bag in bags:
        new = dataclasses.replace(state.get_relation(rel.id), remote_app_data=bag)
        state = dataclasses.replace(state, relations={new})
        with ctx(ctx.on.relation_changed(new, remote_unit=0), state) as mgr:
            state = mgr.run()
            last = mgr.charm
            seen.append(list(last.seen))
    return seen, last, state


# -- 1. prefix requests ------------------------------------------------------------------------


def test_prefix_request_is_published_as_asked() -> None:
    _, _, state = run(Recorder, [])
    assert dict(state.get_relation(next(iter(state.relations)).id).local_app_data)["database"] == (
        "mydb_*"
    )


def test_prefix_answer_gives_the_master_on_the_first_listed_database_and_every_name() -> None:
    seen, charm, _ = run(Recorder, [pg16_bag()])
    assert seen[0][0] == ("MasterAvailableEvent", "mydb_a", ("mydb_a", "mydb_b"))
    r = charm.db.readiness()
    assert r.ready
    assert r.database == "mydb_a"
    assert r.databases == ("mydb_a", "mydb_b")
    assert [s.dbname for s in r.standbys] == ["mydb_a"]


def test_a_new_database_matching_the_prefix_is_a_master_changed() -> None:
    seen, _, _ = run(Recorder, [pg16_bag(), pg16_bag(listed="mydb_a,mydb_b,mydb_c")])
    assert ("MasterChangedEvent", "mydb_a", ("mydb_a", "mydb_b", "mydb_c")) in seen[1]
    assert not any(e[0].endswith("GoneEvent") for e in seen[1])


def test_prefix_answer_is_never_ready_on_the_literal_pattern_without_prefix_databases() -> None:
    seen, charm, _ = run(Recorder, [pg16_bag(listed=None)])
    assert seen[0] == []
    r = charm.db.readiness()
    assert not r.ready
    assert r.master is None
    assert r.databases == ()
    assert [x.code for x in r.reasons if x.blocking] == [protocol.NO_PREFIX_DATABASES]


def test_a_14_provider_that_created_a_database_named_like_the_pattern_is_not_ready() -> None:
    bag = pg16_bag(listed=None, version="14.12")
    bag["uris"] = f"postgresql://relation-4:{PASSWORD}@10.0.0.5:5432/mydb_*"
    seen, charm, _ = run(Recorder, [bag])
    assert seen[0] == []
    r = charm.db.readiness()
    assert not r.ready
    assert [x.code for x in r.reasons if x.blocking] == [protocol.PREFIX_NOT_SERVED]
    assert "mydb_" in r.why


def test_prefix_databases_all_gone_is_a_master_gone() -> None:
    seen, charm, _ = run(Recorder, [pg16_bag(), pg16_bag(listed=None)])
    names = [e[0] for e in seen[1]]
    assert "MasterGoneEvent" in names
    assert "DatabaseGoneEvent" in names
    assert not charm.db.is_ready()


def test_a_plain_request_has_its_one_database_in_databases() -> None:
    class Plain(Recorder):
        KW: ClassVar[Dict[str, Any]] = {"database": "mydb"}

    seen, charm, _ = run(Plain, [pg16_bag(database="mydb", listed=None)])
    assert seen[0][0] == ("MasterAvailableEvent", "mydb", ("mydb",))
    assert charm.db.readiness().databases == ("mydb",)


def test_a_non_leader_that_only_sees_the_echo_follows_the_prefix_answer() -> None:
    class Setter(Recorder):
        KW: ClassVar[Dict[str, Any]] = {}

    ctx = testing.Context(Setter, meta=META, juju_version="3.6.4", unit_id=1)
    rel = testing.Relation(
        "database",
        interface="postgresql_client",
        remote_app_name="postgresql",
        remote_app_data=pg16_bag(),
    )
    with ctx(ctx.on.relation_changed(rel, remote_unit=0), testing.State(relations={rel})) as mgr:
        mgr.run()
        r = mgr.charm.db.readiness()
    assert r.ready
    assert r.master.dbname == "mydb_a"
    assert r.databases == ("mydb_a", "mydb_b")


# -- 4. requests PostgreSQL 16 refuses silently, refused by the client ------------------------


@pytest.mark.parametrize(
    ("database", "words"),
    [
        ("ab*", "at least 3 characters"),
        ("*", "at least 3 characters"),
        ("postgres", "reserved"),
        ("template0", "reserved"),
        ("template1", "reserved"),
        ("databases", "reserved"),
        ("d" * 50, "at most 49 characters"),
        ("é" * 40, "63 bytes"),
    ],
)
def test_a_request_postgresql_16_refuses_silently_is_a_request_error(
    database: str, words: str
) -> None:
    class Refused(Recorder):
        KW: ClassVar[Dict[str, Any]] = {"database": database}

    ctx = testing.Context(Refused, meta=META, juju_version="3.6.4")
    rel = testing.Relation("database", interface="postgresql_client")
    with pytest.raises(testing.errors.UncaughtCharmError) as info:
        ctx.run(ctx.on.relation_created(rel), testing.State(leader=True, relations={rel}))
    cause = info.value.__cause__
    assert isinstance(cause, protocol.RequestError)
    assert words in str(cause)


def test_the_accepted_edges_pass() -> None:
    for database in ("abc*", "d" * 49, "my-db.1"):
        protocol.check_request(protocol.Request.build(database), "postgresql_client")


def test_the_1x_setter_refuses_a_reserved_name_on_postgresql_client() -> None:
    class Setter(Recorder):
        KW: ClassVar[Dict[str, Any]] = {}

        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)
            framework.observe(self.db.on.database_relation_joined, self._joined)
            self.error: Optional[Exception] = None

        def _joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
            try:
                event.database = "postgres"
            except protocol.RequestError as e:
                self.error = e

    ctx = testing.Context(Setter, meta=META, juju_version="3.6.4")
    rel = testing.Relation("database", interface="postgresql_client")
    state = ctx.run(ctx.on.relation_created(rel), testing.State(leader=True, relations={rel}))
    with ctx(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state) as mgr:
        out = mgr.run()
        assert "reserved" in str(mgr.charm.error)
    assert "database" not in out.get_relation(rel.id).local_app_data


def test_a_prefix_request_on_pgsql_is_a_request_error_and_other_names_are_unchanged() -> None:
    class OnPgsql(ops.charm.CharmBase):
        DB: ClassVar[str] = "mydb_*"

        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "db", database=self.DB)

    ctx = testing.Context(OnPgsql, meta=META_PGSQL, juju_version="3.6.4")
    rel = testing.Relation("db", interface="pgsql")
    with pytest.raises(testing.errors.UncaughtCharmError) as info:
        ctx.run(ctx.on.relation_created(rel), testing.State(leader=True, relations={rel}))
    assert isinstance(info.value.__cause__, protocol.RequestError)
    assert "postgresql_client" in str(info.value.__cause__)

    class Postgres(OnPgsql):
        DB: ClassVar[str] = "postgres"  # pgsql servers never refused it: unchanged

    ctx = testing.Context(Postgres, meta=META_PGSQL, juju_version="3.6.4")
    out = ctx.run(ctx.on.relation_created(rel), testing.State(leader=True, relations={rel}))
    assert out.get_relation(rel.id).local_app_data["database"] == "postgres"


# -- 3. roles ---------------------------------------------------------------------------------


def test_roles_a_provider_answered_are_ready_even_outside_the_16_rule() -> None:
    # an answer means the user was created with those roles (a refusing 16 never answers)
    class TwoRoles(Recorder):
        KW: ClassVar[Dict[str, Any]] = {
            "database": "mydb",
            "roles": ["charmed_read", "charmed_dml"],
        }

    bag = pg16_bag(database="mydb", listed=None, roles="charmed_dml,charmed_read")
    seen, charm, _ = run(TwoRoles, [bag])
    assert seen[0][0][0] == "MasterAvailableEvent"
    r = charm.db.readiness()
    assert r.ready
    assert protocol.ROLES_REFUSED not in {x.code for x in r.reasons}


def test_roles_a_14_provider_accepts_stay_ready_on_14() -> None:
    class Createrole(Recorder):
        KW: ClassVar[Dict[str, Any]] = {"database": "mydb", "roles": ["createrole", "superuser"]}

    bag = pg16_bag(database="mydb", listed=None, version="14.12", roles="createrole,superuser")
    seen, charm, _ = run(Createrole, [bag])
    assert seen[0][0][0] == "MasterAvailableEvent"
    assert charm.db.readiness().ready


def test_roles_16_refuses_are_a_note_while_no_provider_answered() -> None:
    class Unknown(Recorder):
        KW: ClassVar[Dict[str, Any]] = {"database": "mydb", "roles": "app_owner"}

    _, charm, _ = run(Unknown, [{}])
    r = charm.db.readiness()
    notes = [x for x in r.reasons if x.code == protocol.ROLES_REFUSED]
    assert notes
    assert not notes[0].blocking
    assert "charmed_read" in notes[0].message  # names the accepted roles
    assert [x.code for x in r.reasons if x.blocking] == [protocol.NOT_ANSWERED]


@pytest.mark.parametrize(
    "roles",
    [
        ["charmed_read"],
        ["charmed_dml"],
        ["charmed_admin"],
        ["charmed_stats"],
        ["CREATEDB"],
        ["superuser"],
        ["charmed_admin", "createdb"],
    ],
)
def test_roles_16_accepts_are_ready_on_16(roles: List[str]) -> None:
    class Accepted(Recorder):
        KW: ClassVar[Dict[str, Any]] = {"database": "mydb", "roles": roles}

    _, charm, _ = run(Accepted, [pg16_bag(database="mydb", listed=None)])
    assert charm.db.readiness().ready
