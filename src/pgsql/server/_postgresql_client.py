"""The provides side of the ``postgresql_client`` interface, for PostgreSQL and PgBouncer charms.

The sibling of :class:`pgsql.PostgreSQLServer` (the ``pgsql`` interface). A server charm declares
``provides: database: {interface: postgresql_client}`` and::

    import pgsql

    class MyPostgreSQLCharm(ops.CharmBase):
        def __init__(self, framework: ops.Framework):
            super().__init__(framework)
            self.database = pgsql.DatabaseProvider(self, "database")
            framework.observe(self.database.on.request_changed, self._on_request_changed)

        def _on_request_changed(self, event: pgsql.DatabaseRequestChangedEvent) -> None:
            request = event.request  # read now; None if it was withdrawn since
            if request is None:
                return
            user, password = self.provision(request.database, request.roles)
            self.database.publish(
                event.relation,
                endpoints=[f"{self.primary_ip}:5432"],
                read_only_endpoints=[f"{ip}:5432" for ip in self.replica_ips],
                username=user,
                password=password,
                version="16.4",
            )

What the requirer asks for is its application bag (:func:`pgsql.protocol.read_database_request`:
``database``, ``extra-user-roles``, ``requested-secrets``, ``external-node-connectivity``), and
PostgreSQL 16's requests: a prefix (``database: mydb_*``: ``request.prefix`` is ``"mydb_"``,
answered with ``publish(..., databases=[...])``) and a user name chosen by the requirer
(``request.username``, read from its ``requested-entity-secret``; the request waits, with a
problem, while that secret is not readable).
``request_changed`` fires **on the leader** when that request appears or changes, and on a new
leader for every relation with a request: only the leader can answer, in the application bag.

:meth:`DatabaseProvider.publish` writes the answer (:func:`pgsql.protocol.provider_answer`): the
endpoints, version and database in the application bag, and each field the requirer listed in
``requested-secrets`` (this library's client lists every credential) in a Juju secret owned by
the application, granted to the relation, its URI under ``secret-user`` (``secret-tls``,
``secret-extra``). Fields go in clear only where Juju has no secrets (before 3.0.3) or where the
requirer did not ask for a secret; a field holding the password (``password``, ``uris``,
``read-only-uris``) is never in clear beside secrets: not requested, it is not published. A
new password or CA updates the secret's content (requirers see ``secret-changed``), not the
bag. Only keys whose value differs are rewritten, so calling it from every hook is cheap.
:meth:`DatabaseProvider.revoke` withdraws the answer and removes the secrets; relation-broken
removes them too, unless it is this unit that is being removed (``relation_broken`` is then not
emitted either). A leader that finds a secret its answer references gone emits
``request_changed`` again, so the charm answers anew.

Secrets are labelled ``<endpoint>.<relation id>.<group>.secret``, as data_interfaces' v0
``DatabaseProvides`` labels its own: a charm moving from it to this class keeps its secrets.

Malformed requirer data never raises: the request is None until ``database`` is usable, unusable
roles are dropped, and :attr:`DatabaseRequestChangedEvent.problems` says what was ignored.
"""

from __future__ import annotations

import dataclasses
import logging
from types import MappingProxyType
from typing import Iterable, List, Mapping, Optional, Tuple, Union

from ops.charm import CharmBase, RelationEvent, SecretRemoveEvent
from ops.framework import EventSource, Object, ObjectEvents, StoredState
from ops.model import Model, Relation

from .. import protocol
from ..client import NotLeaderError
from ..protocol import PROVIDER_KEYS, DatabaseRequest, ProviderAnswer
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
from ._provider_secrets import (
    ProviderSecrets,
    requested_entity,
    secret_label,
    secrets_available,
)

__all__ = [
    "DatabaseProvider",
    "DatabaseProviderEvents",
    "DatabaseRelationEvent",
    "DatabaseRequestChangedEvent",
    "RequirerRelationBrokenEvent",
    "secret_label",
]

