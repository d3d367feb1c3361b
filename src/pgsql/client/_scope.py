"""What lives for one entry into the client: :class:`HookScope`.

Every handler and every public accessor of :class:`pgsql.PostgreSQLClient` enters one scope (a
nested entry joins the outer one), as ops' ``_Manager.run`` enters, dispatches and commits once:
the hook context is read once, each relation's record is loaded from StoredState on first touch,
and on the outermost exit each record is saved once, only if its stored form changed. Harness
never commits, so the save is at this exit, not at ``pre_commit``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set

from ._context import HookContext
from ._records import RECORD_VERSION, migrate, plain


class HookScope:
    """One entry's context and the relation records it loaded.

    Args:
        rels: the client's StoredState mapping of records by relation id.
        context: the hook context, read once for this entry.
    """

    def __init__(self, rels: Any, context: HookContext):
        self._rels = rels
        self.context = context
        self._loaded: Dict[int, Optional[Dict[str, Any]]] = {}  # None: no record
        self._put: Set[int] = set()

    def _load(self, relid: int) -> Optional[Dict[str, Any]]:
        if relid not in self._loaded:
            raw = self._rels.get(relid)
            self._loaded[relid] = None if raw is None else migrate(raw)
        return self._loaded[relid]

    def exists(self, relid: int) -> bool:
        """Whether the relation has a record (stored, or put in this scope)."""
        return self._load(relid) is not None

    def record(self, relid: int) -> Dict[str, Any]:
        """A copy of the relation's record (a 1.x record migrated; a new one when none)."""
        rec = self._load(relid)
        return {"v": RECORD_VERSION} if rec is None else plain(rec)

    def put(self, relid: int, rec: Dict[str, Any]) -> None:
        """Keep ``rec`` as the relation's record, saved at the end of the scope."""
        self._loaded[relid] = plain(rec)
        self._put.add(relid)

    def drop(self, relid: int) -> None:
        """Forget a relation's record (relation-broken): removed from StoredState at the end."""
        self._loaded[relid] = None
        self._put.add(relid)

    def records(self) -> List[Dict[str, Any]]:
        """Every record (StoredState's, overlaid with this scope's)."""
        for relid in list(self._rels.keys()):
            self._load(relid)
        return [plain(r) for r in self._loaded.values() if r is not None]

    def save(self) -> None:
        """Write each record put in this scope, once, only if its stored form changed."""
        for relid in sorted(self._put):
            rec = self._loaded[relid]
            raw = self._rels.get(relid)
            if rec is None:
                if raw is not None:
                    del self._rels[relid]
            elif raw is None or plain(raw) != rec:
                # Assign only real changes: every StoredState write dirties the commit
                self._rels[relid] = rec
        self._put.clear()
