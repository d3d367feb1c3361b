"""The report: text for people (:func:`render`) or JSON-ready data (:func:`to_json`).

Databag values are shown masked (``_mask``); the caller still runs :func:`~pgsql.doctor.redact`
over the result.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, cast

from ..connstr import mask_value
from ..protocol import Reason
from ._diagnose import EXIT_READY, Diagnosis
from ._judge import CANNOT_TELL, NOT_READY, READY
from ._mask import request_text, shown, shown_json, target


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
                }
            )
        rels.append(
            {
                "relation": r.name,
                "relation-id": r.rid,
                "endpoints": r.sides,
                "client": r.client,
                "server": r.server,
                "cross-model": r.cross_model,
                "seen-from": r.seen_from,
                "application-data-shows": r.orientation,
                "request": r.request.databag() if r.request is not None else None,
                "request-source": r.request_source,
                "server-bags": r.server_bags,
                "units": units,
                "notes": [_reason_dict(x) for x in r.notes],
            }
        )
    verdicts = [u.verdict for r in d.relations for u in r.units]
    overall = (
        READY
        if d.exit_code == EXIT_READY
        else (NOT_READY if NOT_READY in verdicts else CANNOT_TELL)
    )
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


def render(d: Diagnosis) -> str:
    """The human-readable report."""
    lines: List[str] = []
    w = lines.append
    w(f"pgsql doctor: show-unit output of {', '.join(d.units)}")
    for note in d.notes:
        w(f"  note: {mask_value(note)}")
    for r in d.relations:
        w("")
        sides = " <-> ".join(
            f"{a}:{e}" + (" (client)" if a == r.client else " (server)" if a == r.server else "")
            for a, e in r.sides.items()
        )
        w(f"Relation {r.name}: {sides}" + ("  [cross-model]" if r.cross_model else ""))
        w(f"  seen from: {', '.join(r.seen_from)}")
        if r.client is not None:
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
            if rd is not None and rd.ready:
                database, version = shown(rd.database) or "?", shown(rd.version) or "?"
                w(f"    database {database}, PostgreSQL {version}")
            if v.egress_source is not None:
                w(f"    egress-subnets {shown(v.egress) or '(none)'} (from {v.egress_source})")
            for x in v.reasons:
                if x.blocking:
                    mark = "-"
                elif x.code.startswith("likely-"):
                    mark = "?"
                else:
                    mark = "note:"
                w(f"    {mark} [{x.code}] {mask_value(str(x))}")
                if x.advice:
                    w(f"        fix: {mask_value(x.advice)}")
            for cmd in v.run:
                w(f"    run: {cmd}")
            if rd is not None and not rd.ready:
                for b in rd.bags:
                    if b.reasons and not any(x.bag == b.bag for x in v.reasons if x.blocking):
                        codes = ", ".join(x.code for x in b.reasons)
                        w(f"    ({b.bag}: {codes})")
    w("")
    verdicts = [(u.unit, u.verdict) for r in d.relations for u in r.units]
    summary = ", ".join(f"{u} {v}" for u, v in verdicts) or "no client unit examined"
    w(f"Verdict: {summary} (exit status {d.exit_code})")
    return "\n".join(lines) + "\n"
