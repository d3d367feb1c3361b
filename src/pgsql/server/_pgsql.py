"""The provides side of the ``pgsql`` interface, for PostgreSQL charms and proxies (pgbouncer).

A server charm declares ``provides: db: {interface: pgsql}`` and::

    import pgsql

    class MyPostgreSQLCharm(ops.CharmBase):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework)
            self.db = pgsql.PostgreSQLServer(self, "db")
            self.framework.observe(self.db.on.request_changed, self._on_request_changed)

        def _on_request_changed(self, event: pgsql.ClientRequestChangedEvent) -> None:
            request = event.request  # what the client application asked for, read now
            database = request.database or event.app.name  # the usual default
            user, password = self.provision(database, request.roles, request.extensions)
            self.db.publish(
                event.relation,
                master=pgsql.ConnectionString(
                    host=self.primary_ip, port=5432, dbname=database,
                    user=user, password=password,
                ),
                standbys=[...],  # one ConnectionString per hot standby
                version="16",
                database=database,
            )

:meth:`PostgreSQLServer.publish` writes exactly what the protocol says
(:func:`pgsql.protocol.server_databag`): the echo of the request, ``allowed-subnets`` and
``allowed-units`` for the granted client units, ``master``, newline-separated ``standbys`` and
``version``, into this unit's bag and, on the leader, the application bag. It rewrites only keys
whose value differs, so calling it from every hook (failover, standby added, leader elected, ...)
is cheap and causes no relation-changed storm. :meth:`PostgreSQLServer.revoke` withdraws it all.

``request_changed`` fires when what should be published changes on the client side: the
consolidated request (the client application bag, else its lowest-numbered unit's bag; both
extension-schema syntaxes) or the set of client units and their egress subnets (so ``allowed-*``
can follow scale-up and scale-down). Your own topology changes (failover, a new standby, this unit
becoming leader) are yours to act on: call :meth:`~PostgreSQLServer.publish` again for every
relation in :attr:`~PostgreSQLServer.relations`.

Malformed client data never raises: unusable request items (a database name with a newline, a
malformed extension) are dropped from :attr:`ClientRequestChangedEvent.request` and listed in
:attr:`ClientRequestChangedEvent.problems`.
"""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import Dict, Iterable, List, Mapping, Optional, Tuple, Union

from ops.charm import CharmBase, RelationEvent
from ops.framework import EventSource, Object, ObjectEvents, StoredState
from ops.model import Relation, Unit

from .. import protocol
from ..connstr import ConnectionString, mask_value
from ..protocol import Request, RequestError, mask_in_message, mask_userinfo
from ._endpoint import (
    Answer,
    AnswersFrom,
    Endpoint,
    Fingerprint,
    check_provides,
    digest_of,
    read_bag,
    remote_app,
)

__all__ = [
    "PUBLISHED_KEYS",
    "ClientRelationBrokenEvent",
    "ClientRelationEvent",
    "ClientRequestChangedEvent",
    "PostgreSQLServer",
    "PostgreSQLServerEvents",
]

# The logger keeps the name of the module this class was first published in, which charms
# may already configure.
log = logging.getLogger("pgsql.server")

#: The keys :meth:`PostgreSQLServer.publish` manages; any other key (Juju's, or ``host``/``port``
#: a charm writes for very old clients) is left alone.
PUBLISHED_KEYS: Tuple[str, ...] = (
    *protocol.REQUEST_KEYS,
    "allowed-subnets",
    "allowed-units",
    "master",
    "standbys",
    "version",
    "state",
)
# ``state`` describes one server unit: it goes into unit bags only.
_UNIT_ONLY_KEYS = frozenset({"state"})
_MAX_PROBLEM = 200


def _clip(text: str) -> str:
    text = mask_value(text)
    return text if len(text) <= _MAX_PROBLEM else text[: _MAX_PROBLEM - 3] + "..."


