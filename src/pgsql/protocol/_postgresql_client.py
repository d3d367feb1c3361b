"""The ``postgresql_client`` interface, requirer side: the request it writes and readiness.

This is the interface Charmed PostgreSQL (every track; track 16 speaks nothing else) and
Charmed PgBouncer offer on their ``database`` endpoint, as the v0 ``data_interfaces`` library
speaks it. Everything here is pure: databags are plain ``Mapping[str, str]`` and the contents of
Juju secrets are handed in by the caller (URI to content, None when not readable yet).

- :func:`requirer_databag`: what the requirer leader writes into its application bag.
- :func:`secret_fields`: which Juju secrets the provider's application bag references, per group.
- :func:`evaluate_client`: the same :class:`Readiness` as the ``pgsql`` interface's
  :func:`~pgsql.protocol.evaluate`, so :func:`~pgsql.protocol.transitions` and the eleven client
  events serve both interfaces unchanged.

The contract is written down in ``docs/protocol.md`` (section *The postgresql_client
interface*).
"""

from __future__ import annotations

import json
from typing import Dict

from ._common import Databag, split_list
from ._postgresql_client_readiness import (
    EXTENSIONS_BY_CONFIG,
    NO_CREDENTIALS,
    NOT_ANSWERED,
    REQUEST_CHANGED,
    SECRET_NOT_GRANTED,
    SUBORDINATE_NOT_READY,
    TLS_ENABLED,
    evaluate_client,
)
from ._postgresql_client_secrets import REQUESTED_SECRETS, SECRET_GROUPS, secret_fields, secret_id
from ._request import Request, RequestError

# The parts, each importing only those above it: _postgresql_client_secrets (the fields, their
# groups, reading them), _postgresql_client_endpoints (endpoints entries and the connection
# strings built to them), _postgresql_client_readiness (evaluate_client and its rules).
__all__ = [
    "EXTENSIONS_BY_CONFIG",
    "NOT_ANSWERED",
    "NO_CREDENTIALS",
    "REQUESTED_SECRETS",
    "REQUEST_CHANGED",
    "SECRET_GROUPS",
    "SECRET_NOT_GRANTED",
    "SUBORDINATE_NOT_READY",
    "TLS_ENABLED",
    "evaluate_client",
    "requirer_databag",
    "requirer_request",
    "secret_fields",
    "secret_id",
]


# ---------------------------------------------------------------------------------------------
# What the requirer writes
# ---------------------------------------------------------------------------------------------


def requirer_databag(request: Request, *, external: bool = False) -> Dict[str, str]:
    """The requirer leader's application bag for ``request``.

    ``database``; ``extra-user-roles`` (the request's roles, comma-joined) when roles are
    requested; ``requested-secrets``, a JSON list naming every credential field
    (:data:`REQUESTED_SECRETS`); ``external-node-connectivity: "true"`` when ``external`` (the
    client runs outside the model's network: PgBouncer then publishes a reachable address).
    Extensions are not part of this interface (the server enables them by config), so they are
    not written; :func:`evaluate_client` notes them.

    >>> bag = requirer_databag(Request.build(database="mydb", roles="charmed_read"))
    >>> bag["database"], bag["extra-user-roles"]
    ('mydb', 'charmed_read')
    >>> json.loads(bag["requested-secrets"])
    ['username', 'password', 'tls', 'tls-ca', 'uris', 'read-only-uris']

    Raises:
        RequestError: no database is requested: providers act only once ``database`` is set,
            and have no default.
    """
    if not request.database:
        raise RequestError(
            "postgresql_client needs a database name: providers act only once 'database' is set"
        )
    bag = {"database": request.database, "requested-secrets": json.dumps(list(REQUESTED_SECRETS))}
    if request.roles:
        bag["extra-user-roles"] = ",".join(request.roles)
    if external:
        bag["external-node-connectivity"] = "true"
    return bag


def requirer_request(bag: Databag) -> Request:
    """What a requirer application bag asks for, read back as a :class:`Request`.

    The inverse of :func:`requirer_databag` for ``database`` and ``extra-user-roles`` (the
    other keys are not part of a request). Lenient: names this library would refuse are
    dropped, so a hand-edited or foreign bag never raises.

    >>> requirer_request({"database": "mydb", "extra-user-roles": "a, b"})
    Request(database='mydb', roles=('a', 'b'), extensions=())
    """
    database = bag.get("database", "").strip()
    roles = split_list(bag.get("extra-user-roles", ""))
    try:
        return Request.build(database, roles)
    except RequestError:
        try:
            return Request.build(database)
        except RequestError:
            return Request()
