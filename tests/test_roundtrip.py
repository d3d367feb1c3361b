"""Client and server charms against each other, through ops.testing, with Juju in the middle.

:class:`pgsql.testing.Model` plays Juju: it keeps every databag of one ``db`` relation between a
client application (``PostgreSQLClient``, declarative, database from config) and a server
application (a minimal ``PostgreSQLServer`` charm), runs each hook on the unit it belongs to with
a ``testing.Context``, carries StoredState and deferred events between a unit's hooks, and turns
every changed bag into the relation-changed hooks Juju would run on the other side, until
nothing changes any more.
"""

from __future__ import annotations

from typing import Any, Dict, List

import ops
import pytest
from needs import requires_scenario

import pgsql
from pgsql import ConnectionString, protocol
from pgsql import testing as pgt

requires_scenario()

REL_ID = 7
CLIENT_EVENTS = (*protocol.EVENT_NAMES, "database_relation_joined", "database_relation_broken")
SERVER_EVENTS = ("request_changed", "relation_broken")
MAX_HOOKS = 400

CLIENT_META = {
    "name": "myapp",
    "requires": {"db": {"interface": "pgsql"}},
    "peers": {"replicas": {"interface": "myapp-replicas"}},
}
CLIENT_CONFIG = {"options": {"database": {"type": "string", "default": "mydb"}}}
SERVER_META = {"name": "postgresql", "provides": {"db": {"interface": "pgsql"}}}
SERVER_CONFIG = {
    "options": {
        "primary": {"type": "int", "default": 0},
        "replicas": {"type": "int", "default": 1},
    }
}


class ClientCharm(ops.CharmBase):
    """Asks for the configured database; reports what it can use as its status."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database=str(self.config["database"]))
        for name in CLIENT_EVENTS:
            framework.observe(getattr(self.db.on, name), self._noop)
        framework.observe(self.on.collect_unit_status, self._on_collect)

    def _noop(self, event: ops.EventBase) -> None:
        pass

    def _on_collect(self, event: ops.CollectStatusEvent) -> None:
        r = self.db.readiness()
        if r is None:
            event.add_status(ops.BlockedStatus("no db relation"))
        elif r.ready and r.master is not None:
            hosts = ",".join(str(s.host) for s in r.standbys)
            event.add_status(ops.ActiveStatus(f"{r.master.host}/{r.master.dbname} [{hosts}]"))
        else:
            event.add_status(ops.WaitingStatus(r.why))


class LegacyClientCharm(ClientCharm):
    """Requests the 1.x way: the leader sets ``event.database`` in database_relation_joined."""

    def __init__(self, framework: ops.Framework):
        ops.CharmBase.__init__(self, framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        for name in CLIENT_EVENTS:
            framework.observe(getattr(self.db.on, name), self._noop)
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        framework.observe(self.on.collect_unit_status, self._on_collect)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = str(self.config["database"])


class ServerCharm(ops.CharmBase):
    """Publishes the event's request with a fake master; topology comes from config."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLServer(self, "db")
        framework.observe(self.db.on.request_changed, self._on_request_changed)
        framework.observe(self.db.on.relation_broken, self._on_broken)
        framework.observe(self.on.config_changed, self._publish_all)
        framework.observe(self.on.leader_elected, self._publish_all)

    def _on_request_changed(self, event: pgsql.ClientRequestChangedEvent) -> None:
        self._publish(event.relation)

    def _on_broken(self, event: pgsql.ClientRelationBrokenEvent) -> None:
        pass  # a real server drops the client's user here

    def _publish_all(self, event: ops.EventBase) -> None:
        for relation in self.db.relations:
            self._publish(relation)

    def _publish(self, relation: ops.Relation) -> None:
        request = self.db.request(relation)
        database = request.database or relation.app.name
        primary = int(self.config["primary"])
        master = ConnectionString(
            host=f"10.1.0.{primary}",
            port="5432",
            dbname=database,
            user=f"juju_{relation.app.name}",
            password="fake-password",
        )
        standbys = [master.replace(host=f"10.1.1.{n}") for n in range(int(self.config["replicas"]))]
        number = int(self.unit.name.rpartition("/")[2])
        self.db.publish(
            relation,
            master=master if primary >= 0 else None,
            standbys=standbys,
            version="16",
            database=database,
            state="master" if number == primary else "hot standby",
        )


CLIENT_NAMES = {"myapp": CLIENT_EVENTS, "postgresql": SERVER_EVENTS}


