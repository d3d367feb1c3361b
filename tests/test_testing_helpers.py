"""pgsql.testing: the described servers, checked by the client's rule and by the real client."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import ops
import ops.testing
import pytest
from fix_no_scenario import run_without_scenario
from needs import needs_scenario

import pgsql
from pgsql import Request, protocol
from pgsql import testing as pgt

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")


REQUEST = Request.build(database="mydb", extensions=["citext"])


def readiness(server: pgt.Server, client: pgt.Client, unit: Optional[str] = None) -> Any:
    """Judge the described server the way PostgreSQLClient does (protocol.evaluate)."""
    bags = server.databags(client)
    name = unit or client.unit_name
    return protocol.evaluate(
        client.request, name, client.unit_bag(name), server.app, bags.app, bags.units
    )


# ---- the pure description -------------------------------------------------------------------


@pytest.mark.parametrize("flavour", pgt.FLAVOURS)
def test_ready_server_is_ready_for_every_client_unit(flavour: str) -> None:
    client = pgt.Client(units=3, request=REQUEST)
    server = pgt.Server(flavour=flavour, units=3)
    for name in client.unit_names:
        r = readiness(server, client, name)
        assert r.ready, r.why
        assert r.master == server.master(client)
        assert r.master.host == "198.51.100.10"
        assert list(r.standbys) == server.standby_list(client)
        assert [s.host for s in r.standbys] == ["198.51.100.11", "198.51.100.12"]
        assert r.version == "12"
        assert r.database == "mydb"


def test_app_bags_flavour_writes_app_and_leader_bag_only() -> None:
    client = pgt.Client(request=REQUEST)
    bags = pgt.Server(flavour=pgt.APP_BAGS, units=3, leader=1).databags(client)
    assert bags.app["master"] == str(pgt.Server(units=3).master(client))
    leader = {k: v for k, v in bags.units["postgresql/1"].items() if k not in protocol.JUJU_KEYS}
    assert leader == bags.app
    assert bags.units["postgresql/0"] == pgt.juju_keys("198.51.100.10")
    assert "state" not in bags.app


def test_unit_bags_flavour_states() -> None:
    client = pgt.Client(request=REQUEST)
    bags = pgt.Server(units=2, primary=1).databags(client)
    assert bags.app == {}
    assert bags.units["postgresql/1"]["state"] == "master"
    assert bags.units["postgresql/0"]["state"] == "hot standby"
    assert pgt.Server().databags(client).units["postgresql/0"]["state"] == "standalone"


def test_not_granted() -> None:
    client = pgt.Client(request=REQUEST)
    r = readiness(pgt.Server(state=pgt.NOT_GRANTED), client)
    assert not r.ready
    assert protocol.EGRESS_NOT_ALLOWED in {x.code for x in r.reasons}


def test_granted_subset() -> None:
    client = pgt.Client(units=2, request=REQUEST)
    server = pgt.Server(granted=("myapp/1",))
    assert not readiness(server, client, "myapp/0").ready
    assert readiness(server, client, "myapp/1").ready
    assert server.databags(client).units["postgresql/0"]["allowed-units"] == "myapp/1"


@pytest.mark.parametrize("state", [pgt.JOINED, pgt.GONE])
def test_joined_and_gone_publish_nothing(state: str) -> None:
    client = pgt.Client(request=REQUEST)
    bags = pgt.Server(state=state, units=2).databags(client)
    assert bags.app == {}
    assert bags.units == {
        "postgresql/0": pgt.juju_keys("198.51.100.10"),
        "postgresql/1": pgt.juju_keys("198.51.100.11"),
    }
    r = readiness(pgt.Server(state=state), client)
    assert not r.ready
    assert r.reasons[0].code == protocol.WAITING


def test_failover_has_standbys_but_no_master() -> None:
    client = pgt.Client(request=REQUEST)
    server = pgt.Server(state=pgt.FAILOVER, units=3)
    bags = server.databags(client)
    assert all("master" not in b for b in bags.units.values())
    r = readiness(server, client)
    assert not r.ready
    assert len(r.standbys) == 2
    assert "failover" in r.why


def test_primary_moves() -> None:
    client = pgt.Client(request=REQUEST)
    before = readiness(pgt.Server(units=2), client)
    after = readiness(pgt.Server(units=2).evolve(primary=1), client)
    assert before.master is not None
    assert after.master is not None
    assert (before.master.host, after.master.host) == ("198.51.100.10", "198.51.100.11")
    assert [s.host for s in after.standbys] == ["198.51.100.10"]


def test_standby_count() -> None:
    client = pgt.Client()
    assert pgt.Server(units=3, standbys=0).standby_list(client) == []
    assert len(pgt.Server(units=1, standbys=2).standby_list(client)) == 2
    assert "standbys" not in pgt.Server(units=3, standbys=0).databags(client).units["postgresql/0"]


def test_echo_defaults_to_request_and_can_differ() -> None:
    client = pgt.Client(request=REQUEST)
    bag = pgt.Server().databags(client).units["postgresql/0"]
    assert (bag["database"], bag["extensions"]) == ("mydb", "citext")
    stale = pgt.Server(request=Request("olddb"))
    r = readiness(stale, client)
    assert not r.ready
    assert {x.code for x in r.reasons} >= {protocol.DATABASE_MISMATCH}
    default = pgt.Server().databags(pgt.Client()).units["postgresql/0"]
    assert default["database"] == "myapp"  # the client application name, like most servers
    assert pgt.Server(database="x").databags(pgt.Client()).units["postgresql/0"]["database"] == "x"


def test_databags_are_exactly_the_protocol() -> None:
    client = pgt.Client(units=2, request=REQUEST)
    server = pgt.Server(units=2)
    expected = protocol.server_databag(
        REQUEST,
        master=server.master(client),
        standbys=server.standby_list(client),
        version="12",
        granted_units=client.unit_bags(),
        database="mydb",
        state="master",
    )
    got = server.databags(client).units["postgresql/0"]
    assert {k: v for k, v in got.items() if k not in protocol.JUJU_KEYS} == expected


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"state": "ok"}, ValueError),
        ({"flavour": "app"}, ValueError),
        ({"units": 0}, ValueError),
        ({"units": 2, "primary": 2}, ValueError),
        ({"standbys": -1}, ValueError),
        ({"granted": "myapp/0"}, TypeError),
    ],
)
def test_server_misuse(kwargs: Any, error: type) -> None:
    with pytest.raises(error):
        pgt.Server(**kwargs)


def test_client_misuse() -> None:
    with pytest.raises(ValueError, match="units >= 1"):
        pgt.Client(units=0)
    with pytest.raises(TypeError, match=r"Request\.build"):
        pgt.Client(request={"database": "x"})  # type: ignore[arg-type]


def test_imports_without_scenario() -> None:
    run_without_scenario(
        """
        from pgsql import testing as pgt
        bags = pgt.Server().databags(pgt.Client())
        assert "master" in bags.units["postgresql/0"]
        try:
            pgt.scenario_relation(pgt.Server())
        except RuntimeError as e:
            assert "ops[testing]" in str(e), e
        else:
            raise AssertionError("scenario_relation worked without Scenario")
        """
    )


# ---- the helpers with the real client -------------------------------------------------------

META = {
    "name": "myapp",
    "requires": {"db": {"interface": "pgsql"}},
    "peers": {"replicas": {"interface": "myapp-replicas"}},
}
EVENTS = (*protocol.EVENT_NAMES, "database_relation_joined", "database_relation_broken")


class DeclarativeCharm(ops.charm.CharmBase):
    """Requests ``mydb`` + citext declaratively; reports readiness as its status."""

    def __init__(self, framework: ops.framework.Framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database="mydb", extensions=["citext"])
        self.seen: List[str] = []
        for name in EVENTS:
            framework.observe(getattr(self.db.on, name), self._record)
        if hasattr(self.on, "collect_unit_status"):
            framework.observe(self.on.collect_unit_status, self._on_collect)

    def _record(self, event: ops.framework.EventBase) -> None:
        self.seen.append(event.handle.kind)

    def _on_collect(self, event: Any) -> None:
        r = self.db.readiness()
        if r is None:
            event.add_status(ops.model.BlockedStatus("no db"))
        elif r.ready and r.master is not None:
            event.add_status(ops.model.ActiveStatus(f"master {r.master.host}"))
        else:
            event.add_status(ops.model.WaitingStatus(r.why))


class LegacyCharm(DeclarativeCharm):
    """Requests the 1.x way: the leader sets ``event.database`` in database_relation_joined."""

    def __init__(self, framework: ops.framework.Framework):
        ops.charm.CharmBase.__init__(self, framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.seen = []
        for name in EVENTS:
            framework.observe(getattr(self.db.on, name), self._record)
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        if hasattr(self.on, "collect_unit_status"):
            framework.observe(self.on.collect_unit_status, self._on_collect)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "mydb"
            event.extensions = ["citext"]


def kinds(ctx: Any) -> List[str]:
    names = [e.handle.kind for e in ctx.emitted_events if e.handle.kind in EVENTS]
    ctx.emitted_events.clear()
    return names


@needs_scenario
def test_scenario_ready_then_failover_then_new_primary() -> None:
    testing: Any = ops.testing
    ctx = testing.Context(DeclarativeCharm, meta=META)
    client = pgt.Client(units=2, request=REQUEST)
    server = pgt.Server(units=2)
    db = pgt.scenario_relation(server, client)
    out = ctx.run(
        ctx.on.relation_changed(db, remote_unit=0), testing.State(leader=True, relations={db})
    )
    assert out.unit_status == testing.ActiveStatus("master 198.51.100.10")
    assert "master_available" in kinds(ctx)
    assert pgt.requested(out) == REQUEST

    # a relation-changed from one server unit only: the other unit still publishes the master
    moved = pgt.scenario_move(out, server.evolve(state=pgt.FAILOVER), client)
    partial = ctx.run(ctx.on.relation_changed(pgt.relation_of(moved), remote_unit=0), moved)
    assert kinds(ctx) == []
    assert partial.unit_status == out.unit_status
    # every hook Juju would run: the master is gone
    out = pgt.scenario_apply(ctx, out, server.evolve(state=pgt.FAILOVER), client)
    assert "master_gone" in kinds(ctx)
    assert isinstance(out.unit_status, testing.WaitingStatus)

    out = pgt.scenario_apply(ctx, out, server.evolve(primary=1, units=3), client)
    assert "master_available" in kinds(ctx)
    assert out.unit_status == testing.ActiveStatus("master 198.51.100.11")
    assert len(pgt.relation_of(out).remote_units_data) == 3

    out = pgt.scenario_apply(ctx, out, server.evolve(primary=1, units=2), client)
    assert kinds(ctx) == ["standby_changed", "database_changed"]
    assert out.unit_status == testing.ActiveStatus("master 198.51.100.11")


@needs_scenario
@pytest.mark.parametrize("flavour", pgt.FLAVOURS)
def test_scenario_non_leader_and_not_granted(flavour: str) -> None:
    testing: Any = ops.testing
    ctx = testing.Context(DeclarativeCharm, meta=META, unit_id=1)
    client = pgt.Client(units=2, unit=1, request=REQUEST)
    db = pgt.scenario_relation(pgt.Server(state=pgt.NOT_GRANTED, flavour=flavour), client)
    out = ctx.run(ctx.on.relation_changed(db, remote_unit=0), testing.State(relations={db}))
    assert out.unit_status.name == "waiting"
    assert "allowed-subnets" in out.unit_status.message
    out = pgt.scenario_apply(ctx, out, pgt.Server(flavour=flavour), client)
    assert out.unit_status == testing.ActiveStatus("master 198.51.100.10")
    out = pgt.scenario_apply(ctx, out, pgt.Server(flavour=flavour, state=pgt.GONE), client)
    assert out.unit_status.name == "waiting"
    # a non-leader writes only its own bag
    rel = pgt.relation_of(out)
    assert dict(rel.local_app_data) == REQUEST.databag()  # as given: the leader's
    assert rel.local_unit_data["database"] == "mydb"


@needs_scenario
def test_scenario_unpublished_request_is_written_by_the_charm() -> None:
    testing: Any = ops.testing
    ctx = testing.Context(DeclarativeCharm, meta=META)
    client = pgt.Client(request=REQUEST)
    db = pgt.scenario_relation(pgt.Server(state=pgt.JOINED), client, published=False)
    assert pgt.requested(testing.State(relations={db})) == Request()
    out = ctx.run(ctx.on.relation_created(db), testing.State(leader=True, relations={db}))
    assert pgt.requested(out) == REQUEST
    assert pgt.relation_of(out).local_app_data == REQUEST.databag()


@needs_scenario
def test_scenario_peer_share_reaches_a_legacy_non_leader() -> None:
    """The peer entry the helper writes is the one PostgreSQLClient's non-leaders read."""
    testing: Any = ops.testing
    client = pgt.Client(units=2, unit=1, request=REQUEST)
    db = pgt.scenario_relation(pgt.Server(request=Request("otherdb")), client)
    without = pgt.scenario_peer_relation("replicas", client)
    shared = pgt.scenario_peer_relation("replicas", client, shared={"db": db})
    ctx = testing.Context(LegacyCharm, meta=META, unit_id=1)
    out = ctx.run(
        ctx.on.relation_changed(db, remote_unit=0), testing.State(relations={db, without})
    )
    # not knowing the request, the unit trusts the server's echo
    assert out.unit_status.name == "active"
    out = ctx.run(ctx.on.relation_changed(db, remote_unit=0), testing.State(relations={db, shared}))
    # knowing it asked for mydb, it sees the server provides otherdb
    assert out.unit_status.name == "waiting"
    assert "otherdb" in out.unit_status.message


