"""The ``pgsql`` interface: its databag formats and readiness rules, client and server side.

Client side, :func:`evaluate` judges every server databag on its own and picks what a client unit
may use. Server side, :func:`read_request` consolidates what a client application asked for and
:func:`server_databag` renders the bag a server publishes in reply. Both sides read the
interface's value formats from here: ``standbys`` (:func:`split_standbys`), ``allowed-units``
(:func:`split_units`) and ``allowed-subnets``. The contract is written down in
``docs/protocol.md``.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import (
    Callable,
    Dict,
    FrozenSet,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
)

from ..connstr import ConnectionString, ConnectionStringError
from ._common import Databag, parse_connstr, split_list, unit_sort_key
from ._readiness import (
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
    BagVerdict,
    Readiness,
    Reason,
    dedupe_reasons,
)
from ._request import REQUEST_KEYS, Request, extension_names_of

#: ``state`` values naming the unit that serves the master database.
PRIMARY_STATES = frozenset({"master", "standalone"})
# pitfall 4: a comma separates two conn strings only when followed by another keyword
_LINE_BREAK = re.compile(r"[\r\n]")
_STANDBY_SPLIT = re.compile(r",(?=[A-Za-z_][A-Za-z0-9_]*[ \t\f\v]*=)")
# libpq's isspace(); Python's str.isspace()/strip() also take e.g. \x1f, legal in values
_LIBPQ_WS = " \t\n\r\f\v"


# ---------------------------------------------------------------------------------------------
# Splitting wire values
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def split_units(raw: Optional[str]) -> FrozenSet[str]:
    """Split ``allowed-units``: servers use spaces or commas (pitfall 7)."""
    if not raw:
        return frozenset()
    return frozenset(raw.replace(",", " ").split())


@lru_cache(maxsize=1024)
def _split_subnets(raw: Optional[str]) -> FrozenSet[str]:
    return frozenset(split_list(raw))


def split_standbys(raw: Optional[str]) -> List[str]:
    """Split a ``standbys`` value into connection strings (pitfall 4).

    Servers join them with newlines (the reactive charm, the spec), with commas (Canonical VM
    PostgreSQL) or publish a single one. Outside single-quoted values, a newline separates two
    strings, and so does a comma that ends a value and is directly followed by another
    ``keyword=`` (so an unquoted value containing ``,keyword=`` is ambiguous). As in libpq, a
    quote opens a quoted value only at the start of a value; a line with an unbalanced quote is
    kept to itself.
    """
    if not raw:
        return []
    return list(_split_standbys(raw))


@lru_cache(maxsize=1024)
def _split_standbys(raw: str) -> Tuple[str, ...]:
    # Every server unit bag repeats the same value: split each distinct one once.
    parts = _fast_split(raw) if "'" not in raw and "\\" not in raw else None
    if parts is None:
        parts = _scan_standbys(raw)
        if parts is None:
            parts = [p for line in raw.split("\n") for p in (_scan_standbys(line) or [line])]
    return tuple(p.strip(_LIBPQ_WS) for p in parts if p.strip(_LIBPQ_WS))


def _fast_split(raw: str) -> Optional[List[str]]:
    """:func:`_scan_standbys` for values without quotes or backslashes, in C-speed steps.

    Without quotes, a comma followed by ``keyword=`` separates unless it starts a value (only
    blanks between it and the ``=`` before it). None when a ``=`` precedes such a comma: whether
    it ends a key or a value (``password=abc=``) takes the scanner.
    """
    out: List[str] = []
    for line in _LINE_BREAK.split(raw):
        start = 0
        for m in _STANDBY_SPLIT.finditer(line):
            i = m.start()
            if line[start:i].rstrip(_LIBPQ_WS).endswith("="):
                return None
            out.append(line[start:i])
            start = i + 1
        out.append(line[start:])
    return out


def _scan_standbys(raw: str) -> Optional[List[str]]:
    """Split on unquoted separators; None if a quoted value is left open."""
    out: List[str] = []
    start = 0
    quoted = False
    value_start = False  # just after "=" (and blanks): a quote here opens a quoted value
    in_value = False  # past a key's "=": another "=" is part of the value (base64 padding)
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == "'":
                quoted = False
        elif c == "\\":
            i += 1
            value_start = False
        elif c == "'" and value_start:
            quoted, value_start = True, False
        elif c in "\r\n" or (c == "," and not value_start and _STANDBY_SPLIT.match(raw, i)):
            out.append(raw[start:i])
            start = i + 1
            value_start = in_value = False
        elif c == "=" and not in_value:
            value_start = in_value = True
        elif c in _LIBPQ_WS:
            in_value = in_value and value_start  # blanks end a value, not the wait for one
        else:
            value_start = False
        i += 1
    if quoted:
        return None
    out.append(raw[start:])
    return out


# ---------------------------------------------------------------------------------------------
# Reading server bags
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bag:
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


def _read_bags(
    remote_app: str, remote_app_bag: Databag, remote_unit_bags: Mapping[str, Databag]
) -> List[_Bag]:
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


def _parse_bag(name: str, is_app: bool, data: Databag) -> _Bag:
    problems: List[Reason] = []
    master: Optional[ConnectionString] = None
    raw_master = data.get("master", "").strip()
    if raw_master:
        try:
            master = parse_connstr(raw_master)
        except ConnectionStringError as e:
            problems.append(Reason(MALFORMED, f"unusable master connection string: {e}", name))
        else:
            if len(_split_standbys(raw_master)) > 1:
                # "dbname=x,host=y,password=z" parses (as one dbname) but is several strings
                # joined with commas: connecting would fail, and the password would sit in dbname
                master = None
                problems.append(
                    Reason(MALFORMED, "master holds several comma-joined connection strings", name)
                )
    standbys, errors = _parse_standbys(data.get("standbys", ""))
    for error in errors:
        problems.append(
            Reason(
                MALFORMED, f"skipped an unusable standby connection string: {error}", name, False
            )
        )
    return _Bag(name, is_app, data, master, standbys, tuple(problems))


@lru_cache(maxsize=1024)
def _canonical_standbys(raw: str) -> str:
    # pitfall 5: bags agree when their standbys parse the same, however each server formats them
    return "\n".join(str(cs) for cs in _parse_standbys(raw)[0])


@lru_cache(maxsize=1024)
def _parse_standbys(raw: str) -> Tuple[Tuple[ConnectionString, ...], Tuple[str, ...]]:
    """The distinct standby connection strings of a ``standbys`` value, and parse errors."""
    found: Dict[ConnectionString, None] = {}
    errors: List[str] = []
    for item in split_standbys(raw):
        try:
            found.setdefault(parse_connstr(item), None)
        except ConnectionStringError as e:
            errors.append(str(e))
    return tuple(found), tuple(errors)


_V1_KEYS = ("master", "standbys", "allowed-subnets", "allowed-units")
_V0_KEYS = ("host", "user", "password")


def _speaks_v1(data: Databag) -> bool:
    return any(data.get(k, "").strip() for k in _V1_KEYS)


def _legacy_bag(bag: _Bag) -> _Bag:
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
        return _Bag(bag.name, False, data, None, (), (*bag.problems, problem), legacy=True)
    return _Bag(bag.name, False, data, master, (), bag.problems, legacy=True)


# ---------------------------------------------------------------------------------------------
# Readiness (client side)
# ---------------------------------------------------------------------------------------------

BagPredicate = Callable[[str, Databag], bool]


def evaluate(
    request: Optional[Request],
    local_unit: str,
    local_unit_bag: Databag,
    remote_app: str,
    remote_app_bag: Databag,
    remote_unit_bags: Mapping[str, Databag],
    *,
    accept: Optional[BagPredicate] = None,
) -> Readiness:
    """Decide what a client unit may use on one relation.

    Every server bag is judged on its own (pitfall 1): it must publish ``master`` or
    ``standbys``, grant this unit access (its ``egress-subnets`` within ``allowed-subnets``, or
    its name in ``allowed-units`` when the server publishes no subnets) and echo the request
    (database, roles, extension names). Ready unit bags are preferred over a ready application
    bag (pitfall 2: stale application bags); among them the master comes from a bag whose
    ``state`` is ``master``/``standalone``, then the value most bags agree on, then the lowest
    unit number (pitfall 3).

    Each rule of ``docs/protocol.md`` (section 6) is one step below: :func:`_judge_bag` (rule 1:
    access, :func:`_access_reasons`, and echo, :func:`_echo_reasons`), :func:`_choose` (rules 2
    to 4), :func:`_blocking_reasons` (rule 5), :func:`_echoed_database` and :func:`_pick_version`
    (rule 6), and :func:`_notes` for the non-blocking findings (rule 7 among them).

    Args:
        request: what the client application asked for, or None when this unit cannot know
            (a non-leader without a peer relation or leadership data): the echo is then trusted.
        local_unit: this unit's name, e.g. ``myapp/0``.
        local_unit_bag: this unit's own databag (for Juju's ``egress-subnets``).
        remote_app: the server application's name.
        remote_app_bag: the server application's databag (``{}`` when unreadable).
        remote_unit_bags: the server units' databags, by unit name.
        accept: overrides the per-bag decision (used by 1.x-compatible ``_is_ready`` patching).

    Returns:
        The verdict; never raises on malformed remote data.
    """
    egress = _split_subnets(local_unit_bag.get("egress-subnets"))
    bags = _read_bags(remote_app, remote_app_bag, remote_unit_bags)
    verdicts = [_judge_bag(bag, request, local_unit, egress, remote_app, accept) for bag in bags]
    choice = _choose([bag for bag, verdict in zip(bags, verdicts) if verdict.ready])
    chosen = choice.chosen
    blocking = _blocking_reasons(verdicts, choice, no_bags=not bags)
    notes = _notes(request, bags, choice)
    return Readiness(
        ready=choice.master is not None,
        master=choice.master,
        standbys=choice.standbys,
        version=_pick_version(chosen, bags),
        database=_echoed_database(chosen),
        source=chosen.name if chosen is not None else None,
        reasons=tuple(dedupe_reasons(blocking) + dedupe_reasons(notes)),
        bags=tuple(verdicts),
    )


# Rule 1: every server bag is judged on its own.


def _judge_bag(
    bag: _Bag,
    request: Optional[Request],
    local_unit: str,
    egress: FrozenSet[str],
    remote_app: str,
    accept: Optional[BagPredicate],
) -> BagVerdict:
    """The verdict on one bag: skipped when it publishes nothing, else ready or why not."""
    publishes = bag.master is not None or bool(bag.standbys)
    has_master_key = bool(bag.data.get("master", "").strip())
    if not publishes and not has_master_key:
        return BagVerdict(bag.name, bag.is_app, False, False, False)
    if accept is not None:
        reasons = (
            []
            if accept(bag.name, bag.data)
            else [Reason(REJECTED, "not ready by the charm's own readiness check", bag.name)]
        )
        reasons = [p for p in bag.problems if p.blocking] + reasons
    else:
        reasons = _bag_reasons(request, local_unit, egress, remote_app, bag)
    ok = not reasons and publishes
    return BagVerdict(
        bag.name, bag.is_app, bag.master is not None, bool(bag.standbys), ok, tuple(reasons)
    )


def _bag_reasons(
    request: Optional[Request], local_unit: str, egress: FrozenSet[str], remote_app: str, bag: _Bag
) -> List[Reason]:
    reasons = [p for p in bag.problems if p.blocking]
    if not bag.legacy:  # v0 servers published only after granting access, and say nothing of it
        reasons.extend(_access_reasons(bag, local_unit, egress, remote_app))
    if request is not None:
        reasons.extend(_echo_reasons(request, bag))
    return reasons


def _access_reasons(
    bag: _Bag, local_unit: str, egress: FrozenSet[str], remote_app: str
) -> List[Reason]:
    """Access: why this bag does not grant this unit, and the name-prefix bug behind it, if so."""
    refusal = _access_refusal(bag, local_unit, egress)
    if refusal is None:
        return []
    return [refusal, *_name_prefix_bug(bag, local_unit, remote_app)]


def _access_refusal(bag: _Bag, local_unit: str, egress: FrozenSet[str]) -> Optional[Reason]:
    data = bag.data
    raw_subnets = data.get("allowed-subnets")
    if raw_subnets is not None and raw_subnets.strip():
        allowed = _split_subnets(raw_subnets)
        missing = sorted(egress - allowed)
        if not missing:
            return None
        return Reason(
            EGRESS_NOT_ALLOWED,
            f"egress {','.join(missing)} not in allowed-subnets {','.join(sorted(allowed))}",
            bag.name,
            advice="wait for the server to grant access; if it persists, check the server",
        )
    # pitfall 8: no allowed-subnets (reactive pgbouncer, v0): fall back to allowed-units
    raw_units = data.get("allowed-units")
    if raw_units is None or not raw_units.strip():
        if not egress:
            return None  # pre-egress Juju and a server without access lists: 1.x accepted
        # pitfall 9: a prefix-named sole client leaves both lists empty, i.e. absent
        return Reason(EGRESS_NOT_ALLOWED, "access not granted yet (no allowed-subnets)", bag.name)
    if local_unit in split_units(raw_units):
        return None
    return Reason(UNIT_NOT_ALLOWED, f"{local_unit} not in allowed-units", bag.name)


def _name_prefix_bug(bag: _Bag, local_unit: str, remote_app: str) -> List[Reason]:
    local_app = local_unit.rpartition("/")[0]
    if not (remote_app and local_app != remote_app and local_app.startswith(remote_app)):
        return []
    return [
        Reason(
            NAME_PREFIX_BUG,
            f"client application {local_app!r} starts with the server's name {remote_app!r}: "
            "Canonical PostgreSQL and pgbouncer charms leave such clients out of "
            "allowed-subnets",
            bag.name,
            advice=f"redeploy the client under a name that does not start with {remote_app!r}",
        )
    ]


def _echo_reasons(request: Request, bag: _Bag) -> List[Reason]:
    """Echo: what of the request this bag does not echo back yet."""
    echoes = (
        _database_echo(request, bag),
        _roles_echo(request, bag),
        _extensions_echo(request, bag),
    )
    return [r for r in echoes if r is not None]


def _database_echo(request: Request, bag: _Bag) -> Optional[Reason]:
    if not request.database:  # pitfall 12: when the default is requested, any database will do
        return None
    got_db = bag.data.get("database")
    if got_db is None or not got_db.strip():
        return Reason(DATABASE_PENDING, "database request not echoed yet", bag.name)
    if got_db.strip() != request.database:
        return Reason(
            DATABASE_MISMATCH,
            f"server provides database {got_db.strip()!r}, requested {request.database!r}",
            bag.name,
            advice="a server that fixed the database before the request arrived "
            "(pgbouncer) needs the relation removed and added again",
        )
    return None


def _roles_echo(request: Request, bag: _Bag) -> Optional[Reason]:
    if not request.roles:
        return None
    got_roles = bag.data.get("roles", "").strip()
    if not got_roles:  # pitfall 20: "" is absent
        return Reason(
            ROLES_IGNORED,
            f"roles {','.join(request.roles)} requested but this server does not echo "
            "roles (Canonical PostgreSQL refuses them, pgbouncer ignores them)",
            bag.name,
            advice="stop requesting roles, or use a server that supports them",
        )
    if set(split_list(got_roles)) != set(request.roles):
        return Reason(ROLES_PENDING, "roles request not echoed yet", bag.name)
    return None


def _extensions_echo(request: Request, bag: _Bag) -> Optional[Reason]:
    if not request.extensions:
        return None
    got_ext = bag.data.get("extensions", "").strip()
    if not got_ext:  # pitfalls 16, 20: absent (or "") means this server does not echo them
        return None
    missing = sorted(request.extension_names - extension_names_of(got_ext))
    if not missing:
        return None
    return Reason(EXTENSIONS_PENDING, f"extensions {','.join(missing)} not echoed yet", bag.name)


# Rules 2 to 4: which ready bags the master and the standbys come from.


class _Choice(NamedTuple):
    masters: List[_Bag]  # the candidate bags publishing a master, best first
    source: Optional[_Bag]  # the first of them
    standby_bag: Optional[_Bag]  # the bag the standbys come from
    set_aside: List[_Bag]  # ready app bags passed over for ready unit bags

    @property
    def chosen(self) -> Optional[_Bag]:
        """The bag used: the master's, else the standbys'."""
        return self.source or self.standby_bag

    @property
    def master(self) -> Optional[ConnectionString]:
        return self.source.master if self.source is not None else None

    @property
    def standbys(self) -> Tuple[ConnectionString, ...]:
        return self.standby_bag.standbys if self.standby_bag is not None else ()


def _choose(ready: Sequence[_Bag]) -> _Choice:
    # rule 2: ready unit bags are preferred; the app bag is used only when no unit bag is ready
    units = [b for b in ready if not b.is_app]
    apps = [b for b in ready if b.is_app]
    candidates, set_aside = (units, apps) if units else (apps, [])
    # rule 3: rank the bags publishing a master
    masters = _rank([b for b in candidates if b.master is not None], lambda b: str(b.master))
    source = masters[0] if masters else None
    # rule 4: the standbys of the master's bag, else of the best ranked bag with standbys
    if source is not None and source.standbys:
        return _Choice(masters, source, source, set_aside)
    ranked = _rank(
        [b for b in candidates if b.standbys],
        lambda b: _canonical_standbys(b.data.get("standbys", "")),
    )
    return _Choice(masters, source, ranked[0] if ranked else None, set_aside)


def _rank(bags: Sequence[_Bag], pick: Callable[[_Bag], Optional[str]]) -> List[_Bag]:
    """Order candidate bags: primary ``state`` first, then majority value, then unit number."""
    votes = Counter(v for v in (pick(b) for b in bags) if v is not None)
    return sorted(
        bags,
        key=lambda b: (
            b.state not in PRIMARY_STATES,
            -votes[pick(b) or ""],
            unit_sort_key(b.name),
        ),
    )


# Rule 5: why not ready.


def _blocking_reasons(
    verdicts: Sequence[BagVerdict], choice: _Choice, *, no_bags: bool
) -> List[Reason]:
    if choice.master is not None:
        return []  # reasons about other bags do not keep a ready relation from being ready
    blocking = [r for v in verdicts for r in v.reasons]
    if blocking:
        return blocking
    if no_bags:
        return [Reason(NO_REMOTE, "no server units on the relation yet")]
    if choice.standbys:
        return [Reason(WAITING, "no master published (failover in progress?)")]
    return [Reason(WAITING, "waiting for the server to publish connection details")]


# Notes: findings that do not keep the relation from being ready.


def _notes(request: Optional[Request], bags: Sequence[_Bag], choice: _Choice) -> List[Reason]:
    notes = [p for b in bags for p in b.problems if not p.blocking]
    if request is None:  # rule 7
        notes.append(
            Reason(
                REQUEST_UNKNOWN,
                "what the leader requested is not known to this unit; trusting the server's echo",
                blocking=False,
            )
        )
    notes.extend(_extensions_not_echoed(request, choice.chosen))
    notes.extend(_masters_disagree(choice))
    notes.extend(_stale_app_bags(choice))
    return notes


def _extensions_not_echoed(request: Optional[Request], used: Optional[_Bag]) -> List[Reason]:
    # only the bag actually used matters: an ignored (e.g. stale app) bag says nothing
    if request is None or not request.extensions or used is None:
        return []
    if used.data.get("extensions", "").strip():
        return []
    return [
        Reason(
            EXTENSIONS_NOT_ECHOED,
            "this server does not echo extensions; assuming they were installed",
            used.name,
            blocking=False,
        )
    ]


def _masters_disagree(choice: _Choice) -> List[Reason]:
    source = choice.source
    disagree = {str(b.master) for b in choice.masters}
    if source is None or len(disagree) <= 1:
        return []
    return [
        Reason(
            MASTERS_DISAGREE,
            f"{len(disagree)} different masters published; using {source.name}'s",
            blocking=False,
        )
    ]


def _stale_app_bags(choice: _Choice) -> List[Reason]:
    # rule 2: a ready app bag set aside for the unit bags, yet naming another master
    master = choice.master
    if master is None:
        return []
    return [
        Reason(
            STALE_APP_BAG,
            "application bag holds an older master than the unit bags; ignored",
            b.name,
            blocking=False,
        )
        for b in choice.set_aside
        if b.master is not None and b.master != master
    ]


# Rule 6: what the bag used says of its database and the server's version.


def _echoed_database(chosen: Optional[_Bag]) -> Optional[str]:
    if chosen is None:
        return None
    return chosen.data.get("database", "").strip() or None


def _pick_version(chosen: Optional[_Bag], parsed: Sequence[_Bag]) -> Optional[str]:
    # pitfall 19: formats vary (12, 14.15); report what the server says
    if chosen is not None and chosen.data.get("version", "").strip():
        return chosen.data["version"].strip()
    for bag in sorted(parsed, key=lambda b: not b.is_app):
        v = bag.data.get("version", "").strip()
        if v:
            return v
    return None


# ---------------------------------------------------------------------------------------------
# Server side
# ---------------------------------------------------------------------------------------------


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
