"""The whole diagnosis: :func:`diagnose` explains every PostgreSQL relation of the input.

Which interface a relation speaks is ``_interface``'s. Each relation is judged by its
interface's module (``_judge``, ``_postgresql_client``), over the same grouping and readings of
``application-data``.

Whose data ``application-data`` holds comes from ``--juju-version`` or from its content; when
neither tells, each relation is judged under both readings, and a unit whose verdict depends on
the reading cannot be told (``_judge.ORIENTATION_AMBIGUOUS``): ``_readings``. The
:class:`Diagnosis` holds a :class:`RelationReport` per relation, the notes, the secrets to
redact and the exit status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from ..protocol import Reason, Request, split_standbys, unit_sort_key
from ._bags import POSTGRESQL_CLIENT, SECRET_KEYS, Bag, Kinds, published_keys
from ._client_verdict import judge_client
from ._group import OWN, Relation, assemble, find_roles, group, implied_orientation
from ._interface import (
    CLIENT_INTERFACE,
    INTERFACES,
    KINDS,
    PGSQL_INTERFACE,
    check_interface_option,
    interface_of,
)
from ._judge import (
    CANNOT_TELL,
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
from ._readings import Reading, decide_reading, one_reading, orientations

__all__ = [
    "CLIENT_INTERFACE",
    "EXIT_BAD_INPUT",
    "EXIT_NOT_READY",
    "EXIT_READY",
    "INTERFACES",
    "PGSQL_INTERFACE",
    "Diagnosis",
    "RelationReport",
    "diagnose",
]

EXIT_READY = 0
EXIT_NOT_READY = 1
EXIT_BAD_INPUT = 2


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
    check_interface_option(interface, endpoint)
    secrets = find_secrets(units)
    relations, peers = group(units)
    hint_client = app_of(client_unit) if client_unit else None
    charms: Dict[str, str] = {}
    for u in units:
        if u.charm:
            charms.setdefault(app_of(u.name), u.charm)
    interfaces = {id(r): interface_of(r, charms, endpoint, interface) for r in relations}
    pgsql = [r for r in relations if interfaces[id(r)]]
    if not pgsql:
        raise InputError(_nothing_found(units, relations, peers, endpoint))
    candidates, version_text = orientations(juju_version, units)
    roles = {id(r): find_roles(r, hint_client, KINDS[interfaces[id(r)]], charms) for r in pgsql}
    implied: Set[str] = set()
    for r in pgsql:
        server, client = roles[id(r)]
        if server is not None and client is not None:
            implied |= implied_orientation(r, server, client, KINDS[interfaces[id(r)]])
    candidates, notes = decide_reading(candidates, implied, version_text, juju_version)
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
    chosen = one_reading(rel, KINDS[interface], readings)
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
) -> Reading:
    """The verdicts under one reading of ``application-data`` (``orientation``)."""
    kinds = KINDS[interface]
    server, client = roles
    if server is None or client is None:
        client = _roles_by_app_data(rel, orientation, kinds)
        if client is None and endpoint is not None:
            named = {i.app for i in rel.items if i.endpoint == endpoint}
            client = next(iter(named)) if len(named) == 1 else None
        server = rel.other(client) if client is not None else None
    if server is None or client is None:
        unknown = _roles_unknown(rel, interface, client_unit, juju_hint)
        return Reading(orientation, None, None, None, unknown)
    asm = assemble(rel, server, client, orientation, kinds)
    ctx = Context(rel, asm, server, client, peers)
    judge_unit = judge_client if interface == CLIENT_INTERFACE else judge
    verdicts = [judge_unit(ctx, u, juju_hint) for u in _examined(ctx, client_unit)]
    return Reading(orientation, server, client, asm, verdicts)


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
