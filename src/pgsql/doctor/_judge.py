"""Judging one client unit on one relation: its :class:`UnitVerdict`.

The verdict is :func:`pgsql.protocol.evaluate`'s, the very code the client library runs in the
charm, over the databags ``_group`` assembled. The doctor adds what the client cannot see from
its side, with its own reason codes: what is missing from the input (then the verdict is
``cannot tell``, here), and what ``_pgsql_findings`` finds: a server likely blocked on the
request, an extension syntax the server misreads, masters that disagree, a stale application
databag, unit requests that differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..protocol import (
    NO_REMOTE,
    Readiness,
    Reason,
    Request,
    evaluate,
    read_request,
    unit_sort_key,
)
from ._bags import Bag, has_request
from ._group import Assembled, Relation
from ._pgsql_findings import doctor_checks, request_consistency
from ._read import Item, app_of

READY = "ready"
#: postgresql_client: ready but for the content of the provider's Juju secrets, which
#: ``show-unit`` never shows (judged with stand-ins for it)
READY_AS_SHOWN = "ready as far as show-unit shows"
NOT_READY = "not ready"
CANNOT_TELL = "cannot tell"
#: the verdicts that leave the exit status 0
READY_VERDICTS = frozenset({READY, READY_AS_SHOWN})

# Doctor-only reason codes; protocol's codes are used as they are.
EGRESS_UNKNOWN = "egress-unknown"
REQUEST_NOT_VISIBLE = "request-not-visible"
SERVER_APP_BAG_NOT_VISIBLE = "server-app-bag-not-visible"
SERVER_UNITS_NOT_VISIBLE = "server-units-not-visible"
ORIENTATION_AMBIGUOUS = "juju-version-ambiguous"
ROLES_UNKNOWN = "roles-unknown"
EGRESS_FROM_PEER = "egress-from-peer-relation"

#: protocol codes meaning "the server has not published (to this unit) yet"
_WAITING = frozenset({"waiting-for-server", "no-remote-units"})


@dataclass
class UnitVerdict:
    """The doctor's verdict for one client unit on one relation."""

    unit: str
    verdict: str
    readiness: Optional[Readiness]
    reasons: List[Reason]
    egress: Optional[str]
    egress_source: Optional[str]
    run: List[str]
    #: The verdict a client serving only this endpoint gives (``_migration``), set when a client
    #: serving several endpoints does not serve this relation.
    own_client: Optional[str] = None

    def key(self) -> Tuple[str, Tuple[str, ...]]:
        """What must agree between two readings of the input for the verdict to stand."""
        return self.verdict, tuple(sorted({r.code for r in self.reasons}))


def lowest(names: Iterable[str]) -> Optional[str]:
    ordered = sorted(names, key=unit_sort_key)
    return ordered[0] if ordered else None


@dataclass
class Context:
    rel: Relation
    asm: Assembled
    server: str
    client: str
    peers: Sequence[Item]


def server_units(ctx: Context) -> Set[str]:
    names = {u for u in ctx.asm.unit_bags if app_of(u) == ctx.server}
    names |= {i.unit for i in ctx.rel.items if i.app == ctx.server}
    return names


def server_units_present(ctx: Context) -> Optional[bool]:
    """Whether the server has units on the relation: None when the input cannot tell.

    The client's ``show-unit`` lists every server unit (Juju 2.8 to 3.x; not the 4.0.5 shape):
    when it lists none, the server has none (scaled to zero), whatever its bag still says.
    """
    if server_units(ctx):
        return True
    if any(i.app == ctx.client and not i.bug_4_0_5 for i in ctx.rel.items):
        return False
    return None


def request_unseen_where(ctx: Context, units_present: Optional[bool]) -> Tuple[str, Optional[str]]:
    """Where the client's request would show, and the command that shows it (None: none can)."""
    where = f"{ctx.server}'s show-unit on this Juju version"
    if units_present is False:  # scaled to zero: no server unit to run show-unit on
        return f"{where}, and {ctx.server} has no unit", None
    any_server_unit = lowest(server_units(ctx)) or f"{ctx.server}/0"
    return where, f"run `juju show-unit {any_server_unit}` too"