def _sanitise(raw: Request) -> Tuple[Request, Tuple[str, ...]]:
    """Drop request items a client library would have refused (remote data never raises)."""
    problems: List[str] = []
    database = raw.database
    if database:
        try:
            Request.build(database=database)
        except RequestError as e:
            problems.append(
                _clip(f"ignored the database request: {mask_in_message(str(e), database)}")
            )
            database = ""
    roles: List[str] = []
    for role in raw.roles:
        try:
            Request.build(roles=[role])
        except RequestError as e:
            problems.append(_clip(f"ignored a role: {mask_in_message(str(e), role)}"))
        else:
            roles.append(role)
    extensions: List[str] = []
    for ext in raw.extensions:
        try:
            Request.build(extensions=[ext])
        except RequestError as e:
            problems.append(_clip(f"ignored an extension: {mask_in_message(str(e), ext)}"))
        else:
            extensions.append(ext)
    return Request(database, tuple(roles), tuple(extensions)), tuple(problems)


def _of_app(relation: Relation, unit: Unit) -> bool:
    app = remote_app(relation)
    return app is None or unit.app.name == app.name


def _client_unit_bags(
    relation: Relation, departing: Optional[str] = None
) -> Dict[str, Dict[str, str]]:
    return {
        unit.name: read_bag(relation, unit)
        for unit in relation.units
        if unit.name != departing and _of_app(relation, unit)
    }


def _read(relation: Relation, departing: Optional[str] = None) -> Tuple[Request, Tuple[str, ...]]:
    raw = protocol.read_request(
        read_bag(relation, remote_app(relation)), _client_unit_bags(relation, departing)
    )
    return _sanitise(raw)


class ClientRelationEvent(RelationEvent):
    """Base of the server events: ``relation``, ``app`` (the client application), ``unit``.

    The request is read from the relation when accessed, so a deferred event sees current data.
    """

    @property
    def request(self) -> Request:
        """What the client application asks for now (unusable items dropped)."""
        return _read(self.relation)[0]

    @property
    def problems(self) -> Tuple[str, ...]:
        """Why parts of the client's request were ignored (empty when all is well)."""
        return _read(self.relation)[1]


class ClientRequestChangedEvent(ClientRelationEvent):
    """A client application's request, or its set of units, appeared or changed.

    Handle it by provisioning what :attr:`~.ClientRelationEvent.request` asks for and calling
    :meth:`PostgreSQLServer.publish`.
    """


class ClientRelationBrokenEvent(ClientRelationEvent):
    """A client application is leaving: its relation is going away (relation-broken).

    Revoke the client's access and drop its user if your charm does that. Not emitted on a unit
    that is itself being removed (its relation-departed named itself): the relation goes on with
    the other units. :attr:`~.ClientRelationEvent.request` is usually empty here: the client's
    data may no longer be readable.
    """


class PostgreSQLServerEvents(ObjectEvents):
    """Events emitted by :class:`PostgreSQLServer`."""

    request_changed = EventSource(ClientRequestChangedEvent)
    relation_broken = EventSource(ClientRelationBrokenEvent)


