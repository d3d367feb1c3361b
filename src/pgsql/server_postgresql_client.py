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
``database``, ``extra-user-roles``, ``requested-secrets``, ``external-node-connectivity``).
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
import hashlib
import json
import logging
from typing import Dict, Iterable, List, Mapping, MutableMapping, Optional, Tuple, Union

from ops.charm import (
    CharmBase,
    RelationBrokenEvent,
    RelationDepartedEvent,
    RelationEvent,
    SecretRemoveEvent,
)
from ops.framework import EventBase, EventSource, Object, ObjectEvents, StoredState
from ops.jujuversion import JujuVersion
from ops.model import ModelError, Relation, Secret, SecretNotFoundError

from . import protocol
from ._leaving import note_departed, take_leaving
from .client import NotLeaderError
from .protocol import PROVIDER_KEYS, SECRET_GROUPS, DatabaseRequest, secret_id
from .protocol._postgresql_client_provider import (  # pyright: ignore[reportPrivateUsage]
    _read_requested_secrets,  # pyright: ignore[reportPrivateUsage]
)
from .server import _bag, _remote_app  # pyright: ignore[reportPrivateUsage]

__all__ = [
    "DatabaseProvider",
    "DatabaseProviderEvents",
    "DatabaseRelationEvent",
    "DatabaseRequestChangedEvent",
    "RequirerRelationBrokenEvent",
    "secret_label",
]

log = logging.getLogger(__name__)

# Juju 3.0.2's secrets had a bug with observer labels (juju/juju#14916): data_interfaces and
# ops' JujuVersion.has_secrets (ops 3; ops 2.0.0 still said 3.0.2) use them from 3.0.3.
_SECRETS_SINCE = (3, 0, 3)


def secret_label(endpoint: str, relation_id: int, group: str) -> str:
    """The label of the application-owned secret holding ``group`` for one relation.

    The label data_interfaces v0 gives its provider secrets, so a charm moving to this library
    finds the secrets it already published.

    >>> secret_label("database", 7, "user")
    'database.7.user.secret'
    """
    return f"{endpoint}.{relation_id}.{group}.secret"


def _read(relation: Relation) -> Tuple[Optional[DatabaseRequest], Tuple[str, ...]]:
    return protocol.read_database_request(_bag(relation, _remote_app(relation)))


def _requested_secrets(
    relation: Relation, current: Optional[DatabaseRequest], acted: DatabaseRequest
) -> Tuple[str, ...]:
    """The fields the requirer lists in ``requested-secrets`` now, whatever its ``database``.

    A requirer whose ``database`` is momentarily unusable or withdrawn still reads secrets: a
    request the charm remembered (``publish(request=...)``) must not put the password in clear.
    Only when the requirer's bag says nothing (unreadable) does the remembered request's list
    count.
    """
    if current is not None:
        return current.requested_secrets
    raw = _bag(relation, _remote_app(relation)).get("requested-secrets", "")
    return _read_requested_secrets(raw.strip(), []) or acted.requested_secrets