def no_server_units_note(ctx: Context) -> Reason:
    """pgsql: the server has no units, its application bag still read (as the charm does)."""
    return Reason(
        NO_REMOTE,
        "no server unit on the relation (scaled to zero?); the client library still reads the "
        "server's application databag, which outlives its units (so it may say ready), but "
        "nothing serves what it publishes until the server has units again",
        ctx.server,
        blocking=False,
        advice=f"`juju status --relations` shows {ctx.client}'s {ctx.rel.sides[ctx.client]} "
        "relation and its server: add units to the server again, or relate another one",
    )


def visible_server_bags(ctx: Context, unit: str) -> Dict[str, Bag]:
    own = [i for i in ctx.rel.items if i.unit == unit and i.related]
    bags = ctx.asm.unit_bags
    if own:
        scope = {u: s.in_scope for i in own for u, s in i.related.items()}
        return {u: bags[u] for u in scope if scope[u] and u in bags and app_of(u) == ctx.server}
    out: Dict[str, Bag] = {}
    for name, data in bags.items():
        if app_of(name) != ctx.server:
            continue
        views = [i for i in ctx.rel.items if i.unit == name and unit in i.related]
        if views and not any(i.related[unit].in_scope for i in views):
            continue  # container-scoped (pgbouncer): that server unit does not serve this unit
        out[name] = data
    return out


def _egress(ctx: Context, unit: str) -> Tuple[Optional[Bag], Optional[str]]:
    bag = ctx.asm.unit_bags.get(unit)
    if bag is not None and bag:
        viewers = sorted({i.unit for i in ctx.rel.items if unit in i.related}, key=unit_sort_key)
        where = f"{viewers[0]}'s show-unit" if viewers else f"{unit}'s own show-unit"
        return bag, where
    for peer in ctx.peers:
        if peer.unit == unit and peer.local is not None and peer.local.data.get("egress-subnets"):
            return (
                {"egress-subnets": peer.local.data["egress-subnets"]},
                f"{unit}'s peer relation {peer.endpoint}",
            )
    return None, None


def client_request(ctx: Context) -> Tuple[Optional[Request], str]:
    app_bag = ctx.asm.app_bags.get(ctx.client)
    unit_bags = {u: b for u, b in ctx.asm.unit_bags.items() if app_of(u) == ctx.client}
    if app_bag is not None:
        where = f"{ctx.client}'s application databag"
        if not has_request(app_bag):
            with_request = [u for u, b in unit_bags.items() if has_request(b)]
            if with_request:
                where = f"{lowest(with_request)}'s databag"
        return read_request(app_bag, unit_bags), where
    with_request = [u for u, b in unit_bags.items() if has_request(b)]
    if with_request:
        return read_request({}, unit_bags), f"{lowest(with_request)}'s databag"
    return None, "not visible"


def judge(ctx: Context, unit: str, juju_hint: str) -> UnitVerdict:
    """The doctor's verdict for client ``unit`` on a ``pgsql`` relation: ``evaluate``'s."""
    request, _ = client_request(ctx)
    local_bag, egress_source = _egress(ctx, unit)
    server_bags = visible_server_bags(ctx, unit)
    app_bag = ctx.asm.app_bags.get(ctx.server)
    readiness = evaluate(request, unit, local_bag or {}, ctx.server, app_bag or {}, server_bags)
    units_present = server_units_present(ctx)
    server_units_visible = _server_units_visible(ctx, units_present)
    reasons = [*readiness.reasons, *_topology_notes(ctx, unit, readiness, units_present)]
    if local_bag is not None and egress_source is not None and "peer relation" in egress_source:
        reasons.extend(_egress_from_peer(ctx, unit))
    unknown = _unseen(
        ctx,
        unit,
        juju_hint,
        units_present,
        no_egress=local_bag is None,
        no_request=request is None,
        no_app_bag=app_bag is None and not readiness.ready,
        no_server_units=not server_units_visible and not readiness.ready,
    )
    if request is None:  # said in ``unknown``, with the command to run
        reasons = [r for r in reasons if r.code != "request-unknown"]
    reasons.extend(doctor_checks(ctx, request, readiness, server_bags, server_units_visible))
    if request is not None and readiness.ready:
        reasons.extend(request_consistency(ctx))
    verdict = _verdict(readiness, bool(unknown))
    run: List[str] = []
    if verdict == CANNOT_TELL:
        reasons = unknown + _not_waiting(readiness, reasons)
        if units_present is not False:  # else no server unit to show
            run.append(
                f"juju show-unit {unit} {_any_server_unit(ctx)} --format json "
                f"| pgsql doctor{juju_hint}"
            )
    else:
        reasons.extend(unknown)
    egress = (local_bag or {}).get("egress-subnets") if local_bag is not None else None
    return UnitVerdict(unit, verdict, readiness, reasons, egress, egress_source, run)