# The logger keeps the name of the module this class was first published in, which charms
# may already configure.
log = logging.getLogger("pgsql.server_postgresql_client")


def _read(model: Model, relation: Relation) -> Tuple[Optional[DatabaseRequest], Tuple[str, ...]]:
    bag = read_bag(relation, remote_app(relation))
    return protocol.read_database_request(bag, requested_entity(model, relation, bag))


def _digest(request: DatabaseRequest) -> str:
    """Fingerprint of a request, to emit only when it changes (never holding the password)."""
    return digest_of({**request.snapshot(), "entity-name": request.username})


class DatabaseRelationEvent(RelationEvent):
    """Base of the provider events: ``relation``, ``app`` (the requirer application), ``unit``.

    The request is read from the relation when accessed, so a deferred event sees current data.
    """

    @property
    def request(self) -> Optional[DatabaseRequest]:
        """What the requirer application asks for now; None when it asks for nothing usable."""
        return _read(self.framework.model, self.relation)[0]

    @property
    def problems(self) -> Tuple[str, ...]:
        """Why parts of the requirer's bag were ignored (empty when all is well)."""
        return _read(self.framework.model, self.relation)[1]


class DatabaseRequestChangedEvent(DatabaseRelationEvent):
    """A requirer's request appeared or changed (on the leader), or this unit became leader.

    Handle it by provisioning what :attr:`~.DatabaseRelationEvent.request` asks for and calling
    :meth:`DatabaseProvider.publish`. Real providers fix the database and roles when they first
    answer; this event still says when the requirer changes them.
    """


class RequirerRelationBrokenEvent(DatabaseRelationEvent):
    """A requirer application is leaving: its relation is going away (relation-broken).

    The relation's secrets are already removed (on the leader). Drop the requirer's user if
    your charm does that. Not emitted on a unit that is itself being removed (its
    relation-departed named itself, as on every unit when the application scales to zero): the
    relation goes on with the other units, and its secrets are kept.
    :attr:`~.DatabaseRelationEvent.request` is usually None here: the requirer's data may no
    longer be readable.
    """


class DatabaseProviderEvents(ObjectEvents):
    """Events emitted by :class:`DatabaseProvider`."""

    request_changed = EventSource(DatabaseRequestChangedEvent)
    relation_broken = EventSource(RequirerRelationBrokenEvent)


