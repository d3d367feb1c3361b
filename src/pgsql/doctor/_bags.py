"""What a databag's keys tell: who could have written it, and which interface it speaks.

Only keys with a value count, and not the ones Juju writes itself (``egress-subnets``, ...).
The ``pgsql`` functions come first; :data:`PGSQL` and :data:`POSTGRESQL_CLIENT` bundle, per
interface, the three questions grouping asks of a bag (:class:`Kinds`).
"""

from __future__ import annotations

import json
import re
from typing import Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Set, cast

from .._passwords import PASSWORD_KEYS
from ..protocol import JUJU_KEYS, REQUEST_KEYS

Bag = Dict[str, str]

#: Keys only a server writes; any of them marks the writer as the server.
_SERVER_MARKERS = frozenset({"master", "standbys", "allowed-subnets", "allowed-units"})
_SERVER_KEYS = _SERVER_MARKERS | {
    "host",
    "port",
    "user",
    "password",
    "schema_user",
    "schema_password",
    "state",
    "version",
    "allowed_units",
}
_PGSQL_KEYS = _SERVER_KEYS | set(REQUEST_KEYS) | JUJU_KEYS
SECRET_KEYS = PASSWORD_KEYS  # the keys holding a password in clear: one list, pgsql._passwords'
_PG_STATES = frozenset({"master", "standalone", "hot standby", "standby"})


def published_keys(bag: Mapping[str, str]) -> Set[str]:
    return {k for k, v in bag.items() if k not in JUJU_KEYS and v.strip()}


def is_server_bag(bag: Mapping[str, str]) -> bool:
    return bool(published_keys(bag) & _SERVER_MARKERS)


def has_request(bag: Mapping[str, str]) -> bool:
    """Whether ``bag`` requests something (as protocol.read_request: a blank key is absent)."""
    return any(bag.get(k, "").strip() for k in REQUEST_KEYS)


def is_request_bag(bag: Mapping[str, str]) -> bool:
    keys = published_keys(bag)
    return bool(keys) and keys <= set(REQUEST_KEYS)


def writer_kind(bag: Mapping[str, str]) -> Optional[str]:
    """``server``, ``client`` or None: who could have written this bag."""
    keys = published_keys(bag)
    if not keys:
        return None
    if keys & _SERVER_MARKERS:
        return "server"
    if keys <= set(REQUEST_KEYS):
        return "client"
    if keys <= _PGSQL_KEYS and keys & _SERVER_KEYS:
        return "server"  # partial server bag (pgbouncer writes user/password/database first)
    return None


def pgsql_evidence(bags: Iterable[Mapping[str, str]]) -> bool:
    """Whether these bags look like the ``pgsql`` interface (rather than mysql, ...)."""
    seen_database = False
    for bag in bags:
        keys = published_keys(bag)
        if not keys:
            continue
        if keys & (_SERVER_MARKERS | {"schema_user", "roles", "extensions"}):
            return True
        if not keys <= _PGSQL_KEYS:
            return False  # another interface's keys (mysql's `slave`, ...)
        seen_database = seen_database or "database" in keys
    return seen_database


# ---------------------------------------------------------------------------------------------
# postgresql_client (data_interfaces v0)
# ---------------------------------------------------------------------------------------------

#: Keys only a requirer writes (its application bag; data_interfaces also copies
#: requested-secrets into the leader's unit bag).
_REQUIRER_MARKERS = frozenset(
    {
        "requested-secrets",
        "extra-user-roles",
        "external-node-connectivity",
        "extra-group-roles",
        "entity-type",
        "entity-permissions",
        "requested-entity-secret",
        "prefix-matching",
    }
)
#: Keys only a provider writes in its application bag.
_PROVIDER_MARKERS = frozenset(
    {
        "endpoints",
        "read-only-endpoints",
        "secret-user",
        "secret-tls",
        "secret-extra",
        "subordinated",
        "uris",
        "read-only-uris",
        "username",
        "tls",
        "tls-ca",
    }
)
#: A requirer bag may also hold these (``extensions``: a charm ported from pgsql writes it).
_REQUIRER_KEYS = _REQUIRER_MARKERS | {"database", "extensions", "provided-secrets", "alias"}
#: The v1 request format's keys (``dpcharmlibs-interfaces``), which v0 providers ignore.
_V1_KEYS = frozenset({"version", "requests"})
#: The keys of a requirer's unit bag: data_interfaces keeps there its ``data`` snapshot of the
#: provider's bag (and the leader a copy of ``requested-secrets``).
_REQUIRER_UNIT_KEYS = frozenset({"data", "requested-secrets", "provided-secrets"})
#: Keys of a database other than PostgreSQL in a provider's ``uris`` (mysql_client, ...).
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_CHARM_NAME = re.compile(r"^(?:[a-z]+:)?(?:.*/)?([a-z][a-z0-9-]*?)(?:-\d+)?$")
#: Charms that provide postgresql_client, by rank: PgBouncer is also a requirer (of PostgreSQL).
_PROVIDER_CHARMS = {"postgresql": 2, "postgresql-k8s": 2, "pgbouncer": 1, "pgbouncer-k8s": 1}
#: Charms of other databases whose data_interfaces relations share these keys.
_OTHER_DATABASES = re.compile(r"mysql|mariadb|mongo|redis|valkey|opensearch|kafka|zookeeper|etcd")


