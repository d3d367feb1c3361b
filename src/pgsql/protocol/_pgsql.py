"""The ``pgsql`` interface: its readiness rules (client side), over its formats and server side.

Client side, :func:`evaluate` judges every server databag on its own and picks what a client unit
may use. The interface's value formats (``standbys``: :func:`split_standbys`, ``allowed-units``:
:func:`split_units`, ``allowed-subnets``) are in ``_pgsql_values``, the server bags as read in
``_pgsql_bags``, and the server side (:func:`read_request`, :func:`access_grant`,
:func:`server_databag`) in ``_pgsql_server``; all are exported from here. The contract is written
down in ``docs/protocol.md``.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, FrozenSet, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from ..connstr import ConnectionString, mask_value
from . import _pgsql_values
from ._common import Databag, shown_in_reason, split_list, unit_sort_key
from ._pgsql_bags import ServerBag, read_bags
from ._pgsql_server import access_grant, read_request, server_databag
from ._pgsql_values import PRIMARY_STATES, split_standbys, split_units
from ._pgsql_values import canonical_standbys as _canonical_standbys
from ._pgsql_values import split_subnets as _split_subnets
from ._readiness import (
    DATABASE_MISMATCH,
    DATABASE_PENDING,
    EGRESS_NOT_ALLOWED,
    EXTENSIONS_NOT_ECHOED,
    EXTENSIONS_PENDING,
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
from ._request import Request, extension_names_of

__all__ = [
    "PRIMARY_STATES",
    "BagPredicate",
    "access_grant",
    "evaluate",
    "read_request",
    "server_databag",
    "split_standbys",
    "split_units",
]

# Former private names protocol/__init__.py still names (benchmarks clear their caches).
_split_standbys = _pgsql_values.standby_parts
_parse_standbys = _pgsql_values.parse_standbys

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
    bags = read_bags(remote_app, remote_app_bag, remote_unit_bags)
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
    bag: ServerBag,
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
    request: Optional[Request],
    local_unit: str,
    egress: FrozenSet[str],
    remote_app: str,
    bag: ServerBag,
) -> List[Reason]:
    reasons = [p for p in bag.problems if p.blocking]
    if not bag.legacy:  # v0 servers published only after granting access, and say nothing of it
        reasons.extend(_access_reasons(bag, local_unit, egress, remote_app))
    if request is not None:
        reasons.extend(_echo_reasons(request, bag))
    return reasons


def _access_reasons(
    bag: ServerBag, local_unit: str, egress: FrozenSet[str], remote_app: str
) -> List[Reason]:
    """Access: why this bag does not grant this unit, and the name-prefix bug behind it, if so."""
    refusal = _access_refusal(bag, local_unit, egress)
    if refusal is None:
        return []
    return [refusal, *_name_prefix_bug(bag, local_unit, remote_app)]


def _access_refusal(bag: ServerBag, local_unit: str, egress: FrozenSet[str]) -> Optional[Reason]:
    data = bag.data
    raw_subnets = data.get("allowed-subnets")
    if raw_subnets is not None and raw_subnets.strip():
        allowed = _split_subnets(raw_subnets)
        missing = sorted(egress - allowed)
        if not missing:
            return None
        return Reason(
            EGRESS_NOT_ALLOWED,
            # mask_value: a mangled bag must not put a password in the unit's status
            f"egress {','.join(missing)} not in allowed-subnets "
            f"{mask_value(','.join(sorted(allowed)))}",
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


def _name_prefix_bug(bag: ServerBag, local_unit: str, remote_app: str) -> List[Reason]:
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


def _echo_reasons(request: Request, bag: ServerBag) -> List[Reason]:
    """Echo: what of the request this bag does not echo back yet."""
    echoes = (
        _database_echo(request, bag),
        _roles_echo(request, bag),
        _extensions_echo(request, bag),
    )
    return [r for r in echoes if r is not None]


def _database_echo(request: Request, bag: ServerBag) -> Optional[Reason]:
    if not request.database:  # pitfall 12: when the default is requested, any database will do
        return None
    got_db = bag.data.get("database")
    if got_db is None or not got_db.strip():
        return Reason(DATABASE_PENDING, "database request not echoed yet", bag.name)
    if got_db.strip() != request.database:
        return Reason(
            DATABASE_MISMATCH,
            f"server provides database {shown_in_reason(got_db.strip())}, "
            f"requested {request.database!r}",
            bag.name,
            advice="a server that fixed the database before the request arrived "
            "(pgbouncer) needs the relation removed and added again",
        )
    return None


def _roles_echo(request: Request, bag: ServerBag) -> Optional[Reason]:
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


def _extensions_echo(request: Request, bag: ServerBag) -> Optional[Reason]:
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
    masters: List[ServerBag]  # the candidate bags publishing a master, best first
    source: Optional[ServerBag]  # the first of them
    standby_bag: Optional[ServerBag]  # the bag the standbys come from
    set_aside: List[ServerBag]  # ready app bags passed over for ready unit bags

    @property
    def chosen(self) -> Optional[ServerBag]:
        """The bag used: the master's, else the standbys'."""
        return self.source or self.standby_bag

    @property
    def master(self) -> Optional[ConnectionString]:
        return self.source.master if self.source is not None else None

    @property
    def standbys(self) -> Tuple[ConnectionString, ...]:
        return self.standby_bag.standbys if self.standby_bag is not None else ()


def _choose(ready: Sequence[ServerBag]) -> _Choice:
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


def _rank(bags: Sequence[ServerBag], pick: Callable[[ServerBag], Optional[str]]) -> List[ServerBag]:
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


def _notes(request: Optional[Request], bags: Sequence[ServerBag], choice: _Choice) -> List[Reason]:
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


def _extensions_not_echoed(request: Optional[Request], used: Optional[ServerBag]) -> List[Reason]:
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


def _echoed_database(chosen: Optional[ServerBag]) -> Optional[str]:
    if chosen is None:
        return None
    return chosen.data.get("database", "").strip() or None


def _pick_version(chosen: Optional[ServerBag], parsed: Sequence[ServerBag]) -> Optional[str]:
    # pitfall 19: formats vary (12, 14.15); report what the server says
    if chosen is not None and chosen.data.get("version", "").strip():
        return chosen.data["version"].strip()
    for bag in sorted(parsed, key=lambda b: not b.is_app):
        v = bag.data.get("version", "").strip()
        if v:
            return v
    return None
