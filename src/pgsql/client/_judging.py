"""The verdicts a client serves: :class:`Judging`.

What a relation's readiness is (asked of its wire once per hook, then cached), which relation is
served while a charm migrates endpoints, and what this unit knows of the request. Every method
runs inside the facade's scope (:meth:`pgsql.client._session.Session.entered`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, cast

from ops.model import Relation

from .. import protocol
from ..protocol import Request
from ._compat import legacy
from ._records import Bag, broken_readiness, leader_entry
from ._session import Session

if TYPE_CHECKING:  # pragma: no cover - loaded with a relation's first evaluation
    from ..protocol import Readiness

#: Reason code of a relation on one endpoint while another endpoint of the same client is
#: related (a charm migrating from ``db`` to ``database``): the older relation is served.
ENDPOINT_CONFLICT = "endpoint-conflict"


class Judging:
    """Readiness and the known request, per relation.

    Args:
        session: the client's session.
    """

    def __init__(self, session: Session):
        self.session = session

    def event_readiness(self, relation: Relation) -> Readiness:
        """What an event reads: cached while we emit, live for events emitted by others."""
        s = self.session
        if not s.emitting and (s.handled or not s.context().under_juju):
            # 1.x read the relation each time an event property was read. (A deferred event
            # re-run at the start of a real hook is caught up from the hook's own change.)
            s.evals.pop(relation.id, None)
            if not s.context().under_juju:
                s.host.secrets.clear()  # Harness: a grant may have come since
            rec = s.record(relation.id)
            if rec.pop("remote", None) is not None:
                s.put(relation.id, rec)
        return self.readiness_of(relation)

    def readiness_of(self, relation: Relation, recall: bool = True) -> Readiness:
        """The verdict for a relation: judged once per hook, or kept from an earlier hook.

        ``recall`` False judges from live data even where a kept verdict still holds.
        """
        s = self.session
        cached = s.evals.get(relation.id)
        if cached is not None:
            wire = s.wire(relation)
            if s.emitting or not wire.rereads_under_harness or s.context().under_juju:
                return cached
            # Harness: one charm across events, some of which run none of our handlers (a
            # grant, update-status): secrets and the provider's bag are read afresh
            s.host.secrets.clear()
        if not getattr(relation, "active", True) or str(relation.id) in s.state.gone:
            return broken_readiness()
        request = self.requested(relation)
        readiness = self.recalled(relation, request) if recall else None
        if readiness is None:  # (a kept verdict was served when it was judged)
            readiness = self.live(relation, request)
        s.evals[relation.id] = readiness
        return readiness

    def judge(self, relation: Relation) -> Readiness:
        """The verdict for a relation from live data (the one the charm is then told)."""
        self.session.evals.pop(relation.id, None)
        return self.readiness_of(relation, recall=False)

    def live(self, relation: Relation, request: Optional[Request]) -> Readiness:
        """What the relation's wire reads and judges now, served or not."""
        return self.served(relation, self.session.wire(relation).readiness(relation, request))

    def recalled(self, relation: Relation, request: Optional[Request]) -> Optional[Readiness]:
        """The verdict kept from an earlier hook, if it still holds (:mod:`._remembered`)."""
        s = self.session
        if not s.wire(relation).verdict_lasts:
            return None
        kept = s.record(relation.id).get("verdict")
        if kept is None:
            return None
        from ._remembered import recall  # loaded only where a verdict was kept

        def load() -> Readiness:
            with s.entered():
                live = self.live(relation, request)
            if not live.ready:
                # the provider withdrew its answer since (its relation-changed is queued): the
                # rest of this hook reads the live verdict
                s.evals[relation.id] = live
            return live

        return recall(
            kept,
            request,
            bool(relation.units),
            s.context(),
            relation.name,
            relation.id,
            load,
        )

    def served(self, relation: Relation, readiness: Readiness) -> Readiness:
        """With several endpoints related at once, only the oldest relation is served."""
        s = self.session
        if len(s.relation_names) == 1:
            return readiness
        others = [
            r
            for r in s.relations()
            if r.name != relation.name and r.id < relation.id and not self.is_gone(r)
        ]
        if not others:
            return readiness
        older = min(others, key=lambda r: r.id)
        why = protocol.Reason(
            ENDPOINT_CONFLICT,
            f"{older.name} is related too ({older.name}:{older.id}, served); remove one of the "
            f"two relations",
            advice=f"once the data is moved: juju remove-relation {s.model.app.name}:"
            f"{older.name} {older.app.name if older.app else ''}".rstrip(),
        )
        return protocol.Readiness(
            ready=False,
            version=readiness.version,
            database=readiness.database,
            reasons=(why, *readiness.reasons),
            bags=readiness.bags,
        )

    def requested(self, relation: Relation) -> Optional[Request]:
        """What the application requested on a relation, as far as this unit can know."""
        s = self.session
        if s.declared is not None:
            return s.declared
        if legacy("_legacy_sharing")():
            entry = leader_entry(legacy("_get_pgsql_leader_data")(), relation.id) or {}
            return Request.from_databag(entry)
        if str(relation.id) in s.state.gone:
            return None  # its databags are unreadable now
        rec = s.record(relation.id)
        if "req" not in rec:
            rec["req"] = s.sharing.learn(relation)
            s.put(relation.id, rec)
        req = rec["req"]
        if req is None:
            return s.wire(relation).echoed_request(relation)
        return Request.from_databag(cast("Bag", req))

    def is_gone(self, relation: Relation) -> bool:
        """Whether a relation is being removed or was removed (relation-broken seen)."""
        if str(relation.id) in self.session.state.gone:
            return True
        if getattr(relation, "active", True) is False:  # ops >= 2.10 marks the broken one
            return True
        return relation.id not in {r.id for r in self.session.model.relations[relation.name]}

    def last_database(self, relation: Relation) -> Optional[str]:
        """The last database this unit knew for a relation, even once the relation is gone."""
        gone = self.session.state.gone.get(str(relation.id))
        if gone is not None:
            return str(gone) or None
        db = self.session.record(relation.id).get("db")
        return db if isinstance(db, str) and db else None
