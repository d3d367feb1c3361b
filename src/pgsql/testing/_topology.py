"""What a model is made of: applications, units, relations, their bags and addresses.

:class:`Topology` holds them and answers the questions every other part of the engine asks
(which unit, which relation, which relations a unit is in); it adds and drops units and
relations, but queues no hook: what Juju runs because of a change is :class:`Model`'s
(``_model.py``) and the hook queue's (``_hooks.py``).
"""

from __future__ import annotations

import warnings
from collections import deque
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Deque,
    Dict,
    List,
    Optional,
    Set,
    Tuple,
    Union,
    cast,
)

from ._common import juju_keys, ops_testing

if TYPE_CHECKING:  # pragma: no cover - names for type checkers only; Scenario may be absent
    from ops.model import StatusBase

    from ._model import Model

__all__ = ["App", "Integration", "ModelError", "Topology", "Unit"]

# documentation ranges (RFC 5737), then private ones: unit n of the k-th app is <range k>.(10+n)
_RANGES = ("192.0.2", "198.51.100", "203.0.113")

#: Called with the charm after a hook (see :attr:`App.inspect`).
Inspect = Callable[[Any], Any]
#: A queued hook: the event as ops.testing's ``ctx.on`` names it, relation id, remote unit
#: number; secret-changed is "secret_changed <secret id>", an action "action <name>".
Hook = Tuple[str, Optional[int], Optional[int]]


class ModelError(AssertionError):
    """A charm did what Juju would refuse, or the model was asked for what it cannot do."""


def model_testing() -> Any:
    """``ops.testing`` for the model's units, or a RuntimeError naming what Model needs."""
    try:
        return ops_testing()
    except RuntimeError:
        raise RuntimeError(
            "pgsql.testing.Model runs charms with ops.testing's Context and State: "
            "ops >= 2.17 with ops[testing] installed"
        ) from None


def charm_spec(ctx: Any) -> Any:
    """The charm spec (metadata, config, actions) an ``ops.testing.Context`` read or was given."""
    spec = getattr(ctx, "_charm_spec", None)  # newer ops.testing; there charm_spec is deprecated
    if spec is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            spec = getattr(ctx, "charm_spec", None)
    return spec


def _addresses(prefix: str) -> Callable[[int], str]:
    def address(number: int) -> str:
        return f"{prefix}.{10 + number}"

    return address


def default_address(k: int) -> Callable[[int], str]:
    """The address of unit ``n`` of the ``k``-th application added (from 0)."""
    return _addresses(_RANGES[k] if k < len(_RANGES) else f"10.{k}.0")


class Unit:
    """One unit, and what Juju keeps for it between hooks.

    Attributes:
        app: its application.
        number: its unit number.
        ctx: its ``ops.testing.Context``.
        address: its address (Juju's ``ingress-address``; ``egress-subnets`` is it as a /32).
        stored: the StoredState its next hook starts with (assign ``()`` to lose it).
        deferred: the deferred events its next hook starts with.
        status: the unit status its last hook left (None before its first hook).
        seen: what the inspect callable returned in its last hook.
        events: the events emitted in its hooks since :meth:`take_events`.
        queue: its pending hooks, ``(event, relation id, remote unit number)``.
        started: its install-to-start hooks were queued (:meth:`Model.deploy`).
        dying: it is being removed (:meth:`Model.remove_unit`).
    """

    def __init__(self, app: App, number: int, ctx: Any, address: str) -> None:
        self.app = app
        self.number = number
        self.ctx = ctx
        self.address = address
        self.stored: Any = ()
        self.deferred: Any = ()
        self.status: Optional[StatusBase] = None
        self.seen: Any = None
        self.events: List[str] = []
        self.queue: Deque[Hook] = deque()
        self.started = False
        self.dying = False

    @property
    def name(self) -> str:
        """``<app>/<number>``."""
        return f"{self.app.name}/{self.number}"

    @property
    def is_leader(self) -> bool:
        """Whether the unit is its application's leader."""
        return self.app.leader == self.number

    def take_events(self) -> List[str]:
        """The events emitted in the unit's hooks since the last call; they are forgotten."""
        events, self.events = self.events, []
        return events

    def bag(self, endpoint: str, relation_id: Optional[int] = None) -> Dict[str, str]:
        """A copy of the unit's own bag on its relation on ``endpoint`` (peer or not)."""
        rel = self.app.model.relation_of(self.app.name, endpoint, relation_id)
        return dict(rel.unit_bags[self.name])

    def __repr__(self) -> str:
        return f"<Unit {self.name}>"


