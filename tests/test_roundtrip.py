"""Client and server charms against each other, through ops.testing, with Juju in the middle.

A small driver plays Juju: it keeps every databag of one ``db`` relation between a client
application (``PostgreSQLClient``, declarative, database from config) and a server application
(a minimal ``PostgreSQLServer`` charm), runs each hook on the unit it belongs to with a
``testing.Context``, carries StoredState and deferred events between a unit's hooks, and turns
every changed bag into the relation-changed hooks Juju would run on the other side, until
nothing changes any more.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Tuple

import ops
import ops.testing
import pytest

if getattr(ops.testing, "Context", None) is None:
    pytest.skip("ops.testing.Context needs ops >= 2.17", allow_module_level=True)

import pgsql
from pgsql import ConnectionString, protocol
from pgsql import testing as pgt

testing: Any = ops.testing

REL_ID = 7
PEER_ID = 8
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


def _bag() -> Dict[str, str]:
    return {}


def _names() -> List[str]:
    return []


def _units() -> Dict[int, Unit]:
    return {}


@dataclasses.dataclass
class Unit:
    """One unit as Juju knows it."""

    side: str
    number: int
    ctx: Any
    rel_bag: Dict[str, str]
    peer_bag: Dict[str, str] = dataclasses.field(default_factory=_bag)
    stored: Any = ()
    deferred: Any = ()
    status: Any = None
    events: List[str] = dataclasses.field(default_factory=_names)


@dataclasses.dataclass
class Side:
    """One application."""

    name: str
    charm: Any
    meta: Dict[str, Any]
    config_meta: Dict[str, Any]
    config: Dict[str, Any]
    leader: int = 0
    app_bag: Dict[str, str] = dataclasses.field(default_factory=_bag)
    peer_app_bag: Dict[str, str] = dataclasses.field(default_factory=_bag)
    units: Dict[int, Unit] = dataclasses.field(default_factory=_units)


Hook = Tuple[str, int, str, Optional[int]]  # side, unit, event, remote unit


class Juju:
    """Carries databags between the client's and the server's units like Juju does."""

    def __init__(self, client_units: int = 2, server_units: int = 2, client_charm: Any = None):
        charm = client_charm or ClientCharm
        self.sides = {
            "client": Side("myapp", charm, CLIENT_META, CLIENT_CONFIG, {"database": "mydb"}),
            "server": Side("postgresql", ServerCharm, SERVER_META, SERVER_CONFIG, {}),
        }
        self.related = False
        self.queue: Deque[Hook] = deque()
        self.hooks = 0
        for _ in range(client_units):
            self._new_unit("client")
        for _ in range(server_units):
            self._new_unit("server")

    # ---- topology -----------------------------------------------------------------------

    def _address(self, side: str, number: int) -> str:
        return pgt.Client.address(number) if side == "client" else pgt.Server.address(number)

    def _new_unit(self, side: str) -> Unit:
        s = self.sides[side]
        number = max(s.units, default=-1) + 1
        ctx = testing.Context(
            s.charm, meta=s.meta, config=s.config_meta, app_name=s.name, unit_id=number
        )
        unit = Unit(side, number, ctx, pgt.juju_keys(self._address(side, number)))
        s.units[number] = unit
        return unit

    @staticmethod
    def other(side: str) -> str:
        return "server" if side == "client" else "client"

    def relate(self) -> None:
        """juju integrate: created everywhere, then joined+changed for every pair."""
        self.related = True
        for side, s in self.sides.items():
            for n in list(s.units):
                self.queue.append((side, n, "relation_created", None))
        for side, s in self.sides.items():
            for n in list(s.units):
                for m in self.sides[self.other(side)].units:
                    self.queue.append((side, n, "relation_joined", m))
                    self.queue.append((side, n, "relation_changed", m))
        self.settle()

    def add_unit(self, side: str) -> int:
        """juju add-unit: the new unit joins the relation (and the client's peers)."""
        unit = self._new_unit(side)
        n = unit.number
        if self.related:
            self.queue.append((side, n, "relation_created", None))
            for m in self.sides[self.other(side)].units:
                self.queue.append((side, n, "relation_joined", m))
                self.queue.append((side, n, "relation_changed", m))
                self.queue.append((self.other(side), m, "relation_joined", n))
                self.queue.append((self.other(side), m, "relation_changed", n))
        self.settle()
        return n

    def remove_unit(self, side: str, number: int) -> None:
        """juju remove-unit: broken on the unit itself, departed on the other side."""
        if self.related:
            self._run(side, number, "relation_broken", None)
        del self.sides[side].units[number]
        if self.related:
            for m in list(self.sides[self.other(side)].units):
                self._run(self.other(side), m, "relation_departed", number)
        self.settle()

    def set_leader(self, side: str, number: int) -> None:
        self.sides[side].leader = number
        self.queue.append((side, number, "leader_elected", None))
        self.settle()

    def config(self, side: str, **changes: Any) -> None:
        self.sides[side].config.update(changes)
        for n in list(self.sides[side].units):
            self.queue.append((side, n, "config_changed", None))
        self.settle()

    def unrelate(self) -> None:
        """juju remove-relation: departed for every remote unit, then broken, everywhere."""
        for side, s in self.sides.items():
            for n in list(s.units):
                remaining = sorted(self.sides[self.other(side)].units)
                while remaining:
                    m = remaining.pop(0)
                    self._run(side, n, "relation_departed", m, still=remaining)
                self._run(side, n, "relation_broken", None)
        self.related = False
        self.queue.clear()  # changes made while leaving reach nobody
        for s in self.sides.values():
            s.app_bag.clear()
            for u in s.units.values():
                u.rel_bag = pgt.juju_keys(self._address(u.side, u.number))

    # ---- running hooks --------------------------------------------------------------------

    def settle(self) -> None:
        while self.queue:
            side, n, event, remote = self.queue.popleft()
            if n in self.sides[side].units:
                self._run(side, n, event, remote)

    def _state(self, side: str, n: int, remote_units: Dict[int, Dict[str, str]]) -> Any:
        s, o = self.sides[side], self.sides[self.other(side)]
        unit = s.units[n]
        relations: List[Any] = []
        if self.related:
            relations.append(
                testing.Relation(
                    "db",
                    interface="pgsql",
                    id=REL_ID,
                    remote_app_name=o.name,
                    local_app_data=dict(s.app_bag),
                    local_unit_data=dict(unit.rel_bag),
                    remote_app_data=dict(o.app_bag),
                    remote_units_data={k: dict(v) for k, v in remote_units.items()},
                )
            )
        if "peers" in s.meta:
            relations.append(
                testing.PeerRelation(
                    "replicas",
                    id=PEER_ID,
                    local_app_data=dict(s.peer_app_bag),
                    local_unit_data=dict(unit.peer_bag),
                    peers_data={m: dict(u.peer_bag) for m, u in s.units.items() if m != n},
                )
            )
        return testing.State(
            leader=s.leader == n,
            config=dict(s.config),
            relations=relations,
            stored_states=unit.stored,
            deferred=unit.deferred,
        )

    def _run(
        self,
        side: str,
        n: int,
        event: str,
        remote: Optional[int],
        *,
        still: Optional[List[int]] = None,
    ) -> None:
        self.hooks += 1
        assert self.hooks < MAX_HOOKS, "the units keep changing their bags (a relation storm)"
        s, o = self.sides[side], self.sides[self.other(side)]
        unit = s.units[n]
        remote_units = {m: u.rel_bag for m, u in o.units.items()}
        if event == "relation_broken":
            remote_units = {}
        elif still is not None:  # the relation is going: units leave one by one
            remote_units = {m: remote_units[m] for m in still}
        state = self._state(side, n, remote_units)
        ctx = unit.ctx
        if event == "peer_changed":
            peer = state.get_relation(PEER_ID)
            out = ctx.run(ctx.on.relation_changed(peer, remote_unit=remote), state)
        elif event.startswith("relation_"):
            rel = state.get_relation(REL_ID)
            kwargs: Dict[str, Any] = {}
            if event in ("relation_joined", "relation_changed", "relation_departed"):
                kwargs["remote_unit"] = remote
            if event == "relation_departed":
                kwargs["departing_unit"] = remote
            out = ctx.run(getattr(ctx.on, event)(rel, **kwargs), state)
        else:
            out = ctx.run(getattr(ctx.on, event)(), state)
        names = SERVER_EVENTS if side == "server" else CLIENT_EVENTS
        unit.events += [e.handle.kind for e in ctx.emitted_events if e.handle.kind in names]
        ctx.emitted_events.clear()
        unit.stored = out.stored_states
        unit.deferred = out.deferred
        unit.status = out.unit_status
        self._absorb(side, n, out, event)

    def _absorb(self, side: str, n: int, out: Any, event: str) -> None:
        s = self.sides[side]
        unit = s.units[n]
        if self.related and event != "relation_broken":
            rel = out.get_relation(REL_ID)
            app_bag, unit_bag = dict(rel.local_app_data), dict(rel.local_unit_data)
            if unit_bag != unit.rel_bag:
                unit.rel_bag = unit_bag
                for m in self.sides[self.other(side)].units:
                    self.queue.append((self.other(side), m, "relation_changed", n))
            if app_bag != s.app_bag:
                assert s.leader == n, f"{side}/{n} wrote the app bag without being leader"
                s.app_bag = app_bag
                # Juju names no unit for an app-bag change; Scenario always names one
                for m in self.sides[self.other(side)].units:
                    self.queue.append((self.other(side), m, "relation_changed", n))
        if "peers" in s.meta:
            peer = out.get_relation(PEER_ID)
            if (
                dict(peer.local_app_data) != s.peer_app_bag
                or dict(peer.local_unit_data) != unit.peer_bag
            ):
                s.peer_app_bag = dict(peer.local_app_data)
                unit.peer_bag = dict(peer.local_unit_data)
                for m in s.units:
                    if m != n:
                        self.queue.append((side, m, "peer_changed", n))

    # ---- reading ----------------------------------------------------------------------------

    def client_status(self) -> Dict[int, str]:
        return {n: u.status.message for n, u in self.sides["client"].units.items()}

    def take_events(self, side: str) -> Dict[int, List[str]]:
        out: Dict[int, List[str]] = {}
        for n, u in self.sides[side].units.items():
            out[n], u.events = u.events, []
        return out

    def readiness(self, n: int) -> Any:
        """What protocol.evaluate says client unit ``n`` can use, from the bags themselves."""
        c, s = self.sides["client"], self.sides["server"]
        return protocol.evaluate(
            protocol.Request.build(database=str(c.config["database"])),
            f"myapp/{n}",
            c.units[n].rel_bag,
            s.name,
            s.app_bag,
            {f"postgresql/{m}": u.rel_bag for m, u in s.units.items()},
        )


READY = "10.1.0.0/mydb [10.1.1.0]"


def check_against_bags(juju: Juju) -> None:
    """What each client unit reports is what protocol.evaluate makes of the real bags."""
    if not juju.related:
        return
    for n, unit in juju.sides["client"].units.items():
        r = juju.readiness(n)
        assert (unit.status.name == "active") == r.ready, (n, unit.status, r.why)
        if r.ready:
            assert r.master is not None
            assert unit.status.message.startswith(f"{r.master.host}/{r.master.dbname} ")


@pytest.fixture
def juju() -> Any:
    j = Juju(client_units=2, server_units=2)
    j.relate()
    yield j
    check_against_bags(j)


def test_relate_makes_every_client_unit_ready(juju: Juju) -> None:
    assert juju.client_status() == {0: READY, 1: READY}
    events = juju.take_events("client")
    for n in (0, 1):
        assert events[n].count("database_relation_joined") == 1
        assert events[n].count("master_available") == 1
        assert events[n].count("standby_available") == 1
        assert "master_gone" not in events[n]
        assert juju.readiness(n).ready
    server_events = juju.take_events("server")
    assert all("request_changed" in e for e in server_events.values())
    server = juju.sides["server"]
    assert server.app_bag["allowed-units"] == "myapp/0 myapp/1"
    assert server.app_bag["allowed-subnets"] == "192.0.2.10/32,192.0.2.11/32"
    assert server.units[0].rel_bag["state"] == "master"
    assert "state" not in server.app_bag
    assert juju.sides["client"].app_bag == {"database": "mydb"}


def test_quiet_when_nothing_changes(juju: Juju) -> None:
    juju.take_events("client")
    juju.take_events("server")
    before = juju.hooks
    juju.config("server", primary=0)  # same topology: config-changed runs, nothing is rewritten
    assert juju.hooks - before == 2
    assert juju.take_events("client") == {0: [], 1: []}


def test_request_changed_from_config(juju: Juju) -> None:
    juju.take_events("client")
    juju.config("client", database="otherdb")
    assert juju.client_status() == {
        0: "10.1.0.0/otherdb [10.1.1.0]",
        1: "10.1.0.0/otherdb [10.1.1.0]",
    }
    assert juju.sides["server"].units[1].rel_bag["database"] == "otherdb"
    events = juju.take_events("client")
    for n in (0, 1):
        # the old echo no longer matches the request: not ready until the server has acted
        gone, back = events[n].index("master_gone"), events[n].index("master_available")
        assert gone < back
        assert events[n][-1] == "database_changed"


def test_failover(juju: Juju) -> None:
    juju.take_events("client")
    juju.config("server", primary=-1)
    for n in (0, 1):
        r = juju.readiness(n)
        assert not r.ready
        assert len(r.standbys) == 1
    events = juju.take_events("client")
    for n in (0, 1):
        assert "master_gone" in events[n]
        assert "standby_gone" not in events[n]
        assert juju.sides["client"].units[n].status.name == "waiting"
    juju.config("server", primary=1)
    assert juju.client_status() == {0: "10.1.0.1/mydb [10.1.1.0]", 1: "10.1.0.1/mydb [10.1.1.0]"}
    events = juju.take_events("client")
    for n in (0, 1):
        assert "master_available" in events[n]


def test_standby_added_and_removed(juju: Juju) -> None:
    juju.take_events("client")
    juju.config("server", replicas=2)
    assert juju.client_status()[0] == "10.1.0.0/mydb [10.1.1.0,10.1.1.1]"
    events = juju.take_events("client")
    assert "standby_changed" in events[0]
    assert "master_changed" not in events[0]
    juju.config("server", replicas=0)
    assert juju.client_status()[1] == "10.1.0.0/mydb []"
    events = juju.take_events("client")
    assert "standby_gone" in events[1]
    assert "master_gone" not in events[1]


def test_server_unit_added(juju: Juju) -> None:
    juju.take_events("client")
    n = juju.add_unit("server")
    assert juju.sides["server"].units[n].rel_bag["master"].startswith("dbname=mydb")
    assert juju.client_status() == {0: READY, 1: READY}
    assert juju.take_events("client") == {0: [], 1: []}


def test_client_scale_up_and_down(juju: Juju) -> None:
    n = juju.add_unit("client")
    assert juju.client_status()[n] == READY
    server = juju.sides["server"]
    assert server.app_bag["allowed-units"] == "myapp/0 myapp/1 myapp/2"
    juju.take_events("client")
    juju.remove_unit("client", 1)
    assert server.app_bag["allowed-units"] == "myapp/0 myapp/2"
    assert server.units[1].rel_bag["allowed-subnets"] == "192.0.2.10/32,192.0.2.12/32"
    assert juju.client_status() == {0: READY, 2: READY}
    assert juju.take_events("client") == {0: [], 2: []}


def test_client_leader_change(juju: Juju) -> None:
    juju.take_events("client")
    juju.remove_unit("client", 0)
    juju.set_leader("client", 1)
    juju.config("client", database="newdb")
    assert juju.sides["client"].app_bag == {"database": "newdb"}
    assert juju.client_status() == {1: "10.1.0.0/newdb [10.1.1.0]"}


def test_server_leader_change(juju: Juju) -> None:
    juju.take_events("client")
    juju.remove_unit("server", 0)
    juju.set_leader("server", 1)
    juju.config("client", database="newdb")
    server = juju.sides["server"]
    assert server.app_bag["database"] == "newdb"
    assert server.units[1].rel_bag["database"] == "newdb"
    assert juju.client_status() == {
        0: "10.1.0.0/newdb [10.1.1.0]",
        1: "10.1.0.0/newdb [10.1.1.0]",
    }


def test_relation_broken(juju: Juju) -> None:
    juju.take_events("client")
    juju.take_events("server")
    juju.unrelate()
    events = juju.take_events("client")
    for n in (0, 1):
        assert events[n][-1] == "database_relation_broken"
        assert "master_gone" in events[n]
        assert juju.sides["client"].units[n].status.name == "blocked"
    for n, events in juju.take_events("server").items():
        # client units leave one by one (access is withdrawn as they go), then broken
        assert events == ["request_changed", "request_changed", "relation_broken"], n


def test_legacy_client_non_leader_learns_request_through_peers() -> None:
    juju = Juju(client_units=2, server_units=1, client_charm=LegacyClientCharm)
    juju.relate()
    check_against_bags(juju)
    assert juju.client_status() == {0: "10.1.0.0/mydb [10.1.1.0]", 1: "10.1.0.0/mydb [10.1.1.0]"}
    assert juju.sides["client"].app_bag == {"database": "mydb"}
    assert juju.sides["client"].units[1].rel_bag["database"] == "mydb"  # mirrored by non-leader
    assert "pgsql-db" in juju.sides["client"].peer_app_bag
    juju.remove_unit("client", 0)
    juju.set_leader("client", 1)
    juju.config("server", primary=2)
    assert juju.client_status() == {1: "10.1.0.2/mydb [10.1.1.0]"}
    check_against_bags(juju)
