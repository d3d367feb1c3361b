"""The eleven 1.x events of :class:`pgsql.PostgreSQLClient`, with their computed attributes."""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Tuple, Union

import ops.charm
import ops.framework
from ops.model import Application, Relation, Unit

from ..connstr import ConnectionString
from ..protocol import Request

if TYPE_CHECKING:  # pragma: no cover
    from ..protocol import Readiness
    from ._client import PostgreSQLClient


# Events find their client (for the per-hook evaluation cache) by framework and endpoint.
CLIENTS: weakref.WeakValueDictionary[Tuple[int, str], PostgreSQLClient] = (
    weakref.WeakValueDictionary()
)


class PostgreSQLRelationEvent(ops.charm.RelationEvent):
    """Base of every client event; its attributes are computed when read.

    A deferred event that runs again later sees the relation as it is then, not as it was.

    Attributes:
        relation: the ``pgsql`` or ``postgresql_client`` relation.
        app: the server application (or whichever application the triggering hook named).
        unit: the remote unit that triggered the hook, or None.
    """

    def __init__(
        self,
        handle: ops.framework.Handle,
        relation: Relation,
        app: Optional[Application] = None,
        unit: Optional[Unit] = None,
        local_unit: Optional[Unit] = None,
    ):
        super().__init__(handle, relation, app, unit)
        self._local_unit: Unit = local_unit if local_unit is not None else self.framework.model.unit

    @property
    def log(self) -> logging.Logger:
        """The 1.x event logger, ``pgsql.client.<endpoint>.event``."""
        return logging.getLogger(f"pgsql.client.{self.relation.name}.event")

    def _client(self) -> PostgreSQLClient:
        client = CLIENTS.get((id(self.framework), self.relation.name))
        if client is None or client.framework is not self.framework:
            raise RuntimeError(
                f"no PostgreSQLClient for endpoint {self.relation.name!r} in this charm"
            )
        return client

    @property
    def readiness(self) -> Readiness:
        """The full verdict for this relation (ready, why not, master, standbys, ...).

        Read when asked: an event the client did not emit itself (a test emitting it by hand,
        a deferred event re-run by the test harness) sees the databags as they are now.
        """
        return self._client()._event_readiness(self.relation)  # pyright: ignore[reportPrivateUsage]

    @property
    def master(self) -> Optional[ConnectionString]:
        """The master database, or None when there is currently no usable master."""
        return self.readiness.master

    @property
    def standbys(self) -> List[ConnectionString]:
        """The hot standby databases (read-only replicas); empty when there are none."""
        return list(self.readiness.standbys)

    @property
    def version(self) -> Optional[str]:
        """The PostgreSQL version the server publishes (``12``, ``14.15``), or None."""
        return self.readiness.version

    @property
    def tls(self) -> Optional[bool]:
        """Whether the server requires TLS (``postgresql_client``); None when it does not say."""
        return self.readiness.tls

    @property
    def tls_ca(self) -> Optional[str]:
        """The CA certificate (PEM) to verify the server with, when it published one."""
        return self.readiness.tls_ca

    def _request(self) -> Optional[Request]:
        return self._client().requested(self.relation)

    @property
    def database(self) -> Optional[str]:
        """The database requested on this relation (None for the server's default).

        Readable on every unit. Where this unit cannot know the request (a non-leader without a
        peer relation or leadership settings), it is the database the server says it provides.
        Settable by the leader only (:class:`NotLeaderError` otherwise); invalid names raise
        :class:`pgsql.protocol.RequestError`.
        """
        request = self._request()
        if request is None:
            known = self.readiness.database
            return known if known is not None else self._client().last_database(self.relation)
        return request.database or None

    @database.setter
    def database(self, dbname: Optional[str]) -> None:
        self._client().set_request(self.relation, database="" if dbname is None else dbname)

    @property
    def databases(self) -> Tuple[str, ...]:
        """Every database the relation serves this unit (:attr:`Readiness.databases`).

        ``(database,)`` for a plain request; for a ``postgresql_client`` prefix request
        (``database="mydb_*"``), the databases the provider lists (``prefix-databases``), which
        it keeps current as databases appear: a change is a ``master_changed``. Empty while
        the relation is not ready.
        """
        return self.readiness.databases

    @property
    def roles(self) -> List[str]:
        """The PostgreSQL roles requested for the application's database user.

        Settable by the leader only. Note that the Canonical PostgreSQL charms refuse any
        ``roles`` request and pgbouncer ignores it (:attr:`readiness` says so).
        """
        request = self._request()
        return list(request.roles) if request is not None else []

    @roles.setter
    def roles(self, roles: Union[str, Iterable[str], None]) -> None:
        self._client().set_request(self.relation, roles=() if roles is None else roles)

    @property
    def extensions(self) -> List[str]:
        """The PostgreSQL extensions requested (``name``, ``name:schema``). Leader may set."""
        request = self._request()
        return list(request.extensions) if request is not None else []

    @extensions.setter
    def extensions(self, extensions: Union[str, Iterable[str], None]) -> None:
        self._client().set_request(
            self.relation, extensions=() if extensions is None else extensions
        )

    def snapshot(self) -> Any:
        return [super().snapshot(), {"local_unit_name": self._local_unit.name}]

    def restore(self, snapshot: Any) -> None:
        sup, mine = snapshot
        model = self.framework.model
        client = CLIENTS.get((id(self.framework), sup.get("relation_name", "")))
        relation = None if client is None else client._seen.get(sup.get("relation_id", -1))  # pyright: ignore[reportPrivateUsage]
        if relation is None:
            super().restore(sup)
        else:
            # The relation this client just emitted about: ops would look it up again (and a
            # broken relation costs two hook tools per lookup).
            self.relation = relation
            app_name = sup.get("app_name")
            self.app = model.get_app(app_name) if app_name else relation.app
            unit_name = sup.get("unit_name")
            self.unit = model.get_unit(unit_name) if unit_name else None
        self._local_unit = model.get_unit(mine["local_unit_name"])


