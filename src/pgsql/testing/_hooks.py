"""The hooks queued on the units, and the turns they take until the model is quiet.

What each of :class:`Model`'s Juju commands queues (a unit's start, a new relation, a new unit,
a unit or a relation being removed) is here. Each unit has its queue (:attr:`Unit.queue`); a
hook is dropped, as Juju drops it, once its
relation or remote unit is gone. :meth:`HookQueue.settle` lets the units take turns, one hook
each per round, as they run in parallel under Juju, until no hook is left, and calls a
relation-changed storm (:class:`HookStormError`) what does not end. Running one hook is
``_run.py``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from ._actions import ActionOutcome
from ._secrets import Secrets, changed_secret
from ._topology import Hook, Integration, ModelError, RelationArg, Topology, Unit

if TYPE_CHECKING:  # pragma: no cover - names for type checkers only; Scenario may be absent
    from ops.model import StatusBase

__all__ = [
    "DEPARTED_SELF",
    "RELATION_EVENTS",
    "SETTLE_LIMIT",
    "HookQueue",
    "HookRun",
    "HookStormError",
]

#: How many hooks :meth:`Model.settle` allows by default before it calls the exchange a storm.
SETTLE_LIMIT = 1000

# relation-departed on the unit being removed, which Juju names as the departing unit
DEPARTED_SELF = "relation_departed self"
#: The events that name a relation (:meth:`Model.run` needs one for them).
RELATION_EVENTS = frozenset(
    {
        "relation_created",
        "relation_joined",
        "relation_changed",
        "relation_departed",
        "relation_broken",
    }
)


class HookStormError(ModelError):
    """More hooks than allowed ran without the model getting quiet: a relation-changed storm."""


class HookRun:
    """One hook that ran on one unit, and what came of it.

    Attributes:
        n: the hook's number in the model (1 for the first hook).
        unit: the unit's name (``myapp/0``).
        hook: Juju's hook name (``install``, ``db-relation-changed``).
        remote_unit: the remote unit the hook names, if any (``postgresql/0``).
        events: the kind of every event emitted in the hook, the hook's own first, then the
            charm libraries' (``master_available``, ...); re-emitted deferred events are not
            among them.
        deferred: the handle path of every event left deferred after the hook.
        wrote: what the hook changed, by bag (``"db myapp/0"``, ``"db myapp (app)"``, the
            endpoint as the unit's charm names it): key to new value, None for a deleted key.
        status: the unit status the hook left.
        seen: what the inspect callable returned (None without one).
        logs: the messages the charm logged (``juju-log``).
        action: what an action reported (:meth:`Model.run_action`); None for a hook.
    """

    def __init__(
        self,
        n: int,
        unit: str,
        hook: str,
        remote_unit: Optional[str],
        events: List[str],
        deferred: List[str],
        wrote: Dict[str, Dict[str, Optional[str]]],
        status: StatusBase,
        seen: Any,
        logs: List[str],
        action: Optional[ActionOutcome] = None,
    ) -> None:
        self.n = n
        self.unit = unit
        self.hook = hook
        self.remote_unit = remote_unit
        self.events = events
        self.deferred = deferred
        self.wrote = wrote
        self.status = status
        self.seen = seen
        self.logs = logs
        self.action = action

    def __repr__(self) -> str:
        remote = f" ({self.remote_unit})" if self.remote_unit else ""
        return f"<HookRun {self.n}: {self.unit} {self.hook}{remote}>"


class HookQueue:
    """What a queued hook means, whether it still runs, and the units' turns."""

    def __init__(self, topology: Topology, secrets: Secrets) -> None:
        self._topology = topology
        self._secrets = secrets

    def hook(
        self, unit: Unit, event: str, relation: Optional[RelationArg], remote: Optional[str]
    ) -> Hook:
        """The hook ``event`` on ``unit`` (arguments as :meth:`Model.run`), checked.

        Raises:
            ModelError: a relation event without its relation, another with one, or a remote
                unit that is not on the other side of the relation.
        """
        if event not in RELATION_EVENTS:
            if relation is not None or remote is not None:
                raise ModelError(f"{event} is not a relation event")
            return (event, None, None)
        if relation is None:
            raise ModelError(f"{event} needs a relation")
        rel = relation if isinstance(relation, Integration) else self._topology.relation(relation)
        number: Optional[int] = None
        if remote is not None:
            app_name, _, num = remote.rpartition("/")
            if app_name != rel.other(unit.app).name or not num.isdigit() or remote == unit.name:
                raise ModelError(f"{remote} is not a remote unit of {unit.name} on {rel}")
            number = int(num)
        return (event, rel.id, number)

    def runnable(self, unit: Unit, hook: Hook) -> bool:
        """Whether a hook still makes sense: its relation and remote unit are there."""
        event, rel_id, remote = hook
        secret_id = changed_secret(event)
        if secret_id is not None:
            return self._secrets.readable(secret_id, unit)
        if rel_id is None:
            return True
        rel = self._topology.find(rel_id)
        if rel is None or unit.name not in rel.unit_bags or unit.name in rel.broken:
            return False
        if remote is None or event == "relation_broken":
            return True
        if event in ("relation_departed", DEPARTED_SELF):
            return rel.peer or remote in rel.joined.get(unit.name, ())
        if event in ("relation_joined", "relation_changed") and not rel.peer:
            if event == "relation_changed" and remote in rel.sees(unit):
                return True
            # Juju may run relation-changed naming a unit before that unit's relation-joined
            # (queued by hand: the model itself queues -changed after -joined)
            other = rel.other(unit.app).units.get(remote)
            return other is not None and not other.dying and not rel.dying
        return remote in rel.sees(unit)

    def settle(self, run: Callable[[Unit, Hook], Any], max_hooks: int) -> int:
        """Run the queued hooks with ``run``, units taking turns, until none is left; how many.

        Raises:
            HookStormError: more than ``max_hooks`` hooks would run.
        """
        ran = 0
        while any(u.queue for u in self._topology.units()):
            for unit in self._topology.units():
                if unit.app.units.get(unit.number) is not unit:
                    continue  # removed earlier in this round
                while unit.queue and not self.runnable(unit, unit.queue[0]):
                    unit.queue.popleft()  # its relation or remote unit is gone: Juju drops it
                if not unit.queue:
                    self._topology.bury(unit)
                    continue
                if ran >= max_hooks:
                    raise HookStormError(
                        f"more than {max_hooks} hooks without getting quiet: the units keep "
                        "changing their bags (a relation-changed storm)"
                    )
                run(unit, unit.queue.popleft())
                ran += 1
        return ran

    # ---- what Juju queues for each command ----------------------------------------------------

    def start(self, unit: Unit) -> None:
        """Queue a unit's start, once (:meth:`Model.deploy`).

        Install, ``<peer>-relation-created``, leader-elected (the leader), config-changed, start.
        """
        if unit.started:
            return
        unit.started = True
        unit.queue.append(("install", None, None))
        for rel in self._topology.relations:
            if rel.peer and rel.has(unit.app):
                unit.queue.append(("relation_created", rel.id, None))
        if unit.is_leader:
            unit.queue.append(("leader_elected", None, None))
        unit.queue.extend([("config_changed", None, None), ("start", None, None)])

    def related(self, rel: Integration) -> None:
        """Queue what a new relation runs (:meth:`Model.relate`).

        Each of its units runs relation-created, then relation-joined and relation-changed for
        each unit on the other side.
        """
        for unit in self._topology.units():
            if unit.name not in rel.unit_bags:
                continue
            unit.queue.append(("relation_created", rel.id, None))
            for m, remote in rel.other(unit.app).units.items():
                if not remote.dying:
                    unit.queue.extend(
                        [("relation_joined", rel.id, m), ("relation_changed", rel.id, m)]
                    )

    def joined(self, unit: Unit) -> None:
        """Queue what a new unit's arrival runs (:meth:`Model.add_unit`).

        It runs relation-created on each live relation, then relation-joined and
        relation-changed for each remote unit; each remote unit runs the same for it.
        """
        a = unit.app
        for rel in self._topology.relations:
            if rel.peer or rel.dying or not rel.has(a):
                continue
            unit.queue.append(("relation_created", rel.id, None))
            for m, remote in rel.other(a).units.items():
                if remote.dying:
                    continue
                unit.queue.extend([("relation_joined", rel.id, m), ("relation_changed", rel.id, m)])
                remote.queue.append(("relation_joined", rel.id, unit.number))
                remote.queue.append(("relation_changed", rel.id, unit.number))

    def leaving(self, unit: Unit) -> None:
        """Queue what a unit's removal runs (:meth:`Model.remove_unit`).

        It runs relation-departed, naming itself, for each remote unit it sees, then
        relation-broken; its remote units and its peers run relation-departed for it.
        """
        for rel in self._topology.relations:
            if rel.dying or not rel.has(unit.app):
                continue
            if rel.peer:
                for sibling in unit.app.units.values():
                    if sibling is not unit and not sibling.dying:
                        sibling.queue.append(("relation_departed", rel.id, unit.number))
                continue
            for m in rel.sees(unit):
                unit.queue.append((DEPARTED_SELF, rel.id, m))
            unit.queue.append(("relation_broken", rel.id, None))
            for remote in rel.other(unit.app).units.values():
                if not remote.dying:
                    remote.queue.append(("relation_departed", rel.id, unit.number))

    def removed(self, rel: Integration) -> None:
        """Queue what a relation's removal runs (:meth:`Model.remove_relation`).

        Each of its units runs relation-departed for each remote unit it sees, then
        relation-broken.
        """
        for unit in self._topology.units():
            if rel.has(unit.app) and unit.name in rel.unit_bags:
                for m in rel.sees(unit):
                    unit.queue.append(("relation_departed", rel.id, m))
                unit.queue.append(("relation_broken", rel.id, None))
