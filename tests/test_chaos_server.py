"""Model-based testing of :class:`pgsql.PostgreSQLServer` through ``ops.testing``.

A server application (one or two units, each with its own Context and State; the server
application bag carried between them like Juju) serves a client application whose units come
and go, write and rewrite their request (valid and invalid names, app bag and unit bags, 1.x
style), change egress, while the server charm sometimes defers, loses its StoredState, is
upgraded, or changes leader.

After every hook on every server unit:

- ``request_changed`` was emitted exactly when what the server must publish changed (the
  consolidated request or the client units and their egress) since that unit last said so,
  re-announced only after a state loss, and deferred ones re-run until handled;
- :meth:`PostgreSQLServer.request` equals the model's reading of the client bags (the client
  application bag, else the lowest-numbered unit bag with a request; unusable items dropped);
- what the unit published equals what the model says for the request and units it last
  handled, and a client unit evaluating it (:func:`pgsql.protocol.evaluate`) finds it ready;
- no exception escapes, no juju-log line holds a password.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable, Dict, List, Optional, Tuple, cast

import ops
import pytest
from chaos_support import PASSWORD_MARK, SLOW_OK, chaos_settings
from conftest import scaled
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from needs import requires_scenario

import pgsql
from pgsql import protocol

testing = requires_scenario()

pytestmark = [pytest.mark.scenario, pytest.mark.slow]

META: Dict[str, Any] = {"name": "postgresql", "provides": {"db": {"interface": "pgsql"}}}
CONFIG: Dict[str, Any] = {"options": {"defer": {"type": "boolean", "default": False}}}
PW = f"{PASSWORD_MARK}7"


class ServerCharm(ops.CharmBase):
    """A server that provisions what is asked and publishes it, or defers when told to."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLServer(self, "db")
        framework.observe(self.db.on.request_changed, self._on_request_changed)

    def _on_request_changed(self, event: pgsql.ClientRequestChangedEvent) -> None:
        if self.config["defer"]:
            event.defer()
            return
        request = event.request
        database = request.database or event.app.name
        n = self.unit.name.split("/")[1]
        master = pgsql.ConnectionString(
            host="10.0.1.0", port=5432, dbname=database, user="juju_myapp", password=PW
        )
        standby = master.replace(host="10.0.1.1")
        self.db.publish(
            event.relation,
            master=master,
            standbys=[standby],
            version="16",
            database=event.app.name,
            state="master" if n == "0" else "hot standby",
        )


# what a client writes: valid names, and the invalid ones a buggy or hostile client may send
DATABASES = st.sampled_from(["mydb", "otherdb", "", "bad\nname", "a,b", " spaced "])
ROLES = st.sampled_from(["", "reader", "reader,writer", "reader,,", "bad role"])
EXTENSIONS = st.sampled_from(["", "citext", "citext,pg_trgm:public", "hstore(s)", "bad(ext"])
_NAME = re.compile(r"^[^,\n\r\x00]+$")
_EXT = re.compile(r"^[^\s:()]+(?::[^\s:()]+|\([^\s:()]+\))?$")


def request_bag(database: str, roles: str, extensions: str) -> Dict[str, str]:
    """A request as a client writes it (absent keys for what is not asked)."""
    bag = {"database": database, "roles": roles, "extensions": extensions}
    return {k: v for k, v in bag.items() if v}


def model_request(
    app_bag: Dict[str, str], unit_bags: Dict[str, Dict[str, str]]
) -> protocol.Request:
    """The reference reading: app bag, else the lowest-numbered unit bag with a request."""
    keys = ("database", "roles", "extensions")
    source: Dict[str, str] = {}
    if any(k in app_bag for k in keys):
        source = app_bag
    else:
        for name in sorted(unit_bags, key=lambda n: int(n.split("/")[1])):
            if any(k in unit_bags[name] for k in keys):
                source = unit_bags[name]
                break
    db = source.get("database", "").strip()
    if not _NAME.match(db) or db != db.strip():
        db = ""

    def items(raw: str, ok: Callable[[str], bool]) -> Tuple[str, ...]:
        parts = {p.strip() for p in raw.split(",") if p.strip()}
        return tuple(sorted(p for p in parts if ok(p)))

    roles = items(source.get("roles", ""), lambda p: bool(_NAME.match(p)))
    exts = items(source.get("extensions", ""), lambda p: bool(_EXT.match(p)))
    return protocol.Request(db, roles, exts)


