"""Client and server wired together through ``ops.testing``, under random operations.

The client application (the seed-style :class:`test_chaos_client.ChaosCharm`) and the server
application (:class:`test_chaos_server.ServerCharm`, which provisions and publishes what the client
asks for) run in a :class:`pgsql.testing.Model`, one Context and State per unit. The model carries
every databag between the States and, after every hook, tells the other side what changed
(relation-changed for the unit or application whose bag changed, peer relation-changed for the
client's peers), until nothing changes any more. Random steps: client units and server units come
and go, the client's request changes in config, the server's primary moves, the server defers,
leadership moves, state is lost, charms are upgraded.

After every step, once quiet:

- the exchange settled within a bound (no relation-changed storm between the libraries);
- when the server is not deferring, every client unit is ready, with the server's current primary
  as master, the requested database, and the standby;
- the client charm's own record of the master (kept from ``master_changed`` as in the 1.x README)
  equals what the library now says: the events brought it to the truth;
- no exception escaped and no juju-log line on either side holds a password.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, cast

import ops
import pytest
from chaos_support import PASSWORD_MARK, SLOW_OK, chaos_settings
from conftest import scaled
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from needs import requires_scenario
from test_chaos_client import CONFIG as CLIENT_CONFIG
from test_chaos_client import META as CLIENT_META
from test_chaos_client import ChaosCharm
from test_chaos_server import CONFIG as SERVER_CONFIG_BASE
from test_chaos_server import META as SERVER_META
from test_chaos_server import PW, ServerCharm

import pgsql
from pgsql import testing as pgt

testing = requires_scenario()

pytestmark = [pytest.mark.scenario, pytest.mark.slow]

SERVER_CONFIG: Dict[str, Any] = {
    "options": {
        **SERVER_CONFIG_BASE["options"],
        "primary": {"type": "int", "default": 0},
    }
}
RELID = 9
MAX_RUNS_TO_SETTLE = 60
# Known client bug (test_client_declared_requests::
# test_set_request_emits_the_transition_it_causes): a request changed through set_request()
# from config-changed emits no event, so a seed-style charm's own
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


def _readiness_and_record(charm: Any) -> Tuple[Optional[pgsql.Readiness], Optional[str]]:
    """What the client library says now, and the charm's own record of the master."""
    chaos = cast(ChaosCharm, charm)
    record: Optional[str] = chaos._state.db_conn_str  # pyright: ignore[reportPrivateUsage]
    return chaos.db.readiness(), record


