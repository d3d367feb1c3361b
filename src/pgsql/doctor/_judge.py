"""Judging one client unit on one relation: its :class:`UnitVerdict`.

The verdict is :func:`pgsql.protocol.evaluate`'s, the very code the client library runs in the
charm, over the databags ``_group`` assembled. The doctor adds what the client cannot see from
its side, with its own reason codes: what is missing from the input (then the verdict is
``cannot tell``), a server likely blocked on the request, an extension syntax the server
misreads, masters that disagree, a stale application databag, unit requests that differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from ..protocol import (
    NO_REMOTE,
    REQUEST_KEYS,
    Readiness,
    Reason,
    Request,
    evaluate,
    parse_extension,
    read_request,
    split_units,
    unit_sort_key,
)
from ._bags import Bag
from ._group import Assembled, Relation
from ._mask import parse_target, request_text
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
EXTENSION_SYNTAX = "extension-syntax"
LIKELY_BLOCKED_EXTENSIONS = "likely-blocked-extensions"
LIKELY_BLOCKED_ROLES = "likely-blocked-roles"
LIKELY_NO_DATABASE = "likely-no-database"
STALE_APP_BAG = "stale-app-bag"
MASTERS_DISAGREE = "masters-disagree"
EGRESS_FROM_PEER = "egress-from-peer-relation"
REQUEST_INCONSISTENT = "request-inconsistent"

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
        if not _has_request(app_bag):
            with_request = [u for u, b in unit_bags.items() if _has_request(b)]
            if with_request:
                where = f"{lowest(with_request)}'s databag"
        return read_request(app_bag, unit_bags), where
    with_request = [u for u, b in unit_bags.items() if _has_request(b)]
    if with_request:
        return read_request({}, unit_bags), f"{lowest(with_request)}'s databag"
    return None, "not visible"


def _has_request(bag: Mapping[str, str]) -> bool:
    # as protocol.read_request: a blank request key is an absent one (pitfall 20)
    return any(bag.get(k, "").strip() for k in REQUEST_KEYS)


def _looks_like_colon_misreader(ctx: Context) -> Optional[str]:
    """Name the server charm if its bags say it reads ``name(schema)`` (providers.md §1, §6)."""
    bags = [b for u, b in ctx.asm.unit_bags.items() if app_of(u) == ctx.server]
    app_bag = ctx.asm.app_bags.get(ctx.server)
    if app_bag:
        bags.append(app_bag)
    for bag in bags:
        master = bag.get("master", "")
        if "sslmode=prefer" in master or any(
            app_of(u) == ctx.server for u in split_units(bag.get("allowed-units"))
        ):
            return "the legacy postgresql-k8s charm (latest track)"
        state = bag.get("state", "").strip()
        user = bag.get("user", "").strip()
        if (
            "schema_user" in bag
            and state in {"master", "standalone", "hot standby"}
            and "fallback_application_name" not in master
            and not re.match(r"^relation-\d+$", user)
        ):
            return "the legacy reactive postgresql charm (latest track)"
    return None


def _doctor_checks(
    ctx: Context,
    request: Optional[Request],
    readiness: Readiness,
    server_bags: Mapping[str, Bag],
    server_units_visible: bool,
) -> List[Reason]:
    """The doctor-only findings on one ``pgsql`` relation, beside ``evaluate``'s reasons."""
    out: List[Reason] = []
    server = ctx.server
    published = [
        n
        for n, b in [*server_bags.items(), (server, ctx.asm.app_bags.get(server) or {})]
        if b.get("master", "").strip() or b.get("standbys", "").strip()
    ]
    if request is not None:
        out.extend(_colon_syntax(ctx, request, readiness))
    app_bag_known = ctx.asm.app_bags.get(server) is not None
    if not published and server_units_visible and app_bag_known and request is not None:
        # the server publishes nothing: what Canonical's charms are known to block on
        app_bag = ctx.asm.app_bags.get(ctx.client)
        causes = (
            _blocked_extensions(ctx, request),
            _blocked_roles(ctx, app_bag),
            _no_database(ctx, request, app_bag),
        )
        out.extend(c for c in causes if c is not None)
    out.extend(_master_findings(ctx, readiness, server_bags))
    return out


