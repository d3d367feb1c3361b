"""What the demo prints: each step as it runs, bags and readiness masked, or a JSON document."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Set

from .. import protocol
from .._passwords import PASSWORD_KEYS, redact
from ..connstr import ConnectionString, ConnectionStringError, mask_value
from ._common import MASK


def _mask_conn(value: str) -> str:
    parts: List[str] = []
    for raw in protocol.split_standbys(value) or [value]:
        try:
            cs = ConnectionString(raw)
        except ConnectionStringError:
            return MASK  # cannot tell where a password would be: show nothing
        parts.append(cs.masked(MASK))
    return "\n".join(parts)


def mask_bag(bag: Mapping[str, str]) -> Dict[str, str]:
    """A bag (or a secret's content) with every password masked, for showing it."""
    out: Dict[str, str] = {}
    for key, value in bag.items():
        if key in ("master", "standbys"):
            out[key] = _mask_conn(value)
        elif key in PASSWORD_KEYS:
            out[key] = MASK
        elif key.startswith("db-") and value.startswith("{"):  # the provider's peer entries
            try:
                entry: Dict[str, str] = json.loads(value)
            except ValueError:
                out[key] = MASK
                continue
            out[key] = json.dumps(
                {k: (MASK if k == "password" else v) for k, v in entry.items()}, sort_keys=True
            )
        else:  # uris and read-only-uris included: their userinfo password is cut
            out[key] = mask_value(value, MASK)
    return out


def masked_values(values: Mapping[str, Any]) -> Dict[str, Any]:
    """Action parameters or results, any password in a string value masked."""
    return {k: mask_value(v, MASK) if isinstance(v, str) else v for k, v in values.items()}


def readiness_json(r: protocol.Readiness) -> Dict[str, Any]:
    return {
        "ready": r.ready,
        "why": r.why,
        "source": r.source,
        "master": _mask_conn(str(r.master)) if r.master is not None else None,
        "reasons": [
            {"code": x.code, "message": mask_value(str(x), MASK), "blocking": x.blocking}
            for x in r.reasons
        ],
    }


class Printer:
    """Prints steps as they happen (text mode) and keeps them for the JSON document."""

    def __init__(self, as_json: bool, stream: Any) -> None:
        self.as_json = as_json
        self.stream = stream
        self.steps: List[Dict[str, Any]] = []
        self.secrets: Set[str] = set()

    def scrub(self, text: str) -> str:
        return redact(text, self.secrets, MASK)

    def line(self, text: str = "") -> None:
        if not self.as_json:
            print(self.scrub(text), file=self.stream, flush=True)

    def bag(self, content: Mapping[str, str], indent: int = 4) -> None:
        """A masked bag (or secret content), one sorted key a line."""
        pad = " " * indent
        for key, value in sorted(content.items()):
            self.line(f"{pad}{key} = {value}".replace("\n", "\n" + " " * (indent + 3 + len(key))))

    def step(self, step: Dict[str, Any]) -> None:
        self.steps.append(step)
        if self.as_json:
            return
        remote = f" ({step['remote_unit']})" if step["remote_unit"] else ""
        self.line(f"  [{step['n']:>2}] {step['unit']:<14} {step['hook']}{remote}")
        if step["events"]:
            self.line(f"         events: {', '.join(step['events'])}")
        if step["deferred"]:
            self.line(f"         deferred: {', '.join(step['deferred'])}")
        action = step.get("action")
        if action is not None:
            results = ", ".join(f"{k}={v}" for k, v in sorted(action["results"].items()))
            self.line(f"         results: {results or '(none)'}")
            if action["failure"] is not None:
                self.line(f"         failed: {action['failure']}")
        for bag, changes in step["wrote"].items():
            self.line(f"         wrote {bag}:")
            for key, value in changes.items():
                shown = "(deleted)" if value is None else value.replace("\n", "\n" + " " * 14)
                self.line(f"           {key} = {shown}")
        if "status" in step:
            self.line(f"         status: {step['status']}")
        r = step.get("readiness")
        if r is not None:
            notes = ", ".join(x["code"] for x in r["reasons"] if not x["blocking"])
            if r["ready"]:
                more = f"; notes: {notes}" if notes else ""
                self.line(f"         readiness: READY (master from {r['source']}{more})")
            else:
                codes = ", ".join(x["code"] for x in r["reasons"] if x["blocking"])
                self.line(f"         readiness: not ready: {r['why']} [{codes}]")