@dataclasses.dataclass(frozen=True)
class ClientUnitModel:
    """A client unit: number, address, egress (None on pre-egress Juju), request keys."""

    num: int
    egress: Optional[str]
    request: Dict[str, str] = dataclasses.field(default_factory=lambda: {})

    @property
    def name(self) -> str:
        """``myapp/<num>``."""
        return f"myapp/{self.num}"

    def bag(self) -> Dict[str, str]:
        """The unit's bag as the server reads it."""
        addr = f"10.0.0.{10 + self.num}"
        out = {"ingress-address": addr, "private-address": addr, **self.request}
        if self.egress is not None:
            out["egress-subnets"] = self.egress
        return out

    @property
    def cidr(self) -> str:
        """What a server grants for it."""
        return self.egress or f"10.0.0.{10 + self.num}/32"


Handled = Tuple[protocol.Request, Tuple[str, ...], Tuple[str, ...]]  # request, cidrs, names


@dataclasses.dataclass
class ServerSim:
    """One server unit: its Context, carried state, and what the model expects of it."""

    num: int
    ctx: Any
    stored: Any = ()
    deferred: Any = ()
    own_bag: Dict[str, str] = dataclasses.field(default_factory=lambda: {})
    announced: Optional[Handled] = None  # what the last request_changed was about
    pending: bool = False  # a deferred request_changed waits to re-run
    published: Optional[Handled] = None


