"""The ``pgsql`` wire protocol as pure functions over plain databags.

Nothing here imports ``ops`` or performs I/O: every function takes ``Mapping[str, str]`` databags
(as Juju stores them) and returns values. The ops adapters (:mod:`pgsql.client`,
:mod:`pgsql.server`), :mod:`pgsql.testing` and :mod:`pgsql.doctor` all decide readiness here, so
there is exactly one implementation of the rule. The contract is written down in
``docs/protocol.md``.

Client side::

    >>> request = Request.build(database="mydb", extensions=["citext"])
    >>> request.databag()
    {'database': 'mydb', 'extensions': 'citext'}
    >>> server_unit = {
    ...     "database": "mydb", "extensions": "citext",
    ...     "allowed-subnets": "10.0.0.10/32", "allowed-units": "myapp/0",
    ...     "master": "dbname=mydb host=10.0.0.20 password=secret user=juju_myapp",
    ... }
    >>> r = evaluate(request, "myapp/0", {"egress-subnets": "10.0.0.10/32"},
    ...              "postgresql", {}, {"postgresql/0": server_unit})
    >>> r.ready, r.master.host, r.source
    (True, '10.0.0.20', 'postgresql/0')

Server side: :func:`read_request` consolidates what a client application asked for and
:func:`server_databag` renders the bag a server publishes in reply.

Layers, each module importing only those above it (and :mod:`pgsql.connstr`):

- ``_common``: interface-neutral databag values: the ``Databag`` type, the keys Juju writes,
  comma lists, numeric unit ordering, connection strings parsed from remote data, digests.
- ``_request``: :class:`Request` and its validation (:class:`RequestError`), extension items.
- ``_transitions``: :class:`Snapshot` and the client events a change of state emits.
- ``_readiness``: :class:`Readiness`, :class:`Reason` and the reason codes, :class:`BagVerdict`:
  the verdict any interface's evaluation returns.
- ``_pgsql``: the ``pgsql`` interface itself: its value formats (``standbys``, ``allowed-units``,
  ``allowed-subnets``), the client-side rules (:func:`evaluate`) and the server side
  (:func:`read_request`, :func:`access_grant`, :func:`server_databag`).
- ``_postgresql_client``: the ``postgresql_client`` interface, requirer side, without ops: the
  bag the requirer writes (:func:`requirer_databag`), the secrets the provider references
  (:func:`secret_fields`) and :func:`evaluate_client`, the same :class:`Readiness` from the
  provider's bags and secret contents.
- ``_client_rules``: what ``postgresql_client`` providers refuse or serve beyond a plain
  database request (prefix requests, reserved names, PostgreSQL 16's roles).
- ``_username``: a user name chosen by the requirer (the ``requested-entity-secret`` helper
  secret PostgreSQL 16 reads, the users it refuses, ``user-mismatch``).

Another interface's rules go beside ``_pgsql``, over the same requests, readiness and events.
Everything is imported from this package, never from its modules. A name loads with its module
on first use (PEP 562): a requirer's hooks pay only for what they use (docs/architecture.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

from .. import connstr as _connstr
from . import _common, _request
from ._codes import (
    DATABASE_MISMATCH,
    DATABASE_PENDING,
    EGRESS_NOT_ALLOWED,
    EXTENSIONS_NOT_ECHOED,
    EXTENSIONS_PENDING,
    MALFORMED,
    MASTERS_DISAGREE,
    NAME_PREFIX_BUG,
    NO_REMOTE,
    REJECTED,
    REQUEST_UNKNOWN,
    ROLES_IGNORED,
    ROLES_PENDING,
    STALE_APP_BAG,
    UNIT_NOT_ALLOWED,
    WAITING,
)
from ._common import JUJU_KEYS, Databag, mask_in_message, mask_userinfo, split_list, unit_sort_key
from ._request import REQUEST_KEYS, Request, RequestError, parse_extension

if TYPE_CHECKING:  # pragma: no cover - the lazy imports below, spelt out for type checkers
    from ._client_rules import (
        NO_PREFIX_DATABASES,
        PG16_ATTRIBUTES,
        PG16_ROLES,
        PREFIX_NOT_SERVED,
        RESERVED_DATABASES,
        ROLES_REFUSED,
        check_request,
        is_prefix,
        major,
        pg16_roles_problem,
    )
    from ._pgsql import (
        PRIMARY_STATES,
        BagPredicate,
        access_grant,
        evaluate,
        read_request,
        server_databag,
        split_standbys,
        split_units,
    )
    from ._postgresql_client import (
        EXTENSIONS_BY_CONFIG,
        NO_CREDENTIALS,
        NOT_ANSWERED,
        REQUEST_CHANGED,
        REQUESTED_SECRETS,
        SECRET_GROUPS,
        SECRET_NOT_GRANTED,
        SUBORDINATE_NOT_READY,
        TLS_ENABLED,
        evaluate_client,
        requirer_databag,
        requirer_request,
        secret_fields,
        secret_id,
    )
    from ._postgresql_client_provider import (
        PROVIDER_KEYS,
        DatabaseRequest,
        ProviderAnswer,
        provider_answer,
        read_database_request,
        requested_secrets,
    )
    from ._readiness import BagVerdict, Readiness, Reason
    from ._transitions import BROKEN_EVENTS, EVENT_NAMES, Snapshot, broken_transitions, transitions
    from ._username import (
        REQUESTED_ENTITY_SECRET,
        SYSTEM_USERS,
        USER_MISMATCH,
        USERNAME_UNCONFIRMED,
        check_username,
        entity_content,
        entity_label,
    )

__all__ = [
    "BROKEN_EVENTS",
    "EVENT_NAMES",
    "JUJU_KEYS",
    "PRIMARY_STATES",
    "REQUESTED_SECRETS",
    "REQUEST_KEYS",
    "SECRET_GROUPS",
    "BagPredicate",
    "BagVerdict",
    "Databag",
    "Readiness",
    "Reason",
    "Request",
    "RequestError",
    "Snapshot",
    "access_grant",
    "broken_transitions",
    "evaluate",
    "evaluate_client",
    "mask_in_message",
    "mask_userinfo",
    "parse_extension",
    "read_request",
    "requirer_databag",
    "requirer_request",
    "secret_fields",
    "secret_id",
    "server_databag",
    "split_list",
    "split_standbys",
    "split_units",
    "transitions",
    "unit_sort_key",
    # reason codes (Reason.code)
    "DATABASE_MISMATCH",
    "DATABASE_PENDING",
    "EGRESS_NOT_ALLOWED",
    "EXTENSIONS_NOT_ECHOED",
    "EXTENSIONS_PENDING",
    "MALFORMED",
    "MASTERS_DISAGREE",
    "NAME_PREFIX_BUG",
    "NO_REMOTE",
    "REJECTED",
    "REQUEST_UNKNOWN",
    "ROLES_IGNORED",
    "ROLES_PENDING",
    "STALE_APP_BAG",
    "UNIT_NOT_ALLOWED",
    "WAITING",
    # postgresql_client reason codes
    "EXTENSIONS_BY_CONFIG",
    "NOT_ANSWERED",
    "NO_CREDENTIALS",
    "REQUEST_CHANGED",
    "SECRET_NOT_GRANTED",
    "SUBORDINATE_NOT_READY",
    "TLS_ENABLED",
    "NO_PREFIX_DATABASES",
    "PREFIX_NOT_SERVED",
    "ROLES_REFUSED",
    "USER_MISMATCH",
    "USERNAME_UNCONFIRMED",
    # postgresql_client: a user name chosen by the requirer
    "REQUESTED_ENTITY_SECRET",
    "SYSTEM_USERS",
    "check_username",
    "entity_content",
    "entity_label",
    # postgresql_client: what providers refuse or serve beyond a plain request
    "PG16_ATTRIBUTES",
    "PG16_ROLES",
    "RESERVED_DATABASES",
    "check_request",
    "is_prefix",
    "major",
    "pg16_roles_problem",
    # postgresql_client, provider side
    "PROVIDER_KEYS",
    "DatabaseRequest",
    "ProviderAnswer",
    "provider_answer",
    "read_database_request",
    "requested_secrets",
]

# Former private names still in use: tests check that _SECRET_ASSIGNMENT (served by __getattr__)
# is pgsql.connstr's, and benchmarks/core.py clears every lru cache it finds in the loaded
# modules to time cold calls.
_parse_cs = _common.parse_connstr
_extension_names = _request.extension_names_of

# Loaded on first use (PEP 562), by module: each hook is a fresh process that pays every import,
# and a requirer needs only the request at start-up. The verdict classes and the rules of its
# interface load with its relation's first evaluation; a pgsql requirer never loads the
# postgresql_client rules nor the other way round, and no requirer loads the provider side.
_LAZY_MODULES: Dict[str, List[str]] = {
    "_readiness": ["BagVerdict", "Readiness", "Reason"],
    "_transitions": [
        "BROKEN_EVENTS",
        "EVENT_NAMES",
        "Snapshot",
        "broken_transitions",
        "transitions",
    ],
    "_pgsql": [
        "PRIMARY_STATES",
        "BagPredicate",
        "access_grant",
        "evaluate",
        "read_request",
        "server_databag",
        "split_standbys",
        "split_units",
        "_split_subnets",
        "_split_standbys",
        "_parse_standbys",
        "_canonical_standbys",
    ],
    "_postgresql_client": [
        "EXTENSIONS_BY_CONFIG",
        "NO_CREDENTIALS",
        "NOT_ANSWERED",
        "REQUEST_CHANGED",
        "REQUESTED_SECRETS",
        "SECRET_GROUPS",
        "SECRET_NOT_GRANTED",
        "SUBORDINATE_NOT_READY",
        "TLS_ENABLED",
        "evaluate_client",
        "requirer_databag",
        "requirer_request",
        "secret_fields",
        "secret_id",
    ],
    "_postgresql_client_provider": [
        "PROVIDER_KEYS",
        "DatabaseRequest",
        "ProviderAnswer",
        "provider_answer",
        "read_database_request",
        "requested_secrets",
    ],
    "_client_rules": [
        "NO_PREFIX_DATABASES",
        "PG16_ATTRIBUTES",
        "PG16_ROLES",
        "PREFIX_NOT_SERVED",
        "RESERVED_DATABASES",
        "ROLES_REFUSED",
        "check_request",
        "is_prefix",
        "major",
        "pg16_roles_problem",
    ],
    "_username": [
        "REQUESTED_ENTITY_SECRET",
        "SYSTEM_USERS",
        "USER_MISMATCH",
        "USERNAME_UNCONFIRMED",
        "check_username",
        "entity_content",
        "entity_label",
    ],
}
_LAZY = {name: module for module, names in _LAZY_MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a name's module on first use, then keep the name here (PEP 562)."""
    if name == "_SECRET_ASSIGNMENT":  # compiled when first asked for, as pgsql.connstr's
        return _connstr.SECRET_ASSIGNMENT
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    # what it exports (loaded or not) and its private names, not what it imports for itself
    return sorted({*__all__, *_LAZY, *(name for name in globals() if name.startswith("_"))})
