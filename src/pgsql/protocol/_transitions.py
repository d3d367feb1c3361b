"""Client events: what changed since the charm was last told, as digests (no secrets kept).

A :class:`Snapshot` fingerprints the master and standbys the charm was told about;
:func:`transitions` and :func:`broken_transitions` turn a change of snapshot into the client's
events, in the 1.x order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, cast

from ..connstr import ConnectionStringError
from ._common import digest, parse_connstr

#: Every client event, in the order :func:`transitions` emits them (1.x order).
EVENT_NAMES = (
    "master_available",
    "master_changed",
    "master_gone",
    "standby_available",
    "standby_changed",
    "standby_gone",
    "database_available",
    "database_changed",
    "database_gone",
)
#: What relation-broken emits after the gone events (1.x order).
BROKEN_EVENTS = ("database_relation_broken",)


@dataclass(frozen=True)
class Snapshot:
    """What the client last told the charm about a relation: digests of the canonical strings.

    Only digests are kept (they go into StoredState), never connection strings or passwords.
    """

    master: Optional[str] = None
    standbys: Tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> Dict[str, object]:
        """A StoredState-friendly form."""
        return {"master": self.master, "standbys": list(self.standbys)}

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> Snapshot:
        """Read :meth:`to_dict` output back, leniently.

        Any sequence is accepted for ``standbys`` (StoredState hands back its own list type).
        Values that are not digests are 1.x StoredState entries (raw connection strings): they
        are digested the way :meth:`Readiness.snapshot` does, so upgrading emits no spurious
        change event and keeps no secret.
        """
        master = d.get("master")
        standbys: object = d.get("standbys") or []
        items: Iterable[object] = (
            cast(Sequence[object], standbys)
            if isinstance(standbys, Sequence) and not isinstance(standbys, (str, bytes))
            else []
        )
        return cls(
            _as_digest(master) if isinstance(master, str) else None,
            tuple(_as_digest(s) for s in items if isinstance(s, str)),
        )


_DIGEST = re.compile(r"[0-9a-f]{32}")


def _as_digest(value: str) -> str:
    if _DIGEST.fullmatch(value):
        return value
    try:
        canonical = str(parse_connstr(value))
    except ConnectionStringError:
        canonical = value
    return digest(canonical) or ""


def transitions(prev: Optional[Snapshot], cur: Snapshot) -> Tuple[str, ...]:
    """The events to emit when the state moves from ``prev`` to ``cur``, in 1.x order.

    ``prev`` None means nothing was told yet (first time, or StoredState was lost): whatever is
    current is announced as available.
    """
    prev = prev or Snapshot()
    events: List[str] = []
    available = changed = gone = False
    if prev.master is None and cur.master is not None:
        events.append("master_available")
        available = True
    if prev.master != cur.master:
        events.append("master_changed")
        changed = True
    if prev.master is not None and cur.master is None:
        events.append("master_gone")
        gone = True
    if not prev.standbys and cur.standbys:
        events.append("standby_available")
        available = True
    if prev.standbys != cur.standbys:
        events.append("standby_changed")
        changed = True
    if prev.standbys and not cur.standbys:
        events.append("standby_gone")
        gone = True
    if available:
        events.append("database_available")
    if changed:
        events.append("database_changed")
    if gone and cur.master is None and not cur.standbys:
        events.append("database_gone")
    return tuple(events)


def broken_transitions(prev: Optional[Snapshot]) -> Tuple[str, ...]:
    """The events relation-broken emits: the gone events for what was announced, then broken."""
    prev = prev or Snapshot()
    events: List[str] = []
    if prev.master is not None:
        events += ["master_changed", "master_gone"]
    if prev.standbys:
        events += ["standby_changed", "standby_gone"]
    if events:
        events += ["database_changed", "database_gone"]
    return (*events, *BROKEN_EVENTS)