@needs_scenario
def test_scenario_relation_keeps_given_id() -> None:
    db = pgt.scenario_relation(pgt.Server(), relation_id=42)
    assert db.id == 42
    assert db.remote_app_name == "postgresql"
    assert db.local_unit_data["egress-subnets"] == "192.0.2.10/32"


# ---- Harness --------------------------------------------------------------------------------


@pytest.fixture
def harness() -> Any:
    h = ops.testing.Harness(DeclarativeCharm, meta=_meta_yaml())
    h.set_leader(True)
    h.begin()
    yield h
    h.cleanup()


def _meta_yaml() -> str:
    return textwrap.dedent(
        """
        name: myapp
        requires:
          db: {interface: pgsql}
        peers:
          replicas: {interface: myapp-replicas}
        """
    )


def test_harness_lifecycle(harness: Any) -> None:
    charm: DeclarativeCharm = harness.charm
    client = pgt.Client(units=2)
    server = pgt.Server(units=2)
    rel_id = pgt.harness_relation(harness, server, client)
    assert pgt.harness_requested(harness, rel_id) == REQUEST
    assert charm.db.is_ready()
    master = charm.db.master()
    assert master is not None
    assert master.host == "198.51.100.10"
    assert master.dbname == "mydb"
    assert charm.seen.count("master_available") == 1

    charm.seen.clear()
    pgt.harness_move(harness, rel_id, server.evolve(state=pgt.FAILOVER), client)
    assert not charm.db.is_ready()
    assert "master_gone" in charm.seen
    assert len(charm.db.standbys()) == 1

    charm.seen.clear()
    pgt.harness_move(harness, rel_id, server.evolve(units=3, primary=2), client)
    master = charm.db.master()
    assert master is not None
    assert master.host == "198.51.100.12"
    assert len(charm.db.standbys()) == 2
    assert "master_available" in charm.seen

    pgt.harness_move(harness, rel_id, pgt.Server(units=1, state=pgt.GONE), client)
    assert not charm.db.is_ready()
    assert charm.db.standbys() == []
    relation = harness.model.get_relation("db", rel_id)
    assert [u.name for u in relation.units] == ["postgresql/0"]