class DatabaseProvider(Object):
    """The ``postgresql_client`` provides endpoint of a server charm.

    Args:
        charm: the charm.
        relation_name: a ``provides`` endpoint of the charm speaking ``postgresql_client``,
            usually ``database``.

    Raises:
        ValueError: the charm has no such ``provides`` endpoint, or it speaks ``pgsql``.
    """

    on = DatabaseProviderEvents()  # pyright: ignore[reportAssignmentType]
    _stored = StoredState()

    def __init__(self, charm: CharmBase, relation_name: str = "database"):
        super().__init__(charm, relation_name)
        self._secrets = ProviderSecrets(self.model, relation_name, log)
        interface = _PostgresqlClientInterface(self.model, self._secrets)
        check_provides(charm, relation_name, "DatabaseProvider", interface)
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
        self.framework.observe(charm.on.secret_remove, self._on_secret_remove)

    @property
    def relation_name(self) -> str:
        """The endpoint this object serves."""
        return self._relation_name

    @property
    def relations(self) -> List[Relation]:
        """The live relations on this endpoint (a relation being broken is left out)."""
        return self._endpoint.relations

    @property
    def secrets_available(self) -> bool:
        """Whether this Juju has secrets (3.0.3 and later); else every field goes in clear."""
        return secrets_available(self.model)

    # ---- reading --------------------------------------------------------------------------

    def request(self, relation: Relation) -> Optional[DatabaseRequest]:
        """What the requirer application on ``relation`` asks for, read now.

        Returns:
            The request, or None while it asks for nothing usable (no ``database`` yet).

        Raises:
            TypeError, ValueError: ``relation`` is not a relation of this endpoint.
        """
        self._endpoint.check_relation(relation)
        return _read(self.model, relation)[0]

    def request_problems(self, relation: Relation) -> Tuple[str, ...]:
        """Why parts of the requirer's bag on ``relation`` were ignored (empty when fine).

        Raises:
            TypeError, ValueError: ``relation`` is not a relation of this endpoint.
        """
        self._endpoint.check_relation(relation)
        return _read(self.model, relation)[1]

    # ---- writing --------------------------------------------------------------------------

    def publish(
        self,
        relation: Relation,
        *,
        endpoints: Union[str, Iterable[str]],
        username: str,
        password: str,
        read_only_endpoints: Union[str, Iterable[str]] = (),
        database: Optional[str] = None,
        read_only_database: Optional[str] = None,
        version: Optional[str] = None,
        tls: Optional[bool] = None,
        tls_ca: Optional[str] = None,
        subordinated: bool = False,
        request: Optional[DatabaseRequest] = None,
        databases: Optional[Iterable[str]] = None,
    ) -> bool:
        """Answer the requirer on ``relation`` (leader only).

        Fields the requirer listed in ``requested-secrets`` go in Juju secrets of the
        application granted to the relation (a rotated password is a new revision, not a bag
        change); the rest in the application bag, but not a field holding the password
        (``password``, ``uris``, ``read-only-uris``) left out of a list naming others. Only keys
        whose value differs are written; managed keys (:data:`pgsql.protocol.PROVIDER_KEYS`)
        no longer applying are deleted, unneeded secrets removed; other keys are kept.

        Args:
            relation: a relation of this endpoint.
            endpoints: where the primary is reached: ``host:port`` entries (``[v6]:port``, a
                unix socket directory ``/dir:port``), a list or a comma-separated string.
            username: the login role created for the requirer; for a request with a
                ``username`` (the requirer chose it, PostgreSQL 16), exactly that user, created
                with ``request.password`` when the requirer gave one.
            password: its password.
            read_only_endpoints: where standbys are reached, the same way (may be empty).
            database: the database served; None serves the requested one.
            read_only_database: the database standbys serve (PgBouncer: ``<db>_readonly``);
                None: the same.
            version: the PostgreSQL version, e.g. ``"16.4"``.
            tls: whether the server has TLS on; None says nothing.
            tls_ca: the CA certificate (PEM) clients check the server with.
            subordinated: this is a subordinate provider (PgBouncer VM); requirers then wait
                for this unit's bag to say ``state: ready``, which is the charm's to write.
            request: the request acted upon, echoed in ``data``; None: the current request.
            databases: for a prefix request only (``request.prefix``, PostgreSQL 16): the
                existing databases starting with the prefix, written sorted as
                ``prefix-databases`` (``database`` echoes ``mydb_*``, ``uris`` names the first;
                ``[]`` while none exists publishes neither). Call again when one appears.

        Returns:
            True when the bag or a secret was changed.

        Raises:
            pgsql.NotLeaderError: this unit is not the leader (the answer is in the application
                bag and its secrets are the application's: only the leader may write them).
            TypeError: a value has the wrong type.
            ValueError: ``relation`` belongs to another endpoint, the requirer has not asked
                for a database (and no ``request`` is given), ``username`` is not the requested
                one, ``databases`` is missing for a prefix request (or given for another), or a
                value is invalid (see :func:`pgsql.protocol.provider_answer`). Messages never
                hold the password.
        """
        self._endpoint.check_relation(relation)
        self._check_leader(relation, "publish")
        answer = protocol.provider_answer(
            self._acted_request(relation, request),
            endpoints=endpoints,
            username=username,
            password=password,
            read_only_endpoints=read_only_endpoints,
            database=database,
            read_only_database=read_only_database,
            version=version,
            tls=tls,
            tls_ca=tls_ca,
            subordinated=subordinated,
            secrets_available=self.secrets_available,
            databases=databases,
        )
        return self._answer(relation, answer)

    def revoke(self, relation: Relation) -> bool:
        """Withdraw the answer on ``relation`` (leader only): bag keys and secrets.

        Returns:
            True when the bag was changed or a secret removed.

        Raises:
            pgsql.NotLeaderError: this unit is not the leader.
            TypeError, ValueError: ``relation`` is not a relation of this endpoint.
        """
        self._endpoint.check_relation(relation)
        self._check_leader(relation, "revoke")
        _, changed = self._secrets.sync(relation, {}, relation.data[self.model.app])
        return self._endpoint.apply(relation, Answer(app={})) or changed

    # ---- internals ------------------------------------------------------------------------

    def _check_leader(self, relation: Relation, what: str) -> None:
        if not self.model.unit.is_leader():
            raise NotLeaderError(
                f"only the leader can {what} on {relation.name}:{relation.id}: the answer is "
                "the application's bag and secrets (check self.unit.is_leader() first)"
            )

    def _acted_request(
        self, relation: Relation, request: Optional[DatabaseRequest]
    ) -> DatabaseRequest:
        """The request ``publish`` answers: the one given, else the requirer's current one."""
        current = _read(self.model, relation)[0]
        if request is not None and not isinstance(request, DatabaseRequest):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                "request must be a pgsql.protocol.DatabaseRequest or None, "
                f"not {type(request).__name__}"
            )
        acted = request if request is not None else current
        if acted is None:
            raise ValueError(
                f"nothing to answer on relation {relation.name}:{relation.id}: the requirer "
                "has not requested a database (no usable 'database' in its application bag)"
            )
        # Which fields go in secrets is the requirer's say now, even while its database is
        # withdrawn or unusable: a remembered request must not put the password in clear. Only
        # a bag that says nothing leaves the remembered request's list.
        if current is not None:
            wanted = current.requested_secrets
        else:
            bag = read_bag(relation, remote_app(relation))
            wanted = protocol.requested_secrets(bag) or acted.requested_secrets
        return dataclasses.replace(acted, requested_secrets=wanted)

    def _answer(self, relation: Relation, answer: ProviderAnswer) -> bool:
        """Publish ``answer``: its secrets first, then the bag referencing them."""
        if answer.withheld:
            log.debug(
                "relation %s: not publishing %s: they hold the password and the requirer did "
                "not request them as secrets",
                relation.id,
                ", ".join(answer.withheld),
            )
        uris, changed = self._secrets.sync(relation, answer.secrets, relation.data[self.model.app])
        changed = self._endpoint.apply(relation, Answer(app=answer.databag(uris))) or changed
        if changed:
            log.debug(
                "relation %s: answer published (secret groups: %s)",
                relation.id,
                ", ".join(sorted(uris)) or "none",
            )
        return changed

    def _on_secret_remove(self, event: SecretRemoveEvent) -> None:
        # After a rotation, Juju says when no requirer tracks the old revision any more.
        if self._secrets.owns(event.secret.label or ""):
            event.secret.remove_revision(event.revision)


class _PostgresqlClientInterface:
    """What a ``postgresql_client`` endpoint reads and manages (see ``_endpoint.Interface``).

    The leader answers the requirer application in the application bag and its secrets.
    """

    name = "postgresql_client"
    served_elsewhere: Mapping[str, str] = MappingProxyType({"pgsql": "PostgreSQLServer"})
    managed_keys: Tuple[str, ...] = PROVIDER_KEYS
    answers_from = AnswersFrom.LEADER

    def __init__(self, model: Model, secrets: ProviderSecrets):
        self._model = model
        self._secrets = secrets

    def fingerprint(self, relation: Relation, departing: Optional[str], known: bool) -> Fingerprint:
        # the request is the requirer application's bag alone: no unit is read
        request, problems = _read(self._model, relation)
        return Fingerprint(None if request is None else _digest(request), problems)

    def stale(self, relation: Relation) -> bool:
        return self._secrets.lost(relation)

    def on_broken(self, relation: Relation) -> None:
        # the requirer left: only the leader may remove the application's secrets
        if self._model.unit.is_leader():
            self._secrets.remove(relation)