def _colon_syntax(ctx: Context, request: Request, readiness: Readiness) -> List[Reason]:
    """Extensions requested as ``name:schema`` from a server that reads ``name(schema)``."""
    server = ctx.server
    colon: List[str] = []
    for ext in request.extensions:
        try:
            if parse_extension(ext)[1] is not None and ":" in ext:
                colon.append(ext)
        except ValueError:
            continue
    misreader = _looks_like_colon_misreader(ctx) if colon else None
    if misreader is None:
        return []
    return [
        Reason(
            EXTENSION_SYNTAX,
            f"extensions {','.join(colon)} use the name:schema syntax, but the server "
            f"looks like {misreader}, which reads name(schema) and would try to "
            f"create an extension literally named {colon[0]!r}",
            server,
            blocking=not readiness.ready,
            advice="request the extension without a schema (or as name(schema) for this "
            f"server); check `juju status {server}` and `juju debug-log --include "
            f"{server}` for a failed hook",
        )
    ]


def _blocked_extensions(ctx: Context, request: Request) -> Optional[Reason]:
    if not request.extensions:
        return None
    server = ctx.server
    names = sorted(request.extension_names)
    hyphen = [n for n in names if "-" in n]
    config = " ".join(f"plugin_{n.replace('-', '_')}_enable=true" for n in names)
    advice = (
        f"run `juju status {server}`; if it says 'extensions requested through "
        f"relation', enable them: `juju config {server} {config}`"
    )
    if hyphen:
        advice += (
            f" (Canonical charms never accept {','.join(hyphen)}: the hyphen does not "
            "match their config key; drop it from the request)"
        )
    return Reason(
        LIKELY_BLOCKED_EXTENSIONS,
        f"likely cause: the server publishes nothing and extensions "
        f"{','.join(names)} are requested; Canonical PostgreSQL and pgbouncer charms "
        "block until each is enabled in their configuration",
        server,
        blocking=False,
        advice=advice,
    )


def _blocked_roles(ctx: Context, app_bag: Optional[Bag]) -> Optional[Reason]:
    if app_bag is None or "roles" not in app_bag:
        return None
    return Reason(
        LIKELY_BLOCKED_ROLES,
        f"likely cause: the server publishes nothing and {ctx.client}'s application "
        "databag has a roles key; Canonical PostgreSQL blocks ('roles requested "
        "through relation, use postgresql_client interface instead')",
        ctx.server,
        blocking=False,
        advice=f"run `juju status {ctx.server}` to confirm; stop requesting roles (the "
        "key must be absent, not empty) or use a server that supports them",
    )


def _no_database(ctx: Context, request: Request, app_bag: Optional[Bag]) -> Optional[Reason]:
    if request.database and (app_bag is None or "database" in app_bag):
        return None
    where = (
        "no database is requested"
        if not request.database
        else f"the database is requested only in unit databags, not in {ctx.client}'s "
        "application databag (pgbouncer-k8s reads only the application databag)"
    )
    return Reason(
        LIKELY_NO_DATABASE,
        f"likely cause: the server publishes nothing and {where}; Canonical "
        "postgresql-k8s and pgbouncer-k8s never provision a relation without an "
        "explicit database",
        ctx.server,
        blocking=False,
        advice=f"run `juju status {ctx.server}` and `juju debug-log --include {ctx.server}` "
        "to confirm; make the client charm request a database name",
    )


def _master_findings(
    ctx: Context, readiness: Readiness, server_bags: Mapping[str, Bag]
) -> List[Reason]:
    out: List[Reason] = []
    by_target: Dict[str, List[str]] = {}
    for name in sorted(server_bags, key=unit_sort_key):
        t = parse_target(server_bags[name].get("master"))
        if t is not None:
            by_target.setdefault(t, []).append(name)
    if len(by_target) > 1:
        detail = "; ".join(f"{', '.join(n)}: {t}" for t, n in by_target.items())
        chosen = readiness.source or "none"
        out.append(
            Reason(
                MASTERS_DISAGREE,
                # the targets last: a masked one hides the rest of the message (mask_value)
                f"server units publish {len(by_target)} different masters and the client uses "
                f"{chosen}'s: {detail}",
                blocking=False,
                advice="usually a failover in progress: units update their databags one by one "
                f"(a dead unit keeps stale data); if it persists, check `juju status {ctx.server}`",
            )
        )
    app_bag = ctx.asm.app_bags.get(ctx.server) or {}
    app_target = parse_target(app_bag.get("master"))
    flagged = any(r.code == STALE_APP_BAG for r in readiness.reasons)
    if app_target is not None and by_target and app_target not in by_target and not flagged:
        out.append(
            Reason(
                STALE_APP_BAG,
                "the application databag's master, left over from an older charm revision, "
                f"differs from every unit databag's ({', '.join(by_target)}): {app_target}",
                ctx.server,
                blocking=False,
                advice="the client prefers ready unit databags; removing and re-adding the "
                "relation clears the stale application databag",
            )
        )
    return out