class App:
    """An application: its charm, its config, its leader and its units.

    Attributes:
        model: the model it is in.
        name: the application name.
        charm_type: its charm class.
        meta: its metadata (``charmcraft.yaml`` without ``config`` and ``actions``).
        context: what each unit's ``ops.testing.Context`` is given (``meta``, ``config``,
            ``actions``) besides the charm class, ``app_name`` and ``unit_id``.
        options: its config values as ``juju config`` set them (the others take the defaults of
            the config schema).
        leader: the number of its leader unit.
        units: its units, by number.
        address: the address of its unit ``n``.
        inspect: called with the charm after every hook of its units, while the charm still
            exists; what it returns is :attr:`HookRun.seen` and :attr:`Unit.seen`.
        deployed: :meth:`Model.deploy` started it (units added later start too).
    """

    def __init__(
        self,
        model: Model,
        name: str,
        charm_type: Any,
        meta: Dict[str, Any],
        context: Dict[str, Any],
        options: Dict[str, Any],
        leader: int,
        address: Callable[[int], str],
        # spelt out, not Inspect: ``Model`` exists here for type checkers only, so the docs
        # read these annotations as strings, and a private alias has no page to link to
        inspect: Optional[Callable[[Any], Any]],
    ) -> None:
        self.model = model
        self.name = name
        self.charm_type = charm_type
        self.meta = meta
        self.context = context
        self.options = options
        self.leader = leader
        self.units: Dict[int, Unit] = {}
        self.address = address
        self.inspect = inspect
        self.deployed = False
        self.next_number = 0

    @property
    def peers(self) -> List[str]:
        """The application's peer endpoints."""
        return list(self.meta.get("peers") or {})

    @property
    def endpoints(self) -> Dict[str, Optional[str]]:
        """Every endpoint of the application (requires, provides, peers) and its interface."""
        out: Dict[str, Optional[str]] = {}
        for role in ("requires", "provides", "peers"):
            spec: Dict[str, Any] = self.meta.get(role) or {}
            for endpoint, value in spec.items():
                entry = cast(Dict[str, Any], value) if isinstance(value, dict) else {}
                interface = entry.get("interface")
                out[endpoint] = None if interface is None else str(interface)
        return out

    def bag(self, endpoint: str, relation_id: Optional[int] = None) -> Dict[str, str]:
        """A copy of the application's bag on its relation on ``endpoint`` (peer or not)."""
        rel = self.model.relation_of(self.name, endpoint, relation_id)
        return dict(rel.app_bags[self.name])

    def __repr__(self) -> str:
        return f"<App {self.name}>"


