"""What the application requests and where it is published: :class:`Requesting`.

A request is declared (the constructor's arguments, :meth:`pgsql.PostgreSQLClient.request`) or
set by the leader through the 1.x event setters; each relation's wire publishes it in its own
bags. The 1.x shared copy of the leader's request (``_get_pgsql_leader_data`` and
``_set_pgsql_leader_data``, which tests patch) is read and written here. Every method runs
inside the facade's scope.
"""

from __future__ import annotations

import inspect
from typing import Callable, Dict, Iterable, Optional, Union, cast

import ops.model
from ops.model import Relation

from .. import protocol
from ..protocol import Request
from ._compat import legacy
from ._judging import Judging
from ._records import Bag, leader_entry, plain, shared_form
from ._session import Session
from ._telling import Telling
from ._wire import Wire

Names = Union[str, Iterable[str], None]


class NotLeaderError(ops.model.RelationDataError):
    """Only the leader may do this: change the request through the 1.x setters, or answer.

    Raised by the 1.x setters on a non-leader, and by :meth:`pgsql.DatabaseProvider.publish`
    (only the leader writes the provider's answer, its application bag).

    A subclass of :class:`ops.model.RelationDataError`, which is what 1.x let escape when a
    non-leader wrote the application databag. Declarative requests (the ``database``, ``roles``
    and ``extensions`` arguments of :class:`PostgreSQLClient`, or :meth:`PostgreSQLClient.request`)
    work on every unit.
    """


def check(request: Request, wires: Iterable[Wire]) -> None:
    """Refuse a request some endpoint's providers would refuse silently (RequestError)."""
    unique = {type(w): w for w in wires}.values()
    for wire in unique:
        protocol.check_request(request, wire.interface)
    for wire in unique:
        wire.check(request)


