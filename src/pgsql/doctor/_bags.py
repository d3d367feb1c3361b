"""What a databag's keys tell: who could have written it, and whether it is ``pgsql`` at all.

Only keys with a value count, and not the ones Juju writes itself (``egress-subnets``, ...).
"""

from __future__ import annotations

from typing import Dict, Iterable, Mapping, Optional, Set

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
SECRET_KEYS = ("password", "schema_password")
_PG_STATES = frozenset({"master", "standalone", "hot standby", "standby"})


def published_keys(bag: Mapping[str, str]) -> Set[str]:
    return {k for k, v in bag.items() if k not in JUJU_KEYS and v.strip()}


def is_server_bag(bag: Mapping[str, str]) -> bool:
    return bool(published_keys(bag) & _SERVER_MARKERS)


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
