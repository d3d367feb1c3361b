"""Servers and clients described in a state, and the relations ops.testing and Harness show.

The describing half of :mod:`pgsql.testing` (its documentation is there): :class:`Server` and
:class:`Client`, rendered by :func:`pgsql.protocol.server_databag`, and the ``scenario_*`` and
``harness_*`` helpers that put them on one unit's relation. Imports without Scenario; only the
``scenario_*`` helpers need it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Set, Tuple

from .. import protocol
from ..connstr import ConnectionString
from ..protocol import Request
from ._common import (
    endpoint_of,
    juju_keys,
    ops_testing,
    relation_of,
    run_bag_hooks,
    set_bag,
    unit_number,
)
from ._pick import PGSQL, pick_relation

if TYPE_CHECKING:  # pragma: no cover - names for type checkers only; Scenario may be absent
    from ops.testing import Harness, PeerRelation, Relation, State

__all__ = [
    "APP_BAGS",
    "FAILOVER",
    "FLAVOURS",
    "GONE",
    "JOINED",
    "NOT_GRANTED",
    "READY",
    "STATES",
    "PASSWORD",
    "UNIT_BAGS",
    "Client",
    "Server",
    "ServerBags",
    "harness_move",
    "harness_relation",
    "harness_requested",
    "peer_share",
    "requested",
    "scenario_apply",
    "scenario_move",
    "scenario_peer_relation",
    "scenario_relation",
]

JOINED = "joined"
NOT_GRANTED = "not-granted"
READY = "ready"
FAILOVER = "failover"
GONE = "gone"
#: Every server state :class:`Server` can describe.
STATES = (JOINED, NOT_GRANTED, READY, FAILOVER, GONE)

UNIT_BAGS = "unit-bags"
APP_BAGS = "app-bags"
#: Where the server writes: every unit's own bag, or the application bag plus the leader's.
FLAVOURS = (UNIT_BAGS, APP_BAGS)

#: The password in every connection string the helpers make up.
PASSWORD = "pgsql-testing-password"  # noqa: S105 - a test fixture value


@dataclass(frozen=True)
class Client:
    """Your application: its name, how many units it has, which one the test runs as.

    Attributes:
        app: the application name. In Scenario, the Context's ``app_name`` (by default the
            charm's name); the Harness helpers use the Harness's own names instead.
        units: how many units the application has (numbered from 0).
        unit: the number of the unit the test runs as.
        request: what the application asks for; what the server echoes unless told otherwise.
    """

    app: str = "myapp"
    units: int = 1
    unit: int = 0
    request: Request = field(default_factory=Request)

    def __post_init__(self) -> None:
        if self.units < 1 or self.unit < 0:
            raise ValueError(f"need units >= 1 and unit >= 0, not {self.units} and {self.unit}")
        if not isinstance(self.request, Request):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError("request must be a pgsql.Request (use Request.build(...))")

    @property
    def unit_name(self) -> str:
        """The name of the unit under test."""
        return f"{self.app}/{self.unit}"

    @property
    def unit_names(self) -> List[str]:
        """Every unit of the application (the unit under test included)."""
        names = [f"{self.app}/{n}" for n in range(self.units)]
        if self.unit_name not in names:
            names.append(self.unit_name)
        return names

    @staticmethod
    def address(number: int) -> str:
        """The address of client unit ``number``."""
        return f"192.0.2.{10 + number}"

    def unit_bag(self, name: str) -> Dict[str, str]:
        """Juju's keys for one of the application's units."""
        return juju_keys(self.address(unit_number(name)))

    def unit_bags(self) -> Dict[str, Dict[str, str]]:
        """Juju's keys for every unit of the application, by unit name."""
        return {name: self.unit_bag(name) for name in self.unit_names}