def _digest(request: DatabaseRequest) -> str:
    """Fingerprint of a request (it holds no secret), to emit only when it changes."""
    payload = json.dumps(request.snapshot(), sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class DatabaseRelationEvent(RelationEvent):
    """Base of the provider events: ``relation``, ``app`` (the requirer application), ``unit``.

    The request is read from the relation when accessed, so a deferred event sees current data.
    """

    @property
    def request(self) -> Optional[DatabaseRequest]:
        """What the requirer application asks for now; None when it asks for nothing usable."""
        return _read(self.relation)[0]

    @property
    def problems(self) -> Tuple[str, ...]:
        """Why parts of the requirer's bag were ignored (empty when all is well)."""
        return _read(self.relation)[1]


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
        meta = charm.meta.relations.get(relation_name)
        if meta is None or relation_name not in charm.meta.provides:
            role = "not an endpoint" if meta is None else f"a {meta.role.name} endpoint"
            raise ValueError(
                f"{relation_name!r} is {role} of {charm.meta.name}; DatabaseProvider needs a "
                "'provides' endpoint (for the requires side use PostgreSQLClient)"
            )
        if meta.interface_name == "pgsql":
            raise ValueError(
                f"{relation_name!r} speaks pgsql: serve it with PostgreSQLServer; "
                "DatabaseProvider speaks postgresql_client"
            )
        self._relation_name = relation_name
        self._stored.set_default(digests={}, leaving=[])
        events = charm.on[relation_name]
        self.framework.observe(events.relation_joined, self._on_relation_changed)
        self.framework.observe(events.relation_changed, self._on_relation_changed)
        self.framework.observe(events.relation_departed, self._on_relation_departed)
        self.framework.observe(events.relation_broken, self._on_relation_broken)
        self.framework.observe(charm.on.leader_elected, self._on_leader_elected)
        self.framework.observe(charm.on.secret_remove, self._on_secret_remove)

    @property
    def relation_name(self) -> str:
        """The endpoint this object serves."""
        return self._relation_name

    @property
    def relations(self) -> List[Relation]:
        """The live relations on this endpoint (a relation being broken is left out)."""
        return [
            r
            for r in self.model.relations[self._relation_name]
            if getattr(r, "active", True)  # Relation.active: ops >= 2.10
        ]

    @property
    def secrets_available(self) -> bool:
        """Whether this Juju has secrets (3.0.3 and later); else every field goes in clear."""
        version: Optional[JujuVersion] = getattr(self.model, "juju_version", None)
        if version is None:  # ops < 2.19 (where JujuVersion.from_environ is not deprecated)
            version = JujuVersion.from_environ()
        return (version.major, version.minor, version.patch) >= _SECRETS_SINCE

    # ---- reading --------------------------------------------------------------------------

    def request(self, relation: Relation) -> Optional[DatabaseRequest]:
        """What the requirer application on ``relation`` asks for, read now.

        Returns:
            The request, or None while it asks for nothing usable (no ``database`` yet).

        Raises:
            TypeError, ValueError: ``relation`` is not a relation of this endpoint.
        """
        self._check_relation(relation)
        return _read(relation)[0]

    def request_problems(self, relation: Relation) -> Tuple[str, ...]:
        """Why parts of the requirer's bag on ``relation`` were ignored (empty when fine).

        Raises:
            TypeError, ValueError: ``relation`` is not a relation of this endpoint.
        """
        self._check_relation(relation)
        return _read(relation)[1]

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
    ) -> bool:
        """Answer the requirer on ``relation`` (leader only).

        Credentials the requirer listed in ``requested-secrets`` go in Juju secrets owned by
        the application and granted to the relation (created on first use, their content
        updated when it changes: a rotated password is a new revision, the bag stays as it
        is); the rest goes in the application bag, except a field holding the password
        (``password``, ``uris``, ``read-only-uris``) the requirer did not request while it
        requests others: that one is not published at all. Only keys whose value differs are
        written; keys this method manages (:data:`pgsql.protocol.PROVIDER_KEYS`) that no longer
        apply are deleted, and secrets no longer needed are removed; other keys are kept.

        Args:
            relation: a relation of this endpoint.
            endpoints: where the primary is reached: ``host:port`` entries (``[v6]:port``, a
                unix socket directory ``/dir:port``), a list or a comma-separated string.
            username: the login role created for the requirer.
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

        Returns:
            True when the bag or a secret was changed.

        Raises:
            pgsql.NotLeaderError: this unit is not the leader (the answer is in the application
                bag and its secrets are the application's: only the leader may write them).
            TypeError: a value has the wrong type.
            ValueError: ``relation`` belongs to another endpoint, the requirer has not asked
                for a database (and no ``request`` is given), or a value is invalid (see
                :func:`pgsql.protocol.provider_answer`). Messages never hold the password.
        """
        self._check_relation(relation)
        self._check_leader(relation, "publish")
        current = _read(relation)[0]
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
        # which fields go in secrets is the requirer's say now
        wanted = _requested_secrets(relation, current, acted)
        acted = dataclasses.replace(acted, requested_secrets=wanted)
        answer = protocol.provider_answer(
            acted,
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
        )
        if answer.withheld:
            log.debug(
                "relation %s: not publishing %s: they hold the password and the requirer did "
                "not request them as secrets",
                relation.id,
                ", ".join(answer.withheld),
            )
        bag = relation.data[self.model.app]
        uris, changed = self._sync_secrets(relation, answer.secrets, bag)
        changed = self._write(bag, answer.databag(uris)) or changed
        if changed:
            log.debug(
                "relation %s: answer published (secret groups: %s)",
                relation.id,
                ", ".join(sorted(uris)) or "none",
            )
        return changed

    def revoke(self, relation: Relation) -> bool:
        """Withdraw the answer on ``relation`` (leader only): bag keys and secrets.

        Returns:
            True when the bag was changed or a secret removed.

        Raises:
            pgsql.NotLeaderError: this unit is not the leader.
            TypeError, ValueError: ``relation`` is not a relation of this endpoint.
        """
        self._check_relation(relation)
        self._check_leader(relation, "revoke")
        bag = relation.data[self.model.app]
        _, changed = self._sync_secrets(relation, {}, bag)
        return self._write(bag, {}) or changed

    # ---- internals ------------------------------------------------------------------------

    def _check_relation(self, relation: Relation) -> None:
        if not isinstance(relation, Relation):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"expected an ops.Relation, not {type(relation).__name__}")
        if relation.name != self._relation_name:
            raise ValueError(
                f"relation {relation.name}:{relation.id} belongs to endpoint {relation.name!r}; "
                f"this DatabaseProvider serves {self._relation_name!r}"
            )

    def _check_leader(self, relation: Relation, what: str) -> None:
        if not self.model.unit.is_leader():
            raise NotLeaderError(
                f"only the leader can {what} on {relation.name}:{relation.id}: the answer is "
                "the application's bag and secrets (check self.unit.is_leader() first)"
            )

    def _owned_secret(self, label: str) -> Optional[Secret]:
        try:
            return self.model.get_secret(label=label)
        except SecretNotFoundError:
            return None

    def _lost_secret(self, relation: Relation) -> bool:
        """Whether the answer on ``relation`` references a secret that no longer exists.

        A leader removed by an older version of this library deleted them; the request did not
        change, so only this tells a new leader that the answer must be published again.
        """
        if not self.secrets_available:
            return False
        bag = relation.data[self.model.app]
        for group in SECRET_GROUPS:
            uri = bag.get(f"secret-{group}")
            if not uri:
                continue
            try:
                self.model.get_secret(id=uri)
            except SecretNotFoundError:
                log.debug("relation %s: secret-%s is gone: answering again", relation.id, group)
                return True
            except ModelError:  # not readable now (Juju's error): not known to be gone
                continue
        return False

    def _sync_secrets(
        self,
        relation: Relation,
        contents: Mapping[str, Mapping[str, str]],
        bag: Mapping[str, str],
    ) -> Tuple[Dict[str, str], bool]:
        """Create, update or remove this relation's secrets; their URIs by group."""
        uris: Dict[str, str] = {}
        changed = False
        if not self.secrets_available:
            return uris, changed
        for group in SECRET_GROUPS:
            label = secret_label(self._relation_name, relation.id, group)
            content = contents.get(group)
            secret = self._owned_secret(label)
            if content is None:
                if secret is not None:
                    secret.remove_all_revisions()
                    changed = True
                continue
            created = secret is None
            if secret is None:
                secret = self.model.app.add_secret(
                    dict(content),
                    label=label,
                    description=f"{group} fields for {relation.name}:{relation.id}",
                )
                secret.grant(relation)
                changed = True
            elif secret.peek_content() != content:
                # a rotated password or CA: a new revision, which requirers follow
                secret.set_content(dict(content))
                changed = True
            uri = secret.id or secret.get_info().id
            if not uri:  # pragma: no cover - Juju always gives an owner the id
                raise ModelError(f"secret {label} has no id")
            published = bag.get(f"secret-{group}") or ""
            if published and secret_id(published) == secret_id(uri):
                uri = published  # the same secret, maybe spelt otherwise: no rewrite
            elif not created:
                # a secret this relation does not reference yet (a new leader, a charm moving
                # from data_interfaces): granting again is a no-op for Juju
                secret.grant(relation)
            uris[group] = uri
        return uris, changed

    @staticmethod
    def _write(content: MutableMapping[str, str], wanted: Mapping[str, str]) -> bool:
        changed = False
        for key in PROVIDER_KEYS:
            new = wanted.get(key)
            if content.get(key) == new:
                continue
            # Assigning "" deletes the key on every ops version.
            content[key] = new if new is not None else ""
            changed = True
        return changed

    def _emit_if_changed(self, relation: Relation, event: Optional[RelationEvent]) -> None:
        request, problems = _read(relation)
        key = str(relation.id)
        digests = self._stored.digests
        if request is None:
            if key in digests:  # withdrawn: its reappearance is news again
                del digests[key]
            if problems:
                log.debug("relation %s: no request to act on: %s", relation.id, "; ".join(problems))
            return
        digest = _digest(request)
        if digests.get(key) == digest and not self._lost_secret(relation):
            return
        digests[key] = digest
        if problems:
            log.debug(
                "relation %s: ignoring parts of the request: %s", relation.id, "; ".join(problems)
            )
        log.debug("relation %s: requirer request appeared or changed", relation.id)
        unit = event.unit if event is not None else None
        self.on.request_changed.emit(relation, _remote_app(relation), unit)

    def _on_relation_changed(self, event: RelationEvent) -> None:
        if self.model.unit.is_leader():
            self._emit_if_changed(event.relation, event)

    def _on_leader_elected(self, _: EventBase) -> None:
        # A new leader answers every relation with a request it has not seen answered.
        for relation in self.relations:
            self._emit_if_changed(relation, None)

    def _on_relation_departed(self, event: RelationDepartedEvent) -> None:
        if note_departed(self._stored, event, self.model.unit):
            log.debug("relation %s: this unit is leaving it", event.relation.id)

    def _on_relation_broken(self, event: RelationBrokenEvent) -> None:
        digests = self._stored.digests
        key = str(event.relation.id)
        if key in digests:
            del digests[key]
        if take_leaving(self._stored, event.relation.id):
            # This unit is being removed, not the requirer: the relation goes on with the
            # other units, so its secrets stay and the charm must not drop the user.
            log.debug("relation %s: broken for this leaving unit only; answer kept", key)
            return
        if self.model.unit.is_leader() and self.secrets_available:
            for group in SECRET_GROUPS:
                secret = self._owned_secret(
                    secret_label(self._relation_name, event.relation.id, group)
                )
                if secret is not None:
                    secret.remove_all_revisions()
        self.on.relation_broken.emit(event.relation, event.app, event.unit)

    def _on_secret_remove(self, event: SecretRemoveEvent) -> None:
        # After a rotation, Juju says when no requirer tracks the old revision any more.
        label = event.secret.label or ""
        if label.startswith(f"{self._relation_name}.") and label.endswith(".secret"):
            event.secret.remove_revision(event.revision)
