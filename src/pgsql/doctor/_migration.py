"""One client on two endpoints: which relation a migrating charm serves.

A charm moving from ``pgsql`` to ``postgresql_client`` serves both endpoints with one client,
``PostgreSQLClient(self, ("db", "database"))`` (docs/migration.md). While both are related, that
client serves the older relation (the lower relation id) and reports every relation of the other
endpoint not ready with ``endpoint-conflict`` (``PostgreSQLClient._served``), so the application
never flips between two databases. ``show-unit`` does not say whether the charm has one client
or one per endpoint: the doctor judges the documented one-client charm, and says what a charm
with a client per endpoint gets instead. Without ``relation-id`` (Juju before 2.9's April 2022
releases) the older relation cannot be told: each gets a note, the verdicts stay.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

from ..protocol import Reason
from ._judge import NOT_READY, UnitVerdict

#: the client library's code (``pgsql.client.ENDPOINT_CONFLICT``; the doctor does not import
#: the charm-side package)
ENDPOINT_CONFLICT = "endpoint-conflict"
#: doctor-only: this relation is the one a client serving both endpoints serves
ENDPOINT_SERVED = "endpoint-served"


@dataclass
class Related:
    """What this module needs of one relation report (kept apart from ``_diagnose``)."""

    name: str
    rid: Optional[int]
    client: str
    endpoint: str
    server: Optional[str]
    units: List[UnitVerdict]


def one_client(relations: Sequence[Related]) -> Dict[str, str]:
    """Apply the one-client rule; returns, by relation name, the relation such a client serves.

    The units of every relation not served get the blocking ``endpoint-conflict`` first, as
    the library puts it, and the verdict ``not ready``; those of the served one a note.
    """
    by_client: Dict[str, List[Related]] = {}
    for r in relations:
        by_client.setdefault(r.client, []).append(r)
    served: Dict[str, str] = {}
    for group in by_client.values():
        if len({r.endpoint for r in group}) < 2:
            continue
        for r in group:
            others = [o for o in group if o.endpoint != r.endpoint]
            if r.rid is None or any(o.rid is None for o in others):
                _note_unknown_order(r, others)
                continue
            older = [o for o in others if o.rid is not None and o.rid < r.rid]
            if older:
                first = min(older, key=lambda o: o.rid or 0)
                served[r.name] = first.name
                _conflict(r, first, tuple(dict.fromkeys((first.endpoint, r.endpoint))))
            else:
                served[r.name] = r.name
                _served_note(r, [o for o in others if o.rid is not None and o.rid > r.rid])
    return served


def _both(endpoints: Tuple[str, ...]) -> str:
    return "PostgreSQLClient(self, (" + ", ".join(f'"{e}"' for e in endpoints) + "))"


def _conflict(r: Related, older: Related, endpoints: Tuple[str, ...]) -> None:
    remove = f"juju remove-relation {r.client}:{older.endpoint} {older.server or ''}".rstrip()
    for n, v in enumerate(r.units):
        alone = v.verdict
        why = Reason(
            ENDPOINT_CONFLICT,
            # the library's words first, then which charm gets them
            f"{older.endpoint} is related too ({older.name}, served); remove one of the two "
            f"relations: a client serving both endpoints ({_both(endpoints)}, the documented "
            f"migration) serves only the older relation, {older.name} (the lower relation id); "
            "a charm with a separate client per endpoint serves both, and then "
            f"{v.unit} is {alone} on {r.name}",
            blocking=True,
            advice=f"once the data is moved: {remove}",
        )
        r.units[n] = replace(v, verdict=NOT_READY, reasons=[why, *v.reasons], own_client=alone)


def _served_note(r: Related, newer: Sequence[Related]) -> None:
    if not newer:
        return
    names = ", ".join(o.name for o in newer)
    eps = tuple(dict.fromkeys((r.endpoint, *(o.endpoint for o in newer))))
    note = Reason(
        ENDPOINT_SERVED,
        f"{r.client} is related on {' and '.join(eps[1:])} too ({names}): a client serving "
        f"both endpoints ({_both(eps)}) serves this relation, the older one (the lower "
        f"relation id), and reports {names} as {ENDPOINT_CONFLICT} until one of them is "
        "removed; a charm with a separate client per endpoint serves both",
        blocking=False,
    )
    for n, v in enumerate(r.units):
        r.units[n] = replace(v, reasons=[*v.reasons, note])


def _note_unknown_order(r: Related, others: Sequence[Related]) -> None:
    names = ", ".join(o.name for o in others)
    note = Reason(
        ENDPOINT_CONFLICT,
        f"{r.client} is related on {others[0].endpoint} too ({names}): a client serving both "
        "endpoints serves only the older relation and reports the other as "
        f"{ENDPOINT_CONFLICT}, and this input cannot tell which is older (no relation-id: "
        "Juju before 2.9's April 2022 releases); a charm with a separate client per endpoint "
        "serves both",
        blocking=False,
    )
    for n, v in enumerate(r.units):
        ids = f"`juju run --unit {v.unit} 'relation-ids {r.endpoint}'`"
        told = replace(note, advice=f"{ids} (and the same for the other endpoint) shows the ids")
        r.units[n] = replace(v, reasons=[*v.reasons, told])
