"""Client and server wired together through ``ops.testing``, under random operations.

The client application (the seed-style :class:`test_chaos_client.ChaosCharm`) and the server
application (:class:`test_chaos_server.ServerCharm`, which provisions and publishes what the client
asks for) each have one Context and State per unit. A Juju-like driver carries every databag
between the States and, after every hook, tells the other side what changed (relation-changed for
the unit or application whose bag changed, peer relation-changed for the client's peers), until
nothing changes any more. Random steps: client units and server units come and go, the client's
request changes in config, the server's primary moves, the server defers, leadership moves, state
is lost, charms are upgraded.

After every step, once quiet:

- the exchange settled within a bound (no relation-changed storm between the libraries);
- when the server is not deferring, every client unit is ready, with the server's current primary
  as master, the requested database, and the standby;
- the client charm's own record of the master (kept from ``master_changed`` as in the 1.x README)
  equals what the library now says: the events brought it to the truth;
- no exception escaped and no juju-log line on either side holds a password.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Tuple, cast

import ops
import pytest
from chaos_support import PASSWORD_MARK, SLOW_OK, chaos_settings
from conftest import scaled
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from test_chaos_client import CONFIG as CLIENT_CONFIG
from test_chaos_client import META as CLIENT_META
from test_chaos_client import ChaosCharm
from test_chaos_server import CONFIG as SERVER_CONFIG_BASE
from test_chaos_server import META as SERVER_META
from test_chaos_server import PW, ServerCharm

import pgsql

testing = pytest.importorskip("ops.testing")
if not hasattr(testing, "Context"):  # ops < 2.17: no Scenario in ops.testing
    pytest.skip("ops.testing has no Scenario Context in this ops", allow_module_level=True)

pytestmark = [pytest.mark.scenario, pytest.mark.slow]

SERVER_CONFIG: Dict[str, Any] = {
    "options": {
        **SERVER_CONFIG_BASE["options"],
        "primary": {"type": "int", "default": 0},
    }
}
RELID = 9
MAX_RUNS_TO_SETTLE = 60
# Known client bug (test_regressions::test_set_request_emits_the_transition_it_causes): a request
# changed through set_request() from config-changed emits no event, so a seed-style charm's own
# record can lag; checked in declarative mode only until it is fixed (then set this to True).
SET_REQUEST_EMITS = True


class RoundtripServer(ServerCharm):
    """The chaos server, whose primary can move (it republishes everywhere when it does)."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on.config_changed, self._republish)

    def _master(self, database: str) -> pgsql.ConnectionString:
        host = f"10.0.1.{self.config['primary']}"
        return pgsql.ConnectionString(
            host=host, port=5432, dbname=database, user="juju_myapp", password=PW
        )

    def _on_request_changed(self, event: pgsql.ClientRequestChangedEvent) -> None:
        if self.config["defer"]:
            event.defer()
            return
        self._publish(event.relation)

    def _republish(self, event: ops.ConfigChangedEvent) -> None:
        if self.config["defer"]:
            return
        for relation in self.db.relations:
            self._publish(relation)

    def _publish(self, relation: ops.Relation) -> None:
        request = self.db.request(relation)
        database = request.database or relation.app.name
        master = self._master(database)
        self.db.publish(
            relation,
            master=master,
            standbys=[master.replace(host="10.0.1.50")],
            version="16",
            database=database or None,
            state="master" if self.unit.name.endswith(f"/{self.config['primary']}") else None,
        )


@dataclasses.dataclass
class Unit:
    """One unit of either application, with what Juju keeps for it."""

    app: str
    num: int
    ctx: Any
    stored: Any = ()
    deferred: Any = ()
    bag: Dict[str, str] = dataclasses.field(default_factory=lambda: {})

    @property
    def name(self) -> str:
        """``<app>/<num>``."""
        return f"{self.app}/{self.num}"

    def juju_keys(self) -> Dict[str, str]:
        """What Juju writes into this unit's bag."""
        net = "10.0.0" if self.app == "myapp" else "10.0.1"
        addr = f"{net}.{10 + self.num if self.app == 'myapp' else self.num}"
        return {"egress-subnets": f"{addr}/32", "ingress-address": addr, "private-address": addr}