@dataclass(frozen=True)
class ServerBags:
    """What a server publishes: its application bag and each unit's bag (with Juju's keys)."""

    app: Dict[str, str]
    units: Dict[str, Dict[str, str]]

    def by_unit_id(self) -> Dict[int, Dict[str, str]]:
        """The unit bags keyed by unit number (Scenario's ``remote_units_data``)."""
        return {unit_number(name): dict(bag) for name, bag in self.units.items()}


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server application, in one state, as seen on a client's relation.

    Attributes:
        state: one of :data:`STATES`.
        flavour: :data:`UNIT_BAGS` or :data:`APP_BAGS`.
        app: the server application's name.
        units: how many server units there are.
        standbys: how many standbys are published; None means every non-primary unit.
        primary: the number of the unit serving the master (failover moves it).
        leader: the number of the server's leader unit (writes the :data:`APP_BAGS` bags).
        version: the published PostgreSQL version ("" publishes none).
        request: the request echoed back; None echoes what the client asked.
        granted: the client unit names granted access; None grants every client unit.
        database: the database provided when the client asked for the default; None means
            the client application name (what most servers do).
        port: the port in the connection strings.
    """

    state: str = READY
    flavour: str = UNIT_BAGS
    app: str = "postgresql"
    units: int = 1
    standbys: Optional[int] = None
    primary: int = 0
    leader: int = 0
    version: str = "12"
    request: Optional[Request] = None
    granted: Optional[Tuple[str, ...]] = None
    database: Optional[str] = None
    port: int = 5432

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, not {self.state!r}")
        if self.flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {', '.join(FLAVOURS)}, not {self.flavour!r}")
        if self.units < 1:
            raise ValueError("a server needs at least one unit")
        if not 0 <= self.primary < self.units or not 0 <= self.leader < self.units:
            raise ValueError(f"primary and leader must be unit numbers below {self.units}")
        if self.standbys is not None and self.standbys < 0:
            raise ValueError("standbys must be >= 0")
        if isinstance(self.granted, str):
            raise TypeError("granted must be a tuple of unit names, not a str")
        if self.granted is not None:
            object.__setattr__(self, "granted", tuple(self.granted))

    def evolve(self, **changes: Any) -> Server:
        """A copy with some attributes changed: ``server.evolve(state=FAILOVER, primary=1)``."""
        return dataclasses.replace(self, **changes)

    @property
    def unit_names(self) -> List[str]:
        """The server's unit names."""
        return [f"{self.app}/{n}" for n in range(self.units)]

    @staticmethod
    def address(number: int) -> str:
        """The address of server unit ``number``."""
        return f"198.51.100.{10 + number}"

    def _database(self, request: Request, client_app: str) -> str:
        return request.database or self.database or client_app

    def master(self, client: Client) -> ConnectionString:
        """The master connection string this server hands to ``client`` when ready."""
        echo = self.request if self.request is not None else client.request
        return ConnectionString(
            host=self.address(self.primary),
            port=str(self.port),
            dbname=self._database(echo, client.app),
            user=f"juju_{client.app}",
            password=PASSWORD,
        )

    def standby_list(self, client: Client) -> List[ConnectionString]:
        """The standby connection strings this server publishes for ``client``."""
        others = [n for n in range(self.units) if n != self.primary]
        count = len(others) if self.standbys is None else self.standbys
        numbers = (others + list(range(self.units, self.units + count)))[:count]
        master = self.master(client)
        return [master.replace(host=self.address(n)) for n in numbers]

    def databags(self, client: Client, request: Optional[Request] = None) -> ServerBags:
        """The server's bags on the relation with ``client``.

        Args:
            client: the client application (its units' egress decides ``allowed-subnets``).
            request: what the client published, echoed unless :attr:`request` is set;
                defaults to ``client.request``.
        """
        asked = request if request is not None else client.request
        echo = self.request if self.request is not None else asked
        units = {name: juju_keys(self.address(n)) for n, name in enumerate(self.unit_names)}
        if self.state in (JOINED, GONE):
            return ServerBags({}, units)
        client_bags = client.unit_bags()
        if self.state == NOT_GRANTED:
            granted: Dict[str, Dict[str, str]] = {}
        elif self.granted is None:
            granted = client_bags
        else:
            granted = {n: client.unit_bag(n) for n in self.granted}
        effective = dataclasses.replace(client, request=echo)
        payload = protocol.server_databag(
            echo,
            master=None if self.state == FAILOVER else self.master(effective),
            standbys=self.standby_list(effective),
            version=self.version or None,
            granted_units=granted,
            database=self._database(echo, client.app),
        )
        if self.flavour == APP_BAGS:
            leader = self.unit_names[self.leader]
            units[leader].update(payload)
            return ServerBags(dict(payload), units)
        for n, name in enumerate(self.unit_names):
            units[name].update(payload)
            units[name]["state"] = self._unit_state(n)
        return ServerBags({}, units)

    def _unit_state(self, n: int) -> str:
        if n != self.primary or self.state == FAILOVER:
            return "hot standby"
        return "master" if self.units > 1 else "standalone"


# ---------------------------------------------------------------------------------------------
# ops.testing (Scenario)
# ---------------------------------------------------------------------------------------------