class Integration:
    """A relation between two applications, or an application's peer relation, with its bags.

    Attributes:
        id: the relation id.
        ends: ``(app, endpoint)`` of each side (the same application twice for peers).
        peer: it is a peer relation.
        app_bags: each application's bag, by application name.
        unit_bags: each unit's bag, by unit name (Juju's keys to begin with).
        joined: the remote unit numbers each unit has seen join, by unit name (not for peers).
        broken: the units that ran relation-broken.
        dying: it is being removed (:meth:`Model.remove_relation`).
    """

    def __init__(self, rel_id: int, ends: Tuple[Tuple[App, str], Tuple[App, str]]) -> None:
        self.id = rel_id
        self.ends = ends
        self.peer = ends[0][0] is ends[1][0]
        self.app_bags: Dict[str, Dict[str, str]] = {app.name: {} for app, _ in ends}
        self.unit_bags: Dict[str, Dict[str, str]] = {}
        self.joined: Dict[str, List[int]] = {}
        self.broken: Set[str] = set()
        self.dying = False

    def has(self, app: App) -> bool:
        """Whether ``app`` is in the relation."""
        return any(a is app for a, _ in self.ends)

    def endpoint(self, app: App) -> str:
        """The endpoint by which ``app`` is in the relation."""
        return self.ends[0][1] if self.ends[0][0] is app else self.ends[1][1]

    def other(self, app: App) -> App:
        """The application on the other side (``app`` itself for a peer relation)."""
        return self.ends[1][0] if self.ends[0][0] is app else self.ends[0][0]

    def sees(self, unit: Unit) -> List[int]:
        """The numbers of the remote units ``unit`` sees (its live peers on a peer relation)."""
        if self.peer:
            return [n for n, u in unit.app.units.items() if u is not unit and not u.dying]
        other = self.other(unit.app).name
        return [m for m in self.joined.get(unit.name, ()) if f"{other}/{m}" in self.unit_bags]

    def databags(self) -> Dict[str, Dict[str, str]]:
        """Copies of every bag, named as ``juju show-unit`` does: each application, its units."""
        out: Dict[str, Dict[str, str]] = {}
        for app in dict.fromkeys(a for a, _ in self.ends):
            out[app.name] = dict(self.app_bags[app.name])
            for unit in app.units.values():
                if unit.name in self.unit_bags:
                    out[unit.name] = dict(self.unit_bags[unit.name])
        return out

    def __repr__(self) -> str:
        (a, ea), (b, eb) = self.ends
        return f"<Integration {self.id}: {a.name}:{ea} {b.name}:{eb}>"


#: A relation, by object or id.
RelationArg = Union[Integration, int]


