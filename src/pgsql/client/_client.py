"""The requires side: :class:`PostgreSQLClient`, the facade.

The facade holds the public API, the events and the hook lifecycle: every handler and accessor
enters one scope (:class:`pgsql.client._session.Session`), and the work is done behind it by
collaborators: :mod:`._judging` (verdicts, the known request), :mod:`._telling` (events),
:mod:`._requesting` (the request and its publication, the 1.x shared copy) and
:mod:`._lifecycle` (each hook's body). What differs per interface is one wire per endpoint
(:mod:`._wire`), chosen here once from the endpoint's ``interface:`` (:data:`WIRES`). The 1.x
helpers that charms' tests patch live in :mod:`pgsql.client` and are looked up there when used
(:func:`pgsql.client._compat.legacy`); the 1.x methods they patch (``_on_joined``,
``_mirror_appdata``) stay here, looked up on the class when an event runs.
"""

from __future__ import annotations

import functools
import importlib
import logging
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
    cast,
)

import ops.charm
import ops.framework
from ops.model import Relation

from ..connstr import ConnectionString
from ..protocol import Request
from ._events import CLIENTS, PostgreSQLClientEvents
from ._judging import ENDPOINT_CONFLICT, Judging
from ._lifecycle import Lifecycle, observe_every_hook
from ._requesting import Names, NotLeaderError, Requesting
from ._session import Session, pick_peer
from ._telling import Telling
from ._wire import Wire

if TYPE_CHECKING:  # pragma: no cover - loaded with a relation's first evaluation
    from ..protocol import Readiness

__all__ = ["ENDPOINT_CONFLICT", "NotLeaderError", "PostgreSQLClient", "WIRES"]


#: The interfaces a client endpoint may speak (its ``interface:`` in the charm's metadata).
PGSQL = "pgsql"
POSTGRESQL_CLIENT = "postgresql_client"

#: The wire of each interface (see :mod:`pgsql.client._wire`); another interface is a line here.
#: A wire is named ``"module:Class"`` (imported when an endpoint speaks it: a charm's hooks never
#: load the interface its endpoints do not speak) or given as the class itself.
WIRES: Dict[str, Union[Type[Wire], str]] = {
    PGSQL: "pgsql.client._pgsql:PgsqlWire",
    POSTGRESQL_CLIENT: "pgsql.client._postgresql_client:PostgresqlClientWire",
}


def wire_class(interface: str) -> Type[Wire]:
    """The wire class of ``interface`` (``pgsql`` for an interface it does not know)."""
    entry = WIRES.get(interface, WIRES[PGSQL])
    if not isinstance(entry, str):
        return entry
    module, _, name = entry.partition(":")
    return cast("Type[Wire]", getattr(importlib.import_module(module), name))


_F = TypeVar("_F", bound=Callable[..., Any])


def _entry(method: _F) -> _F:
    """Run a handler or accessor inside the client's scope (:meth:`Session.entered`)."""

    @functools.wraps(method)
    def entered(self: PostgreSQLClient, *args: Any, **kwargs: Any) -> Any:
        with self._session.entered():  # pyright: ignore[reportPrivateUsage]
            return method(self, *args, **kwargs)

    return cast("_F", entered)


def _hook(name: str, step: str) -> Callable[[PostgreSQLClient, ops.framework.EventBase], None]:
    """A hook handler of the facade: enter the scope, begin, hand the event to the lifecycle.

    Named ``name`` as the class attribute it becomes: ops records an observer by its method's
    ``__name__`` (deferred events are re-run through it).
    """

    def handler(self: PostgreSQLClient, event: ops.framework.EventBase) -> None:
        with self._session.entered():  # pyright: ignore[reportPrivateUsage]
            lifecycle = self._lifecycle  # pyright: ignore[reportPrivateUsage]
            lifecycle.begin()
            getattr(lifecycle, step)(event)

    handler.__name__ = handler.__qualname__ = name
    return handler