def snapshot(raw: Optional[str]) -> Optional[Dict[str, str]]:
    """A data_interfaces ``data`` value: a JSON object of strings; None when unreadable.

    data_interfaces keeps it to diff the other side's bag next time: the provider a snapshot of
    the request in its application bag, the requirer one of the provider's answer in each of
    its unit bags. Values that are not strings are kept as JSON text.
    """
    if not raw or not raw.strip():
        return None
    try:
        loaded: object = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(loaded, dict):
        return None
    items = cast(Dict[object, object], loaded).items()
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in items}


def is_provider_bag(bag: Mapping[str, str]) -> bool:
    """A postgresql_client provider's application bag (it has answered, at least in part)."""
    return bool(published_keys(bag) & _PROVIDER_MARKERS)


def is_requirer_bag(bag: Mapping[str, str]) -> bool:
    """A postgresql_client requirer's application bag (its request, v0 or v1)."""
    keys = published_keys(bag)
    return (
        keys <= _REQUIRER_KEYS | _V1_KEYS
        and bool(keys & (_REQUIRER_KEYS - {"alias"} | {"requests"}))
        and not keys & _PROVIDER_MARKERS
    )


def client_writer_kind(bag: Mapping[str, str]) -> Optional[str]:
    """``server`` (provider), ``client`` (requirer) or None: who wrote this unit bag.

    Of ``postgresql_client``: only PgBouncer writes a provider unit bag (``state``); a
    data_interfaces requirer keeps its ``data`` snapshot (and the leader ``requested-secrets``)
    in its own.
    """
    keys = published_keys(bag)
    if not keys:
        return None
    if keys == {"state"}:
        return "server"
    if keys <= _REQUIRER_UNIT_KEYS:
        return "client"
    return None


def charm_name(charm: str) -> str:
    """``postgresql`` for ``ch:amd64/noble/postgresql-843``, ``myapp`` for ``local:myapp-0``."""
    m = _CHARM_NAME.match(charm.strip())
    return m.group(1) if m else ""


def provider_rank(charm: str) -> int:
    """2 for a PostgreSQL charm, 1 for PgBouncer, 0 for any other (or unknown) charm."""
    return _PROVIDER_CHARMS.get(charm_name(charm), 0)


def client_evidence(bags: Iterable[Mapping[str, str]], charms: Iterable[str] = ()) -> bool:
    """Whether these bags look like the ``postgresql_client`` interface.

    A requirer bag with ``requested-secrets`` (or another request key of data_interfaces) or a
    provider bag with ``endpoints`` / ``secret-user`` (or another provider key); and nothing
    of ``pgsql`` (``master``, ``allowed-units``, ...). data_interfaces relations of other
    databases (mysql_client, mongodb_client) have the same keys: a non-PostgreSQL URI scheme in
    ``uris`` or a charm of another database rules them out.

    data_interfaces' ``data`` snapshot counts as the bag it copies: the requirer's unit bags
    may be all that shows of a provider's answer (``juju show-unit postgresql/0`` alone).
    """
    bags = list(bags)
    found = False
    for one in _with_snapshots(bags):
        keys = published_keys(one)
        if keys & _SERVER_MARKERS:
            return False
        found = found or bool(keys & (_REQUIRER_MARKERS | _PROVIDER_MARKERS | {"requests"}))
    return found and not other_database(bags, charms)


def other_database(bags: Iterable[Mapping[str, str]], charms: Iterable[str] = ()) -> bool:
    """Whether these bags or charms show a database other than PostgreSQL.

    data_interfaces relations of other databases (mysql_client, mongodb_client, ...) use the
    keys of ``postgresql_client``: a ``uris`` (or ``read-only-uris``, in a bag or a ``data``
    snapshot) that is not ``postgresql://``, or a charm of another database, tells them apart.
    """
    for one in _with_snapshots(bags):
        for key in ("uris", "read-only-uris"):
            value = one.get(key, "").strip().lower()
            if value and "://" in value and not value.startswith(_POSTGRES_SCHEMES):
                return True
    return any(_OTHER_DATABASES.search(charm_name(c)) and not provider_rank(c) for c in charms)


def _with_snapshots(bags: Iterable[Mapping[str, str]]) -> List[Mapping[str, str]]:
    """The bags, each followed by the data_interfaces ``data`` snapshot it holds, if any."""
    out: List[Mapping[str, str]] = []
    for bag in bags:
        out.append(bag)
        copied = snapshot(bag.get("data"))
        if copied is not None:
            out.append(copied)
    return out


class Kinds(NamedTuple):
    """What grouping asks of a bag, for one interface."""

    #: an application bag only the server (provider) writes
    server_app: Callable[[Mapping[str, str]], bool]
    #: an application bag only the client (requirer) writes
    client_app: Callable[[Mapping[str, str]], bool]
    #: who wrote a unit bag: "server", "client" or None
    unit_writer: Callable[[Mapping[str, str]], Optional[str]]
    #: whether a shown unit's charm says which side provides (postgresql_client only)
    by_charm: bool


PGSQL = Kinds(is_server_bag, is_request_bag, writer_kind, by_charm=False)
POSTGRESQL_CLIENT = Kinds(is_provider_bag, is_requirer_bag, client_writer_kind, by_charm=True)
