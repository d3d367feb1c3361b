"""Telling the charm: :class:`Telling` turns a new verdict into the eleven 1.x events.

The last verdict the charm was told lives in the relation's record (``snap``, ``codes``); a new
one is compared with it (:func:`pgsql.protocol.transitions`) and only what changed is emitted,
once. Every method runs inside the facade's scope.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, cast

import ops.framework
from ops.model import Application, Relation, Unit

from .. import protocol
from ._judging import Judging
from ._records import plain
from ._session import Session


class Telling:
    """What changed since the charm was last told, emitted as events.

    Args:
        session: the client's session.
        judging: the client's verdicts.
        on: the client's events (``client.on``).
        mirror: the facade's ``_mirror_appdata`` (looked up at call time: tests patch it).
        joined_patched: whether a test replaced the facade's ``_on_joined``.
        watch_update_status: observe update-status (a grant runs no hook on this side).
        after_emission: what the outermost emission flushes (writes deferred by the setters).
    """

    def __init__(
        self,
        session: Session,
        judging: Judging,
        on: Any,
        mirror: Callable[[Optional[Relation]], None],
        joined_patched: Callable[[], bool],
        watch_update_status: Callable[[], None],
        after_emission: Callable[[], None],
    ):
        self.session = session
        self.judging = judging
        self.on = on
        self.mirror = mirror
        self.joined_patched = joined_patched
        self.watch_update_status = watch_update_status
        self.after_emission = after_emission

    def ensure_joined(
        self, relation: Relation, app: Optional[Application], unit: Optional[Unit]
    ) -> None:
        """``database_relation_joined`` once per relation, even if -changed came first."""
        s = self.session
        rec = s.record(relation.id)
        if rec.get("joined"):
            return
        rec["joined"] = True
        s.put(relation.id, rec)
        self.emit(("database_relation_joined",), relation, app, unit)

    def update(self, relation: Relation, app: Optional[Application], unit: Optional[Unit]) -> None:
        """Evaluate the relation and emit what changed since the charm was last told."""
        s = self.session
        readiness = self.judging.judge(relation)
        wire = s.wire(relation)
        if s.declared is not None:
            wire.settle(relation, readiness, s.declared)
        rec = s.record(relation.id)
        raw_prev = rec.get("snap")
        prev = (
            None
            if raw_prev is None
            else protocol.Snapshot.from_dict(cast("Dict[str, object]", raw_prev))
        )
        cur = readiness.snapshot()
        codes = sorted({r.code for r in readiness.reasons if r.blocking})
        if protocol.SECRET_NOT_GRANTED in codes:
            self.watch_grants()
        if codes != rec.get("codes"):
            if readiness.ready:
                if wire.logs_source:  # which server bag was chosen: a decision
                    s.log.debug("relation %s ready (from %s)", relation.id, readiness.source)
            else:
                s.log.debug("relation %s not ready: %s", relation.id, ", ".join(codes))
            rec["codes"] = codes
        rec["snap"] = cur.to_dict()
        if wire.verdict_lasts:
            from ._remembered import remember

            request = self.judging.requested(relation)
            verdict = remember(readiness, request, bool(relation.units))
            if verdict is None:
                rec.pop("verdict", None)
            else:
                rec["verdict"] = verdict
        known = readiness.database
        unknown_request = s.declared is None and rec.get("req", {}) is None
        if known and unknown_request and rec.get("db") != known:
            rec["db"] = known  # the server's echo, kept for event.database once it is gone
        s.put(relation.id, rec)
        self.emit(protocol.transitions(prev, cur), relation, app, unit)

    def emit(
        self,
        names: Sequence[str],
        relation: Relation,
        app: Optional[Application],
        unit: Optional[Unit],
    ) -> None:
        """Emit ``names`` for a relation; the outermost emission then flushes deferred writes."""
        s = self.session
        if app is None:
            app = cast("Optional[Application]", relation.app)
        if unit is not None and unit.app != app:
            unit = None
        s.seen[relation.id] = relation
        s.emitting += 1
        try:
            for name in names:
                source = cast("ops.framework.BoundEvent", getattr(self.on, name))
                source.emit(relation, app, unit, s.model.unit)
        finally:
            s.emitting -= 1
        if not s.emitting:
            self.after_emission()

    def retell(self, relation: Relation) -> None:
        """After a request change: emit what it changed (an echo may already match it).

        Only for relations the charm was already told about (evaluated at least once): a first
        evaluation belongs to the relation-changed hooks, as in 1.x.
        """
        if self.session.emitting:
            return
        scope = self.session.current()
        if scope.exists(relation.id) and scope.record(relation.id).get("snap") is not None:
            self.update(relation, relation.app, None)

    def tell(self, relation: Relation) -> None:
        """Outside relation hooks: emit what changed, for relations the charm knows joined."""
        rec = self.session.record(relation.id)
        if not rec.get("joined"):
            if not self.may_synthesize_joined(relation):
                return  # nothing joined yet: the relation hooks will tell
            # 1.x emitted joined from relation-joined only: its handlers may read event.unit
            first = min(relation.units, key=lambda u: protocol.unit_sort_key(u.name))
            self.ensure_joined(relation, relation.app, first)
        self.update(relation, relation.app, None)

    def may_synthesize_joined(self, relation: Relation) -> bool:
        """Whether to emit joined outside relation-joined (lost StoredState, -changed first).

        Only when Juju lists a joined remote unit, and not when a test replaced ``_on_joined``:
        with it patched, 1.x never emitted joined and told the charm nothing more.
        """
        return not self.joined_patched() and bool(relation.units)

    def relearn_all(self) -> None:
        """Leadership moved: learn every relation's request again, publish it and tell."""
        s = self.session
        for relation in s.relations():
            rec = s.record(relation.id)
            if rec.pop("req", None) is not None or "req" not in rec:
                s.put(relation.id, rec)
            self.mirror(relation)
            self.tell(relation)

    def waiting_for_grant(self) -> bool:
        """Some relation was last judged not ready for want of a secret's grant."""
        return any(
            protocol.SECRET_NOT_GRANTED in (plain(raw).get("codes") or [])
            for raw in self.session.state.rels.values()
        )

    def watch_grants(self) -> None:
        """A grant runs no hook on this side: tell the charm at the next update-status."""
        if not self.session.watching_grants:
            self.session.watching_grants = True
            self.watch_update_status()

    def tell_granted(self) -> None:
        """Tell the charm about relations that waited for a grant (it may have come)."""
        for relation in self.session.relations():
            codes: List[str] = self.session.record(relation.id).get("codes") or []
            if protocol.SECRET_NOT_GRANTED in codes:
                self.tell(relation)