Job = Tuple[str, int, str, Optional[int]]  # (app, unit num, hook kind, remote unit num)


class RoundtripMachine(RuleBasedStateMachine):
    """Both applications, wired by a Juju-like driver."""

    def __init__(self) -> None:
        super().__init__()
        self.units: Dict[Tuple[str, int], Unit] = {}
        self.leader = {"myapp": 0, "postgresql": 0}
        self.app_bags: Dict[str, Dict[str, str]] = {"myapp": {}, "postgresql": {}}
        self.peer_bag: Dict[str, str] = {}
        self.client_config: Dict[str, Any] = {}
        self.server_config: Dict[str, Any] = {"defer": False, "primary": 0}
        self.queue: Deque[Job] = deque()
        self.runs = 0

    # -- the driver ----------------------------------------------------------------------------

    def _of(self, app: str) -> List[Unit]:
        return [u for (a, _), u in sorted(self.units.items()) if a == app]

    @staticmethod
    def _other(app: str) -> str:
        return "postgresql" if app == "myapp" else "myapp"

    def _state(self, u: Unit) -> Any:
        other = self._other(u.app)
        relations: List[Any] = [
            testing.Relation(
                "db",
                interface="pgsql",
                remote_app_name=other,
                id=RELID,
                local_app_data=dict(self.app_bags[u.app]),
                local_unit_data={**u.bag, **u.juju_keys()},
                remote_app_data=dict(self.app_bags[other]),
                remote_units_data={o.num: {**o.bag, **o.juju_keys()} for o in self._of(other)},
            )
        ]
        if u.app == "myapp":
            relations.append(
                testing.PeerRelation(
                    "peers",
                    interface="myapp-peers",
                    id=1,
                    local_app_data=dict(self.peer_bag),
                    peers_data={o.num: {} for o in self._of("myapp") if o is not u},
                )
            )
        config = self.client_config if u.app == "myapp" else self.server_config
        return testing.State(
            leader=self.leader[u.app] == u.num,
            config=dict(config),
            relations=set(relations),
            stored_states=u.stored,
            deferred=u.deferred,
        )

    def _run(self, job: Job) -> None:
        app, num, kind, remote = job
        u = self.units.get((app, num))
        if u is None:
            return  # the unit left before Juju got to it
        other = self._other(app)
        if remote is not None and (other, remote) not in self.units and kind != "departed":
            return  # the remote unit left meanwhile
        state_in = self._state(u)
        on = u.ctx.on
        rel = state_in.get_relation(RELID)
        if kind == "peer":
            peer = state_in.get_relation(1)
            if not peer.peers_data:
                return  # no peer left to have written it
            ev = on.relation_changed(peer, remote_unit=min(peer.peers_data))
        elif kind == "changed":
            if not rel.remote_units_data:
                return  # (Scenario needs a remote unit to run relation-changed)
            ev = on.relation_changed(
                rel, remote_unit=remote if remote is not None else min(rel.remote_units_data)
            )
        elif kind == "joined":
            ev = on.relation_joined(rel, remote_unit=remote)
        elif kind == "departed":
            ev = on.relation_departed(rel, remote_unit=remote, departing_unit=remote)
        elif kind == "created":
            ev = on.relation_created(rel)
        else:
            ev = {
                "config": on.config_changed,
                "leader": on.leader_elected,
                "upgrade": on.upgrade_charm,
                "update-status": on.update_status,
            }[kind]()
        u.ctx.juju_log.clear()
        out = u.ctx.run(ev, state_in)
        self.runs += 1
        for line in u.ctx.juju_log:
            assert PASSWORD_MARK not in line.message, (u.name, line)
        u.stored, u.deferred = out.stored_states, out.deferred
        r_out = out.get_relation(RELID)
        new_bag = {k: v for k, v in r_out.local_unit_data.items() if k not in u.juju_keys()}
        if new_bag != u.bag:
            u.bag = new_bag
            for o in self._of(other):
                self.queue.append((other, o.num, "changed", num))
        if self.leader[app] == num:
            new_app = dict(r_out.local_app_data)
            if new_app != self.app_bags[app]:
                self.app_bags[app] = new_app
                for o in self._of(other):
                    self.queue.append((other, o.num, "changed", None))
            if app == "myapp":
                new_peer = dict(out.get_relation(1).local_app_data)
                if new_peer != self.peer_bag:
                    self.peer_bag = new_peer
                    for o in self._of("myapp"):
                        if o.num != num:
                            self.queue.append(("myapp", o.num, "peer", None))

    def _settle(self) -> None:
        budget = MAX_RUNS_TO_SETTLE * max(1, len(self.units))
        ran = 0
        while self.queue:
            self._run(self.queue.popleft())
            ran += 1
            assert ran <= budget, f"no quiescence after {ran} hooks: a relation-changed storm"
        event(f"settled in {min(ran // 5 * 5, 50)}+ hooks")

    def _add(self, app: str) -> Unit:
        nums = [u.num for u in self._of(app)]
        num = max(nums) + 1 if nums else 0
        meta, config, charm = (
            (CLIENT_META, CLIENT_CONFIG, ChaosCharm)
            if app == "myapp"
            else (SERVER_META, SERVER_CONFIG, RoundtripServer)
        )
        u = Unit(app, num, testing.Context(charm, meta=meta, config=config, unit_id=num))
        self.units[(app, num)] = u
        self.queue.append((app, num, "created", None))
        for o in self._of(self._other(app)):
            self.queue.append((app, num, "joined", o.num))
            self.queue.append((app, num, "changed", o.num))
            self.queue.append((o.app, o.num, "joined", num))
            self.queue.append((o.app, o.num, "changed", num))
        return u

    # -- setup and rules --------------------------------------------------------------------------

    @initialize(
        declarative=st.booleans(),
        database=st.sampled_from(["mydbname", "otherdb"]),
        extensions=st.sampled_from(["citext", "", "citext,pg_trgm:public"]),
        clients=st.integers(1, 2),
        servers=st.integers(1, 2),
    )
    def start(
        self, declarative: bool, database: str, extensions: str, clients: int, servers: int
    ) -> None:
        self.client_config = {
            "declarative": declarative,
            "database": database,
            "extensions": extensions,
        }
        for _ in range(servers):
            self._add("postgresql")
        for _ in range(clients):
            self._add("myapp")
        self._settle()

    @precondition(lambda self: len(self._of("myapp")) < 3)
    @rule()
    def client_unit_added(self) -> None:
        self._add("myapp")
        self._settle()

    @precondition(lambda self: len(self._of("postgresql")) < 3)
    @rule()
    def server_unit_added(self) -> None:
        self._add("postgresql")
        self._settle()

    @precondition(lambda self: len(self._of("myapp")) > 1)
    @rule(data=st.data())
    def client_unit_removed(self, data: st.DataObject) -> None:
        self._remove("myapp", data)

    @precondition(lambda self: len(self._of("postgresql")) > 1)
    @rule(data=st.data())
    def server_unit_removed(self, data: st.DataObject) -> None:
        self._remove("postgresql", data)

    def _remove(self, app: str, data: st.DataObject) -> None:
        u = data.draw(st.sampled_from([u for u in self._of(app) if u.num != self.leader[app]]))
        del self.units[(app, u.num)]
        for o in self._of(self._other(app)):
            self.queue.append((o.app, o.num, "departed", u.num))
        if app == "myapp":
            for o in self._of("myapp"):
                self.queue.append(("myapp", o.num, "peer", None))
        self._settle()

    @rule(
        database=st.sampled_from(["mydbname", "otherdb"]),
        extensions=st.sampled_from(["citext", ""]),
    )
    def client_request_changed(self, database: str, extensions: str) -> None:
        self.client_config = {**self.client_config, "database": database, "extensions": extensions}
        for u in self._of("myapp"):
            self.queue.append(("myapp", u.num, "config", None))
        self._settle()

    @rule(data=st.data())
    def primary_moves(self, data: st.DataObject) -> None:
        self.server_config = {**self.server_config, "primary": data.draw(st.integers(0, 3))}
        for u in self._of("postgresql"):
            self.queue.append(("postgresql", u.num, "config", None))
        self._settle()

    @rule(defer=st.booleans())
    def server_defers(self, defer: bool) -> None:
        self.server_config = {**self.server_config, "defer": defer}
        for u in self._of("postgresql"):
            self.queue.append(("postgresql", u.num, "config", None))
        self._settle()

    @precondition(lambda self: len(self._of("postgresql")) > 1)
    @rule(data=st.data())
    def server_leader_moves(self, data: st.DataObject) -> None:
        u = data.draw(st.sampled_from(self._of("postgresql")))
        self.leader["postgresql"] = u.num
        self.queue.append(("postgresql", u.num, "leader", None))
        self._settle()

    @precondition(lambda self: len(self._of("myapp")) > 1)
    @rule(data=st.data())
    def client_leader_moves(self, data: st.DataObject) -> None:
        u = data.draw(st.sampled_from(self._of("myapp")))
        self.leader["myapp"] = u.num
        self.queue.append(("myapp", u.num, "leader", None))
        self._settle()

    @rule(data=st.data())
    def state_lost(self, data: st.DataObject) -> None:
        u = data.draw(st.sampled_from(sorted(self.units.values(), key=lambda x: x.name)))
        u.stored, u.deferred = (), ()
        self.queue.append((u.app, u.num, "update-status", None))
        others = self._of(self._other(u.app))
        if others:
            self.queue.append((u.app, u.num, "changed", others[0].num))
        self._settle()

    @rule()
    def everything_upgraded(self) -> None:
        for u in sorted(self.units.values(), key=lambda x: x.name):
            self.queue.append((u.app, u.num, "upgrade", None))
        self._settle()

    # -- the check -------------------------------------------------------------------------

    @invariant()
    def clients_see_the_server(self) -> None:
        if not self.units:
            return
        for u in self._of("myapp"):
            with u.ctx(u.ctx.on.update_status(), self._state(u)) as mgr:
                out = mgr.run()
                charm = cast(ChaosCharm, mgr.charm)
                r = charm.db.readiness()
                record = charm._state.db_conn_str  # pyright: ignore[reportPrivateUsage]
            u.stored, u.deferred = out.stored_states, out.deferred
            assert r is not None
            want_db = self.client_config["database"]
            if not self.server_config["defer"]:
                assert r.ready, (u.name, r.why)
                assert r.master is not None
                assert r.master.host == f"10.0.1.{self.server_config['primary']}"
                assert r.master.dbname == want_db
                assert [s.host for s in r.standbys] == ["10.0.1.50"]
            event("ready" if r.ready else "not ready")
            # the charm's own record (from master_changed) matches the library's truth
            declarative = self.client_config["declarative"]
            if r.ready and r.database == want_db and (declarative or SET_REQUEST_EMITS):
                assert r.master is not None
                assert record == r.master.conn_str, (u.name, record)


TestRoundtripChaos = cast(Any, RoundtripMachine).TestCase
TestRoundtripChaos.settings = chaos_settings(
    scaled(4, 30, 300), steps=scaled(5, 10, 30), suppress_health_check=SLOW_OK
)