def _client_bags(client: Client, published: bool) -> Tuple[Dict[str, str], Dict[str, str]]:
    want = client.request.databag() if published else {}
    return dict(want), {**client.unit_bag(client.unit_name), **want}


def scenario_relation(
    server: Server,
    client: Optional[Client] = None,
    *,
    endpoint: str = "db",
    published: bool = True,
    relation_id: Optional[int] = None,
) -> Relation:
    """An ``ops.testing.Relation`` with ``server`` on the other end, as ``client.unit`` sees it.

    Args:
        server: the server and its state.
        client: your application (default: one unit of ``myapp`` asking for the default).
        endpoint: your charm's ``requires`` endpoint.
        published: whether your application already wrote its request (the leader into the
            application bag, every unit into its own bag, as :class:`pgsql.PostgreSQLClient`
            does from relation-created); False leaves only Juju's keys.
        relation_id: the relation id (default: a fresh one).

    Example::

        db = scenario_relation(Server(units=3), Client(app="mycharm"))
        state = testing.State(leader=True, relations={db})
    """
    testing = ops_testing()
    client = client or Client()
    bags = server.databags(client)
    app_bag, unit_bag = _client_bags(client, published)
    kwargs: Dict[str, Any] = {} if relation_id is None else {"id": relation_id}
    relation: Relation = testing.Relation(
        endpoint,
        interface="pgsql",
        remote_app_name=server.app,
        local_app_data=app_bag,
        local_unit_data=unit_bag,
        remote_app_data=bags.app,
        remote_units_data=bags.by_unit_id(),
        **kwargs,
    )
    return relation


def peer_share(relation_ids: Mapping[int, Request], endpoint: str = "db") -> Dict[str, str]:
    """The peer application-bag entry in which a client leader shares its requests.

    :class:`pgsql.PostgreSQLClient` without a declarative request (the 1.x setters) tells
    non-leader units what the leader asked for through the peer relation; this is that entry.
    """
    table = {str(rid): req.databag() for rid, req in relation_ids.items()}
    return {f"pgsql-{endpoint}": json.dumps(table, sort_keys=True, separators=(",", ":"))}


def scenario_peer_relation(
    peer_endpoint: str,
    client: Optional[Client] = None,
    *,
    shared: Optional[Mapping[str, Relation]] = None,
) -> PeerRelation:
    """An ``ops.testing.PeerRelation`` with the other units of ``client`` as peers.

    Args:
        peer_endpoint: your charm's peer endpoint.
        client: your application (its other units become the peers).
        shared: ``{db endpoint: relation}`` whose request the leader already shared with
            non-leaders (needed by non-leader units of charms that request through the 1.x
            setters, ``event.database = ...``, rather than declaratively).

    Example::

        db = scenario_relation(Server(), client)
        peers = scenario_peer_relation("replicas", client, shared={"db": db})
        state = testing.State(leader=False, relations={db, peers})
    """
    testing = ops_testing()
    client = client or Client()
    app_bag: Dict[str, str] = {}
    for db_endpoint, rel in (shared or {}).items():
        app_bag.update(peer_share({rel.id: client.request}, db_endpoint))
    peers = {
        unit_number(name): client.unit_bag(name)
        for name in client.unit_names
        if name != client.unit_name
    }
    relation: PeerRelation = testing.PeerRelation(
        peer_endpoint,
        local_app_data=app_bag,
        local_unit_data=client.unit_bag(client.unit_name),
        peers_data=peers,
    )
    return relation


def _pgsql_relation(state: State, endpoint: Optional[str]) -> Relation:
    """The relation on ``endpoint``, else the only ``pgsql`` one (``db`` without interface)."""
    return pick_relation(state, endpoint, (PGSQL,), ("db",), ops_testing().Relation)


def requested(state: State, endpoint: Optional[str] = None) -> Request:
    """What your charm published as its request on ``endpoint`` (from an output State).

    The application bag when your leader wrote one, else the unit's own bag. Without
    ``endpoint``, the only ``pgsql`` relation in ``state``.
    """
    rel = _pgsql_relation(state, endpoint)
    return protocol.read_request(dict(rel.local_app_data), {"local/0": dict(rel.local_unit_data)})