def test_harness_app_bags_and_grant(harness: Any) -> None:
    charm: DeclarativeCharm = harness.charm
    client = pgt.Client(units=2)
    rel_id = pgt.harness_relation(
        harness, pgt.Server(flavour=pgt.APP_BAGS, units=2, granted=("myapp/1",)), client
    )
    assert not charm.db.is_ready()
    readiness_now = charm.db.readiness()
    assert readiness_now is not None
    assert protocol.EGRESS_NOT_ALLOWED in {r.code for r in readiness_now.reasons}
    pgt.harness_move(harness, rel_id, pgt.Server(flavour=pgt.APP_BAGS, units=2), client)
    assert charm.db.is_ready()
    assert harness.get_relation_data(rel_id, "postgresql")["allowed-units"] == "myapp/0 myapp/1"


@needs_scenario
def test_scenario_app_bag_withdrawal_reaches_client() -> None:
    # Regression: the client re-read its cached server app bag only on a relation-changed
    # naming no remote unit, which Scenario never fires, so an app-bag server that withdrew
    # its data stayed "ready".
    testing: Any = ops.testing
    ctx = testing.Context(DeclarativeCharm, meta=META)
    client = pgt.Client(request=REQUEST)
    db = pgt.scenario_relation(pgt.Server(flavour=pgt.APP_BAGS), client)
    out = ctx.run(
        ctx.on.relation_changed(db, remote_unit=0), testing.State(leader=True, relations={db})
    )
    assert out.unit_status.name == "active"
    out = pgt.scenario_apply(ctx, out, pgt.Server(flavour=pgt.APP_BAGS, state=pgt.GONE), client)
    assert pgt.relation_of(out).remote_app_data == {}
    assert out.unit_status.name == "waiting"