class PostgreSQLServer(Object):
    """The ``pgsql`` provides endpoint of a server charm.

    Args:
        charm: the charm.
        relation_name: a ``provides`` endpoint of the charm, e.g. ``db`` or ``db-admin``.

    Raises:
        ValueError: the charm has no such ``provides`` endpoint.
    """

    on = PostgreSQLServerEvents()  # pyright: ignore[reportAssignmentType]
    _stored = StoredState()

    def __init__(self, charm: CharmBase, relation_name: str):
        super().__init__(charm, relation_name)
        interface = _PgsqlInterface()
        check_provides(charm, relation_name, "PostgreSQLServer", interface)
        self._relation_name = relation_name
        self._endpoint = Endpoint(
            self,
            charm,
            relation_name,
            interface=interface,
            stored=self._stored,
            request_changed=self.on.request_changed,
            relation_broken=self.on.relation_broken,
            log=log,
        )

    @property
    def relation_name(self) -> str:
        """The endpoint this object serves."""
        return self._relation_name

    @property
    def relations(self) -> List[Relation]:
        """The live relations on this endpoint (a relation being broken is left out)."""
        return self._endpoint.relations

    # ---- reading --------------------------------------------------------------------------

    def request(self, relation: Relation) -> Request:
        """What the client application on ``relation`` asks for, read now.

        The client application bag wins; else the lowest-numbered client unit's bag (older
        clients write only unit bags). Unusable items are dropped (see :meth:`request_problems`).

        Raises:
            TypeError, ValueError: ``relation`` is not a relation of this endpoint.
        """
        self._endpoint.check_relation(relation)
        return _read(relation, self._endpoint.departing)[0]

    def request_problems(self, relation: Relation) -> Tuple[str, ...]:
        """Why parts of the client's request on ``relation`` were ignored (empty when fine).

        Raises:
            TypeError, ValueError: ``relation`` is not a relation of this endpoint.
        """
        self._endpoint.check_relation(relation)
        return _read(relation, self._endpoint.departing)[1]

    def client_units(self, relation: Relation) -> List[Unit]:
        """The client units on ``relation``, in numeric order (a departing unit is left out).

        Raises:
            TypeError, ValueError: ``relation`` is not a relation of this endpoint.
        """
        self._endpoint.check_relation(relation)
        units = [
            u for u in relation.units if u.name != self._endpoint.departing and _of_app(relation, u)
        ]
        return sorted(units, key=lambda u: protocol.unit_sort_key(u.name))

    # ---- writing --------------------------------------------------------------------------

    def publish(
        self,
        relation: Relation,
        *,
        master: Optional[ConnectionString],
        standbys: Iterable[ConnectionString] = (),
        version: Optional[str] = None,
        database: Optional[str] = None,
        state: Optional[str] = None,
        granted_units: Optional[Iterable[Union[Unit, str]]] = None,
        request: Optional[Request] = None,
    ) -> bool:
        """Publish connection details for the client on ``relation``.

        Writes this unit's bag and, on the leader, the application bag (without ``state``,
        which describes one unit). Only keys whose value differs are written; keys this method
        manages (:data:`PUBLISHED_KEYS`) that no longer apply are deleted; other keys are kept.

        Args:
            relation: a relation of this endpoint.
            master: the master database, or None while there is none (failover).
            standbys: the hot standbys (read-only replicas).
            version: the PostgreSQL version, e.g. ``"16"`` or ``"14.15"``.
            database: the database provided when the client asked for the default (most
                servers use the client application name); ignored when it asked for one.
            state: ``master``, ``standalone`` or ``hot standby`` for this unit, if known.
            granted_units: the client units (or unit names) whose access is configured; None
                grants every client unit now on the relation. Names no longer on the relation
                are skipped.
            request: the request acted upon, echoed back; None echoes the current request.

        Returns:
            True when a databag was changed.

        Raises:
            TypeError: a value has the wrong type (``master`` must be a ConnectionString or
                None, ``standbys`` an iterable of them, ``version``/``database``/``state`` str).
            ValueError: ``relation`` belongs to another endpoint, ``granted_units`` names a unit
                of another application, or ``database`` is not a valid name.
        """
        self._endpoint.check_relation(relation)
        _check_master(master)
        standby_list = self._check_standbys(standbys)
        _check_texts(version=version, database=database, state=state)
        acted = self._acted_request(relation, request)
        granted = self._granted_bags(relation, granted_units)
        bag = protocol.server_databag(
            acted,
            master=master,
            standbys=standby_list,
            version=version or None,
            granted_units=granted,
            database=database or None,
            state=state or None,
        )
        app_bag = {k: v for k, v in bag.items() if k not in _UNIT_ONLY_KEYS}
        return self._endpoint.apply(relation, Answer(unit=bag, app=app_bag))

    def revoke(self, relation: Relation) -> bool:
        """Withdraw everything :meth:`publish` wrote on ``relation`` (the client stops being ready).

        Returns:
            True when a databag was changed.

        Raises:
            TypeError, ValueError: ``relation`` is not a relation of this endpoint.
        """
        self._endpoint.check_relation(relation)
        return self._endpoint.apply(relation, Answer(unit={}, app={}))

    # ---- internals ------------------------------------------------------------------------

    def _acted_request(self, relation: Relation, request: Optional[Request]) -> Request:
        """The request ``publish`` echoes: the one given, else the client's current one."""
        if request is None:
            return self.request(relation)
        if not isinstance(request, Request):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"request must be a pgsql.Request or None, not {type(request).__name__}"
            )
        return request

    @staticmethod
    def _check_standbys(standbys: Iterable[ConnectionString]) -> List[ConnectionString]:
        if isinstance(standbys, (str, ConnectionString)):
            raise TypeError(
                "standbys must be an iterable of pgsql.ConnectionString, not a single "
                f"{type(standbys).__name__}; pass [standby]"
            )
        out: List[ConnectionString] = []
        for cs in standbys:
            if not isinstance(cs, ConnectionString):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(
                    f"standbys must hold pgsql.ConnectionString items, not {type(cs).__name__}"
                )
            if cs not in out:
                out.append(cs)
        return out

    def _granted_bags(
        self, relation: Relation, granted: Optional[Iterable[Union[Unit, str]]]
    ) -> Dict[str, Dict[str, str]]:
        present = {u.name: u for u in self.client_units(relation)}
        if granted is None:
            return {name: read_bag(relation, unit) for name, unit in present.items()}
        if isinstance(granted, (str, Unit)):
            raise TypeError("granted_units must be an iterable of units or unit names; pass [unit]")
        out: Dict[str, Dict[str, str]] = {}
        for item in granted:
            name = _granted_name(relation, item)
            unit = present.get(name)
            if unit is None:
                log.debug("not granting %s: no longer on relation %s", name, relation.id)
                continue
            out[name] = read_bag(relation, unit)
        return out