def build(client_units: int = 2, server_units: int = 2, client_charm: Any = None) -> pgt.Model:
    """Both applications, not yet related; their units run no hook until then."""
    model = pgt.Model(max_hooks=MAX_HOOKS - 1)  # the MAX_HOOKS-th hook fails
    model.add_app(
        "myapp",
        client_charm or ClientCharm,
        units=client_units,
        meta=CLIENT_META,
        config=CLIENT_CONFIG,
        options={"database": "mydb"},
        address=pgt.Client.address,
    )
    model.add_app(
        "postgresql",
        ServerCharm,
        units=server_units,
        meta=SERVER_META,
        config=SERVER_CONFIG,
        address=pgt.Server.address,
    )
    return model


def relate(model: pgt.Model) -> None:
    """juju integrate: created everywhere, then joined+changed for every pair, until quiet."""
    model.relate("myapp:db", "postgresql:db", relation_id=REL_ID)


def take_events(model: pgt.Model, app: str) -> Dict[int, List[str]]:
    """The library events each unit of ``app`` emitted since the last call."""
    names = CLIENT_NAMES[app]
    return {n: [e for e in u.take_events() if e in names] for n, u in model.app(app).units.items()}


def readiness(model: pgt.Model, n: int) -> Any:
    """What protocol.evaluate says client unit ``n`` can use, from the bags themselves."""
    c, s = model.app("myapp"), model.app("postgresql")
    bags = model.relation(REL_ID).databags()
    return protocol.evaluate(
        protocol.Request.build(database=str(c.options["database"])),
        f"myapp/{n}",
        bags[f"myapp/{n}"],
        s.name,
        bags[s.name],
        {name: bag for name, bag in bags.items() if name.startswith("postgresql/")},
    )


READY = "10.1.0.0/mydb [10.1.1.0]"


def status(unit: pgt.Unit) -> Any:
    assert unit.status is not None, unit
    return unit.status


def client_status(model: pgt.Model) -> Dict[int, str]:
    return {n: status(u).message for n, u in model.app("myapp").units.items()}


def check_against_bags(juju: pgt.Model) -> None:
    """What each client unit reports is what protocol.evaluate makes of the real bags."""
    if not juju.relations or all(r.peer for r in juju.relations):
        return
    for n, unit in juju.app("myapp").units.items():
        r = readiness(juju, n)
        assert (status(unit).name == "active") == r.ready, (n, unit.status, r.why)
        if r.ready:
            assert r.master is not None
            assert status(unit).message.startswith(f"{r.master.host}/{r.master.dbname} ")


@pytest.fixture
def juju() -> Any:
    j = build(client_units=2, server_units=2)
    relate(j)
    yield j
    check_against_bags(j)


def test_relate_makes_every_client_unit_ready(juju: pgt.Model) -> None:
    assert client_status(juju) == {0: READY, 1: READY}
    events = take_events(juju, "myapp")
    for n in (0, 1):
        assert events[n].count("database_relation_joined") == 1
        assert events[n].count("master_available") == 1
        assert events[n].count("standby_available") == 1
        assert "master_gone" not in events[n]
        assert readiness(juju, n).ready
    server_events = take_events(juju, "postgresql")
    assert all("request_changed" in e for e in server_events.values())
    server = juju.app("postgresql")
    assert server.bag("db")["allowed-units"] == "myapp/0 myapp/1"
    assert server.bag("db")["allowed-subnets"] == "192.0.2.10/32,192.0.2.11/32"
    assert juju.unit("postgresql/0").bag("db")["state"] == "master"
    assert "state" not in server.bag("db")
    assert juju.app("myapp").bag("db") == {"database": "mydb"}


def test_quiet_when_nothing_changes(juju: pgt.Model) -> None:
    take_events(juju, "myapp")
    take_events(juju, "postgresql")
    before = juju.hooks
    juju.config("postgresql", primary=0)  # same topology: config-changed runs, nothing rewritten
    assert juju.hooks - before == 2
    assert take_events(juju, "myapp") == {0: [], 1: []}


def test_request_changed_from_config(juju: pgt.Model) -> None:
    take_events(juju, "myapp")
    juju.config("myapp", database="otherdb")
    assert client_status(juju) == {
        0: "10.1.0.0/otherdb [10.1.1.0]",
        1: "10.1.0.0/otherdb [10.1.1.0]",
    }
    assert juju.unit("postgresql/1").bag("db")["database"] == "otherdb"
    events = take_events(juju, "myapp")
    for n in (0, 1):
        # the old echo no longer matches the request: not ready until the server has acted
        gone, back = events[n].index("master_gone"), events[n].index("master_available")
        assert gone < back
        assert events[n][-1] == "database_changed"


