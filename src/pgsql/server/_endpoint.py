"""What the provides side of both interfaces shares: one ``provides`` endpoint, kept the same way.

:class:`~pgsql.PostgreSQLServer` (``pgsql``) and :class:`~pgsql.DatabaseProvider`
(``postgresql_client``) each own an :class:`Endpoint` and hand it their :class:`Interface`, the
few things that differ between the two. The endpoint then:

- checks that the charm's endpoint is a ``provides`` one whose interface this side serves
  (:func:`check_provides`) and lists its live :attr:`~Endpoint.relations`;
- observes the relation's hooks and emits ``request_changed`` once per change of what the answer
  depends on, by a digest kept in the owner's StoredState (``digests``, by relation id);
- keeps a unit that is itself being removed from touching anything: relation-departed naming
  this unit is recorded (``leaving``), and the relation-broken that follows is not the remote
  application leaving, so nothing is emitted and nothing published is withdrawn;
- emits ``relation_broken`` when the remote application really leaves;
- writes an :class:`Answer` with :meth:`~Endpoint.apply`: only the managed keys whose value
  differs, so answering from every hook is cheap and causes no relation-changed storm.

Nothing here knows an interface's keys or values: those are :mod:`pgsql.protocol`'s, rendered by
each interface's module.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from typing import Dict, List, Mapping, MutableMapping, Optional, Protocol, Tuple, Union

from ops.charm import (
    CharmBase,
    CharmMeta,
    RelationBrokenEvent,
    RelationDepartedEvent,
    RelationEvent,
    RelationMeta,
)
from ops.framework import BoundEvent, BoundStoredState, EventBase, Object
from ops.model import Application, ModelError, Relation, Unit

__all__ = [
    "Answer",
    "AnswersFrom",
    "Endpoint",
    "Fingerprint",
    "Interface",
    "check_provides",
    "departing_name",
    "digest_of",
    "read_bag",
    "remote_app",
]


class AnswersFrom(enum.Enum):
    """Who answers on an interface, and so which hooks may change what must be answered."""

    #: Each unit answers in its own bag (the leader in the application bag too), for the remote
    #: units it sees: every unit follows them joining and departing.
    EVERY_UNIT = "every unit"
    #: The leader answers the remote application in the application bag: only the leader
    #: follows the remote application's bag (a unit departing does not change it), and a new
    #: leader looks at every relation.
    LEADER = "the leader"


@dataclass(frozen=True)
class Fingerprint:
    """What one look at a relation's remote side tells the endpoint.

    Attributes:
        digest: a digest of everything the answer depends on (never a secret); None when there
            is nothing to act on.
        problems: why parts of the remote request were ignored, for the debug log.
    """

    digest: Optional[str]
    problems: Tuple[str, ...] = ()


@dataclass(frozen=True, repr=False)
class Answer:
    """What this unit publishes on one relation, bag by bag.

    Attributes:
        unit: this unit's bag; None leaves it alone.
        app: the application bag, written on the leader only; None leaves it alone.
    """

    unit: Optional[Mapping[str, str]] = None
    app: Optional[Mapping[str, str]] = None

    def __repr__(self) -> str:
        # key names only: the values hold passwords (a master connection string, uris)
        unit = None if self.unit is None else sorted(self.unit)
        app = None if self.app is None else sorted(self.app)
        return f"Answer(unit keys={unit}, app keys={app})"


class Interface(Protocol):
    """The part of a provides endpoint that depends on its interface."""

    @property
    def name(self) -> str:
        """The interface served (``interface:`` in the charm's metadata)."""
        ...

    @property
    def served_elsewhere(self) -> Mapping[str, str]:
        """Interfaces an endpoint of this side must not speak, each with the class serving it."""
        ...

    @property
    def managed_keys(self) -> Tuple[str, ...]:
        """The bag keys an answer manages; any other key is left alone."""
        ...

    @property
    def answers_from(self) -> AnswersFrom:
        """Who answers: every unit, or the leader only."""
        ...

    def fingerprint(self, relation: Relation, departing: Optional[str], known: bool) -> Fingerprint:
        """Read the remote side of ``relation`` (without the unit ``departing``) into a digest.

        ``known``: a digest of this relation is stored (something was acted on before).
        """
        ...

    def stale(self, relation: Relation) -> bool:
        """Whether the published answer must be given again though its digest is unchanged."""
        ...

    def on_broken(self, relation: Relation) -> None:
        """Clean up after the remote application left ``relation`` (before ``relation_broken``)."""
        ...


def check_provides(
    charm: CharmBase, relation_name: str, owner: str, interface: Interface
) -> RelationMeta:
    """The metadata of ``relation_name``, a ``provides`` endpoint ``interface`` may serve.

    Raises:
        ValueError: it is not an endpoint of the charm, not a ``provides`` one, or it speaks an
            interface another class serves (``interface.served_elsewhere``).
    """
    meta: CharmMeta = charm.meta
    relation_meta = meta.relations.get(relation_name)
    if relation_meta is None or relation_name not in meta.provides:
        role = (
            "not an endpoint" if relation_meta is None else f"a {relation_meta.role.name} endpoint"
        )
        raise ValueError(
            f"{relation_name!r} is {role} of {meta.name}; {owner} needs a "
            "'provides' endpoint (for the requires side use PostgreSQLClient)"
        )
    spoken = relation_meta.interface_name
    other = interface.served_elsewhere.get(spoken or "")
    if other is not None:
        raise ValueError(
            f"{relation_name!r} speaks {spoken}: serve it with {other}; "
            f"{owner} speaks {interface.name}"
        )
    return relation_meta


def read_bag(relation: Relation, entity: Union[Unit, Application, None]) -> Dict[str, str]:
    """A plain copy of a remote databag; ``{}`` when Juju will not let us read it."""
    if entity is None:
        return {}
    try:
        return dict(relation.data[entity])
    except (ModelError, KeyError, RuntimeError):
        # relation-broken: the remote side is gone (Harness of ops < 2.10 raises RuntimeError)
        return {}


def remote_app(relation: Relation) -> Optional[Application]:
    """The remote application of ``relation``, None when Juju no longer says."""
    # Typed non-optional in ops 3, but None in some ops 2 / Juju combinations (relation-broken).
    app: Optional[Application] = getattr(relation, "app", None)
    return app


def departing_name(event: RelationDepartedEvent) -> Optional[str]:
    """The name of the unit relation-departed says is leaving; None if Juju names none."""
    # RelationDepartedEvent.departing_unit since ops 1.2; else what Juju puts in the environment
    departing: Optional[Unit] = getattr(event, "departing_unit", None)
    if departing is not None:
        return departing.name
    return os.environ.get("JUJU_DEPARTING_UNIT") or None


def digest_of(payload: object) -> str:
    """A short digest of a JSON-able value (what is stored: never the value itself)."""
    text = json.dumps(payload, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Endpoint(Object):
    """One ``provides`` endpoint of a server charm, for the object that serves it (its owner).

    Args:
        owner: the server object, a child of ``charm``.
        charm: the charm.
        relation_name: the endpoint, already checked with :func:`check_provides`.
        interface: what the endpoint's interface reads and manages.
        stored: the owner's StoredState, given ``digests`` (a dict) and ``leaving`` (a list).
        request_changed: the owner's event saying what to answer changed.
        relation_broken: the owner's event saying the remote application left.
        log: the owner's logger (charms configure it by the owner module's name).
    """

    def __init__(
        self,
        owner: Object,
        charm: CharmBase,
        relation_name: str,
        *,
        interface: Interface,
        stored: BoundStoredState,
        request_changed: BoundEvent,
        relation_broken: BoundEvent,
        log: logging.Logger,
    ):
        super().__init__(owner, None)
        self._owner = type(owner).__name__
        self._relation_name = relation_name
        self._interface = interface
        self._stored = stored
        self._request_changed = request_changed
        self._relation_broken = relation_broken
        self._log = log
        #: The unit this hook's relation-departed names, left out of what is read (one hook:
        #: each hook is a new process; Harness keeps it until a unit of that name joins again).
        self.departing: Optional[str] = None
        stored.set_default(digests={}, leaving=[])
        events = charm.on[relation_name]
        self.framework.observe(events.relation_joined, self._on_changed)
        self.framework.observe(events.relation_changed, self._on_changed)
        self.framework.observe(events.relation_departed, self._on_departed)
        self.framework.observe(events.relation_broken, self._on_broken)
        if interface.answers_from is AnswersFrom.LEADER:
            self.framework.observe(charm.on.leader_elected, self._on_leader_elected)

    @property
    def relations(self) -> List[Relation]:
        """The live relations on this endpoint (a relation being broken is left out)."""
        return [
            r
            for r in self.model.relations[self._relation_name]
            if getattr(r, "active", True)  # Relation.active: ops >= 2.10
        ]

    def check_relation(self, relation: Relation) -> None:
        """Refuse what is not a relation of this endpoint.

        Raises:
            TypeError: ``relation`` is not an ops.Relation.
            ValueError: it belongs to another endpoint.
        """
        if not isinstance(relation, Relation):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"expected an ops.Relation, not {type(relation).__name__}")
        if relation.name != self._relation_name:
            raise ValueError(
                f"relation {relation.name}:{relation.id} belongs to endpoint {relation.name!r}; "
                f"this {self._owner} serves {self._relation_name!r}"
            )

    def apply(self, relation: Relation, answer: Answer) -> bool:
        """Write ``answer`` on ``relation``: only the managed keys whose value differs.

        A managed key the answer does not hold is deleted; any other key is kept. The
        application bag is written on the leader only.

        Returns:
            True when a databag was changed.
        """
        keys = self._interface.managed_keys
        changed = False
        if answer.unit is not None:
            changed = _write(relation.data[self.model.unit], answer.unit, keys)
        if answer.app is not None and self.model.unit.is_leader():
            changed = _write(relation.data[self.model.app], answer.app, keys) or changed
        return changed

    # ---- hooks ----------------------------------------------------------------------------

    def _on_changed(self, event: RelationEvent) -> None:
        if self.departing is not None and self.departing == _unit_name(event):
            self.departing = None  # a unit of that name joined again (only seen in tests)
        if self._interface.answers_from is AnswersFrom.LEADER and not self.model.unit.is_leader():
            return
        self._look(event.relation, event.unit)

    def _on_leader_elected(self, _: EventBase) -> None:
        # A new leader answers every relation with a request it has not seen answered.
        for relation in self.relations:
            self._look(relation, None)

    def _on_departed(self, event: RelationDepartedEvent) -> None:
        departing = departing_name(event)
        if departing == self.model.unit.name:
            key = str(event.relation.id)
            if key not in self._stored.leaving:
                self._stored.leaving.append(key)
            self._log.debug("relation %s: this unit is leaving it", event.relation.id)
            return
        self.departing = departing
        if self._interface.answers_from is AnswersFrom.EVERY_UNIT:
            self._look(event.relation, event.unit)

    def _on_broken(self, event: RelationBrokenEvent) -> None:
        key = str(event.relation.id)
        if key in self._stored.digests:
            del self._stored.digests[key]
        if key in self._stored.leaving:
            # This unit is being removed, not the remote application: the relation goes on
            # with the other units, so what was published stays and the charm must not revoke
            # the client's access nor drop its user. Forgotten now: the relation is broken.
            self._stored.leaving.remove(key)
            self._log.debug("relation %s: broken for this leaving unit only; answer kept", key)
            return
        self._interface.on_broken(event.relation)
        self._relation_broken.emit(event.relation, event.app, event.unit)

    def _look(self, relation: Relation, unit: Optional[Unit]) -> None:
        """Emit ``request_changed`` if what the answer on ``relation`` depends on changed."""
        key = str(relation.id)
        digests = self._stored.digests
        seen = self._interface.fingerprint(relation, self.departing, key in digests)
        if seen.digest is None:
            if key in digests:  # withdrawn: its reappearance is news again
                del digests[key]
            if seen.problems:
                self._log.debug(
                    "relation %s: no request to act on: %s", relation.id, "; ".join(seen.problems)
                )
            return
        if digests.get(key) == seen.digest and not self._interface.stale(relation):
            return
        digests[key] = seen.digest
        if seen.problems:
            self._log.debug(
                "relation %s: ignoring parts of the request: %s",
                relation.id,
                "; ".join(seen.problems),
            )
        self._log.debug("relation %s: the request or the remote units changed", relation.id)
        self._request_changed.emit(relation, remote_app(relation), unit)


def _unit_name(event: RelationEvent) -> Optional[str]:
    unit: Optional[Unit] = getattr(event, "unit", None)
    return unit.name if unit is not None else None


def _write(
    content: MutableMapping[str, str], wanted: Mapping[str, str], keys: Tuple[str, ...]
) -> bool:
    changed = False
    for key in keys:
        new = wanted.get(key)
        if content.get(key) == new:
            continue
        # Assigning "" deletes the key on every ops version.
        content[key] = new if new is not None else ""
        changed = True
    return changed
