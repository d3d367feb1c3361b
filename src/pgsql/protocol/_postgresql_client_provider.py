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
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union, cast

from ..connstr import ConnectionString, ConnectionStringError, mask_value
from ._common import Databag, mask_in_message, mask_userinfo, parse_connstr, split_list
from ._postgresql_client import (
    SECRET_GROUPS,
    _parse_endpoint,  # pyright: ignore[reportPrivateUsage]
)
from ._provider_pg16 import (
    check_answer_user,
    prefix_databases,
    prefix_fields,
    prefix_problem,
    requested_user,
)
from ._request import Request, RequestError
from ._username import REQUESTED_ENTITY_SECRET

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
# A v0 ``database`` ending in "*" asks for every database with that prefix (PostgreSQL 16,
# answered with ``prefix-databases``); ``prefix-matching`` without one is not served.
_PREFIX_MARK = "*"
_MAX_PROBLEM = 200


def _clip(text: str) -> str:
    text = mask_value(text)
    return text if len(text) <= _MAX_PROBLEM else text[: _MAX_PROBLEM - 3] + "..."


def _shown(value: str) -> str:
    # a scheme-less user:password@ too (an endpoints entry with credentials in it)
    return repr(_clip(mask_userinfo(value)))


# ---------------------------------------------------------------------------------------------
# The request
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseRequest:
    """What a requirer application asks for on a ``postgresql_client`` relation.

    Attributes:
        database: the database name (never empty: without one there is no request).
        roles: ``extra-user-roles``, sorted and de-duplicated.
        requested_secrets: the fields the requirer wants in Juju secrets (``requested-secrets``),
            in its order, de-duplicated; empty when none (or unreadable).
        external_node_connectivity: the requirer runs outside the model's network
            (``external-node-connectivity: "true"``).
        username: the user the requirer asks to be created (PostgreSQL 16: the
            ``entity-name`` of its ``requested-entity-secret``); ``""`` when it leaves the
            choice to the provider. Answer with exactly this user.
        password: the password the requirer chose for that user, if its secret gives one
            (never in the repr); None: the provider generates one.
        entity_secret: the ``requested-entity-secret`` URI (``""`` when none).
    """

    database: str
    roles: Tuple[str, ...] = ()
    requested_secrets: Tuple[str, ...] = ()
    external_node_connectivity: bool = False
    username: str = ""
    password: Optional[str] = field(default=None, repr=False)
    entity_secret: str = ""

    @property
    def prefix(self) -> str:
        """For a prefix request (``database: mydb_*``, PostgreSQL 16) the prefix, ``"mydb_"``.

        ``""`` for a plain request. Answer a prefix request with every existing database
        starting with it (``publish(databases=[...])``).

        >>> DatabaseRequest("mydb_*").prefix, DatabaseRequest("mydb").prefix
        ('mydb_', '')
        """
        return self.database[:-1] if self.database.endswith(_PREFIX_MARK) else ""

    @property
    def request(self) -> Request:
        """The same request as a :class:`~pgsql.protocol.Request` (without extensions)."""
        return Request(self.database, self.roles, username=self.username)

    def snapshot(self) -> Dict[str, str]:
        """The request as the requirer's bag spells it: what the provider echoes in ``data``.

        >>> DatabaseRequest("mydb", ("charmed_dml",), ("username", "password")).snapshot()
        {'database': 'mydb', 'extra-user-roles': 'charmed_dml', 'requested-secrets': '["username", "password"]'}
        """  # noqa: E501 (a doctest line)
        out = {"database": self.database}
        if self.roles:
            out["extra-user-roles"] = ",".join(self.roles)
        if self.requested_secrets:
            out["requested-secrets"] = json.dumps(list(self.requested_secrets))
        if self.external_node_connectivity:
            out["external-node-connectivity"] = "true"
        if self.entity_secret:
            out[REQUESTED_ENTITY_SECRET] = self.entity_secret
        return out