def judge(ctx: Context, unit: str, juju_hint: str) -> UnitVerdict:
    """The doctor's verdict for client ``unit`` on a ``pgsql`` relation: ``evaluate``'s."""
    request, _ = client_request(ctx)
    local_bag, egress_source = _egress(ctx, unit)
    server_bags = visible_server_bags(ctx, unit)
    app_bag = ctx.asm.app_bags.get(ctx.server)
    readiness = evaluate(request, unit, local_bag or {}, ctx.server, app_bag or {}, server_bags)
    reasons: List[Reason] = list(readiness.reasons)
    units_present = server_units_present(ctx)
    server_units_visible = (
        units_present is False
        or any(i.app == ctx.client and i.related for i in ctx.rel.items)
        or any(i.unit in server_units(ctx) and i.local is not None for i in ctx.rel.items)
    )
    if units_present is False and all(r.code != NO_REMOTE for r in reasons):
        reasons.append(no_server_units_note(ctx))
    peer = egress_source is not None and "peer relation" in egress_source
    if local_bag is not None and peer and ctx.rel.cross_model:
        reasons.append(
            Reason(
                EGRESS_FROM_PEER,
                f"{unit}'s egress-subnets were taken from its peer relation; a cross-model "
                "relation may use other egress subnets",
                blocking=False,
            )
        )
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
    if request is None:  # said above, with the command to run
        reasons = [r for r in reasons if r.code != "request-unknown"]
    reasons.extend(_doctor_checks(ctx, request, readiness, server_bags, server_units_visible))
    if request is not None and readiness.ready:
        reasons.extend(_request_consistency(ctx))
    waiting_only = all(r.code in _WAITING for r in readiness.reasons if r.blocking)
    if readiness.ready:
        verdict = CANNOT_TELL if unknown else READY
    else:
        verdict = CANNOT_TELL if unknown and waiting_only else NOT_READY
    run: List[str] = []
    if verdict == CANNOT_TELL:
        if not readiness.ready:  # "waiting" only because the server's data is not in the input
            reasons = [r for r in reasons if r.code not in _WAITING]
        reasons = unknown + reasons
        if units_present is not False:  # else no server unit to show
            run.append(
                f"juju show-unit {unit} {_any_server_unit(ctx)} --format json "
                f"| pgsql doctor{juju_hint}"
            )
    elif unknown:
        reasons.extend(unknown)
    egress = (local_bag or {}).get("egress-subnets") if local_bag is not None else None
    return UnitVerdict(unit, verdict, readiness, reasons, egress, egress_source, run)


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


def _request_consistency(ctx: Context) -> List[Reason]:
    app_bag = ctx.asm.app_bags.get(ctx.client)
    if not app_bag or not _has_request(app_bag):
        return []
    wanted = Request.from_databag(app_bag)
    out: List[Reason] = []
    for name, bag in sorted(ctx.asm.unit_bags.items(), key=lambda kv: unit_sort_key(kv[0])):
        if app_of(name) != ctx.client or not _has_request(bag):
            continue
        if Request.from_databag(bag) != wanted:
            out.append(
                Reason(
                    REQUEST_INCONSISTENT,
                    f"{name}'s databag requests {request_text(Request.from_databag(bag))}, the "
                    f"application databag {request_text(wanted)}; servers reading unit "
                    "databags (reactive postgresql, pgbouncer) see the former",
                    name,
                    blocking=False,
                )
            )
    return out
