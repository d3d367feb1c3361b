"""The report: text for people (:func:`render`) or JSON-ready data (:func:`to_json`).

Databag values are shown masked (``_mask``); the caller still runs :func:`~pgsql.doctor.redact`
over the result. A ``postgresql_client`` relation shows what was requested, the secrets asked
for and referenced, what the provider published and the relation's findings before the units.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, cast

from ..connstr import mask_value
from ..protocol import Reason
from ._diagnose import CLIENT_INTERFACE, EXIT_READY, Diagnosis, RelationReport
from ._judge import CANNOT_TELL, NOT_READY, READY, READY_AS_SHOWN
from ._mask import request_text, shown, shown_json, target
from ._postgresql_client import PLAINTEXT_PASSWORD, ProviderView, WireRequest


def _reason_dict(r: Reason) -> Dict[str, Any]:
    return {
        "code": r.code,
        "message": mask_value(r.message),
        "bag": r.bag,
        "blocking": r.blocking,
        "advice": shown(r.advice),
    }


def to_json(d: Diagnosis) -> Dict[str, Any]:
    """The diagnosis as JSON-ready data (no passwords)."""
    rels: List[Dict[str, Any]] = []
    for r in d.relations:
        units: List[Dict[str, Any]] = []
        for v in r.units:
            rd = v.readiness
            units.append(
                {
                    "unit": v.unit,
                    "verdict": v.verdict,
                    "master": target(rd.master) if rd is not None and rd.master else None,
                    "standbys": [target(s) for s in rd.standbys] if rd is not None else [],
                    "source": rd.source if rd is not None else None,
                    "database": shown(rd.database) if rd is not None else None,
                    "version": shown(rd.version) if rd is not None else None,
                    "egress-subnets": shown(v.egress),
                    "egress-source": v.egress_source,
                    "reasons": [_reason_dict(x) for x in v.reasons],
                    "bags": [
                        {
                            "bag": b.bag,
                            "application": b.is_app,
                            "publishes-master": b.publishes_master,
                            "publishes-standbys": b.publishes_standbys,
                            "ready": b.ready,
                            "reasons": [x.code for x in b.reasons],
                        }
                        for b in (rd.bags if rd is not None else ())
                    ],
                    "run": v.run,
                    "verdict-with-own-client": v.own_client,
                }
            )
        client = r.interface == CLIENT_INTERFACE
        if client:
            request: Optional[Dict[str, Any]] = r.wire.to_dict() if r.wire is not None else None
        else:
            request = r.request.databag() if r.request is not None else None
        rels.append(
            {
                "relation": r.name,
                "interface": r.interface,
                "relation-id": r.rid,
                "endpoints": r.sides,
                "client": r.client,
                "server": r.server,
                "cross-model": r.cross_model,
                "seen-from": r.seen_from,
                "application-data-shows": r.orientation,
                "request": request,
                "request-source": r.request_source,
                "server-bags": r.server_bags,
                "provider": r.provider.to_dict() if r.provider is not None else None,
                "findings": [_reason_dict(x) for x in r.findings],
                "one-client-serves": r.one_client_serves,
                "units": units,
                "notes": [_reason_dict(x) for x in r.notes],
            }
        )
    verdicts = [u.verdict for r in d.relations for u in r.units]
    if d.exit_code == EXIT_READY:
        overall = READY_AS_SHOWN if READY_AS_SHOWN in verdicts else READY
    else:
        overall = NOT_READY if NOT_READY in verdicts else CANNOT_TELL
    report: Dict[str, Any] = {
        "verdict": overall,
        "exit-status": d.exit_code,
        "units-shown": d.units,
        "notes": d.notes,
        "relations": rels,
    }
    return cast(Dict[str, Any], shown_json(report))


def _bag_line(b: Mapping[str, Any]) -> str:
    name = f"{b['bag']} (application)" if b["application"] else str(b["bag"])
    if not b["visible"]:
        return f"{name:<28} not visible in this input"
    parts: List[str] = []
    if b["master"]:
        parts.append(f"master {b['master']}")
    standbys = cast(List[str], b["standbys"])
    if standbys:
        parts.append(f"standbys {', '.join(standbys)}")
    if not parts:
        keys = cast(List[str], b["publishes"])
        parts.append(
            "no master or standbys"
            + (f" (has {', '.join(keys)})" if keys else " (nothing published yet)")
        )
    if b["state"]:
        parts.append(f"state={b['state']}")
    return f"{name:<28} " + "; ".join(parts)


def _mark(x: Reason) -> str:
    if x.blocking:
        return "-"
    if x.code == PLAINTEXT_PASSWORD:
        return "!"
    if x.code.startswith("likely-"):
        return "?"
    return "note:"


def _wire_line(wire: Optional[WireRequest]) -> str:
    if wire is None:
        return "requested: not visible in this input"
    req = wire.request
    parts = [f"database={mask_value(req.database)}" if req.database else "no database"]
    if req.roles:
        parts.append("extra-user-roles=" + mask_value(",".join(req.roles)))
    if wire.external:
        parts.append("external-node-connectivity=true")
    if req.extensions:
        parts.append(
            "extensions=" + mask_value(",".join(req.extensions)) + " (not part of this interface)"
        )
    return f"requested: {' '.join(parts)} (from {wire.source})"


def _secrets_line(wire: Optional[WireRequest], p: Optional[ProviderView], server: str) -> str:
    if wire is None:
        asked = "what was requested is not visible"
    elif wire.requested_secrets_malformed:
        asked = "requested-secrets unreadable (not a JSON list)"
    elif wire.requested_secrets is None:
        asked = "none requested (no requested-secrets)"
    else:
        asked = "requested for " + (mask_value(", ".join(wire.requested_secrets)) or "no field")
    if p is None or not p.visible:
        referenced = f"{server}'s application databag not visible"
    elif p.secrets:
        referenced = f"{server} references " + ", ".join(f"secret-{g}" for g, _ in p.secrets)
    elif p.answered:
        referenced = f"{server} references none"
    else:
        referenced = f"{server} has not answered"
    return f"secrets: {asked}; {referenced}"


def _provider_lines(p: Optional[ProviderView], server: str) -> List[str]:
    if p is None:
        return []
    out: List[str] = []
    if not p.visible:
        out.append(f"provider: {server}'s application databag is not in this input")
    elif not p.answered:
        out.append(f"provider: {server} has not answered (no endpoints)")
    else:
        parts = ["endpoints " + mask_value(", ".join(p.endpoints))]
        if p.read_only_endpoints:
            parts.append("read-only-endpoints " + mask_value(", ".join(p.read_only_endpoints)))
        parts.append(f"database {shown(p.database) or '(none)'}")
        if p.version:
            parts.append(f"PostgreSQL {shown(p.version)}")
        out.append("provider: " + "; ".join(parts))
    if p.subordinated or any(state for _, state in p.unit_states):
        states = ", ".join(f"{u} state={mask_value(st) or '(none)'}" for u, st in p.unit_states)
        sub = "subordinate PgBouncer (subordinated: true)" if p.subordinated else "provider units"
        out.append(f"{sub}: {states or 'no unit databag in this input'}")
    if p.in_clear:
        out.append("in clear in the provider's bag: " + ", ".join(p.in_clear))
    if p.snapshot is not None:
        snap = " ".join(f"{k}={mask_value(v)}" for k, v in p.snapshot) or "(empty)"
        out.append(f"request as the provider last saw it (its data key): {snap}")
    return out


def _client_lines(r: RelationReport, w: Callable[[str], None]) -> None:
    w(f"  {_wire_line(r.wire)}")
    w(f"  {_secrets_line(r.wire, r.provider, r.server or '?')}")
    for line in _provider_lines(r.provider, r.server or "?"):
        w(f"  {line}")
    for x in r.findings:
        w(f"  {_mark(x)} [{x.code}] {mask_value(str(x))}")
        if x.advice:
            w(f"      fix: {mask_value(x.advice)}")


def render(d: Diagnosis) -> str:
    """The human-readable report."""
    lines: List[str] = []
    w = lines.append
    w(f"pgsql doctor: show-unit output of {', '.join(d.units)}")
    for note in d.notes:
        w(f"  note: {mask_value(note)}")
    for r in d.relations:
        w("")
        client = r.interface == CLIENT_INTERFACE
        roles = ("requirer", "provider") if client else ("client", "server")
        sides = " <-> ".join(
            f"{a}:{e}"
            + (f" ({roles[0]})" if a == r.client else f" ({roles[1]})" if a == r.server else "")
            for a, e in r.sides.items()
        )
        tags = (f"  [{r.interface}]" if client else "") + (
            "  [cross-model]" if r.cross_model else ""
        )
        w(f"Relation {r.name}: {sides}{tags}")
        w(f"  seen from: {', '.join(r.seen_from)}")
        if client and r.client is not None:
            _client_lines(r, w)
        elif r.client is not None:
            w(
                f"  request: {request_text(r.request)}"
                + (f" (from {r.request_source})" if r.request is not None else "")
            )
        if r.server_bags:
            w("  server databags:")
            for b in r.server_bags:
                w(f"    {_bag_line(b)}")
        for note in r.notes:
            w(f"  note: {mask_value(str(note))}")
        for v in r.units:
            w(f"  {v.unit}: {v.verdict.upper()}")
            rd = v.readiness
            if rd is not None and rd.master is not None:
                w(f"    master   {target(rd.master)} (password hidden), from {rd.source}")
            if rd is not None and rd.standbys:
                w(f"    standbys {', '.join(target(s) for s in rd.standbys)}")
            if rd is not None and (rd.ready or v.verdict == READY_AS_SHOWN):
                database, version = shown(rd.database) or "?", shown(rd.version) or "?"
                w(f"    database {database}, PostgreSQL {version}")
            if v.egress_source is not None:
                w(f"    egress-subnets {shown(v.egress) or '(none)'} (from {v.egress_source})")
            for x in v.reasons:
                w(f"    {_mark(x)} [{x.code}] {mask_value(str(x))}")
                if x.advice:
                    w(f"        fix: {mask_value(x.advice)}")
            for cmd in v.run:
                w(f"    run: {cmd}")
            if rd is not None and not rd.ready:
                for b in rd.bags:
                    if client and b.is_app:
                        continue  # the provider's application bag: its reasons are the unit's
                    if b.reasons and not any(x.bag == b.bag for x in v.reasons if x.blocking):
                        codes = ", ".join(x.code for x in b.reasons)
                        w(f"    ({b.bag}: {codes})")
    w("")
    verdicts = [(u.unit, u.verdict, r.name) for r in d.relations for u in r.units]
    names = [u for u, _, _ in verdicts]
    summary = ", ".join(
        f"{u} {v}" + (f" ({name})" if names.count(u) > 1 else "") for u, v, name in verdicts
    )
    summary = summary or "no client unit examined"
    w(f"Verdict: {summary} (exit status {d.exit_code})")
    return "\n".join(lines) + "\n"
