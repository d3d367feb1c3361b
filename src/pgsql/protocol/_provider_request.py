"""The ``postgresql_client`` interface, provider side: the requirer's request, read leniently.

:func:`read_database_request` reads the requirer application bag as a :class:`DatabaseRequest`
(``database``, ``extra-user-roles``, ``requested-secrets``, ``external-node-connectivity``, and
PostgreSQL 16's prefix requests and user names). Never raises on remote data: what cannot be
used is dropped and said in the problems returned, which never hold a secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple, cast

from ._common import Databag, mask_in_message, split_list
from ._provider_checks import clip, shown
from ._provider_pg16 import prefix_problem, requested_user
from ._request import Request, RequestError
from ._username import REQUESTED_ENTITY_SECRET

# A v0 ``database`` ending in "*" asks for every database with that prefix (PostgreSQL 16,
# answered with ``prefix-databases``); ``prefix-matching`` without one is not served.
PREFIX_MARK = "*"


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
        return self.database[:-1] if self.database.endswith(PREFIX_MARK) else ""

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
    problem = _database_problem(requirer_app_bag, database)
    if problem is not None:
        problems.append(problem)
        return None, tuple(problems)
    user = requested_user(requirer_app_bag, requested_entity, problems)
    if user is None:
        return None, tuple(clip(p) for p in problems)
    entity = _text(requirer_app_bag, REQUESTED_ENTITY_SECRET)
    return DatabaseRequest(database, roles, requested, external, user[0], user[1], entity), tuple(
        problems
    )


def _database_problem(requirer_app_bag: Databag, database: str) -> Optional[str]:
    """Why the requested ``database`` cannot be acted on; None when it can."""
    prefix = database.endswith(PREFIX_MARK)
    if not prefix and _text(requirer_app_bag, "prefix-matching"):
        return f"prefix requests (database {shown(database)}) are not supported"
    try:
        Request.build(database=database)
    except RequestError as e:
        return clip(f"ignored the database request: {mask_in_message(str(e), database)}")
    problem = prefix_problem(database) if prefix else None
    return clip(problem) if problem else None


def _read_roles(raw: str, problems: List[str]) -> Tuple[str, ...]:
    roles: List[str] = []
    for role in split_list(raw):
        try:
            Request.build(roles=[role])
        except RequestError as e:
            problems.append(clip(f"ignored a role: {mask_in_message(str(e), role)}"))
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
            f"requested-secrets is not a JSON list of field names ({shown(raw)}); "
            "every field is published in clear"
        )
        return ()
    names: List[str] = []
    for item in cast(List[object], loaded):
        name = item.strip() if isinstance(item, str) else ""
        if not name:
            problems.append(f"requested-secrets: ignored {shown(repr(item))}, not a field name")
        elif name not in names:
            names.append(name)
    return tuple(names)
