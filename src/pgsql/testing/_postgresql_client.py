"""A ``postgresql_client`` provider described in a state, and the relations tests show.

The ``postgresql_client`` half of :mod:`pgsql.testing` (its documentation is there):
:class:`Provider` describes Charmed PostgreSQL or Charmed PgBouncer, VM or Kubernetes, on the
other end of your charm's ``database`` endpoint, and renders what such a provider publishes: its
application bag, its units' bags and the content of the Juju secrets it grants to the relation.
The ``scenario_provider_*`` and ``harness_provider_*`` helpers
(``_postgresql_client_adapters.py``) put that on one unit's relation (with the secrets where
ops.testing and Harness keep them) and move it from state to state, running the hooks Juju
would run.

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
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple, cast

from .. import protocol
from ..connstr import ConnectionString
from ..protocol import Request, RequestError
from ._common import juju_keys, unit_number
from ._pgsql import GONE, PASSWORD, Client

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
    "ProviderRequest",
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
        user: the user name published (None: the user the requirer asked for in its
            ``requested-entity-secret`` when the provider is PostgreSQL 16 or newer, else
            derived from the relation id as the providers do).
        model_uuid: the model UUID in the secret URIs.
        existing_databases: the databases on the server: PostgreSQL 16 or newer answers a
            prefix request (``database="mydb_*"``) with those starting with the prefix, sorted,
            in ``prefix-databases`` (``uris`` names the first; none matching, no ``uris``).
            Older providers serve the literal name.
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
    existing_databases: Tuple[str, ...] = ()

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

    def username(self, relation_id: int = _DEFAULT_RELATION_ID, requested: str = "") -> str:
        """The user name published on relation ``relation_id``.

        Args:
            relation_id: the relation.
            requested: the user the requirer asked for (``requested-entity-secret``): served
                by PostgreSQL 16 and newer, ignored by older providers and PgBouncer.
        """
        if self.user is not None:
            return self.user
        if requested and self._serves_pg16_requests():
            return requested
        if self.version.split(".")[0] == "14":
            return f"relation-{relation_id}"
        return f"relation_id_{relation_id}"

    def _serves_pg16_requests(self) -> bool:
        """Prefix and user-name requests: PostgreSQL 16 and newer serve them."""
        major = protocol.major(self.version)
        return not self.is_pgbouncer and major is not None and major >= 16

    def prefix_databases(self, database: str) -> Tuple[str, ...]:
        """The databases a prefix request (``mydb_*``) is answered with: ``()`` otherwise.

        >>> Provider(existing_databases=("mydb_b", "other", "mydb_a")).prefix_databases("mydb_*")
        ('mydb_a', 'mydb_b')
        """
        if not protocol.is_prefix(database) or not self._serves_pg16_requests():
            return ()
        return tuple(sorted(d for d in self.existing_databases if d.startswith(database[:-1])))

    def _served(self, database: str) -> str:
        """The database ``uris`` names: the first listed for a prefix request."""
        listed = self.prefix_databases(database)
        return listed[0] if listed else database

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

    def _fields(
        self, asked: Mapping[str, str], relation_id: int, requested_user: str = ""
    ) -> Dict[str, str]:
        """Every field of the answer, before the requested ones go into secrets."""
        request = ProviderRequest.from_bag(asked)
        echoed = self._database(asked)
        listed = self.prefix_databases(echoed)
        database = self._served(echoed)
        user, password = self.username(relation_id, requested_user), self.password
        masters, replicas = self.endpoints(external=request.external)
        readonly_hosts = ",".join(replicas)
        if self.kind == POSTGRESQL_K8S and self.version.split(".")[0] == "16":
            # PostgreSQL 16 K8s appends the port to an entry that already has it
            readonly_hosts = f"{readonly_hosts}:{self._port()}"
        fields = {
            "database": echoed,
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
        if listed:
            fields["prefix-databases"] = ",".join(listed)
        elif protocol.is_prefix(echoed) and self._serves_pg16_requests():
            del fields["uris"], fields["read-only-uris"]  # no database matches: no valid URI
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
        self,
        asked: Mapping[str, str],
        relation_id: int = _DEFAULT_RELATION_ID,
        requested_user: str = "",
    ) -> Dict[str, Dict[str, str]]:
        """The content of each secret the provider holds for the relation, by group.

        Empty when it publishes none: nothing answered (yet, or any more), no database asked,
        no secrets in the model, or no field requested in secrets.
        """
        if self.state not in (ANSWERED, SECRET_NOT_GRANTED) or not self.secrets:
            return {}
        if not asked.get("database", "").strip():
            return {}
        fields = self._fields(asked, relation_id, requested_user)
        requested = set(ProviderRequest.from_bag(asked).requested_secrets)
        contents: Dict[str, Dict[str, str]] = {}
        for field in protocol.REQUESTED_SECRETS:
            if field in requested and field in fields:
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
        requested_user: Optional[str] = None,
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
            requested_user: the user the requirer asked for in its ``requested-entity-secret``
                (default: ``client.request.username`` when ``asked`` is not given).
        """
        client = client or Client()
        want = dict(asked) if asked is not None else _asked(client.request, external)
        if requested_user is None:
            requested_user = client.request.username if asked is None else ""
        units = {name: juju_keys(self.address(n)) for n, name in enumerate(self.unit_names)}
        if self.kind == PGBOUNCER_VM and self.subordinate_ready:
            for bag in units.values():
                bag["state"] = "ready"
        if self.state in (NOT_ANSWERED, GONE) or not want.get("database", "").strip():
            return ProviderBags({}, units, {}, granted=False)
        fields = self._fields(want, relation_id, requested_user)
        contents = self.secret_contents(want, relation_id, requested_user)
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
        database = self._served(self._database(_asked(client.request, external)))
        return self._connstr(masters, database, relation_id, client.request.username)

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
        database = self._served(self._database(_asked(client.request, external)))
        database = self._readonly_database(database)
        user = client.request.username
        return [self._connstr([r], database, relation_id, user) for r in replicas]

    def _connstr(
        self, entries: List[str], database: str, relation_id: int, requested_user: str = ""
    ) -> ConnectionString:
        hosts, ports = zip(*(e.rsplit(":", 1) for e in entries))
        return ConnectionString(
            host=",".join(hosts),
            port=",".join(ports),
            dbname=database,
            user=self.username(relation_id, requested_user),
            password=self.password,
        )


def _group_of(field: str) -> str:
    for group, fields in protocol.SECRET_GROUPS.items():
        if field in fields:
            return group
    return "extra"