def _text(bag: Databag, key: str) -> str:
    value: object = bag.get(key)
    return value.strip() if isinstance(value, str) else ""


def read_database_request(
    requirer_app_bag: Databag, requested_entity: Optional[Mapping[str, str]] = None
) -> Tuple[Optional[DatabaseRequest], Tuple[str, ...]]:
    """Read what the requirer application asks for, leniently (never raises).

    A v0 requirer leader writes its application bag: ``database`` (the provider acts once it is
    set), ``extra-user-roles`` (comma list), ``requested-secrets`` (a JSON list of field names)
    and ``external-node-connectivity``.

    >>> read_database_request({"database": "mydb", "extra-user-roles": "b, a",
    ...                        "requested-secrets": '["username", "password"]'})
    (DatabaseRequest(database='mydb', roles=('a', 'b'), requested_secrets=('username', 'password'), external_node_connectivity=False, username='', entity_secret=''), ())
    >>> read_database_request({"requested-secrets": "[]"})
    (None, ())
    >>> read_database_request({"database": "mydb", "requested-secrets": "username"})[1]
    ("requested-secrets is not a JSON list of field names ('username'); every field is published in clear",)

    PostgreSQL 16's requests are read too: a prefix request (``database: mydb_*``, see
    :attr:`DatabaseRequest.prefix`) and a user name (``requested-entity-secret``, whose content
    the caller reads and gives as ``requested_entity``).

    Args:
        requirer_app_bag: the requirer application's bag (``{}`` when empty or unreadable).
        requested_entity: the content of the secret ``requested-entity-secret`` names; None
            while it cannot be read (the request then waits, with a problem saying why).

    Returns:
        The request (None while there is nothing to act on: no ``database``, an unusable one,
        a requested user not readable yet or refused) and why parts of the bag were ignored
        (never holding a secret). Unusable roles are dropped; an unreadable
        ``requested-secrets`` counts as none requested.
    """  # noqa: E501 (doctest lines)
    problems: List[str] = []
    database = _text(requirer_app_bag, "database")
    roles = _read_roles(_text(requirer_app_bag, "extra-user-roles"), problems)
    requested = _read_requested_secrets(_text(requirer_app_bag, "requested-secrets"), problems)
    external = _text(requirer_app_bag, "external-node-connectivity").lower() == "true"
    if _text(requirer_app_bag, "entity-type"):
        problems.append(
            "entity requests (entity-type) are not supported: answering with a database user"
        )
    if not database:
        return None, tuple(problems)
    if not database.endswith(_PREFIX_MARK) and _text(requirer_app_bag, "prefix-matching"):
        problems.append(f"prefix requests (database {_shown(database)}) are not supported")
        return None, tuple(problems)
    try:
        Request.build(database=database)
    except RequestError as e:
        problems.append(_clip(f"ignored the database request: {mask_in_message(str(e), database)}"))
        return None, tuple(problems)
    if database.endswith(_PREFIX_MARK) and (problem := prefix_problem(database)):
        problems.append(_clip(problem))
        return None, tuple(problems)
    user = requested_user(requirer_app_bag, requested_entity, problems)
    if user is None:
        return None, tuple(_clip(p) for p in problems)
    entity = _text(requirer_app_bag, REQUESTED_ENTITY_SECRET)
    return DatabaseRequest(database, roles, requested, external, user[0], user[1], entity), tuple(
        problems
    )


def _read_roles(raw: str, problems: List[str]) -> Tuple[str, ...]:
    roles: List[str] = []
    for role in split_list(raw):
        try:
            Request.build(roles=[role])
        except RequestError as e:
            problems.append(_clip(f"ignored a role: {mask_in_message(str(e), role)}"))
        else:
            roles.append(role)
    return tuple(sorted(set(roles)))