class Topology:
    """The applications and relations of a model, and the questions asked about them.

    Attributes:
        apps: the applications, by name, in the order they were added.
        relations: the relations, peer relations included.
    """

    def __init__(self) -> None:
        self.apps: Dict[str, App] = {}
        self.relations: List[Integration] = []
        self._next_id = 1

    def app(self, name: str) -> App:
        """The application called ``name``."""
        try:
            return self.apps[name]
        except KeyError:
            raise ModelError(f"no application {name!r} in the model") from None

    def unit(self, name: str) -> Unit:
        """The unit called ``name`` (``myapp/0``)."""
        app_name, _, number = name.rpartition("/")
        unit = self.app(app_name).units.get(int(number)) if number.isdigit() else None
        if unit is None:
            raise ModelError(f"no unit {name!r} in the model")
        return unit

    def units(self) -> List[Unit]:
        """Every unit: applications in the order they were added, units by number."""
        return [u for app in self.apps.values() for u in app.units.values()]

    def find(self, relation_id: int) -> Optional[Integration]:
        """The relation with id ``relation_id``, None when there is none (any more)."""
        return next((r for r in self.relations if r.id == relation_id), None)

    def relation(self, relation_id: int) -> Integration:
        """The relation with id ``relation_id``."""
        rel = self.find(relation_id)
        if rel is None:
            raise ModelError(f"no relation {relation_id} in the model")
        return rel

    def relation_of(
        self, app: str, endpoint: str, relation_id: Optional[int] = None
    ) -> Integration:
        """The one relation of ``app`` on ``endpoint`` (with id ``relation_id``, if given)."""
        a = self.app(app)
        found = [
            r
            for r in self.relations
            if r.has(a)
            and r.endpoint(a) == endpoint
            and (relation_id is None or r.id == relation_id)
        ]
        if len(found) != 1:
            raise ModelError(f"{app} has {len(found)} relations on {endpoint!r}, not one")
        return found[0]

    def relations_of(self, unit: Unit) -> List[Integration]:
        """The relations the unit is in, peer relations last (the order of ``wrote``)."""
        mine = [
            r
            for r in self.relations
            if r.has(unit.app) and unit.name in r.unit_bags and unit.name not in r.broken
        ]
        return [r for r in mine if not r.peer] + [r for r in mine if r.peer]

    def end(self, spec: str, other_spec: str) -> Tuple[App, str]:
        """The application and endpoint ``spec`` (``app:endpoint`` or ``app``) names.

        Without an endpoint, the one whose interface one of ``other_spec``'s endpoints has.
        """
        name, _, endpoint = spec.partition(":")
        app = self.app(name)
        mine = {e: i for e, i in app.endpoints.items() if e not in app.peers}
        if endpoint:
            if endpoint not in mine:
                raise ModelError(f"{name} has no endpoint {endpoint!r} to relate")
            return app, endpoint
        other = self.app(other_spec.partition(":")[0])
        theirs = {i for e, i in other.endpoints.items() if e not in other.peers}
        fits = [e for e, i in mine.items() if i in theirs]
        if len(fits) != 1:
            raise ModelError(f"name the endpoint of {name}: {len(fits)} of them fit")
        return app, fits[0]

    def new_id(self, wanted: Optional[int]) -> int:
        """A relation id: ``wanted`` if free (else a ModelError), or the next one unused."""
        used = {r.id for r in self.relations}
        if wanted is None:
            wanted = self._next_id
            while wanted in used:
                wanted += 1
        elif wanted in used:
            raise ModelError(f"relation id {wanted} is taken")
        self._next_id = max(self._next_id, wanted + 1)
        return wanted

    def integrate(
        self, first: Tuple[App, str], second: Tuple[App, str], relation_id: Optional[int]
    ) -> Integration:
        """A new relation between two ends (the same end twice for a peer relation).

        Each live unit of either end gets its bag (Juju's keys); ``relation_id`` as for
        :meth:`new_id`.
        """
        rel = Integration(self.new_id(relation_id), (first, second))
        self.relations.append(rel)
        for unit in self.units():
            if not rel.has(unit.app) or unit.dying:
                continue
            rel.unit_bags[unit.name] = juju_keys(unit.address)
            rel.joined[unit.name] = []
        return rel

    def new_unit(self, app: App, juju_version: Optional[str]) -> Unit:
        """A new unit of ``app``, with its own Context, in every live relation of ``app``."""
        number = app.next_number  # Juju never reuses a unit number
        app.next_number += 1
        version = {} if juju_version is None else {"juju_version": juju_version}
        ctx = model_testing().Context(
            app.charm_type, **app.context, **version, app_name=app.name, unit_id=number
        )
        unit = Unit(app, number, ctx, app.address(number))
        app.units[number] = unit
        for rel in self.relations:
            if rel.has(app) and not rel.dying:
                rel.unit_bags[unit.name] = juju_keys(unit.address)
                rel.joined[unit.name] = []
        return unit

    def forget(self, rel: Integration) -> None:
        """Drop a relation being removed once each of its units has run relation-broken."""
        if rel.dying and rel in self.relations and set(rel.unit_bags) <= rel.broken:
            self.relations.remove(rel)

    def bury(self, unit: Unit) -> None:
        """Drop a unit being removed once it has run its last queued hook."""
        if not unit.dying or unit.queue or unit.app.units.get(unit.number) is not unit:
            return
        del unit.app.units[unit.number]
        for rel in list(self.relations):
            if rel.has(unit.app):
                rel.unit_bags.pop(unit.name, None)
                rel.joined.pop(unit.name, None)
                rel.broken.discard(unit.name)
                self.forget(rel)


def read_meta(charm_type: Any, context: Dict[str, Any]) -> Dict[str, Any]:
    """The metadata ``ops.testing.Context`` reads for ``charm_type`` (its ``charmcraft.yaml``)."""
    ctx = model_testing().Context(charm_type, **context)
    meta: Optional[Dict[str, Any]] = getattr(charm_spec(ctx), "meta", None)
    if meta is None:  # pragma: no cover - every ops.testing so far keeps the charm spec
        raise ModelError(f"cannot read the metadata of {charm_type.__name__}: pass meta=")
    return dict(meta)
