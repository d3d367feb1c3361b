"""The ``pgsql`` server bags as the client reads them: parsed once, each with its problems.

:func:`read_bags` parses every server databag into a :class:`ServerBag` (the master and standby
connection strings, and why any could not be used); a v0 server's master is built from its
unit keys (pitfall 18).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Mapping, Optional, Tuple

from ..connstr import ConnectionString, ConnectionStringError
from ._common import Databag, parse_connstr, unit_sort_key
from ._pgsql_values import PRIMARY_STATES, parse_standbys, standby_parts
from ._readiness import MALFORMED, Reason


@dataclass(frozen=True)
class ServerBag:
    """One server databag, parsed: what it publishes and the problems found reading it."""

    name: str
    is_app: bool
    data: Databag
    master: Optional[ConnectionString]
    standbys: Tuple[ConnectionString, ...]
    problems: Tuple[Reason, ...]
    legacy: bool = False

    @property
    def state(self) -> str:
        return self.data.get("state", "").strip()


def read_bags(
    remote_app: str, remote_app_bag: Databag, remote_unit_bags: Mapping[str, Databag]
) -> List[ServerBag]:
    """Every server bag parsed: unit bags in unit-number order, then the app bag if not empty."""
    bags = [
        _parse_bag(name, False, remote_unit_bags[name])
        for name in sorted(remote_unit_bags, key=unit_sort_key)
    ]
    if remote_app_bag:
        bags.append(_parse_bag(remote_app, True, remote_app_bag))
    if not any(_speaks_v1(b.data) for b in bags):  # a v0 server (pitfall 18)
        bags = [_legacy_bag(b) for b in bags]
    return bags


def _parse_bag(name: str, is_app: bool, data: Databag) -> ServerBag:
    master, problems = _master_of(name, data.get("master", "").strip())
    standbys, errors = parse_standbys(data.get("standbys", ""))
    for error in errors:
        problems.append(
            Reason(
                MALFORMED, f"skipped an unusable standby connection string: {error}", name, False
            )
        )
    return ServerBag(name, is_app, data, master, standbys, tuple(problems))


def _master_of(name: str, raw: str) -> Tuple[Optional[ConnectionString], List[Reason]]:
    """The master connection string of a bag (None when absent or unusable), and why unusable."""
    if not raw:
        return None, []
    try:
        master = parse_connstr(raw)
    except ConnectionStringError as e:
        return None, [Reason(MALFORMED, f"unusable master connection string: {e}", name)]
    if len(standby_parts(raw)) > 1:
        # "dbname=x,host=y,password=z" parses (as one dbname) but is several strings joined
        # with commas: connecting would fail, and the password would sit in dbname
        return None, [
            Reason(MALFORMED, "master holds several comma-joined connection strings", name)
        ]
    return master, []


_V1_KEYS = ("master", "standbys", "allowed-subnets", "allowed-units")
_V0_KEYS = ("host", "user", "password")


def _speaks_v1(data: Databag) -> bool:
    return any(data.get(k, "").strip() for k in _V1_KEYS)


def _legacy_bag(bag: ServerBag) -> ServerBag:
    """Build the master of a v0 server (no ``master`` key anywhere) from its unit keys.

    Pitfall 18: ``host``/``port``/``user`` mean different things on newer servers, so this is
    only done when no bag on the relation speaks v1, and only for the unit whose ``state`` says
    it is the primary (a hot standby's keys would point at a read-only server).
    """
    data = bag.data
    if bag.is_app or bag.state not in PRIMARY_STATES:
        return bag
    if not all(data.get(k, "").strip() for k in _V0_KEYS):
        return bag
    parts = {k: data.get(k, "").strip() for k in ("host", "port", "user", "password")}
    parts["dbname"] = data.get("database", "").strip()
    try:
        master = ConnectionString(**{k: v for k, v in parts.items() if v})
    except (ConnectionStringError, TypeError) as e:
        problem = Reason(MALFORMED, f"unusable legacy connection details: {e}", bag.name)
        return ServerBag(bag.name, False, data, None, (), (*bag.problems, problem), legacy=True)
    return ServerBag(bag.name, False, data, master, (), bag.problems, legacy=True)
