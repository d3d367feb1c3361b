"""A ``postgresql_client`` provider described in a state, and the relations tests show.

The ``postgresql_client`` half of :mod:`pgsql.testing` (its documentation is there):
:class:`Provider` describes Charmed PostgreSQL or Charmed PgBouncer, VM or Kubernetes, on the
other end of your charm's ``database`` endpoint, and renders what such a provider publishes: its
application bag, its units' bags and the content of the Juju secrets it grants to the relation.
The ``scenario_provider_*`` and ``harness_provider_*`` helpers put that on one unit's relation
(with the secrets where ops.testing and Harness keep them) and move it from state to state,
running the hooks Juju would run.

The bags are written from what the real provider charms publish (data_interfaces v0, as
PostgreSQL 14/16 and PgBouncer ship it), not by this library's own provider code, so that they
include the providers' quirks (PostgreSQL 16 K8s writes ``read-only-uris`` with the port twice).
Whether a described state is ready is decided by :func:`pgsql.protocol.evaluate_client`, the rule
:class:`pgsql.PostgreSQLClient` applies. Imports without Scenario; only the ``scenario_*``
helpers need it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NamedTuple, Optional, Set, Tuple, cast

from .. import protocol
from ..connstr import ConnectionString
from ..protocol import Request, RequestError
from ._asked import answered_request, shared_request
from ._common import (
    endpoint_of,
    juju_keys,
    ops_testing,
    relation_of,
    run_bag_hooks,
    set_bag,
    unit_number,
)
from ._pgsql import (
    GONE,
    PASSWORD,
    Client,
    _harness_client,  # pyright: ignore[reportPrivateUsage]
)
from ._pick import POSTGRESQL_CLIENT, pick_relation

if TYPE_CHECKING:  # pragma: no cover - names for type checkers only; Scenario may be absent
    from ops.testing import Harness, Relation, Secret, State

__all__ = [
    "ANSWERED",
    "KINDS",
    "MODEL_UUID",
    "NOT_ANSWERED",
    "PGBOUNCER_K8S",
    "PGBOUNCER_VM",
    "POSTGRESQL_K8S",
    "POSTGRESQL_VM",
    "PROVIDER_STATES",
    "SECRET_NOT_GRANTED",
    "TLS_CA",
    "Provider",
    "ProviderBags",
    "ProviderRelation",
    "ProviderRequest",
    "harness_provider_move",
    "harness_provider_relation",
    "harness_provider_requested",
    "provider_requested",
    "scenario_provider_apply",
    "scenario_provider_move",
    "scenario_provider_relation",
]

POSTGRESQL_VM = "postgresql-vm"
POSTGRESQL_K8S = "postgresql-k8s"
PGBOUNCER_VM = "pgbouncer-vm"
PGBOUNCER_K8S = "pgbouncer-k8s"
#: Every provider :class:`Provider` can describe.
KINDS = (POSTGRESQL_VM, POSTGRESQL_K8S, PGBOUNCER_VM, PGBOUNCER_K8S)

NOT_ANSWERED = "not-answered"
SECRET_NOT_GRANTED = "secret-not-granted"  # noqa: S105 (a state name)
ANSWERED = "answered"
#: Every provider state :class:`Provider` can describe (``gone`` is :data:`pgsql.testing.GONE`).
PROVIDER_STATES = (NOT_ANSWERED, SECRET_NOT_GRANTED, ANSWERED, GONE)

#: The model UUID in the secret URIs the providers publish (``secret://<uuid>/<id>``).
MODEL_UUID = "5b0ed7e4-7d6c-4c3e-9a4f-3f1c2d9e8a70"

#: The CA certificate a provider with TLS on publishes unless told another (not a real one).
TLS_CA = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBpgsqlTestingCAforPostgresqlClientRelationsOnlyNotARealCertificate\n"
    "-----END CERTIFICATE-----"
)

_DEFAULT_APPS = {
    POSTGRESQL_VM: "postgresql",
    POSTGRESQL_K8S: "postgresql-k8s",
    PGBOUNCER_VM: "pgbouncer",
    PGBOUNCER_K8S: "pgbouncer-k8s",
}
_PGBOUNCER_PORT = 6432
_POSTGRESQL_PORT = 5432
# the relation id in the user name when a test renders bags outside any relation
_DEFAULT_RELATION_ID = 7
# Juju secret ids are xids: 20 characters of base32hex, lower case
_XID_ALPHABET = "0123456789abcdefghijklmnopqrstuv"


# ---------------------------------------------------------------------------------------------
# What the requirer asked
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderRequest:
    """What a requirer application published on a ``postgresql_client`` relation.

    Read leniently from the requirer's application bag (:meth:`from_bag`): what cannot be read
    is left empty, as a provider would ignore it.

    Attributes:
        database: ``database``.
        extra_user_roles: ``extra-user-roles``, split on commas.
        requested_secrets: ``requested-secrets`` (a JSON list), in order.
        external: ``external-node-connectivity`` is ``"true"``.
    """

    database: str = ""
    extra_user_roles: Tuple[str, ...] = ()
    requested_secrets: Tuple[str, ...] = ()
    external: bool = False

    @classmethod
    def from_bag(cls, bag: Mapping[str, str]) -> ProviderRequest:
        """Read a requirer application bag."""
        try:
            loaded: object = json.loads(bag.get("requested-secrets", "") or "[]")
        except ValueError:
            loaded = []
        listed = cast(List[object], loaded) if isinstance(loaded, list) else []
        return cls(
            database=bag.get("database", "").strip(),
            extra_user_roles=tuple(protocol.split_list(bag.get("extra-user-roles", ""))),
            requested_secrets=tuple(str(x) for x in listed if isinstance(x, str)),
            external=bag.get("external-node-connectivity", "").strip().lower() == "true",
        )

    @classmethod
    def of(cls, request: Request, *, external: bool = False) -> ProviderRequest:
        """What :class:`pgsql.PostgreSQLClient` publishes for ``request`` (for comparisons)."""
        return cls.from_bag(protocol.requirer_databag(request, external=external))

    def as_request(self) -> Request:
        """The database and roles as a :class:`pgsql.Request` (empty when unusable)."""
        try:
            return Request.build(self.database, self.extra_user_roles)
        except RequestError:
            return Request()


def _asked(request: Request, external: bool) -> Dict[str, str]:
    """The requirer application bag :class:`pgsql.PostgreSQLClient` writes for ``request``."""
    if not request.database:
        return {}  # it publishes nothing without a database name
    return protocol.requirer_databag(request, external=external)


# ---------------------------------------------------------------------------------------------
# The provider
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderBags:
    """What a provider publishes on one relation.

    Attributes:
        app: the provider's application bag (the secret URIs under ``secret-<group>``).
        units: each provider unit's bag (Juju's keys; PgBouncer VM adds ``state``).
        secrets: the content of each secret the application bag references, by URI.
        granted: whether those secrets are granted to the relation (readable by the requirer).
    """

    app: Dict[str, str]
    units: Dict[str, Dict[str, str]]
    secrets: Dict[str, Dict[str, str]]
    granted: bool

    def by_unit_id(self) -> Dict[int, Dict[str, str]]:
        """The unit bags keyed by unit number (Scenario's ``remote_units_data``)."""
        return {unit_number(name): dict(bag) for name, bag in self.units.items()}

    def readable(self) -> Dict[str, Optional[Dict[str, str]]]:
        """What the requirer can read of each secret: its content, or None when not granted.

        The ``secrets`` argument of :func:`pgsql.protocol.evaluate_client`.
        """
        return {uri: (dict(c) if self.granted else None) for uri, c in self.secrets.items()}

    def __repr__(self) -> str:
        # the bags and the secrets hold passwords: show which keys there are, not the values
        secrets = {uri: sorted(content) for uri, content in self.secrets.items()}
        return (
            f"ProviderBags(app={sorted(self.app)!r}, units={sorted(self.units)!r}, "
            f"secrets={secrets!r}, granted={self.granted!r})"
        )


@dataclass(frozen=True)
class Provider:
    """A ``postgresql_client`` provider, in one state, as seen on a requirer's relation.

    Attributes:
        kind: one of :data:`KINDS`: :data:`POSTGRESQL_VM` (``endpoints`` is the primary's
            address, ``read-only-endpoints`` the replicas'), :data:`POSTGRESQL_K8S` (the
            ``-primary`` and ``-replicas`` Services), :data:`PGBOUNCER_VM` (a subordinate:
            ``subordinated: "true"``, ``localhost``, ``state: ready`` in its unit bag, the
            read-only database ``<db>_readonly``) or :data:`PGBOUNCER_K8S` (its Service).
        state: one of :data:`PROVIDER_STATES`: :data:`NOT_ANSWERED` (nothing published yet),
            :data:`SECRET_NOT_GRANTED` (the answer published, its secrets not yet readable by
            the requirer), :data:`ANSWERED`, :data:`~pgsql.testing.GONE` (everything withdrawn).
        app: the provider application's name (default by kind: ``postgresql``,
            ``postgresql-k8s``, ``pgbouncer``, ``pgbouncer-k8s``).
        units: how many provider units the requirer sees (a subordinate PgBouncer: its one
            co-located unit).
        primary: the unit number serving the primary (PostgreSQL VM: a failover changes
            ``endpoints``; on Kubernetes the Services stay the same).
        version: the published PostgreSQL version; its major decides the quirks of the
            version (PostgreSQL 14 names the user ``relation-<id>``, 16 ``relation_id_<id>``;
            PostgreSQL 16 K8s writes the port twice in ``read-only-uris``).
        secrets: the model has Juju secrets (Juju >= 3.0.3): the fields the requirer listed in
            ``requested-secrets`` are in secrets; False publishes everything in clear.
        rotations: how many times the password was rotated (each rotation is a new revision
            of the same secret; in clear, a changed ``password``); see :meth:`rotated`.
        tls: the server requires TLS.
        tls_ca: the CA published with TLS on (None: :data:`TLS_CA`); changing it rotates it.
        database: the database echoed (None: the requested one).
        port: the port published (None: 5432 for PostgreSQL, 6432 for PgBouncer).
        namespace: the Kubernetes namespace in Service names (the model's name).
        subordinate_ready: PgBouncer VM: its unit bag says ``state: ready``.
        user: the user name published (None: derived from the relation id as the providers
            do).
        model_uuid: the model UUID in the secret URIs.
    """

    kind: str = POSTGRESQL_VM
    state: str = ANSWERED
    app: str = ""
    units: int = 1
    primary: int = 0
    version: str = "16.14"
    secrets: bool = True
    rotations: int = 0
    tls: bool = False
    tls_ca: Optional[str] = None
    database: Optional[str] = None
    port: Optional[int] = None
    namespace: str = "testing"
    subordinate_ready: bool = True
    user: Optional[str] = None
    model_uuid: str = MODEL_UUID

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.state not in PROVIDER_STATES:
            raise ValueError(
                f"state must be one of {', '.join(PROVIDER_STATES)}, not {self.state!r}"
            )
        if self.units < 1:
            raise ValueError("a provider needs at least one unit")
        if not 0 <= self.primary < self.units:
            raise ValueError(f"primary must be a unit number below {self.units}")
        if self.rotations < 0:
            raise ValueError("rotations must be >= 0")
        if self.state == SECRET_NOT_GRANTED and not self.secrets:
            raise ValueError("a provider without Juju secrets (secrets=False) has none to grant")
        if not self.app:
            object.__setattr__(self, "app", _DEFAULT_APPS[self.kind])

    def evolve(self, **changes: Any) -> Provider:
        """A copy with some attributes changed: ``provider.evolve(state=GONE)``.

        A new ``kind`` brings its default application name, unless this one was named.
        """
        if "kind" in changes and "app" not in changes and self.app == _DEFAULT_APPS[self.kind]:
            changes["app"] = ""
        return dataclasses.replace(self, **changes)

    def rotated(self) -> Provider:
        """The same provider after one more password rotation."""
        return self.evolve(rotations=self.rotations + 1)

    # -- what it is made of -----------------------------------------------------------------

    @property
    def unit_names(self) -> List[str]:
        """The provider's unit names, as the requirer sees them."""
        return [f"{self.app}/{n}" for n in range(self.units)]

    @staticmethod
    def address(number: int) -> str:
        """The address of provider unit ``number`` (as :meth:`pgsql.testing.Server.address`)."""
        return f"198.51.100.{10 + number}"

    @property
    def is_pgbouncer(self) -> bool:
        """The provider is PgBouncer (the read-only database is ``<db>_readonly``)."""
        return self.kind in (PGBOUNCER_VM, PGBOUNCER_K8S)

    @property
    def password(self) -> str:
        """The password published (it changes with every rotation)."""
        return PASSWORD if self.rotations == 0 else f"{PASSWORD}-{self.rotations}"

    @property
    def ca(self) -> str:
        """The CA published with TLS on ("" with TLS off)."""
        if not self.tls:
            return ""
        return TLS_CA if self.tls_ca is None else self.tls_ca

    def username(self, relation_id: int = _DEFAULT_RELATION_ID) -> str:
        """The user name published on relation ``relation_id``."""
        if self.user is not None:
            return self.user
        if self.version.split(".")[0] == "14":
            return f"relation-{relation_id}"
        return f"relation_id_{relation_id}"

    def _port(self) -> int:
        if self.port is not None:
            return self.port
        return _PGBOUNCER_PORT if self.is_pgbouncer else _POSTGRESQL_PORT

    def _service(self, suffix: str = "") -> str:
        return f"{self.app}{suffix}.{self.namespace}.svc.cluster.local"

    def endpoints(self, *, external: bool = False) -> Tuple[List[str], List[str]]:
        """The ``endpoints`` and ``read-only-endpoints`` entries (``host:port``) published.

        Args:
            external: the requirer asked for ``external-node-connectivity``: a PgBouncer VM
                then publishes its unit's address instead of ``localhost``.
        """
        port = self._port()
        if self.kind == POSTGRESQL_VM:
            replicas = [n for n in range(self.units) if n != self.primary] or [self.primary]
            primary = [f"{self.address(self.primary)}:{port}"]
            return primary, [f"{self.address(n)}:{port}" for n in replicas]
        if self.kind == POSTGRESQL_K8S:
            return [f"{self._service('-primary')}:{port}"], [f"{self._service('-replicas')}:{port}"]
        if self.kind == PGBOUNCER_VM:
            host = self.address(0) if external else "localhost"
            return [f"{host}:{port}"], [f"{host}:{port}"]
        return [f"{self._service()}:{port}"], [f"{self._service()}:{port}"]

    def _database(self, asked: Mapping[str, str]) -> str:
        return self.database if self.database is not None else asked.get("database", "")

    def _readonly_database(self, database: str) -> str:
        return f"{database}_readonly" if self.is_pgbouncer else database

    def _fields(self, asked: Mapping[str, str], relation_id: int) -> Dict[str, str]:
        """Every field of the answer, before the requested ones go into secrets."""
        request = ProviderRequest.from_bag(asked)
        database = self._database(asked)
        user, password = self.username(relation_id), self.password
        masters, replicas = self.endpoints(external=request.external)
        readonly_hosts = ",".join(replicas)
        if self.kind == POSTGRESQL_K8S and self.version.split(".")[0] == "16":
            # PostgreSQL 16 K8s appends the port to an entry that already has it
            readonly_hosts = f"{readonly_hosts}:{self._port()}"
        fields = {
            "database": database,
            "endpoints": ",".join(masters),
            "read-only-endpoints": ",".join(replicas),
            "version": self.version,
            "username": user,
            "password": password,
            "uris": f"postgresql://{user}:{password}@{','.join(masters)}/{database}",
            "read-only-uris": f"postgresql://{user}:{password}@{readonly_hosts}/"
            f"{self._readonly_database(database)}",
            "tls": "True" if self.tls else "False",
            "tls-ca": self.ca,
        }
        if self.kind == PGBOUNCER_VM:
            fields["subordinated"] = "true"
        # data_interfaces' provider keeps a JSON snapshot of the request it diffs against
        fields["data"] = json.dumps({k: v for k, v in asked.items() if k != "data"})
        return fields

    def secret_uri(self, group: str, relation_id: int = _DEFAULT_RELATION_ID) -> str:
        """The URI of the provider's ``group`` secret on relation ``relation_id``.

        The same for every state and rotation of this provider on that relation: a rotation
        is a new revision of the same secret.
        """
        seed = f"{self.model_uuid}/{self.app}/{relation_id}/{group}".encode()
        digest = hashlib.sha256(seed).digest()
        xid = "".join(_XID_ALPHABET[b % 32] for b in digest[:20])
        return f"secret://{self.model_uuid}/{xid}"

    def secret_contents(
        self, asked: Mapping[str, str], relation_id: int = _DEFAULT_RELATION_ID
    ) -> Dict[str, Dict[str, str]]:
        """The content of each secret the provider holds for the relation, by group.

        Empty when it publishes none: nothing answered (yet, or any more), no database asked,
        no secrets in the model, or no field requested in secrets.
        """
        if self.state not in (ANSWERED, SECRET_NOT_GRANTED) or not self.secrets:
            return {}
        if not asked.get("database", "").strip():
            return {}
        fields = self._fields(asked, relation_id)
        requested = set(ProviderRequest.from_bag(asked).requested_secrets)
        contents: Dict[str, Dict[str, str]] = {}
        for field in protocol.REQUESTED_SECRETS:
            if field in requested:
                contents.setdefault(_group_of(field), {})[field] = fields[field]
        return contents

    def databags(
        self,
        client: Optional[Client] = None,
        *,
        asked: Optional[Mapping[str, str]] = None,
        relation_id: int = _DEFAULT_RELATION_ID,
        secret_ids: Optional[Mapping[str, str]] = None,
        external: bool = False,
    ) -> ProviderBags:
        """What the provider publishes on its relation with ``client``.

        A real provider acts only once the requirer published a ``database``: asked for none,
        it publishes nothing whatever its state.

        Args:
            client: the requirer application (its request is what is asked, unless ``asked``
                is given).
            asked: the requirer's application bag as published (default: what
                :class:`pgsql.PostgreSQLClient` writes for ``client.request``).
            relation_id: the relation's id (in the user name and the secret URIs).
            secret_ids: the URI of each group's secret when the test framework chose them
                (Harness does); default :meth:`secret_uri`.
            external: with the default ``asked``: ``external-node-connectivity`` requested.
        """
        client = client or Client()
        want = dict(asked) if asked is not None else _asked(client.request, external)
        units = {name: juju_keys(self.address(n)) for n, name in enumerate(self.unit_names)}
        if self.kind == PGBOUNCER_VM and self.subordinate_ready:
            for bag in units.values():
                bag["state"] = "ready"
        if self.state in (NOT_ANSWERED, GONE) or not want.get("database", "").strip():
            return ProviderBags({}, units, {}, granted=False)
        fields = self._fields(want, relation_id)
        contents = self.secret_contents(want, relation_id)
        app = {k: v for k, v in fields.items() if not any(k in c for c in contents.values())}
        if "tls-ca" in app and not app["tls-ca"]:
            del app["tls-ca"]  # in clear, a provider without a CA writes none
        secrets: Dict[str, Dict[str, str]] = {}
        for group, content in contents.items():
            uri = (secret_ids or {}).get(group) or self.secret_uri(group, relation_id)
            app[f"secret-{group}"] = uri
            secrets[uri] = content
        return ProviderBags(app, units, secrets, granted=self.state == ANSWERED)

    # -- what a requirer makes of it --------------------------------------------------------

    def master(
        self,
        client: Optional[Client] = None,
        *,
        relation_id: int = _DEFAULT_RELATION_ID,
        external: bool = False,
    ) -> ConnectionString:
        """The master connection string a requirer builds when this provider is ready."""
        client = client or Client()
        masters, _ = self.endpoints(external=external)
        return self._connstr(masters, self._database(_asked(client.request, external)), relation_id)

    def standby_list(
        self,
        client: Optional[Client] = None,
        *,
        relation_id: int = _DEFAULT_RELATION_ID,
        external: bool = False,
    ) -> List[ConnectionString]:
        """The standby connection strings a requirer builds: one per read-only endpoint."""
        client = client or Client()
        _, replicas = self.endpoints(external=external)
        database = self._readonly_database(self._database(_asked(client.request, external)))
        return [self._connstr([r], database, relation_id) for r in replicas]

    def _connstr(self, entries: List[str], database: str, relation_id: int) -> ConnectionString:
        hosts, ports = zip(*(e.rsplit(":", 1) for e in entries))
        return ConnectionString(
            host=",".join(hosts),
            port=",".join(ports),
            dbname=database,
            user=self.username(relation_id),
            password=self.password,
        )


def _group_of(field: str) -> str:
    for group, fields in protocol.SECRET_GROUPS.items():
        if field in fields:
            return group
    return "extra"


# ---------------------------------------------------------------------------------------------
# ops.testing (Scenario)
# ---------------------------------------------------------------------------------------------


class ProviderRelation(NamedTuple):
    """A ``postgresql_client`` relation for ops.testing, and the secrets to put in the State.

    Unpack it: ``db, secrets = scenario_provider_relation(...)``, then
    ``testing.State(relations={db}, secrets=secrets)``.
    """

    relation: Relation
    secrets: List[Secret]


def _secrets_for(bags: ProviderBags) -> List[Secret]:
    """The ``ops.testing.Secret`` objects the requirer can read: the granted ones.

    A secret not granted is left out of the State: ``model.get_secret(id=...)`` then raises
    :class:`ops.SecretNotFoundError` (a :class:`ops.ModelError`), where Juju's ``secret-get``
    fails with "permission denied" (a plain :class:`ops.ModelError`).
    """
    if not bags.granted:
        return []
    testing = ops_testing()
    return [testing.Secret(dict(content), id=uri) for uri, content in bags.secrets.items()]


def scenario_provider_relation(
    provider: Provider,
    client: Optional[Client] = None,
    *,
    endpoint: str = "database",
    published: bool = True,
    external: bool = False,
    relation_id: Optional[int] = None,
) -> ProviderRelation:
    """An ``ops.testing.Relation`` with ``provider`` on the other end, and its secrets.

    Args:
        provider: the provider and its state.
        client: your application (default: one unit of ``myapp``); its request must name a
            database (providers act only once one is published): a provider state that
            answers (:data:`ANSWERED`, :data:`SECRET_NOT_GRANTED`) raises ``ValueError``
            without one.
        endpoint: your charm's ``requires`` endpoint (``interface: postgresql_client``).
        published: whether your leader already wrote its request into the application bag
            (:class:`pgsql.PostgreSQLClient` does from relation-created); False leaves the bags
            with Juju's keys only (the provider still answers ``client.request``).
        external: your charm asked for ``external-node-connectivity``.
        relation_id: the relation id (default: a fresh one).

    Returns:
        The relation and the ``ops.testing.Secret`` objects your unit can read (the granted
        ones, their ids the URIs in the provider's bag).

    Example::

        db, secrets = scenario_provider_relation(Provider(), Client(app="mycharm"))
        state = testing.State(leader=True, relations={db}, secrets=secrets)
    """
    testing = ops_testing()
    client = client or Client()
    asked = _asked_in({}, None, client, external, provider, f"the {endpoint!r} relation")
    kwargs: Dict[str, Any] = {} if relation_id is None else {"id": relation_id}
    relation: Relation = testing.Relation(
        endpoint,
        interface="postgresql_client",
        remote_app_name=provider.app,
        local_app_data=dict(asked) if published else {},
        local_unit_data=client.unit_bag(client.unit_name),
        **kwargs,
    )
    bags = provider.databags(client, asked=asked, relation_id=relation.id)
    relation = dataclasses.replace(
        relation, remote_app_data=bags.app, remote_units_data=bags.by_unit_id()
    )
    return ProviderRelation(relation, _secrets_for(bags))


def _client_relation(state: State, endpoint: Optional[str]) -> Relation:
    """The relation on ``endpoint``, else the only ``postgresql_client`` one."""
    return pick_relation(
        state, endpoint, (POSTGRESQL_CLIENT,), ("database",), ops_testing().Relation
    )


def provider_requested(state: State, endpoint: Optional[str] = None) -> ProviderRequest:
    """What your charm published on ``endpoint`` (from an output State's local app bag).

    Without ``endpoint``, the only ``postgresql_client`` relation in ``state``.
    """
    return ProviderRequest.from_bag(dict(_client_relation(state, endpoint).local_app_data))


# the provider states that answer a request (a request must then be known)
_ANSWERING = (SECRET_NOT_GRANTED, ANSWERED)


def _asked_in(
    bag: Mapping[str, str],
    shared: Optional[Request],
    client: Client,
    external: bool,
    provider: Provider,
    where: str,
) -> Dict[str, str]:
    """What the provider answers: what your charm published, else what ``client`` asks."""
    return answered_request(
        bag,
        shared,
        client.request,
        external=external,
        answers=provider.state in _ANSWERING,
        where=where,
    )


def _target(
    state: State, provider: Provider, client: Client, endpoint: Optional[str], external: bool
) -> Tuple[Relation, ProviderBags]:
    rel = _client_relation(state, endpoint)
    testing = ops_testing()
    peers = [dict(r.local_app_data) for r in state.relations if isinstance(r, testing.PeerRelation)]
    shared = shared_request(peers, rel.endpoint, rel.id)
    where = f"relation {rel.id} ({rel.endpoint!r})"
    asked = _asked_in(dict(rel.local_app_data), shared, client, external, provider, where)
    return rel, provider.databags(client, asked=asked, relation_id=rel.id)


def _moved_secrets(
    state: State, before: Relation, bags: ProviderBags
) -> Tuple[List[Secret], Set[str]]:
    """The State's secrets with the provider's replaced, and the URIs whose content changed.

    A secret that stays gets its new content as the latest revision (the tracked one is kept,
    as Juju keeps it until the charm refreshes); a secret no longer granted or referenced
    leaves the State; a new granted one is tracked from its first revision.
    """
    testing = ops_testing()
    mine = set(protocol.secret_fields(dict(before.remote_app_data)).values()) | set(bags.secrets)
    kept = [s for s in state.secrets if s.id not in mine]
    existing = {s.id: s for s in state.secrets if s.id in mine}
    rotated: Set[str] = set()
    if bags.granted:
        for uri, content in bags.secrets.items():
            old = existing.get(uri)
            if old is None:
                kept.append(testing.Secret(dict(content), id=uri))
            elif dict(old.latest_content) != content:
                kept.append(dataclasses.replace(old, latest_content=dict(content)))
                rotated.add(uri)
            else:
                kept.append(old)
    return kept, rotated


def scenario_provider_move(
    state: State,
    provider: Provider,
    client: Optional[Client] = None,
    *,
    endpoint: Optional[str] = None,
    external: bool = False,
) -> State:
    """``state`` with the provider on ``endpoint`` moved to ``provider``; your bags are kept.

    The provider answers what your charm published in ``state`` (else ``client.request``).
    Its secrets in ``state`` are replaced: a rotated one keeps its id and tracked content and
    gets the new content as its latest revision. Run the events that follow yourself, or use
    :func:`scenario_provider_apply`.
    """
    return _provider_move(state, provider, client or Client(), endpoint, external)[0]


def _provider_move(
    state: State, provider: Provider, client: Client, endpoint: Optional[str], external: bool
) -> Tuple[State, Relation, Set[str]]:
    """The moved State, the relation as it was, and the ids of the secrets rotated."""
    rel, bags = _target(state, provider, client, endpoint, external)
    secrets, rotated = _moved_secrets(state, rel, bags)
    moved = dataclasses.replace(
        rel,
        remote_app_name=provider.app,
        remote_app_data=bags.app,
        remote_units_data=bags.by_unit_id(),
    )
    others = [r for r in state.relations if r.id != rel.id]
    new_state: State = dataclasses.replace(state, relations=[*others, moved], secrets=secrets)
    return new_state, rel, rotated


def scenario_provider_apply(
    ctx: Any,
    state: State,
    provider: Provider,
    client: Optional[Client] = None,
    *,
    endpoint: Optional[str] = None,
    external: bool = False,
) -> State:
    """Move the provider to ``provider`` and run the hooks Juju would run on your unit.

    The provider's secrets change first (created, granted, given a new revision, removed), as
    the provider's hook does before the requirer hears of it; then ``relation-departed`` for
    each provider unit gone, ``relation-joined`` for each new one, ``relation-changed`` for
    each unit whose bag changed, ``relation-changed`` (from the provider's first unit: Scenario
    always names one) when the application bag changed, and last ``secret-changed`` for each
    secret with a new revision (a rotated password or CA).

    A grant alone (:data:`SECRET_NOT_GRANTED` to :data:`ANSWERED`: the bags do not change) runs
    no hook, as in Juju: your charm sees it at its next hook (run one, e.g.
    ``ctx.on.update_status()``).

    Returns:
        The State after the last hook (the moved State when no hook runs).
    """
    moved, before, rotated = _provider_move(state, provider, client or Client(), endpoint, external)
    endpoint = str(before.endpoint)
    target = relation_of(moved, endpoint)
    # the secrets first: the provider's hook creates, grants and rotates them before the
    # requirer hears of anything
    current: State = dataclasses.replace(state, secrets=moved.secrets)
    current, ran = run_bag_hooks(ctx, current, endpoint, before, target, None)
    for uri in sorted(rotated):
        # the object in the State: Scenario wants the very Secret the event names
        secret = next(s for s in current.secrets if s.id == uri)
        current, ran = ctx.run(ctx.on.secret_changed(secret), current), True
    return current if ran else moved


# ---------------------------------------------------------------------------------------------
# Harness
# ---------------------------------------------------------------------------------------------

# What the helpers last set in each Harness secret: Harness offers no way for a test to read a
# secret's content without a grant, and a rotation is a change of content.
_HARNESS_CONTENT: weakref.WeakKeyDictionary[Any, Dict[str, Dict[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def harness_provider_requested(harness: Harness[Any], relation_id: int) -> ProviderRequest:
    """What the charm under test published on a ``postgresql_client`` relation."""
    return ProviderRequest.from_bag(
        dict(harness.get_relation_data(relation_id, harness.model.app.name))
    )


def harness_provider_relation(
    harness: Harness[Any],
    provider: Provider,
    client: Optional[Client] = None,
    *,
    endpoint: str = "database",
    external: bool = False,
) -> int:
    """Relate the charm under test to ``provider``, the way Juju would; returns the relation id.

    Adds the relation (relation-created: your leader publishes its request), gives this unit
    Juju's keys, adds the provider units (relation-joined), creates the provider's secrets
    (``harness.add_model_secret``, granted to your application unless the state is
    :data:`SECRET_NOT_GRANTED`) and writes the provider's bags (relation-changed). The provider
    answers what the charm published by then (else ``client.request``). ``client.app`` and
    ``client.unit`` come from the Harness.
    """
    client = _harness_client(harness, client)
    relation_id: int = harness.add_relation(endpoint, provider.app)
    harness.update_relation_data(relation_id, client.unit_name, client.unit_bag(client.unit_name))
    for name in provider.unit_names:
        harness.add_relation_unit(relation_id, name)
    harness_provider_move(harness, relation_id, provider, client, external=external)
    return relation_id


def _harness_peer_bags(harness: Harness[Any]) -> List[Dict[str, str]]:
    """Your application's bags on its peer relations (where a leader shares its request)."""
    app = harness.model.app
    return [
        dict(harness.get_relation_data(r.id, app.name))
        for relations in harness.model.relations.values()
        for r in relations
        if r.app.name == app.name
    ]


def _harness_secret_api(harness: Harness[Any]) -> None:
    for name in ("add_model_secret", "grant_secret", "revoke_secret", "set_secret_content"):
        if not callable(getattr(harness, name, None)):  # pragma: no cover - ops >= 2.0 has them
            raise RuntimeError(f"this ops Harness has no {name}(): secrets need ops >= 2.0")


def harness_provider_move(
    harness: Harness[Any],
    relation_id: int,
    provider: Provider,
    client: Optional[Client] = None,
    *,
    external: bool = False,
) -> None:
    """Move the provider on ``relation_id`` to ``provider``, the way Juju would show it.

    In order: provider units removed and added (relation-departed, -joined); the provider's
    secrets created, granted or revoked (no hook: Juju runs none for a grant); its bags
    rewritten where they differ (one relation-changed per changed bag); last, each secret whose
    content changed gets a new revision (``harness.set_secret_content``: secret-changed).
    A secret keeps its id from state to state (the URI in the bag does not change on rotation).

    Harness fires secret-changed for a new revision even when the secret is not granted to
    your application (Juju would not): moving to a rotated provider while
    :data:`SECRET_NOT_GRANTED` shows that.
    """
    client = _harness_client(harness, client)
    endpoint = endpoint_of(harness, relation_id)
    asked = _asked_in(
        dict(harness.get_relation_data(relation_id, client.app)),
        shared_request(_harness_peer_bags(harness), endpoint, relation_id),
        client,
        external,
        provider,
        f"relation {relation_id} ({endpoint!r})",
    )
    relation = harness.model.get_relation(endpoint, relation_id)
    present: Set[str] = {u.name for u in relation.units} if relation is not None else set()
    wanted = provider.unit_names
    for name in sorted(present - set(wanted), key=protocol.unit_sort_key):
        harness.remove_relation_unit(relation_id, name)
    for name in sorted(set(wanted) - present, key=protocol.unit_sort_key):
        harness.add_relation_unit(relation_id, name)

    contents = provider.secret_contents(asked, relation_id)
    before = protocol.secret_fields(dict(harness.get_relation_data(relation_id, provider.app)))
    known = _HARNESS_CONTENT.setdefault(harness, {})
    granted = provider.state == ANSWERED
    if contents:
        _harness_secret_api(harness)
    ids: Dict[str, str] = {}
    changed: Dict[str, Dict[str, str]] = {}
    for group, content in contents.items():
        uri = before.get(group, "")
        if uri not in known:
            uri = harness.add_model_secret(provider.app, dict(content))
            known[uri] = dict(content)
        elif known[uri] != content:
            changed[uri] = dict(content)
        ids[group] = uri
        if granted:
            harness.grant_secret(uri, client.app)
        else:
            harness.revoke_secret(uri, client.app)
    for uri in set(before.values()) - set(ids.values()):
        if uri in known:  # withdrawn: the requirer can no longer read it
            harness.revoke_secret(uri, client.app)

    bags = provider.databags(client, asked=asked, relation_id=relation_id, secret_ids=ids)
    set_bag(harness, relation_id, provider.app, bags.app)
    for name in sorted(bags.units, key=protocol.unit_sort_key):
        set_bag(harness, relation_id, name, bags.units[name])
    for uri, content in changed.items():
        known[uri] = content
        harness.set_secret_content(uri, content)
