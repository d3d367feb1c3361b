"""The ``postgresql_client`` interface, provider side: the request read, the answer rendered.

What a provider (a PostgreSQL or PgBouncer charm) needs, without ops, as the v0
``data_interfaces`` library's ``DatabaseProvides`` speaks it:

- :func:`read_database_request`: the requirer application bag as a :class:`DatabaseRequest`
  (``database``, ``extra-user-roles``, ``requested-secrets``, ``external-node-connectivity``).
  Never raises on remote data: what cannot be used is dropped and said in the problems returned.
- :func:`provider_answer`: the provider application bag for the connection details given, with
  each field the requirer listed in ``requested-secrets`` moved into its group's Juju secret
  content (:data:`~pgsql.protocol.SECRET_GROUPS`) when the model has secrets, else in clear.
  A field holding the password (``password``, ``uris``, ``read-only-uris``) is never in clear
  beside secrets: a requirer using secrets that did not list it does not get it at all.
  The caller creates the secrets and gets the final bag from :meth:`ProviderAnswer.databag`.

What :func:`provider_answer` renders is ready by :func:`~pgsql.protocol.evaluate_client`, the
requirer's rule: every value is checked the way a requirer reads it back, and refused
(:class:`ValueError`) when it would read back as something else. The contract is written down
in ``docs/protocol.md`` (section *The postgresql_client interface*).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ._postgresql_client_secrets import SECRET_GROUPS, group_of
from ._provider_checks import (
    check_database,
    check_endpoints,
    check_optional,
    check_value,
    connection,
)
from ._provider_pg16 import check_answer_user, prefix_databases, prefix_fields
from ._provider_request import DatabaseRequest, read_database_request, requested_secrets

# The parts, each importing only those above it: _provider_checks (values checked as a
# requirer reads them back), _provider_request (the request read), then the answer, here.
__all__ = [
    "PROVIDER_KEYS",
    "DatabaseRequest",
    "ProviderAnswer",
    "provider_answer",
    "read_database_request",
    "requested_secrets",
]

#: The keys of the provider application bag :func:`provider_answer` manages (the fields it
#: renders, and the secret references added by :meth:`ProviderAnswer.databag`). A provider that
#: rewrites its bag leaves any other key alone.
PROVIDER_KEYS: Tuple[str, ...] = (
    "database",
    "prefix-databases",
    "endpoints",
    "read-only-endpoints",
    "version",
    "username",
    "password",
    "uris",
    "read-only-uris",
    "tls",
    "tls-ca",
    "subordinated",
    "data",
    *(f"secret-{group}" for group in SECRET_GROUPS),
)

# ``data`` is the provider's own bookkeeping (data_interfaces writes it outside its secret
# handling): it always stays in the bag. So do the keys a requirer judges the answer by before
# it reads any secret (``endpoints`` says "answered", ``subordinated`` "wait for the unit"),
# and the non-credentials that go with them: a requirer listing them in requested-secrets
# would otherwise be judged not answered, or a subordinate ready too early.
_NEVER_SECRET = frozenset(
    {"data", "endpoints", "read-only-endpoints", "subordinated", "database", "version"}
)
# The fields holding the password. Where a requirer reads secrets, they travel only in its
# user secret: one it did not request is withheld, not published in clear (the PostgreSQL and
# PgBouncer charms write ``read-only-uris`` only when it is requested). A requirer requesting no
# secret at all (Juju < 3.0.3, data_interfaces before secrets) reads them from the bag.
_HOLDS_PASSWORD = frozenset({"password", "uris", "read-only-uris"})


@dataclass(frozen=True)
class ProviderAnswer:
    """The provider application bag, split between what goes in clear and what in secrets.

    Where the model has secrets and the requirer lists any field in ``requested-secrets``, a
    field holding the password (``password``, ``uris``, ``read-only-uris``) goes only into its
    group's secret: one it did not list is withheld (:attr:`withheld`), never published in
    clear. A requirer listing none reads every field from the bag.

    Attributes:
        bag: the keys published in clear (never a ``secret-<group>`` reference).
        secrets: the content of each secret group (``user``, ``tls``, ``extra``) to create or
            update; empty when every field goes in clear.
        withheld: the fields holding the password that are not published at all: the requirer
            reads secrets but did not request them as secrets.
    """

    bag: Dict[str, str]
    secrets: Dict[str, Dict[str, str]] = field(default_factory=lambda: {})
    withheld: Tuple[str, ...] = ()

    def __repr__(self) -> str:
        # key names only: values hold passwords (uris, password) in clear or for the secrets
        secrets = {group: sorted(content) for group, content in self.secrets.items()}
        return (
            f"ProviderAnswer(bag keys={sorted(self.bag)}, secret keys={secrets}, "
            f"withheld={list(self.withheld)})"
        )

    def databag(self, secret_uris: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        """The whole bag: :attr:`bag` and ``secret-<group>: <uri>`` for every secret group.

        Args:
            secret_uris: the URI (``secret:...``) of the secret holding each group of
                :attr:`secrets`.

        Raises:
            ValueError: a group of :attr:`secrets` has no URI, or a URI is blank.
        """
        uris = dict(secret_uris or {})
        missing = sorted(group for group in self.secrets if not uris.get(group, "").strip())
        if missing:
            raise ValueError(f"no secret URI for the secret group(s) {', '.join(missing)}")
        out = dict(self.bag)
        for group in self.secrets:
            out[f"secret-{group}"] = uris[group].strip()
        return out


def provider_answer(
    request: DatabaseRequest,
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
    uris: Optional[str] = None,
    read_only_uris: Optional[str] = None,
    subordinated: bool = False,
    secrets_available: bool = True,
    databases: Optional[Iterable[str]] = None,
) -> ProviderAnswer:
    """Render the provider application bag answering ``request``.

    >>> req = DatabaseRequest("mydb", requested_secrets=("username", "password", "uris"))
    >>> answer = provider_answer(req, endpoints=["10.0.0.5:5432"], username="relation-7",
    ...                          password="s3cret", version="16.4")
    >>> sorted(answer.bag), sorted(answer.secrets["user"])
    (['data', 'database', 'endpoints', 'version'], ['password', 'uris', 'username'])
    >>> answer.databag({"user": "secret:d7f1qk8mp25c77bn3k0g"})["secret-user"]
    'secret:d7f1qk8mp25c77bn3k0g'

    Args:
        request: the request acted upon: echoed in ``data``; its ``requested_secrets`` say which
            fields go in secrets.
        endpoints: where the primary is reached: ``host:port`` entries (``[v6]:port``, a unix
            socket directory ``/dir:port``), as a list or a comma-separated string.
        username: the login role created for the requirer; a request's
            :attr:`DatabaseRequest.username` when it names one.
        password: its password.
        read_only_endpoints: where standbys are reached, the same way (may be empty).
        database: the database served; None serves the requested one.
        read_only_database: the database standbys serve, written in ``read-only-uris`` (PgBouncer
            serves ``<db>_readonly``); None: the same database.
        version: the PostgreSQL version, e.g. ``"16.4"``.
        tls: whether the server has TLS on (``tls``: ``"True"``/``"False"``); None: not said.
        tls_ca: the CA certificate (PEM) clients check the server with (``tls-ca``), published
            as given (its final newline kept, as requirers now keep it); blank: not published.
        uris: the ``uris`` value; None builds a ``postgresql://`` URI to every endpoint.
        read_only_uris: the ``read-only-uris`` value; None builds one to every read-only
            endpoint (none when there is none).
        subordinated: the provider is a subordinate (PgBouncer VM): requirers then wait for a
            provider unit bag saying ``state: ready``.
        secrets_available: the model has Juju secrets (Juju >= 3.0.3); False publishes every
            field in clear.
        databases: for a prefix request (:attr:`DatabaseRequest.prefix`, PostgreSQL 16) and
            only then: the existing databases starting with the prefix, published sorted in
            ``prefix-databases`` (``database`` echoes the request, ``uris`` names the first; an
            empty list publishes neither ``prefix-databases`` nor the URIs).

    Returns:
        The bag in clear, the content of each secret group, and the fields withheld (see
        :class:`ProviderAnswer`).

    Raises:
        TypeError: a value has the wrong type.
        ValueError: no endpoint, an endpoint entry a requirer cannot read, an invalid database
            name, a blank username or password, values a requirer would read back as
            something else (surrounding whitespace, a NUL), ``databases`` missing for a prefix
            request or given for another, a database not starting with the prefix, or a
            username other than the requested one. Messages never hold the password.
    """
    _check_request(request)
    masters, readonly = _endpoint_entries(endpoints, read_only_endpoints)
    listed = prefix_databases(request.database, request.prefix, databases, database)
    db, ro_db = _databases(request, listed[0] if listed else database, read_only_database)
    user, secret = _login(request, username, password)
    fields = _connection_fields(masters, readonly, db, ro_db, user, secret, uris, read_only_uris)
    _answer_prefix(fields, request, listed)
    fields.update(_server_fields(version, tls, tls_ca, subordinated))
    fields["data"] = json.dumps(request.snapshot(), sort_keys=True)
    return _split(fields, request.requested_secrets if secrets_available else ())


def _check_request(request: object) -> None:
    if not isinstance(request, DatabaseRequest):
        raise TypeError(
            f"request must be a pgsql.protocol.DatabaseRequest, not {type(request).__name__}"
        )


def _login(request: DatabaseRequest, username: str, password: str) -> Tuple[str, str]:
    """The user (the requested one, when the request names one) and its password, checked."""
    user = check_value("username", username)
    check_answer_user(request.username, user)
    return user, check_value("password", password)


def _answer_prefix(
    fields: Dict[str, str], request: DatabaseRequest, listed: Tuple[str, ...]
) -> None:
    """For a prefix request: echo it, list the databases; no URI while none matches."""
    if not request.prefix:
        return
    fields["database"] = request.database  # the echo is the request
    fields.update(prefix_fields(listed))
    if not listed:  # no database matches: no URI names one (PostgreSQL 16 removes them)
        fields.pop("uris", None)
        fields.pop("read-only-uris", None)


def _endpoint_entries(
    endpoints: Union[str, Iterable[str]], read_only_endpoints: Union[str, Iterable[str]]
) -> Tuple[List[str], List[str]]:
    """The primary's entries (at least one) and the standbys' (maybe none), checked."""
    masters = check_endpoints("endpoints", endpoints)
    if not masters:
        raise ValueError("endpoints must name at least one host:port")
    return masters, check_endpoints("read_only_endpoints", read_only_endpoints)


def _databases(
    request: DatabaseRequest, database: Optional[str], read_only_database: Optional[str]
) -> Tuple[str, str]:
    """The database served (the requested one by default) and the one standbys serve."""
    db = check_database("database", request.database if database is None else database)
    if read_only_database is None:
        return db, db
    return db, check_database("read_only_database", read_only_database)


def _connection_fields(
    masters: Sequence[str],
    readonly: Sequence[str],
    db: str,
    ro_db: str,
    user: str,
    password: str,
    uris: Optional[str],
    read_only_uris: Optional[str],
) -> Dict[str, str]:
    """Where and as whom to connect: the endpoints, the credentials and the URIs.

    ``uris`` and ``read-only-uris`` are built unless given (then checked as given); every
    connection a requirer builds from the endpoints is checked to read back as given, even where
    the caller gives the URIs.
    """
    fields = {
        "database": db,
        "endpoints": ",".join(masters),
        "username": user,
        "password": password,
    }
    master = connection(masters, db, user, password)
    fields["uris"] = master.uri if uris is None else check_value("uris", uris)
    if readonly:
        fields["read-only-endpoints"] = ",".join(readonly)
        for entry in readonly:  # a requirer builds one standby per entry
            connection([entry], ro_db, user, password)
        fields["read-only-uris"] = connection(readonly, ro_db, user, password).uri
    if read_only_uris is not None:
        fields["read-only-uris"] = check_value("read_only_uris", read_only_uris)
    return fields


def _server_fields(
    version: Optional[str], tls: Optional[bool], tls_ca: Optional[str], subordinated: bool
) -> Dict[str, str]:
    """What the provider says of itself: ``version``, ``tls``, ``tls-ca``, ``subordinated``."""
    fields: Dict[str, str] = {}
    if version is not None:
        text = check_optional("version", version)
        if text:
            fields["version"] = text
    fields.update(_tls_fields(tls, tls_ca))
    if subordinated:
        fields["subordinated"] = "true"
    return fields


def _tls_fields(tls: Optional[bool], tls_ca: Optional[str]) -> Dict[str, str]:
    fields: Dict[str, str] = {}
    if tls is not None:
        if not isinstance(tls, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"tls must be a bool or None, not {type(tls).__name__}")
        fields["tls"] = "True" if tls else "False"
    if tls_ca is not None:
        if not isinstance(tls_ca, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"tls_ca must be a str or None, not {type(tls_ca).__name__}")
        if "\x00" in tls_ca:
            raise ValueError("tls_ca contains a NUL")
        if tls_ca.strip():  # as given: a PEM file ends with a newline
            fields["tls-ca"] = tls_ca
    return fields


def _split(fields: Mapping[str, str], requested: Sequence[str]) -> ProviderAnswer:
    """Move every requested field into its group's secret content.

    When the requirer reads secrets (``requested`` is not empty), a field holding the password
    that it did not request is withheld.
    """
    wanted = set(requested)
    bag: Dict[str, str] = {}
    secrets: Dict[str, Dict[str, str]] = {}
    withheld: List[str] = []
    for key, value in fields.items():
        if key in wanted and key not in _NEVER_SECRET:
            secrets.setdefault(group_of(key), {})[key] = value
        elif wanted and key in _HOLDS_PASSWORD:
            withheld.append(key)
        else:
            bag[key] = value
    return ProviderAnswer(bag, secrets, tuple(withheld))