# ---- Model: the Juju-like engine ------------------------------------------------------------

SERVER_META = {
    "name": "postgresql",
    "provides": {"db": {"interface": "pgsql"}},
    "peers": {"cluster": {"interface": "postgresql-cluster"}},
}
SERVER_CONFIG = {"options": {"primary": {"type": "int", "default": 0}}}


class EchoServerCharm(ops.charm.CharmBase):
    """Publishes what pgt.Server describes for the request, from any of its units."""

    def __init__(self, framework: ops.framework.Framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLServer(self, "db")
        framework.observe(self.db.on.request_changed, self._on_request_changed)
        framework.observe(self.on.config_changed, self._on_config_changed)

    def _on_request_changed(self, event: pgsql.ClientRequestChangedEvent) -> None:
        self._publish(event.relation)

    def _on_config_changed(self, event: ops.framework.EventBase) -> None:
        for relation in self.db.relations:
            self._publish(relation)

    def _publish(self, relation: ops.model.Relation) -> None:
        assert relation.app is not None
        client = pgt.Client(app=relation.app.name, request=self.db.request(relation))
        server = pgt.Server(units=2, primary=int(self.config["primary"]))
        self.db.publish(
            relation,
            master=server.master(client),
            standbys=server.standby_list(client),
            version="16",
        )


def model_of(client_units: int = 2, **kw: Any) -> pgt.Model:
    model = pgt.Model(**kw)
    model.add_app("myapp", DeclarativeCharm, units=client_units, meta=META)
    model.add_app("postgresql", EchoServerCharm, meta=SERVER_META, config=SERVER_CONFIG)
    return model


def related_units(charm: Any) -> int:
    return sum(len(r.units) for r in charm.model.relations["db"])


@needs_scenario
def test_model_deploy_runs_the_start_hooks_units_taking_turns() -> None:
    runs: List[pgt.HookRun] = []
    model = model_of(on_hook=runs.append)
    assert model.hooks == 0  # adding applications runs nothing
    model.deploy()
    # one hook per unit per round, as units run in parallel under Juju
    assert [(r.unit, r.hook) for r in runs] == [
        ("myapp/0", "install"),
        ("myapp/1", "install"),
        ("postgresql/0", "install"),
        ("myapp/0", "replicas-relation-created"),
        ("myapp/1", "replicas-relation-created"),
        ("postgresql/0", "cluster-relation-created"),
        ("myapp/0", "leader-elected"),
        ("myapp/1", "config-changed"),
        ("postgresql/0", "leader-elected"),
        ("myapp/0", "config-changed"),
        ("myapp/1", "start"),
        ("postgresql/0", "config-changed"),
        ("myapp/0", "start"),
        ("postgresql/0", "start"),
    ]
    assert [r.n for r in runs] == list(range(1, 15))
    assert model.hooks == 14
    assert model.settle() == 0  # quiet
    unit = model.unit("myapp/0")
    assert unit.status is not None
    assert unit.status.name == "blocked"  # no db relation yet
    assert unit.take_events()[:2] == ["install", "replicas_relation_created"]
    assert unit.take_events() == []


@needs_scenario
def test_model_relate_carries_the_bags_until_every_unit_is_ready() -> None:
    runs: List[pgt.HookRun] = []
    model = model_of(on_hook=runs.append)
    model.app("myapp").inspect = related_units
    model.deploy()
    runs.clear()
    rel = model.relate("myapp:db", "postgresql:db", relation_id=12)
    assert rel.id == 12
    for name in ("myapp/0", "myapp/1"):
        unit = model.unit(name)
        assert unit.status == ops.model.ActiveStatus("master 198.51.100.10"), name
        assert unit.bag("db")["database"] == "mydb"
        assert unit.bag("db")["ingress-address"] == unit.address
    assert model.unit("myapp/1").address == "192.0.2.11"
    assert model.unit("postgresql/0").address == "198.51.100.10"
    assert model.app("myapp").bag("db") == REQUEST.databag()
    server_bag = model.app("postgresql").bag("db")
    assert server_bag["allowed-units"] == "myapp/0 myapp/1"
    assert server_bag["allowed-subnets"] == "192.0.2.10/32,192.0.2.11/32"
    bags = rel.databags()
    assert list(bags) == ["myapp", "myapp/0", "myapp/1", "postgresql", "postgresql/0"]
    assert bags["postgresql/0"]["master"] == server_bag["master"]

    client_runs = [r for r in runs if r.unit == "myapp/0"]
    # a unit sees a remote unit only from its relation-joined on
    assert [(r.hook, r.remote_unit, r.seen) for r in client_runs] == [
        ("db-relation-created", None, 0),
        ("db-relation-joined", "postgresql/0", 1),
        ("db-relation-changed", "postgresql/0", 1),
        ("db-relation-changed", "postgresql/0", 1),
    ]
    # the declarative request is published from relation-created; the leader's app bag too
    assert client_runs[0].wrote == {
        "db myapp/0": {"database": "mydb", "extensions": "citext"},
        "db myapp (app)": {"database": "mydb", "extensions": "citext"},
    }
    # the server wrote its unit and application bags in two hooks (one per client unit
    # joining): each time one relation-changed, naming it, is pending on the client units
    server_writes = [r for r in runs if r.unit == "postgresql/0" and r.wrote]
    assert [list(r.wrote) for r in server_writes] == [
        ["db postgresql/0", "db postgresql (app)"]
    ] * 2
    assert "master_available" in model.unit("myapp/1").take_events()
    assert model.settle() == 0


@needs_scenario
def test_model_config_remove_unit_and_relation() -> None:
    model = model_of(client_units=3)
    model.deploy()
    model.relate("myapp", "postgresql")  # the one endpoint that fits
    for unit in model.units():
        unit.take_events()
    before = model.hooks
    model.config("postgresql", primary=1)
    assert model.app("postgresql").options == {"primary": 1}
    assert model.unit("myapp/2").status == ops.model.ActiveStatus("master 198.51.100.11")
    assert model.hooks - before == 1 + 3  # config-changed, then one relation-changed per client
    assert model.unit("myapp/0").take_events().count("master_changed") == 1

    model.remove_unit("myapp/1")
    assert sorted(model.app("myapp").units) == [0, 2]
    assert model.app("postgresql").bag("db")["allowed-units"] == "myapp/0 myapp/2"
    assert "myapp/1" not in model.relation_of("myapp", "db").databags()
    # unit numbers are never reused
    assert model.add_unit("myapp").name == "myapp/3"
    assert model.app("postgresql").bag("db")["allowed-units"] == "myapp/0 myapp/2 myapp/3"
    assert model.unit("myapp/3").status == ops.model.ActiveStatus("master 198.51.100.11")

    model.set_leader("myapp/2")
    assert model.unit("myapp/2").is_leader
    for unit in model.units():
        unit.take_events()
    model.remove_relation(model.relation_of("myapp", "db"))
    assert [r.peer for r in model.relations] == [True, True]
    for n in (0, 2, 3):
        unit = model.unit(f"myapp/{n}")
        events = unit.take_events()
        # the hook's own event first, then what the library emitted in it
        assert events[events.index("db_relation_broken") :][-1] == "database_relation_broken", n
        assert "master_gone" in events
        assert unit.status is not None
        assert unit.status.name == "blocked"
    server_events = model.unit("postgresql/0").take_events()
    assert server_events.count("db_relation_departed") == 3
    assert server_events[-1] == "relation_broken"


@needs_scenario
def test_model_queue_run_and_inspect() -> None:
    model = model_of(client_units=1)
    model.relate("myapp:db", "postgresql:db")  # no deploy: straight to the relation
    run = model.run("myapp/0", "update_status", inspect=lambda charm: charm.db.readiness())
    assert run.hook == "update-status"
    assert run.remote_unit is None
    assert run.seen is not None
    assert run.seen.ready
    assert model.unit("myapp/0").seen is run.seen
    assert run.wrote == {}
    assert "pgsql-testing-password" not in " ".join(run.logs)
    model.queue(
        "myapp/0",
        "relation_changed",
        relation=model.relation_of("myapp", "db"),
        remote="postgresql/0",
    )
    model.queue("postgresql/0", "upgrade_charm")
    assert model.settle() == 2
    with pytest.raises(pgt.ModelError, match="not a remote unit"):
        model.queue("myapp/0", "relation_changed", relation=3, remote="myapp/1")
    with pytest.raises(pgt.ModelError, match="not a relation event"):
        model.queue("myapp/0", "update_status", relation=3)
    with pytest.raises(pgt.ModelError, match="cannot run"):
        model.run("myapp/0", "relation_departed", relation=3, remote="postgresql/5")
    with pytest.raises(pgt.ModelError, match="no unit"):
        model.unit("myapp/7")
    with pytest.raises(pgt.ModelError, match="already"):
        model.add_app("myapp", DeclarativeCharm, meta=META)


class ChattyCharm(ops.charm.CharmBase):
    """Writes a new value on every relation-changed: a relation-changed storm with itself."""

    def __init__(self, framework: ops.framework.Framework):
        super().__init__(framework)
        framework.observe(self.on["db"].relation_changed, self._on_changed)

    def _on_changed(self, event: ops.charm.RelationChangedEvent) -> None:
        bag = event.relation.data[self.unit]
        bag["n"] = str(int(bag.get("n", "0")) + 1)


@needs_scenario
def test_model_storm_fails_instead_of_hanging() -> None:
    model = pgt.Model()
    model.add_app("a", ChattyCharm, meta={"name": "a", "requires": {"db": {"interface": "x"}}})
    model.add_app("b", ChattyCharm, meta={"name": "b", "provides": {"db": {"interface": "x"}}})
    model.relate("a:db", "b:db", settle=False)
    with pytest.raises(pgt.HookStormError, match="more than 50 hooks"):
        model.settle(max_hooks=50)
    capped = pgt.Model(max_hooks=10)
    capped.add_app("a", ChattyCharm, meta={"name": "a", "requires": {"db": {"interface": "x"}}})
    capped.add_app("b", ChattyCharm, meta={"name": "b", "provides": {"db": {"interface": "x"}}})
    with pytest.raises(pgt.HookStormError, match="more than 10 hooks"):
        capped.relate("a:db", "b:db")
    assert capped.hooks == 10


def test_model_imports_and_says_what_it_needs_without_scenario() -> None:
    run_without_scenario(
        """
        from pgsql import testing as pgt
        model = pgt.Model()
        try:
            model.add_app("myapp", object, meta={"name": "myapp"})
        except RuntimeError as e:
            assert "ops[testing]" in str(e), e
        else:
            raise AssertionError("add_app made units without Scenario")
        """
    )


def _doc_example(heading: str) -> str:
    text = (Path(__file__).resolve().parents[1] / "docs" / "testing.md").read_text()
    section = text.split(f"\n{heading}\n", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@needs_scenario
def test_docs_model_example_runs() -> None:
    """docs/testing.md's Model example, with this file's client and server charms."""

    class DocModel(pgt.Model):
        def add_app(self, name: str, charm_type: Any, **kw: Any) -> pgt.App:
            # the docs' charms read their metadata from charmcraft.yaml; these have none
            meta = {DeclarativeCharm: META, EchoServerCharm: SERVER_META}[charm_type]
            if charm_type is EchoServerCharm:
                kw.setdefault("config", SERVER_CONFIG)
            return super().add_app(name, charm_type, meta={**meta, "name": name}, **kw)

    namespace: Dict[str, Any] = {
        "pgt": SimpleNamespace(**{**vars(pgt), "Model": DocModel}),
        "MyCharm": DeclarativeCharm,
        "MyServerCharm": EchoServerCharm,
    }
    exec(_doc_example("## A whole model: `pgt.Model` (ops.testing)"), namespace)
    namespace["test_every_unit_gets_the_database"]()