def _server_units_visible(ctx: Context, units_present: Optional[bool]) -> bool:
    """Whether the input shows the server's unit databags (or that it has no unit)."""
    return (
        units_present is False
        or any(i.app == ctx.client and i.related for i in ctx.rel.items)
        or any(i.unit in server_units(ctx) and i.local is not None for i in ctx.rel.items)
    )


def _topology_notes(
    ctx: Context, unit: str, readiness: Readiness, units_present: Optional[bool]
) -> List[Reason]:
    """The server scaled to zero, when ``evaluate`` could not say it."""
    if units_present is False and all(r.code != NO_REMOTE for r in readiness.reasons):
        return [no_server_units_note(ctx)]
    return []


def _egress_from_peer(ctx: Context, unit: str) -> List[Reason]:
    """A cross-model relation may use other egress subnets than the peer relation's."""
    if not ctx.rel.cross_model:
        return []
    return [
        Reason(
            EGRESS_FROM_PEER,
            f"{unit}'s egress-subnets were taken from its peer relation; a cross-model "
            "relation may use other egress subnets",
            blocking=False,
        )
    ]


def _verdict(readiness: Readiness, unknown: bool) -> str:
    """``evaluate``'s verdict, weighed by what the input does not show (``unknown``)."""
    waiting_only = all(r.code in _WAITING for r in readiness.reasons if r.blocking)
    if readiness.ready:
        return CANNOT_TELL if unknown else READY
    return CANNOT_TELL if unknown and waiting_only else NOT_READY


def _not_waiting(readiness: Readiness, reasons: List[Reason]) -> List[Reason]:
    """``reasons`` without "waiting": only so because the server's data is not in the input."""
    if readiness.ready:
        return reasons
    return [r for r in reasons if r.code not in _WAITING]


def _any_server_unit(ctx: Context) -> str:
    return lowest(server_units(ctx)) or f"{ctx.server}/0"


def _unseen(
    ctx: Context,
    unit: str,
    juju_hint: str,
    units_present: Optional[bool],
    *,
    no_egress: bool,
    no_request: bool,
    no_app_bag: bool,
    no_server_units: bool,
) -> List[Reason]:
    """What ``unit``'s verdict needs that the input does not show (the ``no_`` flags)."""
    out: List[Reason] = []
    if no_egress:
        out.append(
            Reason(
                EGRESS_UNKNOWN,
                f"{unit}'s egress-subnets are not in this input (Juju shows a unit's own "
                "databag only in the other side's show-unit), so access cannot be checked",
                blocking=False,
                advice=f"run `juju show-unit {_any_server_unit(ctx)}` too",
            )
        )
    if no_request:
        where, advice = request_unseen_where(ctx, units_present)
        out.append(
            Reason(
                REQUEST_NOT_VISIBLE,
                f"what {ctx.client} requested is not in this input (its databags show only in "
                f"{where}), so the echo cannot be checked",
                blocking=False,
                advice=advice,
            )
        )
    if no_app_bag:
        out.append(
            Reason(
                SERVER_APP_BAG_NOT_VISIBLE,
                f"{ctx.server}'s application databag is not in this input; some servers "
                "publish only there",
                blocking=False,
                advice=f"run `juju show-unit {unit} {_any_server_unit(ctx)}`"
                + ("" if juju_hint else " and pass --juju-version"),
            )
        )
    if no_server_units:
        out.append(
            Reason(
                SERVER_UNITS_NOT_VISIBLE,
                f"{ctx.server}'s unit databags are not in this input (Juju shows them only in "
                f"{ctx.client}'s show-unit)",
                blocking=False,
                advice=f"run `juju show-unit {unit}` too",
            )
        )
    return out