class ServerMachine(RuleBasedStateMachine):
    """A client application misbehaving against one or two server units."""

    def __init__(self) -> None:
        super().__init__()
        self.servers: List[ServerSim] = []
        self.leader = 0
        self.clients: Dict[int, ClientUnitModel] = {}
        self.client_app_bag: Dict[str, str] = {}
        self.server_app_bag: Dict[str, str] = {}
        self.defer = False
        self.relid = 3
        self.next_client = 0

    # -- the Juju-like driver ----------------------------------------------------------------

    def _current(self) -> Handled:
        units = {c.name: c.bag() for c in self.clients.values()}
        req = model_request(self.client_app_bag, units)
        cidrs = tuple(sorted({c.cidr for c in self.clients.values()}))
        names = tuple(c.name for c in sorted(self.clients.values(), key=lambda c: c.num))
        return req, cidrs, names

    def _state(self, s: ServerSim, clients: Dict[int, ClientUnitModel]) -> Any:
        rel = testing.Relation(
            "db",
            interface="pgsql",
            remote_app_name="myapp",
            id=self.relid,
            local_app_data=dict(self.server_app_bag),
            local_unit_data={
                **s.own_bag,
                "egress-subnets": f"10.0.1.{s.num}/32",
                "ingress-address": f"10.0.1.{s.num}",
                "private-address": f"10.0.1.{s.num}",
            },
            remote_app_data=dict(self.client_app_bag),
            remote_units_data={n: c.bag() for n, c in clients.items()},
        )
        return testing.State(
            leader=s.num == self.leader,
            config={"defer": self.defer},
            relations={rel},
            stored_states=s.stored,
            deferred=s.deferred,
        )

    def _run(
        self, s: ServerSim, kind: str, unit: Optional[int] = None, *, relation_hook: bool = True
    ) -> None:
        """Run one hook on one server unit and check everything about it."""
        clients = dict(self.clients)
        state_in = self._state(s, clients)
        rel = state_in.get_relation(self.relid)
        on = s.ctx.on
        if kind == "joined":
            ev = on.relation_joined(rel, remote_unit=unit)
        elif kind == "changed":
            ev = on.relation_changed(rel, remote_unit=unit)
        elif kind == "departed":
            ev = on.relation_departed(rel, remote_unit=unit, departing_unit=unit)
        elif kind == "broken":
            ev = on.relation_broken(rel)
        else:
            ev = {
                "leader": on.leader_elected,
                "config": on.config_changed,
                "upgrade": on.upgrade_charm,
                "update-status": on.update_status,
            }[kind]()
        s.ctx.emitted_events.clear()
        s.ctx.juju_log.clear()
        reran = s.pending
        with s.ctx(ev, state_in) as mgr:
            out = mgr.run()
            charm = cast(ServerCharm, mgr.charm)
            seen = charm.db.request(charm.model.relations["db"][0]) if kind != "broken" else None
        s.stored, s.deferred = out.stored_states, out.deferred
        r_out = out.get_relation(self.relid)
        s.own_bag = {
            k: v for k, v in r_out.local_unit_data.items() if k in pgsql.server.PUBLISHED_KEYS
        }
        if s.num == self.leader:
            self.server_app_bag = dict(r_out.local_app_data)
        for line in s.ctx.juju_log:
            assert PASSWORD_MARK not in line.message, line

        names = [e.handle.kind for e in s.ctx.emitted_events]
        changed = names.count("request_changed")
        cur = self._current()
        if kind == "broken":
            assert names.count("relation_broken") == 1
            assert changed == 0
            return
        assert seen == cur[0], (seen, cur[0])
        # the rule: announce when what must be published differs from what was announced
        want = 0
        if relation_hook and cur != s.announced:
            nothing = s.announced is None and not cur[2] and not cur[0]
            want = 0 if nothing else 1
        assert changed == want, (kind, s.announced, cur, names)
        if want:
            s.announced = cur
        if want or reran:
            if self.defer:
                s.pending = True
            else:
                s.pending = False
                s.published = cur
        event(f"request_changed x{changed}")
        self._check_published(s)

    def _check_published(self, s: ServerSim) -> None:
        if s.published is None:
            return
        req, cidrs, names = s.published
        bag = s.own_bag
        assert bag.get("database") == (req.database or "myapp")
        assert bag.get("roles", "") == ",".join(req.roles)
        assert bag.get("extensions", "") == ",".join(req.extensions)
        assert bag.get("allowed-subnets", "") == ",".join(cidrs)
        assert bag.get("allowed-units", "") == " ".join(names)
        assert bag.get("state") == ("master" if s.num == 0 else "hot standby")
        # and every client unit granted then finds it ready, by the library's own rule
        for c in self.clients.values():
            if c.name not in names or c.cidr not in cidrs:
                continue  # not granted in what was last published (the charm deferred since)
            r = protocol.evaluate(
                req, c.name, c.bag(), "postgresql", {}, {f"postgresql/{s.num}": bag}
            )
            assert r.ready, (c.name, r.why)
            assert r.master is not None
            assert r.master.dbname == (req.database or "myapp")

    def _everywhere(
        self, kind: str, unit: Optional[int] = None, relation_hook: bool = True
    ) -> None:
        for s in self.servers:
            self._run(s, kind, unit, relation_hook=relation_hook)

    # -- setup ---------------------------------------------------------------------------------

    @initialize(servers=st.integers(1, 2), db=DATABASES, ext=EXTENSIONS)
    def start(self, servers: int, db: str, ext: str) -> None:
        for n in range(servers):
            self.servers.append(
                ServerSim(n, testing.Context(ServerCharm, meta=META, config=CONFIG, unit_id=n))
            )
        self.client_app_bag = request_bag(db, "", ext)
        self._client_joins("vm", request_bag(db, "", ext))

    def _client_joins(self, kind: str, request: Dict[str, str]) -> None:
        n = self.next_client
        self.next_client += 1
        egress = {"vm": f"10.0.0.{10 + n}/32", "k8s": "10.152.183.45/32", "none": None}[kind]
        self.clients[n] = ClientUnitModel(n, egress, request)
        self._everywhere("joined", n)
        self._everywhere("changed", n)

    # -- rules ---------------------------------------------------------------------------------

    @precondition(lambda self: len(self.clients) < 3)
    @rule(
        kind=st.sampled_from(["vm", "k8s", "none"]),
        db=DATABASES,
        roles=ROLES,
        ext=EXTENSIONS,
        writes=st.booleans(),
    )
    def client_unit_joins(self, kind: str, db: str, roles: str, ext: str, writes: bool) -> None:
        self._client_joins(kind, request_bag(db, roles, ext) if writes else {})

    @precondition(lambda self: self.clients)
    @rule(data=st.data())
    def client_unit_departs(self, data: st.DataObject) -> None:
        n = data.draw(st.sampled_from(sorted(self.clients)))
        del self.clients[n]
        self._everywhere("departed", n)

    @precondition(lambda self: self.clients)
    @rule(data=st.data(), db=DATABASES, roles=ROLES, ext=EXTENSIONS)
    def client_unit_rewrites_request(
        self, data: st.DataObject, db: str, roles: str, ext: str
    ) -> None:
        n = data.draw(st.sampled_from(sorted(self.clients)))
        self.clients[n] = dataclasses.replace(self.clients[n], request=request_bag(db, roles, ext))
        self._everywhere("changed", n)

    @precondition(lambda self: self.clients)
    @rule(data=st.data(), kind=st.sampled_from(["vm", "k8s", "none"]))
    def client_unit_egress_changes(self, data: st.DataObject, kind: str) -> None:
        n = data.draw(st.sampled_from(sorted(self.clients)))
        egress = {"vm": f"10.0.2.{n}/32", "k8s": "10.152.183.45/32", "none": None}[kind]
        self.clients[n] = dataclasses.replace(self.clients[n], egress=egress)
        self._everywhere("changed", n)

    @precondition(lambda self: self.clients)
    @rule(db=DATABASES, roles=ROLES, ext=EXTENSIONS)
    def client_app_request_changes(self, db: str, roles: str, ext: str) -> None:
        # (Scenario names a remote unit on every relation-changed; Juju names none for an
        # application bag change: the server reads everything either way)
        self.client_app_bag = request_bag(db, roles, ext)
        self._everywhere("changed")

    @rule(defer=st.booleans())
    def server_config_defer(self, defer: bool) -> None:
        self.defer = defer
        self._everywhere("config", relation_hook=False)

    @rule(data=st.data())
    def server_update_status(self, data: st.DataObject) -> None:
        s = data.draw(st.sampled_from(self.servers))
        self._run(s, "update-status", relation_hook=False)

    @rule(data=st.data())
    def server_state_wiped(self, data: st.DataObject) -> None:
        s = data.draw(st.sampled_from(self.servers))
        s.stored, s.deferred, s.announced, s.pending = (), (), None, False
        if self.clients:
            self._run(s, "changed", min(self.clients))

    @rule()
    def server_upgraded(self) -> None:
        self._everywhere("upgrade", relation_hook=False)

    @precondition(lambda self: len(self.servers) > 1)
    @rule()
    def server_leader_changes(self) -> None:
        self.leader = 1 - self.leader
        self._run(self.servers[self.leader], "leader", relation_hook=False)

    @rule()
    def relation_broken_and_recreated(self) -> None:
        self._everywhere("broken")
        self.relid += 1
        for s in self.servers:
            s.own_bag, s.announced, s.pending, s.published = {}, None, False, None
            s.deferred = ()  # Juju drops deferred events of a relation that is gone
        self.server_app_bag = {}
        clients, self.clients = self.clients, {}
        for n, c in sorted(clients.items()):
            self.clients[n] = c
            self._everywhere("joined", n)
            self._everywhere("changed", n)

    @invariant()
    def nothing_left_pending_without_defer(self) -> None:
        if not self.defer:
            assert not any(s.pending for s in self.servers)


TestServerChaos = cast(Any, ServerMachine).TestCase
TestServerChaos.settings = chaos_settings(
    scaled(5, 60, 500), steps=scaled(8, 20, 50), suppress_health_check=SLOW_OK
)