def requested_secrets(requirer_app_bag: Mapping[str, str]) -> Tuple[str, ...]:
    """The fields a requirer lists in ``requested-secrets``, whatever else its bag says.

    A requirer whose ``database`` is momentarily withdrawn or unusable still reads its
    credentials from secrets: a provider answering a request it remembered asks this.

    >>> requested_secrets({"requested-secrets": '["username", "password"]'})
    ('username', 'password')
    >>> requested_secrets({})
    ()
    """
    return _read_requested_secrets(requirer_app_bag.get("requested-secrets", "").strip(), [])


def _read_requested_secrets(raw: str, problems: List[str]) -> Tuple[str, ...]:
    if not raw:
        return ()
    try:
        loaded: object = json.loads(raw)
    except ValueError:
        loaded = None
    if not isinstance(loaded, list):
        problems.append(
            f"requested-secrets is not a JSON list of field names ({_shown(raw)}); "
            "every field is published in clear"
        )
        return ()
    names: List[str] = []
    for item in cast(List[object], loaded):
        name = item.strip() if isinstance(item, str) else ""
        if not name:
            problems.append(f"requested-secrets: ignored {_shown(repr(item))}, not a field name")
        elif name not in names:
            names.append(name)
    return tuple(names)


# ---------------------------------------------------------------------------------------------
# The answer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderAnswer:
    """The provider application bag, split between what goes in clear and what in secrets.

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
        username: the login role created for the requirer.
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

    A request with a :attr:`DatabaseRequest.username` is answered with that user only.

    Where the model has secrets and the requirer lists any field in ``requested-secrets``, a
    field holding the password (``password``, ``uris``, ``read-only-uris``) goes only into its
    group's secret: one it did not list is withheld (:attr:`ProviderAnswer.withheld`), never
    published in clear. A requirer listing none reads every field from the bag.

    Returns:
        The bag in clear, the content of each secret group, and the fields withheld.

    Raises:
        TypeError: a value has the wrong type.
        ValueError: no endpoint, an endpoint entry a requirer cannot read, an invalid database
            name, a blank username or password, values a requirer would read back as
            something else (surrounding whitespace, a NUL), ``databases`` missing for a prefix
            request or given for another, a database not starting with the prefix, or a
            username other than the requested one. Messages never hold the password.
    """
    if not isinstance(request, DatabaseRequest):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            f"request must be a pgsql.protocol.DatabaseRequest, not {type(request).__name__}"
        )
    masters, readonly = _endpoint_entries(endpoints, read_only_endpoints)
    listed = prefix_databases(request.database, request.prefix, databases, database)
    if listed:
        database = listed[0]  # PostgreSQL 16's uris name the first
    db, ro_db = _databases(request, database, read_only_database)
    user = _check_value("username", username)
    check_answer_user(request.username, user)
    secret = _check_value("password", password)
    fields = _connection_fields(masters, readonly, db, ro_db, user, secret, uris, read_only_uris)
    if request.prefix:
        fields["database"] = request.database  # the echo is the request
        fields.update(prefix_fields(listed))
        if not listed:  # no database matches: no URI names one (PostgreSQL 16 removes them)
            fields.pop("uris", None)
            fields.pop("read-only-uris", None)
    fields.update(_server_fields(version, tls, tls_ca, subordinated))
    fields["data"] = json.dumps(request.snapshot(), sort_keys=True)
    return _split(fields, request.requested_secrets if secrets_available else ())


def _endpoint_entries(
    endpoints: Union[str, Iterable[str]], read_only_endpoints: Union[str, Iterable[str]]
) -> Tuple[List[str], List[str]]:
    """The primary's entries (at least one) and the standbys' (maybe none), checked."""
    masters = _check_endpoints("endpoints", endpoints)
    if not masters:
        raise ValueError("endpoints must name at least one host:port")
    return masters, _check_endpoints("read_only_endpoints", read_only_endpoints)