def scenario_move(
    state: State, server: Server, client: Optional[Client] = None, *, endpoint: Optional[str] = None
) -> State:
    """``state`` with the server on ``endpoint`` moved to ``server``; your charm's bags are kept.

    The server echoes what your charm published in ``state`` (else ``client.request``), as a
    server reacting to it would. Run the event that follows (``relation_changed``) yourself.
    """
    client = client or Client()
    rel = _pgsql_relation(state, endpoint)
    asked = requested(state, rel.endpoint)
    bags = server.databags(client, asked if asked else None)
    moved = dataclasses.replace(
        rel,
        remote_app_name=server.app,
        remote_app_data=bags.app,
        remote_units_data=bags.by_unit_id(),
    )
    others = [r for r in state.relations if r.id != rel.id]
    new_state: State = dataclasses.replace(state, relations=[*others, moved])
    return new_state


def scenario_apply(
    ctx: Any,
    state: State,
    server: Server,
    client: Optional[Client] = None,
    *,
    endpoint: Optional[str] = None,
) -> State:
    """Move the server to ``server`` and run the hooks Juju would run on your unit.

    ``relation-departed`` for each server unit gone, ``relation-joined`` for each new one, then
    ``relation-changed`` for each server unit whose bag changed, in unit order. An application
    bag change is delivered as a ``relation-changed`` from the server's leader unit: Scenario
    always names a remote unit when there is one (Juju names none for application data).

    Args:
        ctx: your ``ops.testing.Context``.
        state: the State your charm is in (typically the output of the previous run).
        server: where the server goes.
        client: your application.
        endpoint: your charm's endpoint (default: the only ``pgsql`` relation in ``state``).

    Returns:
        The State after the last hook (``state`` itself when nothing changed).
    """
    before = _pgsql_relation(state, endpoint)
    endpoint = str(before.endpoint)
    target = relation_of(scenario_move(state, server, client, endpoint=endpoint), endpoint)
    return run_bag_hooks(ctx, state, endpoint, before, target, server.leader)[0]


# ---------------------------------------------------------------------------------------------
# Harness
# ---------------------------------------------------------------------------------------------


def _harness_client(harness: Harness[Any], client: Optional[Client]) -> Client:
    base = client or Client()
    unit = harness.model.unit.name
    units = max(base.units, unit_number(unit) + 1)
    return dataclasses.replace(
        base, app=harness.model.app.name, unit=unit_number(unit), units=units
    )


def harness_requested(harness: Harness[Any], relation_id: int) -> Request:
    """What the charm under test published as its request on a relation."""
    app_bag = dict(harness.get_relation_data(relation_id, harness.model.app.name))
    unit_bag = dict(harness.get_relation_data(relation_id, harness.model.unit.name))
    return protocol.read_request(app_bag, {"local/0": unit_bag})


def harness_relation(
    harness: Harness[Any],
    server: Server,
    client: Optional[Client] = None,
    *,
    endpoint: str = "db",
) -> int:
    """Relate the charm under test to ``server``, the way Juju would; returns the relation id.

    Adds the relation (relation-created), gives this unit Juju's keys, adds the server units
    (relation-joined) and then the server's bags (relation-changed). The server echoes what the
    charm published by then (else ``client.request``). ``client.app`` and ``client.unit`` come
    from the Harness; ``client.units`` sets how many client units the server grants.
    """
    client = _harness_client(harness, client)
    relation_id: int = harness.add_relation(endpoint, server.app)
    harness.update_relation_data(relation_id, client.unit_name, client.unit_bag(client.unit_name))
    for name in server.unit_names:
        harness.add_relation_unit(relation_id, name)
    harness_move(harness, relation_id, server, client)
    return relation_id


def harness_move(
    harness: Harness[Any], relation_id: int, server: Server, client: Optional[Client] = None
) -> None:
    """Move the server on ``relation_id`` to ``server``: units added or removed, bags updated.

    Only what differs is written (one relation-changed per changed bag), as Juju would.
    """
    client = _harness_client(harness, client)
    asked = harness_requested(harness, relation_id)
    bags = server.databags(client, asked if asked else None)
    relation = harness.model.get_relation(endpoint_of(harness, relation_id), relation_id)
    present: Set[str] = {u.name for u in relation.units} if relation is not None else set()
    for name in sorted(present - set(bags.units), key=protocol.unit_sort_key):
        harness.remove_relation_unit(relation_id, name)
    for name in sorted(set(bags.units) - present, key=protocol.unit_sort_key):
        harness.add_relation_unit(relation_id, name)
    set_bag(harness, relation_id, server.app, bags.app)
    for name in sorted(bags.units, key=protocol.unit_sort_key):
        set_bag(harness, relation_id, name, bags.units[name])