def _granted_name(relation: Relation, item: Union[Unit, str]) -> str:
    """The name of a granted unit, which must be one of the client application's."""
    name = item.name if isinstance(item, Unit) else item
    if not isinstance(name, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"granted_units items must be units or str, not {type(item).__name__}")
    app = remote_app(relation)
    if app is not None and name.rpartition("/")[0] != app.name:
        raise ValueError(
            f"cannot grant {mask_userinfo(name)!r} on relation {relation.name}:{relation.id}: "
            f"the client application is {app.name!r}"
        )
    return name


def _check_master(master: Optional[ConnectionString]) -> None:
    if master is not None and not isinstance(master, ConnectionString):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            f"master must be a pgsql.ConnectionString or None, not {type(master).__name__}; "
            "wrap the value: pgsql.ConnectionString(text) or pgsql.ConnectionString(host=...)"
        )


def _check_texts(**values: Optional[str]) -> None:
    """``version``, ``database`` and ``state`` are str or None, and ``database`` a valid name."""
    for name, value in values.items():
        if value is not None and not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
    database = values.get("database")
    if database:
        try:
            Request.build(database=database)
        except RequestError as e:  # a ValueError; the name quoted masked, as everywhere
            raise RequestError(mask_in_message(str(e), database)) from None


class _PgsqlInterface:
    """What a ``pgsql`` endpoint reads and manages (see :class:`pgsql.server._endpoint.Interface`).

    Every server unit answers in its own bag, for the client units it sees: ``allowed-units``
    and ``allowed-subnets`` follow them joining and departing.
    """

    name = "pgsql"
    #: none: it serves whatever ``provides`` endpoint it is given, as it always has
    served_elsewhere: Mapping[str, str] = MappingProxyType({})
    managed_keys: Tuple[str, ...] = PUBLISHED_KEYS
    answers_from = AnswersFrom.EVERY_UNIT

    def fingerprint(self, relation: Relation, departing: Optional[str], known: bool) -> Fingerprint:
        unit_bags = _client_unit_bags(relation, departing)
        raw = protocol.read_request(read_bag(relation, remote_app(relation)), unit_bags)
        request, problems = _sanitise(raw)
        if not known and not unit_bags and not request:
            return Fingerprint(None, problems)  # nothing to act on yet
        # once acted on, a client with no units left is news too: its grants must go
        return Fingerprint(_digest(request, unit_bags), problems)

    def stale(self, relation: Relation) -> bool:
        return False  # the answer is all in the bags: rewriting it is the charm's every hook

    def on_broken(self, relation: Relation) -> None:
        pass  # nothing of the client's is kept here: the charm revokes what it provisioned


def _digest(request: Request, unit_bags: Mapping[str, Mapping[str, str]]) -> str:
    """Fingerprint of what the client side contributes to a publication (no secrets)."""
    subnets, units = protocol.access_grant(unit_bags)
    return digest_of([request.databag(), subnets, units])