class Requesting:
    """The declared or set request, and its publication on every relation.

    Args:
        session: the client's session.
        judging: the client's verdicts.
        telling: the client's events.
        owner: the charm (its ``__init__`` on the stack defers a declaration's publication).
        observe_every_hook: observe every hook event, to publish a declaration at the first.
    """

    def __init__(
        self,
        session: Session,
        judging: Judging,
        telling: Telling,
        owner: object,
        observe_every_hook: Callable[[], None],
    ):
        self.session = session
        self.judging = judging
        self.telling = telling
        self.owner = owner
        self.observe_every_hook = observe_every_hook

    def declare_initial(
        self, database: Optional[str], roles: Names, extensions: Names, username: Optional[str]
    ) -> None:
        """The constructor's declaration, else the last request() one (it outlives the hook)."""
        s = self.session
        if database is not None or roles is not None or extensions is not None or username:
            s.declared = Request.build(database, roles, extensions, username)
            check(s.declared, s.wires.values())
            if s.state.requested is not None:
                s.state.requested = None  # the constructor declares anew: request() is over
        else:
            # (constructor arguments are not kept: a revision without them declares nothing)
            stored = plain(s.state.requested)
            if isinstance(stored, dict):
                s.declared = Request.from_record(cast("Bag", stored))

    def declare(self, request: Request) -> None:
        """:meth:`pgsql.PostgreSQLClient.request`: a declaration that outlives the hook."""
        s = self.session
        check(request, s.wires.values())
        s.declared = request
        if plain(s.state.requested) != request.record():
            s.state.requested = request.record()
        if not self.declared_pending():
            return
        if s.handled or not self.in_charm_init():
            self.flush_declared()
        else:
            # The charm's observers are not all registered yet: tell the charm once the
            # framework dispatches the hook's first event.
            self.tell_at_first_event()

    def in_charm_init(self) -> bool:
        """Whether the charm's ``__init__`` (or a base class's) is on the call stack."""
        frame = inspect.currentframe()
        while frame is not None:
            if frame.f_code.co_name == "__init__" and frame.f_locals.get("self") is self.owner:
                return True
            frame = frame.f_back
        return False

    def declared_pending(self) -> bool:
        """A declared request that differs from the one last published and told."""
        declared = self.session.declared
        return declared is not None and plain(self.session.state.declared) != declared.record()

    def tell_at_first_event(self) -> None:
        """Flush a pending declaration at the hook's first event, whichever it is."""
        if not self.session.observing_all:
            self.session.observing_all = True
            self.observe_every_hook()

    def flush_declared(self) -> None:
        """Publish a changed declared request and emit what it changes, once per change."""
        s = self.session
        if s.emitting or s.declared is None or not self.declared_pending():
            return  # inside our own emission: the emission flushes when it is done
        s.state.declared = s.declared.record()  # first: the emission flushes
        s.evals.clear()
        for relation in s.relations():
            self.telling.mirror(relation)
            self.telling.retell(relation)

    def after_emission(self) -> None:
        """The outermost emission is over: write what the setters deferred, then declarations."""
        s = self.session
        if s.dirty:
            dirty, s.dirty = s.dirty, {}
            for rel, request, before in dirty.values():
                if request != before:  # one line for the setters of a handler
                    s.log.debug("request on relation %s is now %s", rel.id, request.databag())
                s.wire(rel).write_request(rel, request)
                self.telling.retell(rel)
        self.flush_declared()  # request() from a handler of ours events

    def publish(self, relation: Relation) -> None:
        """Write the known request where it is not yet: own unit bag, app bag and shared copy."""
        s = self.session
        wire = s.wire(relation)
        if wire.leader_only:
            if s.state.was_leader is False:
                return
            if not s.model.unit.is_leader():
                s.state.was_leader = False
                return
        app_too = True
        request: Optional[Request]
        if s.declared is not None:
            request = s.declared
        elif legacy("_legacy_sharing")():
            # 1.x: the leader mirrors its app bag, non-leaders the leadership copy
            app_too = False
            if s.model.unit.is_leader():
                request = s.own_request(relation)
            else:
                entry = leader_entry(legacy("_get_pgsql_leader_data")(), relation.id)
                request = None if entry is None else Request.from_databag(entry)
        else:
            request = self.judging.requested(relation)
        wire.publish(relation, request, app_too)

    def set_request(
        self, relation: Relation, database: Optional[str], roles: Names, extensions: Names
    ) -> None:
        """:meth:`pgsql.PostgreSQLClient.set_request` (the 1.x setters; leader only)."""
        s = self.session
        if not s.model.unit.is_leader():
            raise NotLeaderError(
                f"{s.model.unit.name} is not the leader: only the leader can set the request "
                f"on {s.relation_name}:{relation.id} (or pass database=... to "
                "PostgreSQLClient on every unit)"
            )
        s.state.was_leader = True
        cur = self.judging.requested(relation) or Request()
        new = Request.build(
            cur.database if database is None else database,
            cur.roles if roles is None else roles,
            cur.extensions if extensions is None else extensions,
            cur.username,
        )
        check(new, [s.wire(relation)])
        if s.declared is not None:
            s.declared = new
            s.state.declared = new.record()
            if s.state.requested is not None:  # a request() declaration: keep it current
                s.state.requested = new.record()
        if legacy("_legacy_sharing")():
            # 1.x read-modify-wrote the shared copy in every setter, through these helpers
            shared: Dict[int, Dict[str, str]] = {
                k: dict(v) for k, v in legacy("_get_pgsql_leader_data")().items()
            }
            shared[relation.id] = shared_form(new)
            legacy("_set_pgsql_leader_data")(shared)
        rec = s.record(relation.id)
        rec["req"] = new.databag()
        s.put(relation.id, rec)
        s.evals.pop(relation.id, None)
        if s.emitting:
            # inside our own emission: write (and log) once, after every handler had its say
            before = s.dirty.get(relation.id, (relation, new, cur))[2]
            s.dirty[relation.id] = (relation, new, before)
        else:
            if cur != new:
                s.log.debug("request on relation %s is now %s", relation.id, new.databag())
            s.wire(relation).write_request(relation, new)
            if cur != new:
                self.telling.retell(relation)
