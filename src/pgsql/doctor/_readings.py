"""Whose data ``application-data`` holds: the readings tried, and verdicts when they disagree.

``show-unit``'s ``application-data`` shows the shown unit's own application (:data:`OWN`:
Juju 2.8, early 2.9, 4.x) or the related one (:data:`REMOTE`: Juju 2.9 from Aug 2021, 3.x).
:func:`orientations` says which ``--juju-version`` allows, :func:`decide_reading` weighs that
against what the content implies, and when neither tells, each relation is judged under both
readings: :func:`one_reading` keeps what is sure, and a unit whose verdict depends on the
reading cannot be told (:data:`~pgsql.doctor._judge.ORIENTATION_AMBIGUOUS`, :func:`ambiguous`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Set, Tuple

from ..protocol import Reason, unit_sort_key
from ._bags import Kinds
from ._group import OWN, REMOTE, Assembled, Relation, assemble
from ._judge import CANNOT_TELL, ORIENTATION_AMBIGUOUS, READY, UnitVerdict
from ._read import InputError, Unit

__all__ = ["Reading", "ambiguous", "decide_reading", "one_reading", "orientations"]

_FAMILY = {OWN: "Juju 2.8/4.x", REMOTE: "Juju 2.9/3.x", None: "content only"}
_ORIENTATION_TEXT = {
    OWN: "the shown unit's own application (Juju 2.8, early 2.9, 4.x)",
    REMOTE: "the related application (Juju 2.9 from Aug 2021, 3.x)",
}

_VERSION = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?")

#: One unit's verdicts, each with the reading it was given under.
_Options = List[Tuple[Optional[str], UnitVerdict]]


@dataclass
class Reading:
    """The verdicts under one reading of ``application-data`` (one Juju version family)."""

    orientation: Optional[str]
    server: Optional[str]
    client: Optional[str]
    asm: Optional[Assembled]
    verdicts: List[UnitVerdict]


def orientations(version: Optional[str], units: Sequence[Unit]) -> Tuple[Set[str], str]:
    """The readings ``--juju-version`` allows (both when not given), and how to name it.

    Raises:
        InputError: ``version`` is not a version.
    """
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


def decide_reading(
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
    if candidates <= {OWN, REMOTE}:
        notes.append(_reading_note(candidates, version_text))
    return candidates, notes


def _reading_note(candidates: Set[str], version_text: str) -> str:
    """The note saying which reading is followed, and why."""
    if candidates == {OWN, REMOTE}:
        return (
            "the Juju version is not known and application-data does not reveal which "
            "application it shows; both readings were tried (pass --juju-version to decide)"
        )
    shows = _ORIENTATION_TEXT[next(iter(candidates))]
    if version_text:
        return f"{version_text}: application-data shows {shows}"
    return f"application-data shows {shows} (from its content)"


def one_reading(rel: Relation, kinds: Kinds, readings: Sequence[Reading]) -> Reading:
    """The readings as one: the only one, or what is sure when they disagree."""
    first = readings[0]
    if len(readings) == 1:
        return first
    server, client, asm, verdicts = first.server, first.client, first.asm, first.verdicts
    keys = [[v.key() for v in r.verdicts] for r in readings]
    same_roles = all((r.server, r.client) == (server, client) for r in readings)
    if not (same_roles and all(k == keys[0] for k in keys)):
        verdicts = ambiguous(readings)
        if server is not None and client is not None:
            asm = assemble(rel, server, client, None, kinds)
    if not same_roles:
        return Reading(None, None, None, None, verdicts)
    return Reading(None, server, client, asm, verdicts)


def ambiguous(readings: Sequence[Reading]) -> List[UnitVerdict]:
    """Each unit's verdict over ``readings``: the common one, else ``cannot tell`` and why."""
    by_unit: Dict[str, _Options] = {}
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
        else:
            out.append(_cannot_tell(unit, options, readings))
    return out


def _cannot_tell(unit: str, options: _Options, readings: Sequence[Reading]) -> UnitVerdict:
    """``unit``'s verdict when it depends on the reading: each reading's reasons, marked."""
    first = options[0][1]
    reasons = [_depends_on_version(unit, options, readings)]
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
    return UnitVerdict(unit, CANNOT_TELL, None, reasons, first.egress, first.egress_source, run)


def _depends_on_version(unit: str, options: _Options, readings: Sequence[Reading]) -> Reason:
    """The reason saying ``unit``'s verdict under each reading."""
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
    return Reason(
        ORIENTATION_AMBIGUOUS,
        "the verdict depends on the Juju version, which this input does not reveal: "
        + "; ".join(parts),
        blocking=False,
        advice="pass --juju-version (see `juju version` or `juju show-controller`)",
    )
