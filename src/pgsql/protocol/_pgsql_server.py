"""The ``pgsql`` interface, server side: the request a client made, the bag a server publishes.

:func:`read_request` consolidates what a client application asked for, :func:`access_grant`
says which client units a server lets in, and :func:`server_databag` renders the reply.
"""

from __future__ import annotations

import ipaddress
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..connstr import ConnectionString
from ._common import Databag, split_list, unit_sort_key
from ._request import REQUEST_KEYS, Request


def read_request(client_app_bag: Databag, client_unit_bags: Mapping[str, Databag]) -> Request:
    """The request a client application made: its app bag, else its lowest-numbered unit's.

    Clients of this library write both (pitfall 13); older clients and some proxies only write
    unit bags. Both extension-schema syntaxes are kept as written.
    """
    if _has_request(client_app_bag):
        return Request.from_databag(client_app_bag)
    for name in sorted(client_unit_bags, key=unit_sort_key):
        bag = client_unit_bags[name]
        if _has_request(bag):
            return Request.from_databag(bag)
    return Request()


def _has_request(bag: Databag) -> bool:
    return any(bag.get(k, "").strip() for k in REQUEST_KEYS)  # pitfall 20: "" is absent


def _egress_of(bag: Databag) -> List[str]:
    subnets = split_list(bag.get("egress-subnets"))
    if subnets:
        return subnets
    for key in ("ingress-address", "private-address"):
        addr = bag.get(key, "").strip()
        if addr:
            try:
                ip = ipaddress.ip_address(addr)
            except ValueError:
                continue  # not an address (a hostname?): try the next key
            return [f"{ip}/{ip.max_prefixlen}"]
    return []


def access_grant(client_unit_bags: Mapping[str, Databag]) -> Tuple[str, str]:
    """``(allowed-subnets, allowed-units)`` granting every given client unit.

    Subnets come from each unit's ``egress-subnets`` (else its address as a /32 or /128),
    sorted and de-duplicated, comma-joined; units are space-joined in numeric order.
    """
    subnets = sorted({s for bag in client_unit_bags.values() for s in _egress_of(bag)})
    units = sorted(client_unit_bags, key=unit_sort_key)
    return ",".join(subnets), " ".join(units)


def server_databag(
    request: Request,
    *,
    master: Optional[ConnectionString],
    standbys: Sequence[ConnectionString] = (),
    version: Optional[str] = None,
    granted_units: Mapping[str, Databag],
    database: Optional[str] = None,
    state: Optional[str] = None,
) -> Dict[str, str]:
    """The databag a server publishes for one client relation.

    Args:
        request: the client's request (see :func:`read_request`), echoed back.
        master: the connection string for the master database, or None while unavailable.
        standbys: connection strings of hot standbys; joined with newlines.
        version: the PostgreSQL version.
        granted_units: the client units granted access, with their databags (for their
            egress subnets).
        database: the database actually provided, when the default was requested.
        state: ``master``, ``standalone`` or ``hot standby`` for this server unit, if known.

    Returns:
        The full bag; keys with nothing to say are absent (absent is empty on the wire).
    """
    bag: Dict[str, str] = {}
    echo = request.databag()
    db = request.database or database or ""
    if db:
        echo["database"] = db
    bag.update(echo)
    subnets, units = access_grant(granted_units)
    if subnets:
        bag["allowed-subnets"] = subnets
    if units:
        bag["allowed-units"] = units
    if master is not None:
        bag["master"] = str(master)
    if standbys:
        bag["standbys"] = "\n".join(str(s) for s in standbys)
    if version:
        bag["version"] = version
    if state:
        bag["state"] = state
    return bag