class PostgreSQLClient(ops.framework.Object):
    """Requires side of a ``pgsql`` or ``postgresql_client`` endpoint.

    The endpoint's ``interface:`` in the charm's metadata chooses the protocol: ``pgsql`` (the
    ``db`` endpoints of PostgreSQL 14 and older, PgBouncer) or ``postgresql_client`` (v0 of the
    data_interfaces protocol, the ``database`` endpoint of every Charmed PostgreSQL and
    PgBouncer; PostgreSQL 16 speaks nothing else). The API and the events are the same.

    Args:
        charm: the charm.
        relation_name: the endpoint in ``metadata.yaml`` (``requires: db: {interface: pgsql}``),
            or several endpoints served by this one client, e.g. ``("db", "database")`` while a
            charm migrates from ``pgsql`` to ``postgresql_client``: events, accessors and the
            request cover both. When both are related at once, the older relation is served
            and the newer one is not ready (reason ``endpoint-conflict``) until the older one
            is removed.
        database: declarative request: the database to ask for (``""``: the server's default;
            most servers use the client application name, some never provision without a name).
        roles: declarative request: roles for the database user (a str is one role).
        extensions: declarative request: extensions (``name``, ``name:schema``).
        peer: the peer endpoint used to tell non-leaders what the leader requested through the
            1.x setters; None picks the charm's only peer endpoint, ``""`` uses none.
        external: ``postgresql_client`` only: the application runs outside the model's network
            (``external-node-connectivity``: PgBouncer then publishes a reachable address).
        username: ``postgresql_client`` only, declarative: the database user to create
            (PostgreSQL 16; the leader hands it over in a Juju secret, ``requested-entity-secret``,
            removed once the provider answered). The provider generates the password. A
            provider answering with another user is not ready (``user-mismatch``).

    Giving any of ``database``, ``roles`` or ``extensions`` makes the request declarative: every
    unit publishes it (the leader to the application databag, every unit to its own databag)
    from relation-created on, and again whenever it changes. Without them, the leader requests
    through the 1.x event setters (``event.database = ...``).

    On ``postgresql_client``, the leader publishes the request (``database``,
    ``extra-user-roles`` from the roles, ``requested-secrets`` naming every credential field so
    that a provider with Juju secrets never publishes a password in clear) into the
    application databag once a database name is known; extensions cannot be requested there
    (readiness names the server's config option instead). Credentials are read from the
    provider's Juju secrets, else from its databag; a password or CA rotated inside a secret
    is a ``master_changed``. :attr:`Readiness.tls` and :attr:`Readiness.tls_ca` (also on the
    events, and :meth:`tls_ca`) say whether the server requires TLS and with which CA.

    Raises:
        pgsql.protocol.RequestError: an invalid declarative request.
        ValueError: ``peer`` names no peer endpoint of the charm, or ``relation_name`` is empty.

    Attributes:
        on: the eleven 1.x events (:class:`PostgreSQLClientEvents`).
        relation_name: the (first) endpoint name.
        relation_names: every endpoint this client serves.
        log: the logger, ``pgsql.client.<relation_name>``.
    """

    on = PostgreSQLClientEvents()  # pyright: ignore[reportAssignmentType]
    _state = ops.framework.StoredState()

    def __init__(
        self,
        charm: ops.charm.CharmBase,
        relation_name: Union[str, Sequence[str]],
        *,
        database: Optional[str] = None,
        roles: Names = None,
        extensions: Names = None,
        peer: Optional[str] = None,
        external: bool = False,
        username: Optional[str] = None,
    ):
        names = (relation_name,) if isinstance(relation_name, str) else tuple(relation_name)
        given = cast("Tuple[object, ...]", names)
        if not given or not all(isinstance(n, str) and n for n in given):
            raise ValueError(f"PostgreSQLClient needs an endpoint name, not {relation_name!r}")
        super().__init__(charm, names[0])
        self.relation_name = names[0]
        self.relation_names: Tuple[str, ...] = tuple(dict.fromkeys(names))
        self.log = logging.getLogger(f"pgsql.client.{self.relation_name}")
        self._state.set_default(
            rels={},
            declared=None,  # the declaration last published and told
            requested=None,  # the last request() declaration: it outlives the hook
            was_leader=None,
            shared=None,
            peer_raw=None,
            gone={},
        )
        self._peer_name = pick_peer(charm, peer)
        s = self._session = Session(
            self.model, self.log, self._state, self.relation_names, self._peer_name
        )
        self._seen = s.seen  # read by events re-run later (pgsql.client._events)
        # One wire per endpoint, chosen here from its interface and never asked again
        meta = charm.meta.relations
        for n in self.relation_names:
            interface = (meta[n].interface_name if n in meta else None) or PGSQL
            s.wires[n] = wire_class(interface)(s.host, external=bool(external))
        self._judging = Judging(s)
        self._telling = Telling(
            s,
            self._judging,
            self.on,
            # looked up at call time: tests patch _mirror_appdata on the class
            mirror=lambda relation: self._mirror_appdata(relation),  # noqa: PLW0108
            joined_patched=lambda: type(self)._on_joined is not _ON_JOINED,
            watch_update_status=lambda: self.framework.observe(
                charm.on.update_status, self._handle_update_status
            ),
            after_emission=lambda: self._requesting.after_emission(),  # noqa: PLW0108 (built next)
        )
        self._requesting = Requesting(
            s,
            self._judging,
            self._telling,
            charm,
            lambda: observe_every_hook(charm, self._handle_any),
        )
        self._lifecycle = Lifecycle(s, self._judging, self._telling, self._requesting)
        self._requesting.declare_initial(database, roles, extensions, username)
        self._observe_hooks(charm)
        if self._requesting.declared_pending():
            self._requesting.tell_at_first_event()

    def _observe_hooks(self, charm: ops.charm.CharmBase) -> None:
        """Observe the endpoints' relation hooks and the other hooks the client follows."""
        observe = self.framework.observe
        for name in self.relation_names:
            CLIENTS[(id(self.framework), name)] = self
            on = charm.on[name]
            observe(on.relation_created, self._handle_created)
            observe(on.relation_joined, self._handle_joined)
            observe(on.relation_changed, self._handle_changed)
            observe(on.relation_departed, self._handle_departed)
            observe(on.relation_broken, self._handle_broken)
        if any("secret-changed" in wire.hooks for wire in self._session.wires.values()):
            observe(charm.on.secret_changed, self._handle_secret_changed)
            if self._telling.waiting_for_grant():
                self._telling.watch_grants()
        observe(charm.on.upgrade_charm, self._handle_upgrade_charm)
        observe(charm.on.leader_elected, self._handle_leader_elected)
        observe(charm.on.leader_settings_changed, self._handle_leader_settings_changed)
        observe(charm.on.config_changed, self._handle_config_changed)
        if self._peer_name:
            observe(charm.on[self._peer_name].relation_changed, self._handle_peer_changed)

    # -- public accessors ---------------------------------------------------------------------

    @_entry
    def request(
        self,
        database: Optional[str] = None,
        roles: Names = None,
        extensions: Names = None,
        username: Optional[str] = None,
    ) -> None:
        """Declare what the application requests, from any unit and any hook.

        Same meaning as the constructor's arguments. The declaration lasts, across hooks, until
        the charm declares another (or passes arguments to the constructor). When it differs from
        what was last published, it is published to every relation of the endpoint (and from
        relation-created on to new ones), and the events it causes (an echo now matching, or a
        master no longer serving the requested database) are emitted. Called while an event is
        being handled (or from test code), that happens at once; called from the charm's
        ``__init__``, it happens at the hook's first event, whichever it is, once the charm's
        observers are all registered.

        Raises:
            pgsql.protocol.RequestError: a name is invalid (not a str, empty, or containing a
                comma or newline; a malformed extension; a user name on ``pgsql``, one
                PostgreSQL 16 refuses, or on a Juju without secrets).
        """
        self._requesting.declare(Request.build(database, roles, extensions, username))

    def relation(self) -> Optional[Relation]:
        """The endpoint's only relation, or None.

        With several endpoints (a charm migrating from ``db`` to ``database``), the relation
        served: the oldest one when both endpoints are related.

        Raises:
            ops.model.TooManyRelatedAppsError: an endpoint has several relations.
        """
        return self._session.relation()

    def interface(self, relation: Relation) -> str:
        """The interface a relation of this client speaks: ``pgsql`` or ``postgresql_client``."""
        return self._session.wire(relation).interface

    def readiness(self, relation: Optional[Relation] = None) -> Optional[Readiness]:
        """The verdict for a relation (default: the only one), or None when there is none.

        It needs no event: call it from collect-status (``ops >= 2.5``)::

            def _on_collect_status(self, event: ops.CollectStatusEvent):
                r = self.db.readiness()
                if r is None:
                    event.add_status(ops.BlockedStatus("needs a database relation"))
                elif not r.ready:
                    event.add_status(ops.WaitingStatus(f"database: {r.why}"))

        ``why`` says what is missing: the server has not granted this unit's egress yet, it has
        not echoed the requested database or extensions yet, it ignores roles, it serves another
        database than requested, and so on; ``reasons`` has the codes.

        On ``postgresql_client`` the verdict the charm was last told is kept between hooks,
        without its connection strings (no password is stored): in a hook that brings no new
        data from the provider (update-status, config-changed, another provider unit joining or
        leaving) this reads nothing, and ``master`` and ``standbys`` are read when first used
        (None and empty if the provider withdrew its answer since, its relation-changed still
        queued; :meth:`is_ready` reads the master, so it and :meth:`master` always agree).
        The relation's relation-changed, secret-changed, upgrade-charm, a changed request, the
        provider's units appearing or all gone, and a secret still waiting for its grant judge
        the relation again from live data. (Juju runs relation-changed for every change of the
        provider's data, so between two of them the verdict stands.)
        """
        rel = relation if relation is not None else self.relation()
        return None if rel is None else self.readiness_of(rel)

    def master(self, relation: Optional[Relation] = None) -> Optional[ConnectionString]:
        """The master connection string of a relation (default: the only one), or None."""
        r = self.readiness(relation)
        return None if r is None else r.master

    def standbys(self, relation: Optional[Relation] = None) -> List[ConnectionString]:
        """The standby connection strings of a relation (default: the only one)."""
        r = self.readiness(relation)
        return [] if r is None else list(r.standbys)

    def version(self, relation: Optional[Relation] = None) -> Optional[str]:
        """The PostgreSQL version published on a relation (default: the only one), or None."""
        r = self.readiness(relation)
        return None if r is None else r.version

    def is_ready(self, relation: Optional[Relation] = None) -> bool:
        """Whether a relation (default: the only one) provides a usable master database."""
        r = self.readiness(relation)
        # a verdict kept from an earlier hook reads its master here: is_ready() and master()
        # agree even if the provider withdrew its answer since (its relation-changed queued)
        return r is not None and r.ready and r.master is not None

    def tls_ca(self, relation: Optional[Relation] = None) -> Optional[str]:
        """The CA certificate (PEM) the server published (``postgresql_client``), or None."""
        r = self.readiness(relation)
        return None if r is None else r.tls_ca

    @_entry
    def readiness_of(self, relation: Relation) -> Readiness:
        """The verdict for a given relation (see :meth:`readiness`)."""
        return self._judging.readiness_of(relation)

    @_entry
    def requested(self, relation: Relation) -> Optional[Request]:
        """What the application requested on a relation, as far as this unit can know.

        None when it cannot know (a non-leader with neither a peer relation nor leadership
        settings): readiness then trusts what the server echoes.
        """
        return self._judging.requested(relation)

    @_entry
    def is_gone(self, relation: Relation) -> bool:
        """Whether a relation is being removed or was removed (relation-broken seen)."""
        return self._judging.is_gone(relation)

    @_entry
    def last_database(self, relation: Relation) -> Optional[str]:
        """The last database this unit knew for a relation, even once the relation is gone.

        For a unit that cannot know the request (a non-leader with neither a peer relation nor
        leadership settings) it is the last database the server echoed: 1.x charms compare
        ``event.database`` in every event, the gone and broken ones included.
        """
        return self._judging.last_database(relation)

    @_entry
    def set_request(
        self,
        relation: Relation,
        *,
        database: Optional[str] = None,
        roles: Names = None,
        extensions: Names = None,
    ) -> None:
        """Change what the application requests on one relation (the 1.x setters; leader only).

        Arguments left None keep their current value; ``""`` or an empty list removes it.

        Raises:
            NotLeaderError: this unit is not the leader.
            pgsql.protocol.RequestError: a name is invalid.
        """
        self._requesting.set_request(relation, database, roles, extensions)

    @_entry
    def _event_readiness(self, relation: Relation) -> Readiness:
        """What an event reads: cached while we emit, live for events emitted by others."""
        return self._judging.event_readiness(relation)

    # -- 1.x names that tests patch -----------------------------------------------------------

    def _on_joined(self, event: ops.charm.RelationJoinedEvent) -> None:
        """relation-joined: publish, then ``database_relation_joined`` once per relation."""
        self._mirror_appdata(event.relation)
        self._telling.ensure_joined(event.relation, event.app, event.unit)

    def _mirror_appdata(self, relation: Optional[Relation] = None) -> None:
        """Publish the request to one relation (default: all) where it is not there yet.

        The leader writes the application databag, every unit its own databag (servers read one
        or the other), and the leader a copy for non-leaders (peer relation, else 1.x leadership
        settings). Only what differs is written.
        """
        relations = [relation] if relation is not None else self._session.relations()
        for rel in relations:
            self._requesting.publish(rel)

    # -- hook handlers: each enters the scope, begins, and hands the event to the lifecycle ----

    @_entry
    def _handle_any(self, event: ops.framework.EventBase) -> None:
        self._session.handled = True
        self._requesting.flush_declared()

    @_entry
    def _handle_created(self, event: ops.charm.RelationCreatedEvent) -> None:
        self._lifecycle.begin()
        self._mirror_appdata(event.relation)

    @_entry
    def _handle_joined(self, event: ops.charm.RelationJoinedEvent) -> None:
        self._lifecycle.begin()
        self._on_joined(event)

    _handle_changed = _hook("_handle_changed", "changed")
    _handle_departed = _hook("_handle_departed", "departed")
    _handle_broken = _hook("_handle_broken", "broken")
    _handle_upgrade_charm = _hook("_handle_upgrade_charm", "upgrade_charm")
    _handle_leader_elected = _hook("_handle_leader_elected", "leader_elected")
    _handle_leader_settings_changed = _hook(
        "_handle_leader_settings_changed", "leader_settings_changed"
    )
    _handle_peer_changed = _hook("_handle_peer_changed", "peer_changed")
    _handle_update_status = _hook("_handle_update_status", "update_status")
    _handle_config_changed = _hook("_handle_config_changed", "config_changed")
    _handle_secret_changed = _hook("_handle_secret_changed", "secret_changed")


_ON_JOINED = PostgreSQLClient._on_joined  # pyright: ignore[reportPrivateUsage]
