"""Which interface a relation speaks, for the doctor: ``pgsql``, ``postgresql_client`` or neither.

A relation is ``postgresql_client`` when the input names that interface or its bags have that
interface's keys (``_bags.client_evidence``); else, once it holds some data or ``--endpoint``
names it, a PostgreSQL or PgBouncer charm's endpoint on it names its interface (``database``:
``postgresql_client``; ``db``: ``pgsql``); else it is ``pgsql`` when its bags have ``pgsql``'s
keys or ``--endpoint`` names it. ``--interface`` with ``--endpoint`` decides for the relations
on that endpoint.
"""

from __future__ import annotations

from typing import Dict, Optional, Set

from ._bags import (
    PGSQL,
    POSTGRESQL_CLIENT,
    charm_name,
    client_evidence,
    other_database,
    pgsql_evidence,
    published_keys,
)
from ._group import Relation
from ._read import InputError

__all__ = [
    "CLIENT_INTERFACE",
    "INTERFACES",
    "KINDS",
    "PGSQL_INTERFACE",
    "check_interface_option",
    "interface_of",
]

#: The interfaces the doctor understands (``RelationReport.interface``).
PGSQL_INTERFACE = "pgsql"
CLIENT_INTERFACE = "postgresql_client"
#: What each interface's bag keys say (``_bags.Kinds``), by interface.
KINDS = {PGSQL_INTERFACE: PGSQL, CLIENT_INTERFACE: POSTGRESQL_CLIENT}
#: The interfaces ``--interface`` accepts.
INTERFACES = tuple(KINDS)

#: Charms of PostgreSQL servers, whose endpoints are named after the interface (their
#: metadata.yaml: Charmed PostgreSQL 14/16 and PgBouncer, VM and K8s, provide ``database``
#: (postgresql_client), ``db`` and ``db-admin`` (pgsql, not on PostgreSQL 16); PgBouncer
#: requires ``backend-database`` (postgresql_client); the legacy PostgreSQL charm has ``db`` and
#: ``db-admin``).
_SERVER_CHARMS = frozenset({"postgresql", "postgresql-k8s", "pgbouncer", "pgbouncer-k8s"})
_SERVER_ENDPOINTS = {
    "database": CLIENT_INTERFACE,
    "backend-database": CLIENT_INTERFACE,
    "db": PGSQL_INTERFACE,
    "db-admin": PGSQL_INTERFACE,
}


def check_interface_option(interface: Optional[str], endpoint: Optional[str]) -> None:
    """Refuse an ``--interface`` the doctor does not know, or given without ``--endpoint``.

    Raises:
        InputError: either.
    """
    if interface is None:
        return
    if interface not in KINDS:
        raise InputError(f"--interface {interface!r} is not one of {', '.join(INTERFACES)}")
    if endpoint is None:
        raise InputError(
            "--interface needs --endpoint: it says how to read the relations on that endpoint"
        )


def interface_of(
    rel: Relation, charms: Dict[str, str], endpoint: Optional[str], forced: Optional[str]
) -> str:
    """The interface the doctor judges ``rel`` by, "" for a relation it does not understand."""
    named = rel.interface
    if named:
        return named if named in KINDS else ""
    on_endpoint = endpoint is not None and endpoint in rel.sides.values()
    if on_endpoint and forced is not None:
        return forced
    seen = [charms[a] for a in rel.sides if a in charms]
    if client_evidence(rel.all_bags(), seen):
        return CLIENT_INTERFACE
    # a request of `database` alone is either interface's: the server charm's endpoint tells
    # (a relation with no data at all is examined only when --endpoint names it)
    if (on_endpoint or any(published_keys(b) for b in rel.all_bags())) and not other_database(
        rel.all_bags(), seen
    ):
        by_endpoint = _by_server_endpoint(rel, charms)
        if by_endpoint:
            return by_endpoint
    if pgsql_evidence(rel.all_bags()) or on_endpoint:
        return PGSQL_INTERFACE
    return ""


def _by_server_endpoint(rel: Relation, charms: Dict[str, str]) -> str:
    """The interface a PostgreSQL or PgBouncer charm's endpoint on ``rel`` names, else ""."""
    found: Set[str] = set()
    for app, ep in rel.sides.items():
        # the charm of a shown unit; else an application named after one (as deployed)
        name = charm_name(charms[app]) if app in charms else charm_name(app)
        if name in _SERVER_CHARMS and ep in _SERVER_ENDPOINTS:
            found.add(_SERVER_ENDPOINTS[ep])
    return next(iter(found)) if len(found) == 1 else ""
