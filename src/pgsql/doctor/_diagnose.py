"""The whole diagnosis: :func:`diagnose` explains every PostgreSQL relation of the input.

A relation is ``postgresql_client`` when the input names that interface or its bags have that
interface's keys (``_bags.client_evidence``); else, once it holds some data or ``--endpoint``
names it, a PostgreSQL or PgBouncer charm's endpoint on it names its interface (``database``:
``postgresql_client``; ``db``: ``pgsql``); else it is ``pgsql`` when its bags have ``pgsql``'s
keys or ``--endpoint`` names it. ``--interface`` with ``--endpoint`` decides for the relations
on that endpoint. Each is judged by its interface's module (``_judge``, ``_postgresql_client``),
over the same grouping and readings of ``application-data``.

Whose data ``application-data`` holds comes from ``--juju-version`` or from its content; when
neither tells, each relation is judged under both readings, and a unit whose verdict depends on
the reading cannot be told (:data:`ORIENTATION_AMBIGUOUS`). The :class:`Diagnosis` holds a
:class:`RelationReport` per relation, the notes, the secrets to redact and the exit status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from ..protocol import Reason, Request, split_standbys, unit_sort_key
from ._bags import (
    PGSQL,
    POSTGRESQL_CLIENT,
    SECRET_KEYS,
    Bag,
    Kinds,
    charm_name,
    client_evidence,
    other_database,
    pgsql_evidence,
    published_keys,
)
from ._client_verdict import judge_client
from ._group import (
    OWN,
    REMOTE,
    Assembled,
    Relation,
    assemble,
    find_roles,
    group,
    implied_orientation,
)
from ._judge import (
    CANNOT_TELL,
    ORIENTATION_AMBIGUOUS,
    READY,
    READY_VERDICTS,
    ROLES_UNKNOWN,
    Context,
    UnitVerdict,
    client_request,
    judge,
)
from ._mask import find_secrets, parse_target, shown
from ._migration import Related, one_client
from ._postgresql_client import (
    ProviderView,
    WireRequest,
    provider_view,
    relation_findings,
    wire_request,
)
from ._read import InputError, Item, Unit, app_of

#: The interfaces the doctor understands (:attr:`RelationReport.interface`).
PGSQL_INTERFACE = "pgsql"
CLIENT_INTERFACE = "postgresql_client"
_KINDS = {PGSQL_INTERFACE: PGSQL, CLIENT_INTERFACE: POSTGRESQL_CLIENT}
#: The interfaces ``--interface`` accepts.
INTERFACES = tuple(_KINDS)

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

EXIT_READY = 0
EXIT_NOT_READY = 1
EXIT_BAD_INPUT = 2

_FAMILY = {OWN: "Juju 2.8/4.x", REMOTE: "Juju 2.9/3.x", None: "content only"}
_ORIENTATION_TEXT = {
    OWN: "the shown unit's own application (Juju 2.8, early 2.9, 4.x)",
    REMOTE: "the related application (Juju 2.9 from Aug 2021, 3.x)",
}

_VERSION = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?")


@dataclass
class RelationReport:
    """Everything the doctor found about one relation.

    ``interface`` is :data:`PGSQL_INTERFACE` or :data:`CLIENT_INTERFACE`. ``request`` is what
    was requested (for ``postgresql_client``: database and ``extra-user-roles`` as roles, with
    the whole request as written in ``wire``); ``server_bags`` summarise ``pgsql`` server bags,
    ``provider`` what a ``postgresql_client`` provider published; ``findings`` are about the
    relation itself, whichever unit is examined.
    """

    rid: Optional[int]
    sides: Dict[str, str]
    server: Optional[str]
    client: Optional[str]
    cross_model: bool
    seen_from: List[str]
    orientation: Optional[str]
    request: Optional[Request]
    request_source: str
    server_bags: List[Dict[str, Any]]
    units: List[UnitVerdict]
    notes: List[Reason]
    interface: str = PGSQL_INTERFACE
    wire: Optional[WireRequest] = None
    provider: Optional[ProviderView] = None
    findings: List[Reason] = field(default_factory=lambda: [])
    #: The relation a client serving every endpoint serves (``_migration``) when the client
    #: application is related on several endpoints; else None.
    one_client_serves: Optional[str] = None

    @property
    def name(self) -> str:
        """A short label such as ``db:5`` or ``db``."""
        ep = self.sides.get(self.client or "", "") or next(iter(self.sides.values()), "?")
        return f"{ep}:{self.rid}" if self.rid is not None else ep


@dataclass
class Diagnosis:
    """The result of :func:`diagnose`."""

    units: List[str]
    relations: List[RelationReport]
    notes: List[str]
    secrets: FrozenSet[str] = field(repr=False)  # the passwords to redact: never in a repr

    @property
    def exit_code(self) -> int:
        """0 when every examined client unit is ready (as far as show-unit shows), else 1."""
        verdicts = [u.verdict for r in self.relations for u in r.units]
        ok = verdicts and all(v in READY_VERDICTS for v in verdicts)
        return EXIT_READY if ok else EXIT_NOT_READY


def _orientations(version: Optional[str], units: Sequence[Unit]) -> Tuple[Set[str], str]:
    if version is None:
        return {OWN, REMOTE}, ""
    m = _VERSION.match(version)
    if m is None:
        raise InputError(f"--juju-version {version!r} is not a version such as 3.6 or 2.9.42")
    major, minor = int(m.group(1)), int(m.group(2) or 0)
    if major >= 4 or (major == 2 and minor <= 8) or major < 2:
        return {OWN}, f"Juju {version}"
    if major == 3:
        return {REMOTE}, f"Juju {version}"
    # 2.9: remote since Aug 2021; relation-id (Apr 2022) proves a late 2.9
    has_rid = any(i.rid is not None for u in units for i in u.items)
    return ({REMOTE} if has_rid else {OWN, REMOTE}), f"Juju {version}"


def diagnose(
    units: Sequence[Unit],
    *,
    juju_version: Optional[str] = None,
    client_unit: Optional[str] = None,
    endpoint: Optional[str] = None,
    interface: Optional[str] = None,
) -> Diagnosis:
    """Explain every ``pgsql`` and ``postgresql_client`` relation in the ``show-unit`` documents.

    Args:
        units: the units read from the input.
        juju_version: the controller's Juju version, when known.
        client_unit: judge this client unit only.
        endpoint: examine the relations on this endpoint even with no data published yet.
        interface: read the relations on ``endpoint`` as this interface (``pgsql`` or
            ``postgresql_client``) whatever their keys say; the input naming an interface still
            decides.

    Raises:
        InputError: no such relation found, ``client_unit`` is not a client unit, or
            ``interface`` is not one the doctor knows or comes without ``endpoint``.
    """
    _check_interface_option(interface, endpoint)
    secrets = find_secrets(units)
    relations, peers = group(units)
    hint_client = app_of(client_unit) if client_unit else None
    charms: Dict[str, str] = {}
    for u in units:
        if u.charm:
            charms.setdefault(app_of(u.name), u.charm)
    interfaces = {id(r): _interface(r, charms, endpoint, interface) for r in relations}
    pgsql = [r for r in relations if interfaces[id(r)]]
    if not pgsql:
        raise InputError(_nothing_found(units, relations, peers, endpoint))
    candidates, version_text = _orientations(juju_version, units)
    roles = {id(r): find_roles(r, hint_client, _KINDS[interfaces[id(r)]], charms) for r in pgsql}
    implied: Set[str] = set()
    for r in pgsql:
        server, client = roles[id(r)]
        if server is not None and client is not None:
            implied |= implied_orientation(r, server, client, _KINDS[interfaces[id(r)]])
    candidates, notes = _decide_reading(candidates, implied, version_text, juju_version)
    hint = f" --juju-version {juju_version}" if juju_version else ""
    reports = [
        _relation_report(
            r,
            interfaces[id(r)],
            roles[id(r)],
            sorted(candidates),
            peers,
            client_unit,
            endpoint,
            hint,
        )
        for r in pgsql
    ]
    _one_client(reports)
    if client_unit is not None and not any(u.unit == client_unit for r in reports for u in r.units):
        seen = "; ".join(" <-> ".join(f"{a}:{e}" for a, e in r.sides.items()) for r in reports)
        raise InputError(
            f"{client_unit} is not a client unit of any pgsql or postgresql_client relation in "
            f"the input (relations: {seen})"
        )
    return Diagnosis([u.name for u in units], reports, notes, secrets)


def _check_interface_option(interface: Optional[str], endpoint: Optional[str]) -> None:
    if interface is None:
        return
    if interface not in _KINDS:
        raise InputError(f"--interface {interface!r} is not one of {', '.join(INTERFACES)}")
    if endpoint is None:
        raise InputError(
            "--interface needs --endpoint: it says how to read the relations on that endpoint"
        )


def _decide_reading(
    candidates: Set[str], implied: Set[str], version_text: str, juju_version: Optional[str]
) -> Tuple[Set[str], List[str]]:
    """The readings of ``application-data`` to try (by version, then content), with notes."""
    notes: List[str] = []
    if len(implied) == 1:
        if not implied <= candidates:
            notes.append(
                f"application-data content shows {_ORIENTATION_TEXT[next(iter(implied))]}, "
                f"contrary to --juju-version {juju_version}; following the content"
            )
        candidates = set(implied)
    elif len(implied) > 1:
        notes.append(
            "application-data content is inconsistent between documents (several Juju "
            "versions?); deciding per document by content"
        )
        candidates = {""}  # per-item content only
    if candidates == {OWN, REMOTE}:
        notes.append(
            "the Juju version is not known and application-data does not reveal which "
            "application it shows; both readings were tried (pass --juju-version to decide)"
        )
    elif version_text and candidates <= {OWN, REMOTE}:
        notes.append(
            f"{version_text}: application-data shows {_ORIENTATION_TEXT[next(iter(candidates))]}"
        )
    elif candidates <= {OWN, REMOTE}:
        notes.append(
            f"application-data shows {_ORIENTATION_TEXT[next(iter(candidates))]} (from its content)"
        )
    return candidates, notes


def _one_client(reports: Sequence[RelationReport]) -> None:
    """Which relation a client serving every endpoint it is related on serves (``_migration``)."""
    known = [r for r in reports if r.client is not None and r.client in r.sides]
    related = [
        Related(r.name, r.rid, r.client or "", r.sides[r.client or ""], r.server, r.units)
        for r in known
    ]
    served = one_client(related)
    for r in known:
        r.one_client_serves = served.get(r.name)


def _interface(
    rel: Relation, charms: Dict[str, str], endpoint: Optional[str], forced: Optional[str]
) -> str:
    """The interface the doctor judges ``rel`` by, "" for a relation it does not understand."""
    named = rel.interface
    if named:
        return named if named in _KINDS else ""
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


def _nothing_found(
    units: Sequence[Unit],
    relations: Sequence[Relation],
    peers: Sequence[Item],
    endpoint: Optional[str] = None,
) -> str:
    if not units:
        return "no `juju show-unit` documents in the input"
    seen: List[str] = []
    for rel in relations:
        apps = " <-> ".join(f"{a}:{e}" for a, e in rel.sides.items())
        seen.append(f"{apps} (no pgsql keys)")
    for item in peers:
        seen.append(f"{item.app}:{item.endpoint} (peer)")
    found = "; ".join(dict.fromkeys(seen)) or "no relations"
    shown = ", ".join(u.name for u in units)
    if endpoint is not None:  # given: never advise it again, say what it missed
        if any(endpoint in r.sides.values() for r in relations):
            return (
                f"--endpoint {endpoint} names no pgsql or postgresql_client relation in the "
                f"show-unit output of {shown} (found: {found})"
            )
        return (
            f"--endpoint {endpoint} names no relation in the show-unit output of {shown} "
            f"(found: {found}); name the client's endpoint of one of them"
        )
    return (
        f"no pgsql relation found in the show-unit output of {shown} "
        f"(found: {found}), nor a postgresql_client one; to examine a relation that has no "
        "data yet, name it with --endpoint (read as pgsql unless the endpoint is a PostgreSQL "
        "or PgBouncer charm's; --interface postgresql_client reads it as that)"
    )


def _roles_by_app_data(rel: Relation, orientation: Optional[str], kinds: Kinds) -> Optional[str]:
    """The client application, from whose application-data holds a request (one reading).

    For ``postgresql_client``, whose provider answers in its application bag, also from whose
    holds an answer.
    """
    for item in rel.items:
        if orientation is None:
            continue
        owner = item.app if orientation == OWN else item.remote_app or rel.other(item.app)
        if owner is None:
            continue
        if kinds.client_app(item.app_data):
            return owner
        if kinds is POSTGRESQL_CLIENT and kinds.server_app(item.app_data):
            return rel.other(owner)
    return None


def _relation_report(
    rel: Relation,
    interface: str,
    roles: Tuple[Optional[str], Optional[str]],
    orientations: Sequence[str],
    peers: Sequence[Item],
    client_unit: Optional[str],
    endpoint: Optional[str],
    juju_hint: str,
) -> RelationReport:
    readings = [
        _read_as(rel, interface, roles, o or None, peers, client_unit, endpoint, juju_hint)
        for o in orientations
    ]
    chosen = _one_reading(rel, _KINDS[interface], readings, juju_hint)
    server, client, asm = chosen.server, chosen.client, chosen.asm
    notes = list(asm.notes) if asm is not None else []
    request: Optional[Request] = None
    request_source = "not visible"
    bags: List[Dict[str, Any]] = []
    wire: Optional[WireRequest] = None
    provider: Optional[ProviderView] = None
    findings: List[Reason] = []
    if asm is not None and server is not None and client is not None:
        ctx = Context(rel, asm, server, client, peers)
        if interface == CLIENT_INTERFACE:
            wire, provider = wire_request(ctx), provider_view(ctx)
            findings = relation_findings(ctx, wire, provider)
            if wire is not None:
                request, request_source = wire.request, wire.source
        else:
            request, request_source = client_request(ctx)
            bags = _server_bag_summary(ctx)
    seen_from = sorted({f"{i.unit} ({i.source})" for i in rel.items})
    return RelationReport(
        rel.rid,
        rel.sides,
        server,
        client,
        rel.cross_model,
        seen_from,
        chosen.orientation,
        request,
        request_source,
        bags,
        chosen.verdicts,
        notes,
        interface,
        wire,
        provider,
        findings,
    )


def _read_as(
    rel: Relation,
    interface: str,
    roles: Tuple[Optional[str], Optional[str]],
    orientation: Optional[str],
    peers: Sequence[Item],
    client_unit: Optional[str],
    endpoint: Optional[str],
    juju_hint: str,
) -> _Reading:
    """The verdicts under one reading of ``application-data`` (``orientation``)."""
    kinds = _KINDS[interface]
    server, client = roles
    if server is None or client is None:
        client = _roles_by_app_data(rel, orientation, kinds)
        if client is None and endpoint is not None:
            named = {i.app for i in rel.items if i.endpoint == endpoint}
            client = next(iter(named)) if len(named) == 1 else None
        server = rel.other(client) if client is not None else None
    if server is None or client is None:
        unknown = _roles_unknown(rel, interface, client_unit, juju_hint)
        return _Reading(orientation, None, None, None, unknown)
    asm = assemble(rel, server, client, orientation, kinds)
    ctx = Context(rel, asm, server, client, peers)
    judge_unit = judge_client if interface == CLIENT_INTERFACE else judge
    verdicts = [judge_unit(ctx, u, juju_hint) for u in _examined(ctx, client_unit)]
    return _Reading(orientation, server, client, asm, verdicts)


def _one_reading(
    rel: Relation, kinds: Kinds, readings: Sequence[_Reading], juju_hint: str
) -> _Reading:
    """The readings as one: the only one, or what is sure when they disagree."""
    first = readings[0]
    if len(readings) == 1:
        return first
    server, client, asm, verdicts = first.server, first.client, first.asm, first.verdicts
    keys = [[v.key() for v in r.verdicts] for r in readings]
    same_roles = all((r.server, r.client) == (server, client) for r in readings)
    if not (same_roles and all(k == keys[0] for k in keys)):
        verdicts = _ambiguous(readings, juju_hint)
        if server is not None and client is not None:
            asm = assemble(rel, server, client, None, kinds)
    if not same_roles:
        return _Reading(None, None, None, None, verdicts)
    return _Reading(None, server, client, asm, verdicts)


@dataclass
class _Reading:
    """The verdicts under one reading of ``application-data`` (one Juju version family)."""

    orientation: Optional[str]
    server: Optional[str]
    client: Optional[str]
    asm: Optional[Assembled]
    verdicts: List[UnitVerdict]


def _roles_unknown(
    rel: Relation, interface: str, client_unit: Optional[str], juju_hint: str
) -> List[UnitVerdict]:
    # advise only what was not given (--unit naming another relation's unit says nothing here)
    options = [] if client_unit and app_of(client_unit) in rel.sides else ["--unit <client unit>"]
    if not juju_hint:
        options.append("--juju-version")
    advice = "give the show-unit output of both sides"
    if options:
        advice = f"pass {' or '.join(options)}, and {advice}"
    reason = Reason(
        ROLES_UNKNOWN,
        f"neither side has published {interface} data that tells the client from the server "
        f"({' and '.join(sorted(rel.sides))})",
        blocking=True,
        advice=advice,
    )
    units = sorted({i.unit for i in rel.items}, key=unit_sort_key)
    return [UnitVerdict(u, CANNOT_TELL, None, [reason], None, None, []) for u in units]


def _ambiguous(readings: Sequence[_Reading], juju_hint: str) -> List[UnitVerdict]:
    by_unit: Dict[str, List[Tuple[Optional[str], UnitVerdict]]] = {}
    for r in readings:
        for v in r.verdicts:
            by_unit.setdefault(v.unit, []).append((r.orientation, v))
    out: List[UnitVerdict] = []
    for unit in sorted(by_unit, key=unit_sort_key):
        options = by_unit[unit]
        if len(options) == len(readings) and all(
            v.key() == options[0][1].key() for _, v in options
        ):
            out.append(options[0][1])
            continue
        parts = [
            f"read as {_FAMILY[o]}: {v.verdict}"
            + (f" ({v.readiness.why})" if v.readiness is not None and not v.readiness.ready else "")
            for o, v in options
        ]
        parts += [
            f"read as {_FAMILY[r.orientation]}: not a client unit"
            for r in readings
            if all(v.unit != unit for v in r.verdicts)
        ]
        first = options[0][1]
        reasons = [
            Reason(
                ORIENTATION_AMBIGUOUS,
                "the verdict depends on the Juju version, which this input does not reveal: "
                + "; ".join(parts),
                blocking=False,
                advice="pass --juju-version (see `juju version` or `juju show-controller`)",
            )
        ]
        run = ["pgsql doctor --juju-version <the controller's version> <the same input>"]
        common: Set[Tuple[str, str]] = {(r.code, r.message) for r in first.reasons}
        for _, v in options[1:]:
            common &= {(r.code, r.message) for r in v.reasons}
        seen = {(r.code, r.message) for r in reasons}
        for o, v in options:
            if v.verdict == READY:
                continue
            for r in v.reasons:
                if (r.code, r.message) in seen:
                    continue
                seen.add((r.code, r.message))
                if (r.code, r.message) not in common:
                    msg = f"if {_FAMILY[o]}: {r.message}"
                    reasons.append(Reason(r.code, msg, r.bag, r.blocking, r.advice))
                else:
                    reasons.append(r)
            run += [c for c in v.run if c not in run]
        out.append(
            UnitVerdict(unit, CANNOT_TELL, None, reasons, first.egress, first.egress_source, run)
        )
    return out


def _examined(ctx: Context, client_unit: Optional[str]) -> List[str]:
    known = {u for u in ctx.asm.unit_bags if app_of(u) == ctx.client}
    known |= {i.unit for i in ctx.rel.items if i.app == ctx.client}
    if client_unit is not None:
        return [client_unit] if client_unit in known or app_of(client_unit) == ctx.client else []
    shown = {i.unit for i in ctx.rel.items if i.app == ctx.client}
    return sorted(shown or known, key=unit_sort_key)


def _server_bag_summary(ctx: Context) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    names = sorted((u for u in ctx.asm.unit_bags if app_of(u) == ctx.server), key=unit_sort_key)
    entries: List[Tuple[str, bool, Optional[Bag]]] = [
        (n, False, ctx.asm.unit_bags[n]) for n in names
    ]
    entries.append((ctx.server, True, ctx.asm.app_bags.get(ctx.server)))
    for name, is_app, bag in entries:
        if bag is None:
            out.append({"bag": name, "application": is_app, "visible": False})
            continue
        standbys = [parse_target(s) or "" for s in split_standbys(bag.get("standbys"))]
        out.append(
            {
                "bag": name,
                "application": is_app,
                "visible": True,
                "master": parse_target(bag.get("master")),
                "standbys": standbys,
                "state": shown(bag.get("state") or None),
                "database": shown(bag.get("database") or None),
                "version": shown(bag.get("version") or None),
                "allowed-subnets": shown(bag.get("allowed-subnets") or None),
                "allowed-units": shown(bag.get("allowed-units") or None),
                "publishes": sorted(published_keys(bag) - set(SECRET_KEYS)),
            }
        )
    return out
