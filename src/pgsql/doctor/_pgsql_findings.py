"""What the doctor finds on a ``pgsql`` relation beside ``evaluate``'s reasons.

What the client cannot see from its side, each with its own reason code: an extension syntax
the server misreads, what a server publishing nothing is likely blocked on (extensions, roles,
no database), masters that disagree, a stale application databag, unit requests that differ.
:func:`~pgsql.doctor._judge.judge` adds them to a unit's verdict.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional

from ..protocol import Readiness, Reason, Request, parse_extension, split_units, unit_sort_key
from ._bags import Bag, has_request
from ._mask import parse_target, request_text
from ._read import app_of

if TYPE_CHECKING:
    from ._judge import Context

__all__ = [
    "EXTENSION_SYNTAX",
    "LIKELY_BLOCKED_EXTENSIONS",
    "LIKELY_BLOCKED_ROLES",
    "LIKELY_NO_DATABASE",
    "MASTERS_DISAGREE",
    "REQUEST_INCONSISTENT",
    "STALE_APP_BAG",
    "doctor_checks",
    "request_consistency",
]

EXTENSION_SYNTAX = "extension-syntax"
LIKELY_BLOCKED_EXTENSIONS = "likely-blocked-extensions"
LIKELY_BLOCKED_ROLES = "likely-blocked-roles"
LIKELY_NO_DATABASE = "likely-no-database"
STALE_APP_BAG = "stale-app-bag"
MASTERS_DISAGREE = "masters-disagree"
REQUEST_INCONSISTENT = "request-inconsistent"


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


def doctor_checks(
    ctx: Context,
    request: Optional[Request],
    readiness: Readiness,
    server_bags: Mapping[str, Bag],
    server_units_visible: bool,
) -> List[Reason]:
    """The doctor-only findings on one ``pgsql`` relation, beside ``evaluate``'s reasons."""
    out: List[Reason] = []
    if request is not None:
        out.extend(_colon_syntax(ctx, request, readiness))
    if request is not None and server_units_visible and _publishes_nothing(ctx, server_bags):
        out.extend(_likely_blocked(ctx, request))
    out.extend(_master_findings(ctx, readiness, server_bags))
    return out


def _publishes_nothing(ctx: Context, server_bags: Mapping[str, Bag]) -> bool:
    """Whether the server's bags (its application bag shown) publish no master nor standby."""
    app_bag = ctx.asm.app_bags.get(ctx.server)
    if app_bag is None:
        return False  # not shown: it may publish there
    return not any(
        b.get("master", "").strip() or b.get("standbys", "").strip()
        for b in [*server_bags.values(), app_bag]
    )


def _likely_blocked(ctx: Context, request: Request) -> List[Reason]:
    """What Canonical's charms are known to block on, publishing nothing."""
    app_bag = ctx.asm.app_bags.get(ctx.client)
    causes = (
        _blocked_extensions(ctx, request),
        _blocked_roles(ctx, app_bag),
        _no_database(ctx, request, app_bag),
    )
    return [c for c in causes if c is not None]


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


def request_consistency(ctx: Context) -> List[Reason]:
    app_bag = ctx.asm.app_bags.get(ctx.client)
    if not app_bag or not has_request(app_bag):
        return []
    wanted = Request.from_databag(app_bag)
    out: List[Reason] = []
    for name, bag in sorted(ctx.asm.unit_bags.items(), key=lambda kv: unit_sort_key(kv[0])):
        if app_of(name) != ctx.client or not has_request(bag):
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