class DatabaseRelationJoinedEvent(PostgreSQLRelationEvent):
    """The pgsql relation has been joined: the time to set database, roles and extensions."""

    def defer(self) -> None:
        """Defer this event, unless its relation is gone: no request can be made on it then.

        A 1.x charm defers ``database_relation_joined`` on non-leaders until the request is
        known; once the relation is removed, that event is dropped instead of re-run forever.
        (The gone and broken events defer as usual: they carry clean-up work.)
        """
        client = CLIENTS.get((id(self.framework), self.relation.name))
        if client is not None and client.is_gone(self.relation):
            self.log.debug("not deferring %s: relation %s is gone", self.handle, self.relation.id)
            return
        super().defer()


class DatabaseRelationBrokenEvent(PostgreSQLRelationEvent):
    """The pgsql relation is gone for good (after the gone events of what it provided)."""


class DatabaseAvailableEvent(PostgreSQLRelationEvent):
    """A master or standby database became available on this relation."""


class MasterAvailableEvent(PostgreSQLRelationEvent):
    """A master database became available on this relation."""


class StandbyAvailableEvent(PostgreSQLRelationEvent):
    """Hot standby databases (read-only replicas) became available."""


class DatabaseChangedEvent(PostgreSQLRelationEvent):
    """Connection details of the master or of the standbys changed."""


class MasterChangedEvent(PostgreSQLRelationEvent):
    """The master's connection details changed (``event.master`` None: it is gone)."""


class StandbyChangedEvent(PostgreSQLRelationEvent):
    """The standbys' connection details changed (``event.standbys`` may be empty)."""


class DatabaseGoneEvent(PostgreSQLRelationEvent):
    """No database at all is available any more; it may come back."""


class MasterGoneEvent(PostgreSQLRelationEvent):
    """The master is gone (failover, access revoked...); standbys may remain."""


class StandbyGoneEvent(PostgreSQLRelationEvent):
    """All standbys are gone; the master may remain."""


class PostgreSQLClientEvents(ops.framework.ObjectEvents):
    """The eleven 1.x events of :class:`PostgreSQLClient` (``client.on``)."""

    database_relation_joined = ops.framework.EventSource(DatabaseRelationJoinedEvent)
    database_relation_broken = ops.framework.EventSource(DatabaseRelationBrokenEvent)
    database_available = ops.framework.EventSource(DatabaseAvailableEvent)
    master_available = ops.framework.EventSource(MasterAvailableEvent)
    standby_available = ops.framework.EventSource(StandbyAvailableEvent)
    database_changed = ops.framework.EventSource(DatabaseChangedEvent)
    master_changed = ops.framework.EventSource(MasterChangedEvent)
    standby_changed = ops.framework.EventSource(StandbyChangedEvent)
    database_gone = ops.framework.EventSource(DatabaseGoneEvent)
    master_gone = ops.framework.EventSource(MasterGoneEvent)
    standby_gone = ops.framework.EventSource(StandbyGoneEvent)
