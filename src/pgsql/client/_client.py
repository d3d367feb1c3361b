"""The requires side: :class:`PostgreSQLClient`, a thin adapter between ops and the protocol.

Every readiness decision is :func:`pgsql.protocol.evaluate`; this module decides when to read
which databag, what to publish, and which events to emit. The 1.x helpers that charms' tests
patch live in :mod:`pgsql.client` and are looked up there when used
(:func:`pgsql.client._compat.legacy`).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
    cast,
)

import ops.charm
import ops.framework
import ops.model
from ops.model import Application, Relation, Unit

from .. import protocol
from ..connstr import ConnectionString
from ..protocol import Request
from . import _entity
from ._compat import legacy
from ._events import CLIENTS, PostgreSQLClientEvents
from ._records import (
    ACCESS_CODES,
    GONE_KEPT,
    RECORD_VERSION,
    Bag,
    broken_readiness,
    catch_up,
    dispatched_hook,
    leader_entry,
    migrate,
    plain,
    read_remote,
    refresh_changed,
    shared_form,
    write_request_keys,
)
from ._sharing import RequestSharing

if TYPE_CHECKING:  # pragma: no cover - loaded with a relation's first evaluation
    from ..protocol import Readiness


class NotLeaderError(ops.model.RelationDataError):
    """Only the leader may do this: change the request through the 1.x setters, or answer.

    Raised by the 1.x setters on a non-leader, and by :meth:`pgsql.DatabaseProvider.publish`
    (only the leader writes the provider's answer, its application bag).

    A subclass of :class:`ops.model.RelationDataError`, which is what 1.x let escape when a
    non-leader wrote the application databag. Declarative requests (the ``database``, ``roles``
    and ``extensions`` arguments of :class:`PostgreSQLClient`, or :meth:`PostgreSQLClient.request`)
    work on every unit.
    """


RelationArg = Optional[Relation]

#: The interfaces a client endpoint may speak (its ``interface:`` in the charm's metadata).
PGSQL = "pgsql"
POSTGRESQL_CLIENT = "postgresql_client"
#: Reason code of a relation on one endpoint while another endpoint of the same client is
#: related (a charm migrating from ``db`` to ``database``): the older relation is served.
ENDPOINT_CONFLICT = "endpoint-conflict"
# What a postgresql_client requirer writes (its application bag only)
_MODERN_KEYS = (
    "database",
    "extra-user-roles",
    "requested-secrets",
    "external-node-connectivity",
    protocol.REQUESTED_ENTITY_SECRET,
)


def _secret_key(uri: str) -> str:
    """The secret's ID in any of Juju's spellings (postgresql_client rules: loaded when used)."""
    return protocol.secret_id(uri)


def _under_juju() -> bool:
    """Whether a hook dispatch runs this (Juju, ops.testing), one charm per hook.

    Not so under Harness, which drives one charm across events: what one event cached is stale
    at the next.
    """
    return "JUJU_DISPATCH_PATH" in os.environ


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
        roles: Union[str, Iterable[str], None] = None,
        extensions: Union[str, Iterable[str], None] = None,
        peer: Optional[str] = None,
        external: bool = False,
        username: Optional[str] = None,
    ):
        names = (relation_name,) if isinstance(relation_name, str) else tuple(relation_name)
        given = cast("Tuple[object, ...]", names)
        if not given or not all(isinstance(n, str) and n for n in given):
            raise ValueError(f"PostgreSQLClient needs an endpoint name, not {relation_name!r}")
        relation_name = names[0]
        super().__init__(charm, relation_name)
        self.relation_name = relation_name
        self.relation_names: Tuple[str, ...] = tuple(dict.fromkeys(names))
        meta = charm.meta.relations
        self._interfaces: Dict[str, str] = {
            n: (meta[n].interface_name if n in meta else None) or PGSQL for n in self.relation_names
        }
        self._external = bool(external)
        self.log = logging.getLogger(f"pgsql.client.{relation_name}")
        self._owner = charm
        self._state.set_default(
            rels={},
            declared=None,  # the declaration last published and told
            requested=None,  # the last request() declaration: it outlives the hook
            was_leader=None,
            shared=None,
            peer_raw=None,
            gone={},
        )
        self._declared: Optional[Request] = None
        if database is not None or roles is not None or extensions is not None or username:
            self._declared = Request.build(database, roles, extensions, username)
            self._check(self._declared, self._interfaces.values())
            _entity.check_juju(self.model, self._declared)
            if self._state.requested is not None:
                self._state.requested = None  # the constructor declares anew: request() is over
        else:
            # request() in an earlier hook: a declaration lasts until the charm makes another
            # (constructor arguments are not kept: a revision without them declares nothing)
            stored = plain(self._state.requested)
            if isinstance(stored, dict):
                self._declared = Request.from_record(cast("Bag", stored))
        self._peer_name = self._pick_peer(charm, peer)
        self._sharing = RequestSharing(
            self.model,
            self._state,
            relation_name,
            self._peer_name,
            relations=self._relations,
            own_request=self._own_request,
        )
        # Per-hook caches: every handler starts afresh (Harness keeps one charm across events).
        self._evals: Dict[int, Readiness] = {}
        self._fresh_egress: Set[int] = set()
        self._emitting = 0
        self._handled = False  # has one of our handlers run in this process yet?
        # set while emitting: relation id -> (relation, request now, request before the setters)
        self._dirty: Dict[int, Tuple[Relation, Request, Request]] = {}
        self._seen: Dict[int, Relation] = {}  # relations emitted about in this process
        self._observing_all = False  # every hook event observed, for a pending declaration
        self._secrets: Dict[str, Optional[Dict[str, str]]] = {}  # secret contents, this hook
        self._watching_grants = False
        observe = self.framework.observe
        for name in self.relation_names:
            CLIENTS[(id(self.framework), name)] = self
            on = charm.on[name]
            observe(on.relation_created, self._handle_created)
            observe(on.relation_joined, self._handle_joined)
            observe(on.relation_changed, self._handle_changed)
            observe(on.relation_departed, self._handle_departed)
            observe(on.relation_broken, self._handle_broken)
        if POSTGRESQL_CLIENT in self._interfaces.values():
            observe(charm.on.secret_changed, self._handle_secret_changed)
            if self._waiting_for_grant():
                self._watch_grants()
        observe(charm.on.upgrade_charm, self._handle_upgrade_charm)
        observe(charm.on.leader_elected, self._handle_leader_elected)
        observe(charm.on.leader_settings_changed, self._handle_leader_settings_changed)
        observe(charm.on.config_changed, self._handle_config_changed)
        if self._peer_name:
            observe(charm.on[self._peer_name].relation_changed, self._handle_peer_changed)
        if self._declared_pending():
            self._tell_at_first_event()

    @staticmethod
    def _pick_peer(charm: ops.charm.CharmBase, peer: Optional[str]) -> Optional[str]:
        peers = list(charm.meta.peers)
        if peer is None:
            return peers[0] if len(peers) == 1 else None
        if not peer:
            return None
        if peer not in peers:
            raise ValueError(f"{peer!r} is not a peer endpoint of {charm.meta.name}")
        return peer

    # -- public accessors ---------------------------------------------------------------------

    def request(
        self,
        database: Optional[str] = None,
        roles: Union[str, Iterable[str], None] = None,
        extensions: Union[str, Iterable[str], None] = None,
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
        self._declared = Request.build(database, roles, extensions, username)
        self._check(self._declared, self._interfaces.values())
        _entity.check_juju(self.model, self._declared)
        if plain(self._state.requested) != self._declared.record():
            self._state.requested = self._declared.record()
        if not self._declared_pending():
            return
        if self._handled or not self._in_charm_init():
            self._flush_declared()
        else:
            # The charm's observers are not all registered yet: tell the charm once the
            # framework dispatches the hook's first event.
            self._tell_at_first_event()

    @staticmethod
    def _check(request: Request, interfaces: Iterable[str]) -> None:
        """Refuse a request some endpoint's providers would refuse silently (RequestError)."""
        for interface in dict.fromkeys(interfaces):
            protocol.check_request(request, interface)

    def _in_charm_init(self) -> bool:
        """Whether the charm's ``__init__`` (or a base class's) is on the call stack."""
        frame = inspect.currentframe()
        while frame is not None:
            if frame.f_code.co_name == "__init__" and frame.f_locals.get("self") is self._owner:
                return True
            frame = frame.f_back
        return False

    def relation(self) -> Optional[Relation]:
        """The endpoint's only relation, or None.

        With several endpoints (a charm migrating from ``db`` to ``database``), the relation
        served: the oldest one when both endpoints are related.

        Raises:
            ops.model.TooManyRelatedAppsError: an endpoint has several relations.
        """
        if len(self.relation_names) == 1:
            return self.model.get_relation(self.relation_name)
        found = [self.model.get_relation(name) for name in self.relation_names]
        related = [r for r in found if r is not None]
        return min(related, key=lambda r: r.id) if related else None

    def interface(self, relation: Relation) -> str:
        """The interface a relation of this client speaks: ``pgsql`` or ``postgresql_client``."""
        return self._interfaces.get(relation.name, PGSQL)

    def _modern(self, relation: Relation) -> bool:
        return self._interfaces.get(relation.name) == POSTGRESQL_CLIENT

    def _relations(self) -> List[Relation]:
        """Every relation of this client's endpoints."""
        if len(self.relation_names) == 1:
            return list(self.model.relations[self.relation_name])
        return [r for name in self.relation_names for r in self.model.relations[name]]

    def _own_request(self, relation: Relation) -> Request:
        """What this application's bag requests (the leader reads it back)."""
        bag = relation.data[self.model.app]
        if self._modern(relation):
            return protocol.requirer_request(bag)
        return Request.from_databag(bag)

    def readiness(self, relation: RelationArg = None) -> Optional[Readiness]:
        """The verdict for a relation (default: the only one), or None when there is none.

        It needs no event and keeps nothing: call it from collect-status (``ops >= 2.5``)::

            def _on_collect_status(self, event: ops.CollectStatusEvent):
                r = self.db.readiness()
                if r is None:
                    event.add_status(ops.BlockedStatus("needs a database relation"))
                elif not r.ready:
                    event.add_status(ops.WaitingStatus(f"database: {r.why}"))

        ``why`` says what is missing: the server has not granted this unit's egress yet, it has
        not echoed the requested database or extensions yet, it ignores roles, it serves another
        database than requested, and so on; ``reasons`` has the codes.
        """
        rel = relation if relation is not None else self.relation()
        return None if rel is None else self.readiness_of(rel)

    def master(self, relation: RelationArg = None) -> Optional[ConnectionString]:
        """The master connection string of a relation (default: the only one), or None."""
        r = self.readiness(relation)
        return None if r is None else r.master

    def standbys(self, relation: RelationArg = None) -> List[ConnectionString]:
        """The standby connection strings of a relation (default: the only one)."""
        r = self.readiness(relation)
        return [] if r is None else list(r.standbys)

    def version(self, relation: RelationArg = None) -> Optional[str]:
        """The PostgreSQL version published on a relation (default: the only one), or None."""
        r = self.readiness(relation)
        return None if r is None else r.version

    def is_ready(self, relation: RelationArg = None) -> bool:
        """Whether a relation (default: the only one) provides a usable master database."""
        r = self.readiness(relation)
        return r is not None and r.ready

    def tls_ca(self, relation: RelationArg = None) -> Optional[str]:
        """The CA certificate (PEM) the server published (``postgresql_client``), or None."""
        r = self.readiness(relation)
        return None if r is None else r.tls_ca

    def _event_readiness(self, relation: Relation) -> Readiness:
        """What an event reads: cached while we emit, live for events emitted by others."""
        if not self._emitting and (self._handled or not _under_juju()):
            # 1.x read the relation each time an event property was read. (A deferred event
            # re-run at the start of a real hook is caught up from the hook's own change.)
            self._evals.pop(relation.id, None)
            if not _under_juju():
                self._secrets.clear()  # Harness: a grant may have come since
            rec = self._rec(relation.id)
            if rec.pop("remote", None) is not None:
                self._put_rec(relation.id, rec)
        return self.readiness_of(relation)

    def readiness_of(self, relation: Relation) -> Readiness:
        """The verdict for a given relation, computed once per hook from cached databags."""
        cached = self._evals.get(relation.id)
        if cached is not None:
            if self._emitting or not self._modern(relation) or _under_juju():
                return cached
            # Harness: one charm across events, some of which run none of our handlers (a
            # grant, update-status): secrets and the provider's bag are read afresh
            self._secrets.clear()
        if not getattr(relation, "active", True) or str(relation.id) in self._state.gone:
            return broken_readiness()
        request = self.requested(relation)
        if self._modern(relation):
            readiness = self._compute_modern(relation, request)
        else:
            readiness = self._readiness_pgsql(relation, request)
        readiness = self._served(relation, readiness)
        self._evals[relation.id] = readiness
        return readiness

    def _readiness_pgsql(self, relation: Relation, request: Optional[Request]) -> Readiness:
        rec = self._rec(relation.id)
        if not self._handled:
            self._catch_up(relation, rec)
        remote = self._remote(relation, rec)
        readiness = self._compute(relation, rec, remote, request)
        if (
            not readiness.ready
            and relation.id not in self._fresh_egress
            and any(r.code in ACCESS_CODES for r in readiness.reasons)
        ):
            # Our egress may have changed (a re-created pod): re-read it once before blaming
            # the server.
            egress = self._read_egress(relation)
            if egress != rec.get("egress"):
                rec["egress"] = egress
                readiness = self._compute(relation, rec, remote, request)
        self._put_rec(relation.id, rec)
        return readiness

    def _compute_modern(self, relation: Relation, request: Optional[Request]) -> Readiness:
        """postgresql_client: the provider's application bag, read live (one relation-get).

        Nothing of it is kept: the bag may hold credentials (plaintext providers) and Juju
        hands it to every hook anyway. Unit bags matter only behind a subordinate PgBouncer.
        The content of the TLS secret (a flag and a public CA) is kept, with its id: it is read
        again only when the provider references another secret or rotates this one.
        """
        rel_app = cast("Optional[Application]", relation.app)
        app_bag: Dict[str, str] = dict(relation.data[rel_app]) if rel_app is not None else {}
        unit_bags: Dict[str, Dict[str, str]] = {}
        rec = self._rec(relation.id)
        subordinated = app_bag.get("subordinated", "").strip().lower() == "true"
        if subordinated:
            unit_bags = {u.name: dict(relation.data[u]) for u in relation.units}
        if bool(rec.get("sub")) != subordinated:
            rec["sub"] = subordinated  # departed hooks matter only behind a subordinate
        refs = protocol.secret_fields(app_bag)
        secrets: Dict[str, Optional[Dict[str, str]]] = {}
        for group, uri in refs.items():
            key = _secret_key(uri)
            kept = cast("Dict[str, Any]", rec.get("tls") or {})
            if (
                group == "tls"
                and key not in self._secrets
                and key != self._changed_secret()  # its secret-changed: the new revision
                and kept.get("id") == key
                and isinstance(kept.get("content"), dict)
            ):
                secrets[uri] = cast("Dict[str, str]", kept["content"])
                continue
            secrets[uri] = content = self._secret(uri)
            if group == "tls" and content is not None:
                # the flag and the (public) CA only: a provider may put more in that secret
                kept_fields = {k: str(content[k]) for k in ("tls", "tls-ca") if k in content}
                rec["tls"] = {"id": key, "content": kept_fields}
        self._put_rec(relation.id, rec)
        return protocol.evaluate_client(
            request,
            app_bag,
            unit_bags,
            secrets,
            remote_app=rel_app.name if rel_app is not None else None,
            units_present=bool(relation.units),
        )

    def _secret(self, uri: str) -> Optional[Dict[str, str]]:
        """A provider secret's content, read at most once per hook; None when not readable.

        The revision this unit tracks: secret-changed (:meth:`_handle_secret_changed`) moves
        it to the latest one.
        """
        key = _secret_key(uri)
        if key in self._secrets:
            return self._secrets[key]
        content: Optional[Dict[str, str]]
        try:
            if not self._handled and self._changed_secret() == key:
                # secret-changed for it, read before our handler (a deferred event re-run
                # first): see the new revision, as the handler will
                content = self._refreshed(uri)
            else:
                content = dict(self.model.get_secret(id=uri).get_content())
        except (ops.model.SecretNotFoundError, ops.model.ModelError) as e:
            # not granted yet ("permission denied"), or removed: not ready, not an error
            self.log.debug("secret %s not readable: %s", key, type(e).__name__)
            content = None
        self._secrets[key] = content
        return content

    def _refreshed(self, uri: str) -> Dict[str, str]:
        """The latest revision of a secret, now tracked: one ``secret-get --refresh``.

        ``Model.get_secret`` reads the tracked revision first (a second call); ops builds the
        secret of a secret-changed event the same lazy way as here.
        """
        backend = getattr(self.model, "_backend", None)
        try:
            secret = ops.model.Secret(backend, id=uri)  # pyright: ignore[reportArgumentType]
        except TypeError:  # pragma: no cover - an ops whose Secret takes other arguments
            secret = self.model.get_secret(id=uri)
        return dict(secret.get_content(refresh=True))

    @staticmethod
    def _changed_secret() -> str:
        """The secret this hook is the secret-changed hook of ("" in other hooks)."""
        if dispatched_hook() != "secret-changed":
            return ""
        return _secret_key(os.environ.get("JUJU_SECRET_ID", ""))

    def _served(self, relation: Relation, readiness: Readiness) -> Readiness:
        """With several endpoints related at once, only the oldest relation is served."""
        if len(self.relation_names) == 1:
            return readiness
        others = [
            r
            for r in self._relations()
            if r.name != relation.name and r.id < relation.id and not self.is_gone(r)
        ]
        if not others:
            return readiness
        older = min(others, key=lambda r: r.id)
        why = protocol.Reason(
            ENDPOINT_CONFLICT,
            f"{older.name} is related too ({older.name}:{older.id}, served); remove one of the "
            f"two relations",
            advice=f"once the data is moved: juju remove-relation {self.model.app.name}:"
            f"{older.name} {older.app.name if older.app else ''}".rstrip(),
        )
        return protocol.Readiness(
            ready=False,
            version=readiness.version,
            database=readiness.database,
            reasons=(why, *readiness.reasons),
            bags=readiness.bags,
        )

    def requested(self, relation: Relation) -> Optional[Request]:
        """What the application requested on a relation, as far as this unit can know.

        None when it cannot know (a non-leader with neither a peer relation nor leadership
        settings): readiness then trusts what the server echoes.
        """
        if self._declared is not None:
            return self._declared
        if legacy("_legacy_sharing")():
            entry = leader_entry(legacy("_get_pgsql_leader_data")(), relation.id) or {}
            return Request.from_databag(entry)
        if str(relation.id) in self._state.gone:
            return None  # its databags are unreadable now
        rec = self._rec(relation.id)
        modern = self._modern(relation)
        if "req" not in rec:
            rec["req"] = self._sharing.learn(relation)
            self._put_rec(relation.id, rec)
        req = rec["req"]
        if req is None and modern:
            return self._echoed_request(relation)
        return None if req is None else Request.from_databag(cast("Bag", req))

    def _echoed_request(self, relation: Relation) -> Optional[Request]:
        """postgresql_client: the request as the provider snapshotted it (``data``), if any.

        What a non-leader knows of the request once the provider answered when nothing else
        tells it (no peer relation, no leadership settings: Juju 4), from the provider's bag,
        which is read in that hook anyway.
        """
        rel_app = cast("Optional[Application]", relation.app)
        raw = relation.data[rel_app].get("data", "") if rel_app is not None else ""
        try:
            loaded: object = json.loads(raw) if raw.strip() else None
        except ValueError:
            return None
        if not isinstance(loaded, dict):
            return None
        snapshot = {str(k): v for k, v in cast("Dict[object, object]", loaded).items()}
        bag = {k: v for k, v in snapshot.items() if isinstance(v, str)}
        request = protocol.requirer_request(bag)
        return request if request.database else None

    def is_gone(self, relation: Relation) -> bool:
        """Whether a relation is being removed or was removed (relation-broken seen)."""
        if str(relation.id) in self._state.gone:
            return True
        if getattr(relation, "active", True) is False:  # ops >= 2.10 marks the broken one
            return True
        return relation.id not in {r.id for r in self.model.relations[relation.name]}

    def last_database(self, relation: Relation) -> Optional[str]:
        """The last database this unit knew for a relation, even once the relation is gone.

        For a unit that cannot know the request (a non-leader with neither a peer relation nor
        leadership settings) it is the last database the server echoed: 1.x charms compare
        ``event.database`` in every event, the gone and broken ones included.
        """
        gone = self._state.gone.get(str(relation.id))
        if gone is not None:
            return str(gone) or None
        db = self._rec(relation.id).get("db")
        return db if isinstance(db, str) and db else None

    def set_request(
        self,
        relation: Relation,
        *,
        database: Optional[str] = None,
        roles: Union[str, Iterable[str], None] = None,
        extensions: Union[str, Iterable[str], None] = None,
    ) -> None:
        """Change what the application requests on one relation (the 1.x setters; leader only).

        Arguments left None keep their current value; ``""`` or an empty list removes it.

        Raises:
            NotLeaderError: this unit is not the leader.
            pgsql.protocol.RequestError: a name is invalid.
        """
        if not self.model.unit.is_leader():
            raise NotLeaderError(
                f"{self.model.unit.name} is not the leader: only the leader can set the request "
                f"on {self.relation_name}:{relation.id} (or pass database=... to "
                "PostgreSQLClient on every unit)"
            )
        self._state.was_leader = True
        cur = self.requested(relation) or Request()
        new = Request.build(
            cur.database if database is None else database,
            cur.roles if roles is None else roles,
            cur.extensions if extensions is None else extensions,
            cur.username,
        )
        self._check(new, [self.interface(relation)])
        if self._declared is not None:
            self._declared = new
            self._state.declared = new.record()
            if self._state.requested is not None:  # a request() declaration: keep it current
                self._state.requested = new.record()
        if legacy("_legacy_sharing")():
            # 1.x read-modify-wrote the shared copy in every setter, through these helpers
            shared: Dict[int, Dict[str, str]] = {
                k: dict(v) for k, v in legacy("_get_pgsql_leader_data")().items()
            }
            shared[relation.id] = shared_form(new)
            legacy("_set_pgsql_leader_data")(shared)
        rec = self._rec(relation.id)
        rec["req"] = new.databag()
        self._put_rec(relation.id, rec)
        self._evals.pop(relation.id, None)
        if self._emitting:
            # inside our own emission: write (and log) once, after every handler had its say
            before = self._dirty.get(relation.id, (relation, new, cur))[2]
            self._dirty[relation.id] = (relation, new, before)
        else:
            if cur != new:
                self.log.debug("request on relation %s is now %s", relation.id, new.databag())
            self._write_request(relation, new)
            if cur != new:
                self._retell(relation)

    def _write_request(self, relation: Relation, request: Request) -> None:
        """The leader's write: app bag, own unit bag and the copy for non-leaders."""
        if self._modern(relation):
            self._publish_modern(relation, request)
            self._sharing.share(relation.id, request, declared=self._declared is not None)
            return
        want = request.databag()
        rec = self._rec(relation.id)
        write_request_keys(relation.data[self.model.app], want)
        write_request_keys(relation.data[self.model.unit], want)
        rec["pub_app"] = want
        rec["pub_unit"] = want
        self._put_rec(relation.id, rec)
        self._sharing.share(relation.id, request, declared=self._declared is not None)

    # -- 1.x names that tests patch -----------------------------------------------------------

    def _on_joined(self, event: ops.charm.RelationJoinedEvent) -> None:
        """relation-joined: publish, then ``database_relation_joined`` once per relation."""
        self._mirror_appdata(event.relation)
        self._ensure_joined(event.relation, event.app, event.unit)

    def _mirror_appdata(self, relation: Optional[Relation] = None) -> None:
        """Publish the request to one relation (default: all) where it is not there yet.

        The leader writes the application databag, every unit its own databag (servers read one
        or the other), and the leader a copy for non-leaders (peer relation, else 1.x leadership
        settings). Only what differs is written.
        """
        relations = [relation] if relation is not None else self._relations()
        for rel in relations:
            self._publish(rel)

    # -- event handlers -----------------------------------------------------------------------

    def _begin(self) -> None:
        self._handled = True
        self._evals.clear()
        self._fresh_egress.clear()
        if not _under_juju():
            # Harness: one charm across events. Under Juju a hook sees one revision of each
            # secret (what it read before our handler ran still holds)
            self._secrets.clear()
        self._flush_declared()
        if (
            self._state.was_leader is True
            and self._declared is None
            and self._peer_name is None
            and not self.model.unit.is_leader()
        ):
            # Leadership moved and nothing told this unit (Juju 4 has no leader-settings-changed
            # and there is no peer relation): forget what it requested as the leader.
            self._state.was_leader = False
            self._relearn_all()

    def _declared_pending(self) -> bool:
        """A declared request that differs from the one last published and told."""
        return self._declared is not None and (
            plain(self._state.declared) != self._declared.record()
        )

    def _tell_at_first_event(self) -> None:
        """Flush a pending declaration at the hook's first event, whichever it is.

        Only while a declaration is pending (the first hook after it changed) does the client
        observe every hook event (pre-commit too); collect-metrics cannot write relation data,
        and actions are not hook events.
        """
        if self._observing_all:
            return
        self._observing_all = True
        for bound in self._owner.on.events().values():
            kind = bound.event_type
            if issubclass(kind, ops.charm.HookEvent) and not issubclass(
                kind, ops.charm.CollectMetricsEvent
            ):
                self.framework.observe(bound, self._handle_any)
        self.framework.observe(self.framework.on.pre_commit, self._handle_any)

    def _handle_any(self, event: ops.framework.EventBase) -> None:
        self._handled = True
        self._flush_declared()

    def _flush_declared(self) -> None:
        """Publish a changed declared request and emit what it changes, once per change."""
        if self._emitting or not self._declared_pending():
            return  # inside our own emission: _emit flushes when it is done
        self._state.declared = cast("Request", self._declared).record()  # first: _emit flushes
        self._evals.clear()
        for relation in self._relations():
            self._mirror_appdata(relation)
            self._retell(relation)

    def _handle_created(self, event: ops.charm.RelationCreatedEvent) -> None:
        self._begin()
        self._mirror_appdata(event.relation)

    def _handle_joined(self, event: ops.charm.RelationJoinedEvent) -> None:
        self._begin()
        self._on_joined(event)

    def _handle_changed(self, event: ops.charm.RelationChangedEvent) -> None:
        self._begin()
        self._on_changed(event)

    def _on_changed(self, event: ops.charm.RelationChangedEvent) -> None:
        relation = event.relation
        rec = self._rec(relation.id)
        remote = rec.get("remote")
        if remote is not None:
            refresh_changed(relation, cast("Dict[str, Any]", remote), event.unit)
            self._put_rec(relation.id, rec)
        if not rec.get("joined") and not self._may_synthesize_joined(relation):
            # The server application's bag changed before any of its units joined. 1.x told
            # the charm nothing then; the relation-changed that follows a unit's joined will.
            self.log.debug("relation %s changed before joined", relation.id)
            return
        self._mirror_appdata(relation)
        self._ensure_joined(relation, event.app, event.unit)
        self._update(relation, event.app, event.unit)

    def _handle_departed(self, event: ops.charm.RelationDepartedEvent) -> None:
        self._begin()
        departing = getattr(event, "departing_unit", None)
        if departing is not None and departing.name == self.model.unit.name:
            return  # this unit is leaving; its access is going, not the server's data
        relation = event.relation
        rec = self._rec(relation.id)
        if (
            self._modern(relation)
            and not rec.get("sub")
            and rec.get("snap") is not None
            and relation.units
        ):
            return  # postgresql_client answers in the app bag: a leaving unit changes nothing
        remote = rec.get("remote")
        if remote is not None:
            cast("Dict[str, Bag]", remote["units"]).pop(event.unit.name, None)
            self._put_rec(relation.id, rec)
        self._update(relation, event.app, event.unit)

    def _handle_broken(self, event: ops.charm.RelationBrokenEvent) -> None:
        self._begin()
        self._on_broken(event)

    def _on_broken(self, event: ops.charm.RelationBrokenEvent) -> None:
        relid = event.relation.id
        raw = self._state.rels.get(relid)
        prev = None if raw is None else protocol.Snapshot.from_dict(migrate(raw).get("snap") or {})
        self._evals[relid] = broken_readiness()
        request = self.requested(event.relation)
        known = request.database if request is not None else None
        known = known or self.last_database(event.relation)
        self._emit(protocol.broken_transitions(prev), event.relation, event.app, event.unit)
        username = request.username if request is not None else ""
        if username and self._modern(event.relation) and self.model.unit.is_leader():
            # only the owner (the leader) removes its helper secret
            _entity.remove(self.model, relid, self._rec(relid), username)
        gone = plain(self._state.gone)
        gone[str(relid)] = known or ""
        # a few recent ones are enough for deferred events that run after the removal
        self._state.gone = dict(list(gone.items())[-GONE_KEPT:])
        if relid in self._state.rels:
            del self._state.rels[relid]
        self._evals.pop(relid, None)
        if len(self.relation_names) > 1:
            # a charm migrating endpoints: the relation it was not served may be now
            for other in self._relations():
                if other.id != relid and other.name != event.relation.name:
                    self._evals.pop(other.id, None)
                    self._tell(other)

    def _handle_upgrade_charm(self, event: ops.charm.UpgradeCharmEvent) -> None:
        self._begin()
        self._on_upgrade_charm(event)

    def _on_upgrade_charm(self, event: ops.charm.UpgradeCharmEvent) -> None:
        # New charm code: re-read everything once (and migrate 1.x records).
        relations = self._relations()
        for relation in relations:
            rec = self._rec(relation.id)
            for key in ("remote", "egress", "req", "tls"):
                rec.pop(key, None)
            self._put_rec(relation.id, rec)
        if self._declared is None and self.model.unit.is_leader():
            self._state.was_leader = True
            for relation in relations:
                self._migrate_unit_request(relation)
        for relation in relations:
            self._mirror_appdata(relation)
            self._tell(relation)

    def _handle_leader_elected(self, event: ops.charm.LeaderElectedEvent) -> None:
        self._begin()
        self._state.was_leader = True
        self._relearn_all()

    def _handle_leader_settings_changed(self, event: ops.charm.LeaderSettingsChangedEvent) -> None:
        self._begin()
        self._state.was_leader = False
        if self._declared is None and self._peer_name is None:
            self._relearn_all()

    def _handle_peer_changed(self, event: ops.charm.RelationChangedEvent) -> None:
        self._begin()
        if self._declared is not None:
            return  # declared requests need nobody's copy
        lost_leadership = False
        if self._state.was_leader is True:
            if self.model.unit.is_leader():
                return  # the leader is the source
            # Leadership moved (Juju 4 fires no leader-settings-changed to say so): follow
            # the new leader's copy from now on, even if it reads like one seen before.
            self._state.was_leader = False
            lost_leadership = True
        raw = event.relation.data[self.model.app].get(self._sharing.key, "")
        if lost_leadership or raw != self._state.peer_raw:
            self._state.peer_raw = raw
            self._relearn_all()

    def _waiting_for_grant(self) -> bool:
        """Some relation was last judged not ready for want of a secret's grant."""
        return any(
            protocol.SECRET_NOT_GRANTED in (plain(raw).get("codes") or [])
            for raw in self._state.rels.values()
        )

    def _watch_grants(self) -> None:
        """A grant runs no hook on this side: tell the charm at the next update-status."""
        if not self._watching_grants:
            self._watching_grants = True
            self.framework.observe(self._owner.on.update_status, self._handle_update_status)

    def _handle_update_status(self, event: ops.charm.UpdateStatusEvent) -> None:
        self._begin()
        self._tell_granted()

    def _tell_granted(self) -> None:
        """Tell the charm about relations that waited for a grant (it may have come)."""
        for relation in self._relations():
            codes: List[str] = self._rec(relation.id).get("codes") or []
            if self._modern(relation) and protocol.SECRET_NOT_GRANTED in codes:
                self._tell(relation)

    def _handle_config_changed(self, event: ops.charm.ConfigChangedEvent) -> None:
        self._begin()  # a declaration computed from config is published and told there
        if self._watching_grants:
            self._tell_granted()

    # -- internals ----------------------------------------------------------------------------

    def _relearn_all(self) -> None:
        for relation in self._relations():
            rec = self._rec(relation.id)
            if rec.pop("req", None) is not None or "req" not in rec:
                self._put_rec(relation.id, rec)
            self._mirror_appdata(relation)
            self._tell(relation)

    def _tell(self, relation: Relation) -> None:
        """Outside relation hooks: emit what changed, for relations the charm knows joined."""
        rec = self._rec(relation.id)
        if not rec.get("joined"):
            if not self._may_synthesize_joined(relation):
                return  # nothing joined yet: the relation hooks will tell
            # 1.x emitted joined from relation-joined only: its handlers may read event.unit
            first = min(relation.units, key=lambda u: protocol.unit_sort_key(u.name))
            self._ensure_joined(relation, relation.app, first)
        self._update(relation, relation.app, None)

    def _may_synthesize_joined(self, relation: Relation) -> bool:
        """Whether to emit joined outside relation-joined (lost StoredState, -changed first).

        Only when Juju lists a joined remote unit, and not when a test replaced ``_on_joined``:
        with it patched, 1.x never emitted joined and told the charm nothing more.
        """
        if type(self)._on_joined is not _ON_JOINED:
            return False
        return bool(relation.units)

    def _rec(self, relid: int) -> Dict[str, Any]:
        raw = self._state.rels.get(relid)
        return {"v": RECORD_VERSION} if raw is None else migrate(raw)

    def _put_rec(self, relid: int, rec: Dict[str, Any]) -> None:
        # Assign only real changes: every StoredState write is a commit (state-set on some
        # substrates).
        raw = self._state.rels.get(relid)
        if raw is None or plain(raw) != rec:
            self._state.rels[relid] = rec

    def _catch_up(self, relation: Relation, rec: Dict[str, Any]) -> None:
        """Fold in what the running hook brings before our own handler has seen it."""
        remote = rec.get("remote")
        if remote is not None:
            catch_up(self.model, relation.name, relation, cast("Dict[str, Any]", remote))

    def _remote(self, relation: Relation, rec: Dict[str, Any]) -> Dict[str, Any]:
        remote = rec.get("remote")
        if remote is None:
            remote = rec["remote"] = read_remote(relation)
        if not rec.get("egress"):
            # Juju writes egress-subnets before the first relation hook; "" means "not yet"
            # (tests set it late), so it is read again until there is one.
            rec["egress"] = self._read_egress(relation)
        return cast("Dict[str, Any]", remote)

    def _read_egress(self, relation: Relation) -> str:
        self._fresh_egress.add(relation.id)
        return relation.data[self.model.unit].get("egress-subnets", "")

    def _compute(
        self,
        relation: Relation,
        rec: Dict[str, Any],
        remote: Dict[str, Any],
        request: Optional[Request],
    ) -> Readiness:
        rel_app = cast("Optional[Application]", relation.app)
        app_name = rel_app.name if rel_app is not None else str(remote.get("name", ""))
        local = {"egress-subnets": str(rec.get("egress") or "")}
        accept: Optional[Callable[[str, Mapping[str, str]], bool]] = None
        if legacy("_patched")("_is_ready"):
            # 1.x tests patch _is_ready to force a verdict: let it judge every server bag
            is_ready = cast("Callable[..., bool]", legacy("_is_ready"))
            appdata = shared_form(request) if request is not None else {}
            locdata = relation.data[self.model.unit]
            log = self.log

            def _accept(name: str, data: Mapping[str, str]) -> bool:
                return bool(is_ready(log, appdata, locdata, data))

            accept = _accept

        return protocol.evaluate(
            request,
            self.model.unit.name,
            local,
            app_name,
            cast("Bag", remote.get("app") or {}),
            cast("Dict[str, Bag]", remote.get("units") or {}),
            accept=accept,
        )

    def _ensure_joined(
        self, relation: Relation, app: Optional[Application], unit: Optional[Unit]
    ) -> None:
        """``database_relation_joined`` once per relation, even if -changed came first."""
        rec = self._rec(relation.id)
        if rec.get("joined"):
            return
        rec["joined"] = True
        self._put_rec(relation.id, rec)
        self._emit(("database_relation_joined",), relation, app, unit)

    def _update(self, relation: Relation, app: Optional[Application], unit: Optional[Unit]) -> None:
        """Evaluate the relation and emit what changed since the charm was last told."""
        self._evals.pop(relation.id, None)
        readiness = self.readiness_of(relation)
        if self._declared is not None and self._declared.username and readiness.bags:
            self._settle_entity(relation, readiness)
        rec = self._rec(relation.id)
        raw_prev = rec.get("snap")
        prev = (
            None
            if raw_prev is None
            else protocol.Snapshot.from_dict(cast("Dict[str, object]", raw_prev))
        )
        cur = readiness.snapshot()
        codes = sorted({r.code for r in readiness.reasons if r.blocking})
        if protocol.SECRET_NOT_GRANTED in codes:
            self._watch_grants()
        if codes != rec.get("codes"):
            if readiness.ready:
                if not self._modern(relation):  # which server bag was chosen: a decision
                    self.log.debug("relation %s ready (from %s)", relation.id, readiness.source)
            else:
                self.log.debug("relation %s not ready: %s", relation.id, ", ".join(codes))
            rec["codes"] = codes
        rec["snap"] = cur.to_dict()
        known = readiness.database
        unknown_request = self._declared is None and rec.get("req", {}) is None
        if known and unknown_request and rec.get("db") != known:
            rec["db"] = known  # the server's echo, kept for event.database once it is gone
        self._put_rec(relation.id, rec)
        self._emit(protocol.transitions(prev, cur), relation, app, unit)

    def _settle_entity(self, relation: Relation, readiness: Readiness) -> None:
        """The provider answered a requested user name: its helper secret goes."""
        if self._modern(relation) and readiness.bags[0].publishes_master:
            rec = self._rec(relation.id)
            if _entity.settle(self.model, relation, self._declared, rec):
                self._put_rec(relation.id, rec)

    def _emit(
        self,
        names: Sequence[str],
        relation: Relation,
        app: Optional[Application],
        unit: Optional[Unit],
    ) -> None:
        if app is None:
            app = cast("Optional[Application]", relation.app)
        if unit is not None and unit.app != app:
            unit = None
        self._seen[relation.id] = relation
        self._emitting += 1
        try:
            for name in names:
                source = cast("ops.framework.BoundEvent", getattr(self.on, name))
                source.emit(relation, app, unit, self.model.unit)
        finally:
            self._emitting -= 1
        if self._emitting:
            return
        if self._dirty:
            dirty, self._dirty = self._dirty, {}
            for rel, request, before in dirty.values():
                if request != before:  # one line for the setters of a handler
                    self.log.debug("request on relation %s is now %s", rel.id, request.databag())
                self._write_request(rel, request)
                self._retell(rel)
        self._flush_declared()  # request() from a handler of ours events

    def _retell(self, relation: Relation) -> None:
        """After a request change: emit what it changed (an echo may already match it).

        Only for relations the charm was already told about (evaluated at least once): a first
        evaluation belongs to the relation-changed hooks, as in 1.x.
        """
        if self._emitting:
            return
        raw = self._state.rels.get(relation.id)
        if raw is not None and plain(raw).get("snap") is not None:
            self._update(relation, relation.app, None)

    def _migrate_unit_request(self, relation: Relation) -> None:
        """Pre-ops charms requested through the leader's unit databag; 1.x moved it up."""
        if self._modern(relation):
            return  # no charm ever requested postgresql_client that way
        app_bag = relation.data[self.model.app]
        if any(k in app_bag for k in protocol.REQUEST_KEYS):
            return
        unit_req = Request.from_databag(relation.data[self.model.unit])
        if unit_req:
            self.log.debug("moving the request of relation %s to the app databag", relation.id)
            write_request_keys(app_bag, unit_req.databag())
            rec = self._rec(relation.id)
            rec["req"] = unit_req.databag()
            rec["pub_app"] = unit_req.databag()
            self._put_rec(relation.id, rec)

    def _publish(self, relation: Relation) -> None:
        """Write the known request where it is not yet: own unit bag, app bag and shared copy."""
        if self._modern(relation):
            # postgresql_client: only the leader writes (its application bag)
            if self._state.was_leader is False:
                return
            if not self.model.unit.is_leader():
                self._state.was_leader = False
                return
        app_too = True
        if self._declared is not None:
            request: Optional[Request] = self._declared
        elif legacy("_legacy_sharing")():
            # 1.x: the leader mirrors its app bag, non-leaders the leadership copy
            app_too = False
            if self.model.unit.is_leader():
                request = self._own_request(relation)
            else:
                entry = leader_entry(legacy("_get_pgsql_leader_data")(), relation.id)
                request = None if entry is None else Request.from_databag(entry)
        else:
            request = self.requested(relation)
        if self._modern(relation):
            self._state.was_leader = True
            if request is not None and self._publish_modern(relation, request):
                self._sharing.share(relation.id, request, declared=self._declared is not None)
            return
        rec = self._rec(relation.id)
        if request is None:
            if rec.get("pub_unit"):
                # an ex-leader that can no longer know the request stops advertising its own
                write_request_keys(relation.data[self.model.unit], {})
                rec["pub_unit"] = {}
                self._put_rec(relation.id, rec)
            return
        want = request.databag()
        if rec.get("pub_unit") != want:
            unit_bag = relation.data[self.model.unit]
            write_request_keys(unit_bag, want)
            rec["pub_unit"] = want
            self._fresh_egress.add(relation.id)
            rec["egress"] = unit_bag.get("egress-subnets", "")
        if app_too and rec.get("pub_app") != want and self._state.was_leader is not False:
            if self.model.unit.is_leader():
                self._state.was_leader = True
                write_request_keys(relation.data[self.model.app], want)
                rec["pub_app"] = want
                self._put_rec(relation.id, rec)
                self._sharing.share(relation.id, request, declared=self._declared is not None)
                return
            self._state.was_leader = False
        self._put_rec(relation.id, rec)

    def _publish_modern(self, relation: Relation, request: Request) -> bool:
        """postgresql_client: the leader's application bag says ``request`` (True: it wrote).

        Nothing is written before a database name is known: providers act on the first
        ``database`` they see and never on a changed one.
        """
        if not request.database:
            return False  # readiness() tells why (no database requested yet), in every hook
        asked = protocol.requirer_databag(request, external=self._external)
        if request.username:  # in the record only: the name goes in a secret
            asked["username"] = request.username
        rec = self._rec(relation.id)
        if rec.get("pub_app") == asked:
            return False
        bag = relation.data[self.model.app]
        want = asked
        theirs: Mapping[str, str] = {}
        entity = bool(request.username) or protocol.REQUESTED_ENTITY_SECRET in bag
        if entity or "extra-user-roles" in bag or "extra-user-roles" in want:
            rel_app = cast("Optional[Application]", relation.app)
            theirs = relation.data[rel_app] if rel_app is not None else {}
        answered = bool(theirs.get("endpoints") or theirs.get("data"))
        if entity:
            keys = _entity.entity_keys(self.model, relation, request, bag, answered, rec)
            want = {**want, **keys}
        if answered and ("extra-user-roles" in bag or "extra-user-roles" in want):
            # PostgreSQL's hook fails on roles changed after it answered: keep those it
            # acted on (readiness says request-changed)
            want = {k: v for k, v in want.items() if k != "extra-user-roles"}
            if bag.get("extra-user-roles"):
                want["extra-user-roles"] = bag["extra-user-roles"]
        write_request_keys(bag, want, _MODERN_KEYS)
        rec["pub_app"] = asked  # decided for this request: not looked at again
        self._put_rec(relation.id, rec)
        return True

    def _handle_secret_changed(self, event: ops.charm.SecretChangedEvent) -> None:
        """A provider rotated a password or CA inside its secret: follow it."""
        self._begin()
        key = _secret_key(event.secret.id or "")
        for relation in self._relations():
            rel_app = cast("Optional[Application]", relation.app)
            if not self._modern(relation) or rel_app is None:
                continue
            uris = protocol.secret_fields(relation.data[rel_app]).values()
            if not key or key not in {_secret_key(u) for u in uris}:
                continue
            if key not in self._secrets:
                try:
                    self._secrets[key] = dict(event.secret.get_content(refresh=True))
                except (ops.model.SecretNotFoundError, ops.model.ModelError) as e:
                    self.log.debug("secret %s not readable: %s", key, type(e).__name__)
                    self._secrets[key] = None
            self._tell(relation)


_ON_JOINED = PostgreSQLClient._on_joined  # pyright: ignore[reportPrivateUsage]
