"""Model-based testing of the pure protocol: random server histories against the reference rule.

A :class:`~chaos_support.Cluster` (server units that publish, lag behind failovers, grant and
revoke access, echo an old request; an application bag that mirrors a unit or went stale) and a
set of client units evolve by random steps. After every step each client unit's
:func:`pgsql.protocol.evaluate` must match :func:`chaos_support.expected_view` (master,
standbys, database, version, chosen bag), and :func:`pgsql.protocol.transitions` must emit
exactly the events the 1.x rule gives for the move: none missing, none duplicated, re-announced
only after a state loss. Nothing the protocol returns may contain a password.

Run far more with ``PGSQL_TEST_PROFILE=long``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, cast

from chaos_support import (
    PASSWORD_MARK,
    SLOW_OK,
    ClientUnit,
    Cluster,
    ModelRequest,
    View,
    chaos_settings,
    expected_broken_events,
    expected_events,
    expected_view,
    state_of,
)
from conftest import scaled
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from pgsql import ConnectionString, protocol

DATABASES = st.sampled_from(["", "mydb", "otherdb"])
ROLES = st.sampled_from([(), ("reader",), ("reader", "writer")])
EXTENSIONS = st.sampled_from([(), ("citext",), ("citext", "pg_trgm:public"), ("hstore(s)",)])
REQUESTS = st.builds(ModelRequest, DATABASES, ROLES, EXTENSIONS)
SERVER_STYLES = st.fixed_dictionaries(
    {
        "style": st.sampled_from(["full", "full", "no-roles", "no-ext", "race-lost"]),
        "fmt": st.sampled_from(["sorted", "insertion", "quoted"]),
        "standby_sep": st.sampled_from(["\n", ","]),
        "units_sep": st.sampled_from([" ", ","]),
        "standby_db_suffix": st.booleans(),
    }
)
CLIENT_KINDS = st.sampled_from(["vm", "vm", "k8s", "no-egress"])


def to_request(m: ModelRequest) -> protocol.Request:
    """The model's request as the library's type (built the way a charm builds it)."""
    return protocol.Request.build(database=m.database, roles=m.roles, extensions=m.extensions)


def view_of(r: protocol.Readiness) -> View:
    """The library's verdict in the model's terms."""

    def params(cs: object) -> Tuple[Tuple[str, str], ...]:
        return tuple(sorted(cs.items()))  # type: ignore[attr-defined]

    return View(
        params(r.master) if r.master is not None else None,
        tuple(params(s) for s in r.standbys),
        r.database,
        r.version,
        r.source,
    )


def assert_no_secret(r: protocol.Readiness) -> None:
    """Nothing a charm may log or show carries a password."""
    texts = [r.why, repr(r), *(str(x) for x in r.reasons), *(x.advice or "" for x in r.reasons)]
    for b in r.bags:
        texts += [str(x) for x in b.reasons]
    for t in texts:
        assert PASSWORD_MARK not in t, t


class ProtocolMachine(RuleBasedStateMachine):
    """One relation, many client units, a server application misbehaving in every known way."""

    def __init__(self) -> None:
        super().__init__()
        self.cluster = Cluster()
        self.clients: List[ClientUnit] = []
        self.request = ModelRequest()
        self.knows: Dict[str, bool] = {}
        self.told: Dict[str, Optional[protocol.Snapshot]] = {}
        self.model_told: Dict[str, Optional[View]] = {}
        self.next_client = 0
        self.step_events: Dict[str, Tuple[str, ...]] = {}

    # -- setup -------------------------------------------------------------------------------

    @initialize(request=REQUESTS, style=SERVER_STYLES, kind=CLIENT_KINDS, published=st.booleans())
    def start(
        self, request: ModelRequest, style: Dict[str, object], kind: str, published: bool
    ) -> None:
        self.request = request
        self._add_client(kind)
        self.cluster.master = self.cluster.add_unit(style)
        if published:
            self.cluster.refresh(self.cluster.master, request, self.clients)

    def _add_client(self, kind: str) -> None:
        n = self.next_client
        self.next_client += 1
        addr = "10.152.183.45" if kind == "k8s" else f"10.0.0.{10 + n}"
        egress = None if kind == "no-egress" else f"{addr}/32"
        c = ClientUnit(f"myapp/{n}", addr, egress)
        self.clients.append(c)
        self.knows[c.name] = n == 0  # the first unit is the leader
        self.told[c.name] = None
        self.model_told[c.name] = None

    def _pick_unit(self, data: st.DataObject) -> int:
        return data.draw(st.sampled_from(sorted(self.cluster.units)), label="server unit")

    def _pick_client(self, data: st.DataObject) -> ClientUnit:
        return data.draw(st.sampled_from(self.clients), label="client unit")

    # -- the server application ---------------------------------------------------------------

    @precondition(lambda self: len(self.cluster.units) < 5)
    @rule(style=SERVER_STYLES, jump=st.sampled_from([1, 1, 1, 9]))
    def server_unit_joins(self, style: Dict[str, object], jump: int) -> None:
        self.cluster.add_unit(style, jump)

    @precondition(lambda self: self.cluster.units)
    @rule(data=st.data())
    def server_unit_departs(self, data: st.DataObject) -> None:
        self.cluster.remove_unit(self._pick_unit(data))

    @precondition(lambda self: self.cluster.units)
    @rule(data=st.data())
    def server_unit_hook(self, data: st.DataObject) -> None:
        # acts on the current request, grants every current client unit, publishes its view
        self.cluster.refresh(self._pick_unit(data), self.request, self.clients)

    @precondition(lambda self: self.cluster.units)
    @rule(data=st.data())
    def every_server_unit_hooks(self, data: st.DataObject) -> None:
        for n in sorted(self.cluster.units):
            self.cluster.refresh(n, self.request, self.clients)

    @precondition(lambda self: self.cluster.units)
    @rule(data=st.data())
    def master_moves(self, data: st.DataObject) -> None:
        # nobody republishes yet: every bag now lags behind
        self.cluster.master = self._pick_unit(data)

    @precondition(lambda self: len(self.cluster.units) > 1)
    @rule(data=st.data())
    def failover_seen_by_some(self, data: st.DataObject) -> None:
        # VM PostgreSQL: units republish one by one after the primary moved (and dead ones never)
        self.cluster.master = self._pick_unit(data)
        seen = data.draw(st.sets(st.sampled_from(sorted(self.cluster.units))), label="seen by")
        for n in sorted(seen):
            self.cluster.refresh(n, self.request, self.clients)

    @precondition(lambda self: self.cluster.units)
    @rule(data=st.data())
    def master_key_vanishes(self, data: st.DataObject) -> None:
        # the reactive charm's failover interim: no master key until the new one publishes
        self.cluster.units[self._pick_unit(data)].view_master = None

    @precondition(lambda self: self.cluster.units)
    @rule(data=st.data())
    def server_unit_clears_bag(self, data: st.DataObject) -> None:
        self.cluster.units[self._pick_unit(data)].published = False

    @precondition(lambda self: self.cluster.units)
    @rule(data=st.data())
    def access_revoked(self, data: st.DataObject) -> None:
        u = self.cluster.units[self._pick_unit(data)]
        c = self._pick_client(data)
        u.granted = frozenset(g for g in u.granted if g[0] != c.name)

    @precondition(lambda self: self.cluster.units)
    @rule(data=st.data())
    def server_acts_without_granting(self, data: st.DataObject) -> None:
        self.cluster.units[self._pick_unit(data)].acted = self.request

    @rule()
    def password_rotated(self) -> None:
        self.cluster.password_gen += 1

    @precondition(lambda self: self.cluster.units)
    @rule(data=st.data())
    def app_bag_mirrors_unit(self, data: st.DataObject) -> None:
        self.cluster.app_mirror = self._pick_unit(data)
        self.cluster.app_frozen = None

    @precondition(lambda self: self.cluster.units)
    @rule(data=st.data())
    def app_bag_goes_stale(self, data: st.DataObject) -> None:
        self.cluster.freeze_app_bag(self._pick_unit(data))

    @rule()
    def app_bag_cleared(self) -> None:
        self.cluster.app_mirror = None
        self.cluster.app_frozen = None

    # -- the client application ---------------------------------------------------------------

    @precondition(lambda self: len(self.clients) < 4)
    @rule(kind=CLIENT_KINDS)
    def client_unit_joins(self, kind: str) -> None:
        self._add_client(kind)

    @precondition(lambda self: len(self.clients) > 1)
    @rule(data=st.data())
    def client_unit_departs(self, data: st.DataObject) -> None:
        c = data.draw(st.sampled_from(self.clients[1:]), label="departing client")
        self.clients.remove(c)
        del self.told[c.name], self.model_told[c.name], self.knows[c.name]

    @rule(request=REQUESTS)
    def request_changed(self, request: ModelRequest) -> None:
        self.request = request

    @rule(data=st.data())
    def request_knowledge_changes(self, data: st.DataObject) -> None:
        # a non-leader learns (peer data arrives) or cannot know (no peer relation, Juju 4)
        c = self._pick_client(data)
        self.knows[c.name] = c.name == self.clients[0].name or data.draw(st.booleans())

    @rule(data=st.data())
    def client_state_lost(self, data: st.DataObject) -> None:
        c = self._pick_client(data)
        self.told[c.name] = None
        self.model_told[c.name] = None

    @rule(data=st.data())
    def relation_broken_and_recreated(self, data: st.DataObject) -> None:
        c = self._pick_client(data)
        got = protocol.broken_transitions(self.told[c.name])
        assert list(got) == expected_broken_events(self.model_told[c.name])
        self.told[c.name] = None
        self.model_told[c.name] = None

    # -- the check after every step --------------------------------------------------------------

    @invariant()
    def every_client_unit_sees_what_the_model_says(self) -> None:
        app_bag = self.cluster.app_bag()
        unit_bags = self.cluster.unit_bags()
        for c in self.clients:
            known = self.request if self.knows[c.name] else None
            r = protocol.evaluate(
                to_request(known) if known is not None else None,
                c.name,
                c.juju_keys(),
                self.cluster.app,
                app_bag,
                unit_bags,
            )
            want = expected_view(self.cluster, c, known)
            got = view_of(r)
            assert got == want, f"{c.name}: got {got}, model says {want}"
            assert r.ready == want.ready
            assert r.ready or any(x.blocking for x in r.reasons), r.reasons
            assert_no_secret(r)
            events = protocol.transitions(self.told[c.name], r.snapshot())
            assert list(events) == expected_events(self.model_told[c.name], want), (
                c.name,
                self.model_told[c.name],
                want,
            )
            assert len(set(events)) == len(events)
            # coverage of the interesting states, shown by --hypothesis-show-statistics
            event("ready" if r.ready else "not ready")
            if r.source == self.cluster.app:
                event("master from the application bag")
            ready_masters = [
                unit_bags[b.bag]["master"]
                for b in r.bags
                if b.ready and b.publishes_master and not b.is_app
            ]
            if (
                len(ready_masters) > 2
                and len({str(ConnectionString(m)) for m in ready_masters}) > 1
            ):
                event("a majority vote between 3+ ready masters")
            if r.standbys and not r.ready:
                event("standbys without a master")
            for name in events:
                event(f"event {name}")
            self.told[c.name] = r.snapshot()
            self.model_told[c.name] = want


TestProtocolChaos = cast(Any, ProtocolMachine).TestCase
TestProtocolChaos.settings = chaos_settings(
    scaled(30, 400, 3000), steps=scaled(20, 40, 80), suppress_health_check=SLOW_OK
)


def test_majority_decides_between_lagging_bags() -> None:
    # The CI profile rarely draws this (PGSQL_TEST_PROFILE=long does): after a failover seen by
    # only some units, no ready bag claims to be the primary and two of three agree on a master
    # that is not the lowest unit's: the majority wins (pitfall 3), for master and standbys.
    c = Cluster()
    client = ClientUnit("myapp/0", "10.0.0.10", "10.0.0.10/32")
    for _ in range(3):
        c.add_unit()
    c.master = 9  # a unit that is gone: nobody's view names itself
    for n in (0, 1, 2):
        c.refresh(n, ModelRequest("mydb"), [client])
    c.units[0].view_master = 1  # the lowest unit, alone
    c.units[0].view_standbys = (2,)
    c.units[1].view_master = c.units[2].view_master = 0  # the majority
    c.units[1].view_standbys = c.units[2].view_standbys = (1,)
    assert not {state_of(u) for u in c.units.values()} & {"master", "standalone"}
    want = expected_view(c, client, ModelRequest("mydb"))
    r = protocol.evaluate(
        to_request(ModelRequest("mydb")), client.name, client.juju_keys(), c.app, {}, c.unit_bags()
    )
    assert want.master is not None
    assert dict(want.master)["host"] == "10.0.1.0"
    assert [dict(p)["host"] for p in want.standbys] == ["10.0.1.1"]
    assert view_of(r) == want