def _databases(
    request: DatabaseRequest, database: Optional[str], read_only_database: Optional[str]
) -> Tuple[str, str]:
    """The database served (the requested one by default) and the one standbys serve."""
    db = _check_database("database", request.database if database is None else database)
    if read_only_database is None:
        return db, db
    return db, _check_database("read_only_database", read_only_database)


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
    master = _connection(masters, db, user, password)
    fields["uris"] = master.uri if uris is None else _check_value("uris", uris)
    if readonly:
        fields["read-only-endpoints"] = ",".join(readonly)
        for entry in readonly:  # a requirer builds one standby per entry
            _connection([entry], ro_db, user, password)
        fields["read-only-uris"] = _connection(readonly, ro_db, user, password).uri
    if read_only_uris is not None:
        fields["read-only-uris"] = _check_value("read_only_uris", read_only_uris)
    return fields


def _server_fields(
    version: Optional[str], tls: Optional[bool], tls_ca: Optional[str], subordinated: bool
) -> Dict[str, str]:
    """What the provider says of itself: ``version``, ``tls``, ``tls-ca``, ``subordinated``."""
    fields: Dict[str, str] = {}
    if version is not None:
        text = _check_optional("version", version)
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
            secrets.setdefault(_group_of(key), {})[key] = value
        elif wanted and key in _HOLDS_PASSWORD:
            withheld.append(key)
        else:
            bag[key] = value
    return ProviderAnswer(bag, secrets, tuple(withheld))


def _group_of(key: str) -> str:
    for group, members in SECRET_GROUPS.items():
        if key in members:
            return group
    return "extra"


def _check_endpoints(name: str, value: Union[str, Iterable[str]]) -> List[str]:
    """The entries of an endpoints argument, each one a requirer can read, de-duplicated."""
    if isinstance(value, str):
        items: Iterable[object] = split_list(value)
    else:
        try:
            items = list(cast(Iterable[object], value))
        except TypeError:
            raise TypeError(
                f"{name} must be a str or an iterable of str, not {type(value).__name__}"
            ) from None
    out: List[str] = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{name} items must be str, not {type(item).__name__}")
        entry = item.strip()
        if "," in entry or _parse_endpoint(entry) is None:
            raise ValueError(
                f"{name}: {_shown(item)} is not a host:port entry a requirer can read "
                "(host:port, [ipv6]:port, or a unix socket directory /dir:port)"
            )
        if entry not in out:
            out.append(entry)
    return out


def _check_database(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    try:
        Request.build(database=value)
    except RequestError as e:  # a ValueError; quoting the name, which the caller may have mixed up
        raise RequestError(f"{name}: {mask_in_message(str(e), value)}") from None
    return value


def _check_optional(name: str, value: object) -> str:
    """A value requirers strip: it must not have surrounding whitespace, nor a NUL."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
    if value != value.strip():
        raise ValueError(f"{name} has surrounding whitespace, which requirers strip")
    if "\x00" in value:
        raise ValueError(f"{name} contains a NUL")
    return value


def _check_value(name: str, value: object) -> str:
    text = _check_optional(name, value)
    if not text:
        raise ValueError(f"{name} must not be empty")
    return text


def _connection(entries: Sequence[str], dbname: str, user: str, password: str) -> ConnectionString:
    """The connection string a requirer builds from ``entries``, checked to read back the same.

    Raises:
        ValueError: libpq cannot take a value, or it reads back as something else.
    """
    parsed = [_parse_endpoint(e) for e in entries]
    hosts = [p.host for p in parsed if p is not None]
    ports = [p.port for p in parsed if p is not None]
    try:
        cs = ConnectionString(
            host=",".join(hosts),
            port=",".join(ports) if any(ports) else None,
            dbname=dbname,
            user=user,
            password=password,
        )
        same = parse_connstr(str(cs)) == cs and parse_connstr(cs.uri) == cs
    except ConnectionStringError as e:
        raise ValueError(f"unusable connection details: {e}") from None
    if not same:
        raise ValueError("unusable connection details: they do not read back as given")
    return cs