def test_failover(juju: pgt.Model) -> None:
    take_events(juju, "myapp")
    juju.config("postgresql", primary=-1)
    for n in (0, 1):
        r = readiness(juju, n)
        assert not r.ready
        assert len(r.standbys) == 1
    events = take_events(juju, "myapp")
    for n in (0, 1):
        assert "master_gone" in events[n]
        assert "standby_gone" not in events[n]
        assert status(juju.unit(f"myapp/{n}")).name == "waiting"
    juju.config("postgresql", primary=1)
    assert client_status(juju) == {0: "10.1.0.1/mydb [10.1.1.0]", 1: "10.1.0.1/mydb [10.1.1.0]"}
    events = take_events(juju, "myapp")
    for n in (0, 1):
        assert "master_available" in events[n]


def test_standby_added_and_removed(juju: pgt.Model) -> None:
    take_events(juju, "myapp")
    juju.config("postgresql", replicas=2)
    assert client_status(juju)[0] == "10.1.0.0/mydb [10.1.1.0,10.1.1.1]"
    events = take_events(juju, "myapp")
    assert "standby_changed" in events[0]
    assert "master_changed" not in events[0]
    juju.config("postgresql", replicas=0)
    assert client_status(juju)[1] == "10.1.0.0/mydb []"
    events = take_events(juju, "myapp")
    assert "standby_gone" in events[1]
    assert "master_gone" not in events[1]


def test_server_unit_added(juju: pgt.Model) -> None:
    take_events(juju, "myapp")
    unit = juju.add_unit("postgresql")
    assert unit.bag("db")["master"].startswith("dbname=mydb")
    assert client_status(juju) == {0: READY, 1: READY}
    assert take_events(juju, "myapp") == {0: [], 1: []}


def test_client_scale_up_and_down(juju: pgt.Model) -> None:
    n = juju.add_unit("myapp").number
    assert client_status(juju)[n] == READY
    server = juju.app("postgresql")
    assert server.bag("db")["allowed-units"] == "myapp/0 myapp/1 myapp/2"
    take_events(juju, "myapp")
    juju.remove_unit("myapp/1")
    assert server.bag("db")["allowed-units"] == "myapp/0 myapp/2"
    assert juju.unit("postgresql/1").bag("db")["allowed-subnets"] == "192.0.2.10/32,192.0.2.12/32"
    assert client_status(juju) == {0: READY, 2: READY}
    assert take_events(juju, "myapp") == {0: [], 2: []}


def test_client_leader_change(juju: pgt.Model) -> None:
    take_events(juju, "myapp")
    juju.remove_unit("myapp/0")
    juju.set_leader("myapp/1")
    juju.config("myapp", database="newdb")
    assert juju.app("myapp").bag("db") == {"database": "newdb"}
    assert client_status(juju) == {1: "10.1.0.0/newdb [10.1.1.0]"}


def test_server_leader_change(juju: pgt.Model) -> None:
    take_events(juju, "myapp")
    juju.remove_unit("postgresql/0")
    juju.set_leader("postgresql/1")
    juju.config("myapp", database="newdb")
    assert juju.app("postgresql").bag("db")["database"] == "newdb"
    assert juju.unit("postgresql/1").bag("db")["database"] == "newdb"
    assert client_status(juju) == {
        0: "10.1.0.0/newdb [10.1.1.0]",
        1: "10.1.0.0/newdb [10.1.1.0]",
    }


def test_relation_broken(juju: pgt.Model) -> None:
    take_events(juju, "myapp")
    take_events(juju, "postgresql")
    juju.remove_relation(REL_ID)
    events = take_events(juju, "myapp")
    for n in (0, 1):
        assert events[n][-1] == "database_relation_broken"
        assert "master_gone" in events[n]
        assert status(juju.unit(f"myapp/{n}")).name == "blocked"
    for n, events in take_events(juju, "postgresql").items():
        # client units leave one by one (access is withdrawn as they go), then broken
        assert events == ["request_changed", "request_changed", "relation_broken"], n


def test_legacy_client_non_leader_learns_request_through_peers() -> None:
    juju = build(client_units=2, server_units=1, client_charm=LegacyClientCharm)
    relate(juju)
    check_against_bags(juju)
    assert client_status(juju) == {0: "10.1.0.0/mydb [10.1.1.0]", 1: "10.1.0.0/mydb [10.1.1.0]"}
    assert juju.app("myapp").bag("db") == {"database": "mydb"}
    assert juju.unit("myapp/1").bag("db")["database"] == "mydb"  # mirrored by non-leader
    assert "pgsql-db" in juju.app("myapp").bag("replicas")
    juju.remove_unit("myapp/0")
    juju.set_leader("myapp/1")
    juju.config("postgresql", primary=2)
    assert client_status(juju) == {1: "10.1.0.2/mydb [10.1.1.0]"}
    check_against_bags(juju)
