"""The client's hooks: :class:`Lifecycle`, what each hook the client observes does.

The facade observes the hooks (ops wants its own methods as observers) and hands each event to
one method here, inside its scope. Each method starts with :meth:`Lifecycle.begin` (per-hook
caches afresh, a pending declaration published) and ends with what the hook changed told to
the charm (:class:`pgsql.client._telling.Telling`).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, cast

import ops.charm
import ops.framework

from .. import protocol
from ._judging import Judging
from ._records import GONE_KEPT, Bag, broken_readiness, plain, refresh_changed
from ._requesting import Requesting
from ._session import Session
from ._telling import Telling


def observe_every_hook(
    charm: ops.charm.CharmBase, handler: Callable[[ops.framework.EventBase], None]
) -> None:
    """Observe every hook event and pre-commit (a pending declaration is published at the first).

    Only while a declaration is pending (the first hook after it changed) does the client
    observe every hook event; collect-metrics cannot write relation data, and actions are not
    hook events.
    """
    for bound in charm.on.events().values():
        kind = bound.event_type
        if issubclass(kind, ops.charm.HookEvent) and not issubclass(
            kind, ops.charm.CollectMetricsEvent
        ):
            charm.framework.observe(bound, handler)
    charm.framework.observe(charm.framework.on.pre_commit, handler)


class Lifecycle:
    """The body of each hook handler of the facade.

    Args:
        session: the client's session.
        judging: the client's verdicts.
        telling: the client's events.
        requesting: the client's request and its publication.
    """

    def __init__(
        self, session: Session, judging: Judging, telling: Telling, requesting: Requesting
    ):
        self.session = session
        self.judging = judging
        self.telling = telling
        self.requesting = requesting

    def begin(self) -> None:
        """Every handler first: per-hook caches afresh, a pending declaration published."""
        s = self.session
        s.handled = True
        s.evals.clear()
        s.host.fresh_egress.clear()
        if not s.context().under_juju:
            # Harness: one charm across events. Under Juju a hook sees one revision of each
            # secret (what it read before our handler ran still holds)
            s.host.secrets.clear()
        self.requesting.flush_declared()
        if (
            s.state.was_leader is True
            and s.declared is None
            and s.peer_name is None
            and not s.model.unit.is_leader()
        ):
            # Leadership moved and nothing told this unit (Juju 4 has no leader-settings-changed
            # and there is no peer relation): forget what it requested as the leader.
            s.state.was_leader = False
            self.telling.relearn_all()

    def changed(self, event: ops.charm.RelationChangedEvent) -> None:
        """relation-changed: refresh the changed bag, publish, tell."""
        s, telling = self.session, self.telling
        relation = event.relation
        rec = s.record(relation.id)
        remote = rec.get("remote")
        if remote is not None:
            refresh_changed(relation, cast("Dict[str, Any]", remote), event.unit)
            s.put(relation.id, rec)
        if not rec.get("joined") and not telling.may_synthesize_joined(relation):
            # The server application's bag changed before any of its units joined. 1.x told
            # the charm nothing then; the relation-changed that follows a unit's joined will.
            s.log.debug("relation %s changed before joined", relation.id)
            return
        telling.mirror(relation)
        telling.ensure_joined(relation, event.app, event.unit)
        telling.update(relation, event.app, event.unit)

    def departed(self, event: ops.charm.RelationDepartedEvent) -> None:
        """relation-departed: a remote unit left (this unit leaving changes nothing)."""
        s = self.session
        departing = getattr(event, "departing_unit", None)
        if departing is not None and departing.name == s.model.unit.name:
            return  # this unit is leaving; its access is going, not the server's data
        relation = event.relation
        rec = s.record(relation.id)
        if not s.wire(relation).departure_matters(rec, relation):
            return  # e.g. postgresql_client answers in the app bag: a leaving unit changes nothing
        remote = rec.get("remote")
        if remote is not None:
            cast("Dict[str, Bag]", remote["units"]).pop(event.unit.name, None)
            s.put(relation.id, rec)
        self.telling.update(relation, event.app, event.unit)

    def broken(self, event: ops.charm.RelationBrokenEvent) -> None:
        """relation-broken: the last events, the record dropped, its database remembered."""
        s = self.session
        relid = event.relation.id
        scope = s.current()
        prev = (
            protocol.Snapshot.from_dict(scope.record(relid).get("snap") or {})
            if scope.exists(relid)
            else None
        )
        s.evals[relid] = broken_readiness()
        request = self.judging.requested(event.relation)
        known = request.database if request is not None else None
        known = known or self.judging.last_database(event.relation)
        self.telling.emit(protocol.broken_transitions(prev), event.relation, event.app, event.unit)
        if request is not None:
            s.wire(event.relation).forget(event.relation, request)
        gone = plain(s.state.gone)
        gone[str(relid)] = known or ""
        # a few recent ones are enough for deferred events that run after the removal
        s.state.gone = dict(list(gone.items())[-GONE_KEPT:])
        scope.drop(relid)
        s.evals.pop(relid, None)
        if len(s.relation_names) > 1:
            # a charm migrating endpoints: the relation it was not served may be now
            for other in s.relations():
                if other.id != relid and other.name != event.relation.name:
                    s.evals.pop(other.id, None)
                    self.telling.tell(other)

    def upgrade_charm(self, event: ops.framework.EventBase) -> None:
        """New charm code: re-read everything once (and migrate 1.x records)."""
        s = self.session
        relations = s.relations()
        for relation in relations:
            rec = s.record(relation.id)
            for key in ("remote", "egress", "req", "tls", "verdict"):
                rec.pop(key, None)
            s.put(relation.id, rec)
        if s.declared is None and s.model.unit.is_leader():
            s.state.was_leader = True
            for relation in relations:
                s.wire(relation).migrate_unit_request(relation)
        for relation in relations:
            self.telling.mirror(relation)
            self.telling.tell(relation)

    def leader_elected(self, event: ops.framework.EventBase) -> None:
        """This unit leads: its own bag is the request from now on."""
        self.session.state.was_leader = True
        self.telling.relearn_all()

    def leader_settings_changed(self, event: ops.framework.EventBase) -> None:
        """1.x leadership settings changed: a non-leader learns the request again."""
        s = self.session
        s.state.was_leader = False
        if s.declared is None and s.peer_name is None:
            self.telling.relearn_all()

    def peer_changed(self, event: ops.charm.RelationChangedEvent) -> None:
        """The leader's copy in the peer relation changed: learn the request again."""
        s = self.session
        if s.declared is not None:
            return  # declared requests need nobody's copy
        lost_leadership = False
        if s.state.was_leader is True:
            if s.model.unit.is_leader():
                return  # the leader is the source
            # Leadership moved (Juju 4 fires no leader-settings-changed to say so): follow
            # the new leader's copy from now on, even if it reads like one seen before.
            s.state.was_leader = False
            lost_leadership = True
        raw = event.relation.data[s.model.app].get(s.sharing.key, "")
        if lost_leadership or raw != s.state.peer_raw:
            s.state.peer_raw = raw
            self.telling.relearn_all()

    def update_status(self, event: ops.framework.EventBase) -> None:
        """A grant runs no hook on this side: relations that waited for one are told."""
        self.telling.tell_granted()

    def config_changed(self, event: ops.framework.EventBase) -> None:
        """A declaration computed from config was published in :meth:`begin`; grants told."""
        if self.session.watching_grants:
            self.telling.tell_granted()

    def secret_changed(self, event: ops.charm.SecretChangedEvent) -> None:
        """A provider rotated a password or CA inside its secret: follow it."""
        s = self.session
        key = protocol.secret_id(event.secret.id or "")
        for relation in s.relations():
            if s.wire(relation).follow_secret(relation, event.secret, key):
                self.telling.tell(relation)
