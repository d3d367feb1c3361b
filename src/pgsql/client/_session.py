"""What one :class:`pgsql.PostgreSQLClient` keeps in its process: :class:`Session`.

The facade and its collaborators (:mod:`._judging`, :mod:`._telling`, :mod:`._requesting`,
:mod:`._lifecycle`) share one session: the endpoints and the wire chosen for each, the running
:class:`HookScope`, and the caches that live one hook. Nothing here decides anything.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any, Dict, Generator, List, Optional, Tuple

import ops.charm
import ops.model
from ops.model import Relation

from ..protocol import Request
from ._context import HookContext
from ._scope import HookScope
from ._sharing import RequestSharing
from ._wire import Wire, WireHost

if TYPE_CHECKING:  # pragma: no cover - loaded with a relation's first evaluation
    from ..protocol import Readiness


def pick_peer(charm: ops.charm.CharmBase, peer: Optional[str]) -> Optional[str]:
    """The peer endpoint the leader shares its request in (None: the only one; ``""``: none).

    Raises:
        ValueError: ``peer`` names no peer endpoint of the charm.
    """
    peers = list(charm.meta.peers)
    if peer is None:
        return peers[0] if len(peers) == 1 else None
    if not peer:
        return None
    if peer not in peers:
        raise ValueError(f"{peer!r} is not a peer endpoint of {charm.meta.name}")
    return peer


class Session:
    """The state one client shares with its collaborators, for the life of its process.

    Args:
        model: the charm's model.
        log: the client's logger.
        state: the client's StoredState.
        relation_names: every endpoint the client serves (the first names it).
        peer_name: the peer endpoint the leader shares its request in, or None.
    """

    def __init__(
        self,
        model: ops.model.Model,
        log: logging.Logger,
        state: Any,
        relation_names: Tuple[str, ...],
        peer_name: Optional[str],
    ):
        self.model = model
        self.log = log
        self.state = state
        self.relation_name = relation_names[0]
        self.relation_names = relation_names
        self.peer_name = peer_name
        #: the declared request (constructor arguments or request()), None: the 1.x setters
        self.declared: Optional[Request] = None
        # Per-hook caches: every handler starts afresh (Harness keeps one charm across events).
        self.evals: Dict[int, Readiness] = {}
        self.emitting = 0
        self.handled = False  # has one of the client's handlers run in this process yet?
        # set while emitting: relation id -> (relation, request now, request before the setters)
        self.dirty: Dict[int, Tuple[Relation, Request, Request]] = {}
        self.seen: Dict[int, Relation] = {}  # relations emitted about in this process
        self.observing_all = False  # every hook event observed, for a pending declaration
        self.watching_grants = False
        self.scope: Optional[HookScope] = None
        self.sharing = RequestSharing(
            model,
            state,
            self.relation_name,
            peer_name,
            relations=self.relations,
            own_request=self.own_request,
        )
        self.host = WireHost(
            model,
            log,
            state,
            self.sharing,
            scope=self.current,
            handled=lambda: self.handled,
            declared=lambda: self.declared is not None,
        )
        self._default_wire: Optional[Wire] = None  # for a relation of no endpoint of ours
        #: one wire per endpoint, chosen by the facade in its ``__init__`` and never asked again
        self.wires: Dict[str, Wire] = {}

    def wire(self, relation: Relation) -> Wire:
        """The interface of a relation's endpoint."""
        wire = self.wires.get(relation.name) or self._default_wire
        if wire is None:
            from ._pgsql import PgsqlWire  # 1.x served any relation as pgsql

            wire = self._default_wire = PgsqlWire(self.host)
        return wire

    def relations(self) -> List[Relation]:
        """Every relation of the client's endpoints."""
        if len(self.relation_names) == 1:
            return list(self.model.relations[self.relation_name])
        return [r for name in self.relation_names for r in self.model.relations[name]]

    def relation(self) -> Optional[Relation]:
        """The endpoint's only relation; with several endpoints, the oldest related one."""
        if len(self.relation_names) == 1:
            return self.model.get_relation(self.relation_name)
        found = [self.model.get_relation(name) for name in self.relation_names]
        related = [r for r in found if r is not None]
        return min(related, key=lambda r: r.id) if related else None

    def own_request(self, relation: Relation) -> Request:
        """What this application's bag requests (the leader reads it back)."""
        return self.wire(relation).own_request(relation.data[self.model.app])

    @contextlib.contextmanager
    def entered(self) -> Generator[HookScope, None, None]:
        """The scope of one entry (handler or accessor); a nested entry joins the outer one.

        The outermost exit saves the records that changed, once (:class:`HookScope`).
        """
        if self.scope is not None:
            yield self.scope
            return
        self.scope = scope = HookScope(self.state.rels, HookContext.from_environ())
        try:
            yield scope
        finally:
            self.scope = None
            scope.save()

    def current(self) -> HookScope:
        """The running entry's scope."""
        if self.scope is None:  # pragma: no cover - every entry point enters a scope
            raise RuntimeError("PostgreSQLClient: internal call outside an entry point")
        return self.scope

    def context(self) -> HookContext:
        """The running hook (read once per entry)."""
        return self.current().context

    def record(self, relid: int) -> Dict[str, Any]:
        """A copy of a relation's record (:meth:`HookScope.record`)."""
        return self.current().record(relid)

    def put(self, relid: int, rec: Dict[str, Any]) -> None:
        """Keep a relation's record, saved once at the end of the scope."""
        self.current().put(relid, rec)