class RoundtripMachine(RuleBasedStateMachine):
    """Both applications, wired by pgsql.testing.Model."""

    def __init__(self) -> None:
        super().__init__()
        self.model = pgt.Model(on_hook=self._no_password_logged)
        self.model.add_app(
            "myapp",
            ChaosCharm,
            units=0,
            meta=CLIENT_META,
            config=CLIENT_CONFIG,
            address=lambda n: f"10.0.0.{10 + n}",
        )
        self.model.add_app(
            "postgresql",
            RoundtripServer,
            units=0,
            meta=SERVER_META,
            config=SERVER_CONFIG,
            options={"defer": False, "primary": 0},
            address=lambda n: f"10.0.1.{n}",
        )
        self.model.relate("myapp:db", "postgresql:db", relation_id=RELID)

    # -- driving the model -----------------------------------------------------------------------

    @staticmethod
    def _no_password_logged(run: pgt.HookRun) -> None:
        for line in run.logs:
            assert PASSWORD_MARK not in line, (run.unit, line)

    def _of(self, app: str) -> List[pgt.Unit]:
        return list(self.model.app(app).units.values())

    @staticmethod
    def _other(app: str) -> str:
        return "postgresql" if app == "myapp" else "myapp"

    def _budget(self) -> int:
        return MAX_RUNS_TO_SETTLE * max(1, len(self.model.units()))

    def _settle(self) -> None:
        # fails (HookStormError) past the budget: no quiescence, a relation-changed storm
        ran = self.model.settle(max_hooks=self._budget())
        event(f"settled in {min(ran // 5 * 5, 50)}+ hooks")

    def _add(self, app: str) -> pgt.Unit:
        return self.model.add_unit(app, settle=False)

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
        self.model.config(
            "myapp",
            {"declarative": declarative, "database": database, "extensions": extensions},
            settle=False,
        )
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
        u = data.draw(st.sampled_from([u for u in self._of(app) if not u.is_leader]))
        self.model.remove_unit(u.name, settle=False)
        self._settle()

    @rule(
        database=st.sampled_from(["mydbname", "otherdb"]),
        extensions=st.sampled_from(["citext", ""]),
    )
    def client_request_changed(self, database: str, extensions: str) -> None:
        self.model.config("myapp", database=database, extensions=extensions, settle=False)
        self._settle()

    @rule(data=st.data())
    def primary_moves(self, data: st.DataObject) -> None:
        self.model.config("postgresql", primary=data.draw(st.integers(0, 3)), settle=False)
        self._settle()

    @rule(defer=st.booleans())
    def server_defers(self, defer: bool) -> None:
        self.model.config("postgresql", defer=defer, settle=False)
        self._settle()

    @precondition(lambda self: len(self._of("postgresql")) > 1)
    @rule(data=st.data())
    def server_leader_moves(self, data: st.DataObject) -> None:
        u = data.draw(st.sampled_from(self._of("postgresql")))
        self.model.set_leader(u.name, settle=False)
        self._settle()

    @precondition(lambda self: len(self._of("myapp")) > 1)
    @rule(data=st.data())
    def client_leader_moves(self, data: st.DataObject) -> None:
        u = data.draw(st.sampled_from(self._of("myapp")))
        self.model.set_leader(u.name, settle=False)
        self._settle()

    @rule(data=st.data())
    def state_lost(self, data: st.DataObject) -> None:
        u = data.draw(st.sampled_from(sorted(self.model.units(), key=lambda x: x.name)))
        u.stored, u.deferred = (), ()
        self.model.queue(u.name, "update_status")
        others = self._of(self._other(u.app.name))
        if others:
            self.model.queue(u.name, "relation_changed", relation=RELID, remote=others[0].name)
        self._settle()

    @rule()
    def everything_upgraded(self) -> None:
        for u in sorted(self.model.units(), key=lambda x: x.name):
            self.model.queue(u.name, "upgrade_charm")
        self._settle()

    # -- the check -------------------------------------------------------------------------

    @invariant()
    def clients_see_the_server(self) -> None:
        if not self.model.units():
            return
        client_config = self.model.app("myapp").options
        server_config = self.model.app("postgresql").options
        for u in self._of("myapp"):
            run = self.model.run(u.name, "update_status", inspect=_readiness_and_record)
            self.model.settle(max_hooks=self._budget())  # what update-status wrote, if anything
            r, record = run.seen
            assert r is not None
            want_db = client_config["database"]
            if not server_config["defer"]:
                assert r.ready, (u.name, r.why)
                assert r.master is not None
                assert r.master.host == f"10.0.1.{server_config['primary']}"
                assert r.master.dbname == want_db
                assert [s.host for s in r.standbys] == ["10.0.1.50"]
            event("ready" if r.ready else "not ready")
            # the charm's own record (from master_changed) matches the library's truth
            declarative = client_config["declarative"]
            if r.ready and r.database == want_db and (declarative or SET_REQUEST_EMITS):
                assert r.master is not None
                assert record == r.master.conn_str, (u.name, record)


TestRoundtripChaos = cast(Any, RoundtripMachine).TestCase
TestRoundtripChaos.settings = chaos_settings(
    scaled(4, 30, 300), steps=scaled(5, 10, 30), suppress_health_check=SLOW_OK
)
