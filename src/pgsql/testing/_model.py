"""A small Juju for ops.testing: applications, units, relations, and the hooks Juju would run.

:class:`Model` keeps every databag of a model's relations and runs each hook on the unit it
belongs to, with that unit's own ``ops.testing.Context``, carrying its StoredState, deferred
events and status from one hook to the next. What a hook wrote is taken back and turned into the
hooks Juju would run because of it:

- a unit sees a remote unit (in ``remote_units_data``) from its relation-joined hook on, and no
  longer from its relation-departed hook on;
- a changed unit or application bag queues relation-changed, naming the writing unit, on every
  remote unit that sees it (Juju names no unit for an application bag; Scenario needs one);
  a relation-changed already pending for the same unit is not queued twice, as in Juju;
- a changed peer bag queues ``<peer>-relation-changed`` on the application's other units;
- units take turns, one hook each per round, as they run in parallel under Juju;
- :meth:`Model.settle` runs until nothing is queued any more, and fails with :class:`HookStormError`
  when the units keep changing their bags.

Juju secrets (ops >= 2.0 ``app.add_secret``, ``secret.grant(relation)``, ``set_content``): a
secret an application creates is kept by the model (:attr:`Model.secrets`) with every revision;
the units of an application it is granted to over a live relation can read it, each tracking the
revision it last refreshed to (the latest one when it first sees the secret); a new revision
queues ``secret-changed`` on those units, and removing the relation revokes the grant once each
unit has left it. ``Model(juju_version=...)`` sets the Juju every unit runs on; before 3.0 there
are no secrets.

Actions (``juju run unit action key=value``): :meth:`Model.run_action` runs one on a unit now,
with the parameters given (the schema's defaults for the others), and then lets the hooks it
caused run; what the action reported (``set_results``, ``log``, ``fail``) is
:attr:`HookRun.action`. What the action wrote is kept even when it failed, as in Juju.

Simplifications (each still an order Juju could take): the units of an application see each other
on their peer relations from the start (no ``<peer>-relation-joined``); a unit being removed runs
relation-departed for each remote unit it sees, naming itself as the departing unit, then
relation-broken, as in Juju; once a relation is being removed, what its units write reaches
nobody. This module imports without Scenario; adding a unit needs it (ops >= 2.17 with
``ops[testing]``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from contextlib import nullcontext
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Generator,
    List,
    Mapping,
    Optional,
)

from ._actions import ActionOutcome, action_hook, action_of, action_outcome, action_params
from ._common import juju_keys
from ._hooks import (
    DEPARTED_SELF,
    SETTLE_LIMIT,
    HookQueue,
    HookRun,
    HookStormError,
)
from ._secrets import SecretRecord, Secrets, changed_secret
from ._topology import (
    App,
    Hook,
    Inspect,
    Integration,
    ModelError,
    RelationArg,
    Topology,
    Unit,
    default_address,
    model_testing,
    read_meta,
)

if TYPE_CHECKING:  # pragma: no cover - names for type checkers only; Scenario may be absent
    pass

__all__ = [
    "ActionOutcome",
    "App",
    "HookRun",
    "HookStormError",
    "Integration",
    "Model",
    "ModelError",
    "SecretRecord",
    "Unit",
]

_JUJU_VERSION = "JUJU_VERSION"


def _diff(old: Mapping[str, str], new: Mapping[str, str]) -> Dict[str, Optional[str]]:
    keys = sorted(set(old) | set(new))
    return {k: new.get(k) for k in keys if old.get(k) != new.get(k)}


class Model:
    """A Juju model whose charms run hook by hook through ``ops.testing``.

    Example::

        model = Model()
        model.add_app("myapp", MyCharm, units=2)
        model.add_app("postgresql", MyServerCharm)
        model.deploy()  # install, leader-elected, config-changed, start: until quiet
        model.relate("myapp:db", "postgresql:db")  # created, joined, changed: until quiet
        assert model.unit("myapp/1").status == ops.ActiveStatus()
        assert model.app("postgresql").bag("db")["allowed-units"] == "myapp/0 myapp/1"

    The commands (:meth:`deploy`, :meth:`relate`, :meth:`add_unit`, :meth:`remove_unit`,
    :meth:`set_leader`, :meth:`config`, :meth:`remove_relation`, :meth:`run_action`) queue the
    hooks Juju would run and then :meth:`settle`, unless given ``settle=False``.

    Args:
        max_hooks: fail with :class:`HookStormError` rather than run more hooks than this in all.
        on_hook: called with each :class:`HookRun` as soon as its hook has run.
        juju_version: the Juju version every unit runs on (``JUJU_VERSION``, what
            ``self.model.juju_version`` says); None takes ``ops.testing``'s default (a 3.x).
            Juju before 3.0 has no secrets: a charm that creates one there is refused with
            :class:`ModelError`.
    """

    def __init__(
        self,
        *,
        max_hooks: Optional[int] = None,
        on_hook: Optional[Callable[[HookRun], None]] = None,
        juju_version: Optional[str] = None,
    ) -> None:
        self.juju_version = juju_version
        self._topology = Topology()
        self._secrets = Secrets(self._topology)
        self._hooks = HookQueue(self._topology, self._secrets)
        self.hooks = 0
        self.max_hooks = max_hooks
        self.on_hook = on_hook

    @property
    def apps(self) -> Dict[str, App]:
        """The applications, by name, in the order they were added."""
        return self._topology.apps

    @property
    def secrets(self) -> Dict[str, SecretRecord]:
        """Every Juju secret of the model, by id."""
        return self._secrets.records

    @property
    def relations(self) -> List[Integration]:
        """The relations, peer relations included."""
        return self._topology.relations

    # ---- building the model ---------------------------------------------------------------

    def add_app(
        self,
        name: str,
        charm_type: Any,
        *,
        units: int = 1,
        meta: Optional[Mapping[str, Any]] = None,
        config: Optional[Mapping[str, Any]] = None,
        actions: Optional[Mapping[str, Any]] = None,
        options: Optional[Mapping[str, Any]] = None,
        leader: int = 0,
        address: Optional[Callable[[int], str]] = None,
        inspect: Optional[Inspect] = None,
    ) -> App:
        """Add an application of ``units`` units; no hook runs yet (:meth:`deploy` starts it).

        Args:
            name: the application name.
            charm_type: the charm class.
            units: how many units it starts with.
            meta: its metadata. ``meta``, ``config`` (the config schema, ``{"options": ...}``)
                and ``actions`` are handed to ``ops.testing.Context``, which reads the charm's
                ``charmcraft.yaml`` for what is not given.
            config: see ``meta``.
            actions: see ``meta``.
            options: config values, as ``juju deploy --config`` sets them.
            leader: the number of the leader unit.
            address: the address of unit ``n``; by default ``192.0.2.(10+n)`` for the first
                application added, ``198.51.100.(10+n)`` for the second, ``203.0.113.(10+n)``
                for the third, then ``10.<k>.0.(10+n)``.
            inspect: called with the charm after each hook of its units (:attr:`App.inspect`).
        """
        if name in self.apps:
            raise ModelError(f"there already is an application {name!r}")
        given = (("meta", meta), ("config", config), ("actions", actions))
        context: Dict[str, Any] = {k: dict(v) for k, v in given if v is not None}
        if address is None:
            address = default_address(len(self.apps))
        app = App(
            self,
            name,
            charm_type,
            dict(meta) if meta is not None else read_meta(charm_type, context),
            context,
            dict(options or {}),
            leader,
            address,
            inspect,
        )
        self.apps[name] = app
        for peer in app.peers:
            self.relations.append(
                Integration(self._topology.new_id(None), ((app, peer), (app, peer)))
            )
        for _ in range(units):
            self._topology.new_unit(app, self.juju_version)
        return app

    # ---- reading the model ----------------------------------------------------------------

    def app(self, name: str) -> App:
        """The application called ``name``."""
        return self._topology.app(name)

    def unit(self, name: str) -> Unit:
        """The unit called ``name`` (``myapp/0``)."""
        return self._topology.unit(name)

    def units(self) -> List[Unit]:
        """Every unit: applications in the order they were added, units by number."""
        return self._topology.units()

    def relation(self, relation_id: int) -> Integration:
        """The relation with id ``relation_id``."""
        return self._topology.relation(relation_id)

    def relation_of(
        self, app: str, endpoint: str, relation_id: Optional[int] = None
    ) -> Integration:
        """The one relation of ``app`` on ``endpoint`` (with id ``relation_id``, if given)."""
        return self._topology.relation_of(app, endpoint, relation_id)

    # ---- Juju commands --------------------------------------------------------------------

    def deploy(self, *, settle: bool = True) -> None:
        """Start every unit: install, ``<peer>-relation-created``, leader-elected, and so on.

        Each unit not started yet runs install, relation-created of each of its peer relations,
        leader-elected (the leader), config-changed and start.
        """
        for app in self.apps.values():
            app.deployed = True
            for unit in app.units.values():
                self._start(unit)
        self._maybe_settle(settle)

    def _start(self, unit: Unit) -> None:
        if unit.started:
            return
        unit.started = True
        unit.queue.append(("install", None, None))
        for rel in self.relations:
            if rel.peer and rel.has(unit.app):
                unit.queue.append(("relation_created", rel.id, None))
        if unit.is_leader:
            unit.queue.append(("leader_elected", None, None))
        unit.queue.extend([("config_changed", None, None), ("start", None, None)])

    def relate(
        self, first: str, second: str, *, relation_id: Optional[int] = None, settle: bool = True
    ) -> Integration:
        """``juju integrate first second``; ``app:endpoint``, or ``app`` if one endpoint fits.

        Every unit runs relation-created, then relation-joined and relation-changed for each
        unit on the other side.
        """
        a, ea = self._topology.end(first, second)
        b, eb = self._topology.end(second, first)
        if a is b:
            raise ModelError("peer relations are there from the start: relate two applications")
        rel = Integration(self._topology.new_id(relation_id), ((a, ea), (b, eb)))
        self.relations.append(rel)
        for unit in self.units():
            if not rel.has(unit.app) or unit.dying:
                continue
            rel.unit_bags[unit.name] = juju_keys(unit.address)
            rel.joined[unit.name] = []
        for unit in self.units():
            if unit.name not in rel.unit_bags:
                continue
            unit.queue.append(("relation_created", rel.id, None))
            for m, remote in rel.other(unit.app).units.items():
                if not remote.dying:
                    unit.queue.extend(
                        [("relation_joined", rel.id, m), ("relation_changed", rel.id, m)]
                    )
        self._maybe_settle(settle)
        return rel

    def add_unit(self, app: str, *, settle: bool = True) -> Unit:
        """``juju add-unit``: the unit starts if the application was deployed, then joins.

        It runs relation-created on each relation, then relation-joined and relation-changed
        for each remote unit; each remote unit runs relation-joined and relation-changed for it.
        """
        a = self.app(app)
        unit = self._topology.new_unit(a, self.juju_version)
        if a.deployed:
            self._start(unit)
        for rel in self.relations:
            if rel.peer or rel.dying or not rel.has(a):
                continue
            unit.queue.append(("relation_created", rel.id, None))
            for m, remote in rel.other(a).units.items():
                if remote.dying:
                    continue
                unit.queue.extend([("relation_joined", rel.id, m), ("relation_changed", rel.id, m)])
                remote.queue.append(("relation_joined", rel.id, unit.number))
                remote.queue.append(("relation_changed", rel.id, unit.number))
        self._maybe_settle(settle)
        return unit

    def remove_unit(self, name: str, *, settle: bool = True) -> None:
        """``juju remove-unit``: relation-broken on the unit, relation-departed on the others.

        The unit runs relation-broken on each of its relations, its remote units
        relation-departed, its peers ``<peer>-relation-departed``; it is gone once it has run
        its last queued hook.
        """
        unit = self.unit(name)
        unit.dying = True
        for rel in self.relations:
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
        self._topology.bury(unit)
        self._maybe_settle(settle)

    def set_leader(self, name: str, *, settle: bool = True) -> None:
        """Leadership moves to unit ``name``, which runs leader-elected."""
        unit = self.unit(name)
        unit.app.leader = unit.number
        unit.queue.append(("leader_elected", None, None))
        self._maybe_settle(settle)

    def config(
        self,
        app: str,
        values: Optional[Mapping[str, Any]] = None,
        *,
        settle: bool = True,
        **options: Any,
    ) -> None:
        """``juju config app key=value ...``: every unit runs config-changed."""
        a = self.app(app)
        a.options.update({**(values or {}), **options})
        for unit in a.units.values():
            if not unit.dying:
                unit.queue.append(("config_changed", None, None))
        self._maybe_settle(settle)

    def remove_relation(self, relation: RelationArg, *, settle: bool = True) -> None:
        """``juju remove-relation``: relation-departed for each remote unit, then -broken.

        Every unit runs relation-departed for each remote unit it sees, one by one, then
        relation-broken; what the units write meanwhile reaches nobody.
        """
        rel = relation if isinstance(relation, Integration) else self.relation(relation)
        if rel.peer:
            raise ModelError("a peer relation cannot be removed")
        rel.dying = True
        for unit in self.units():
            if rel.has(unit.app) and unit.name in rel.unit_bags:
                for m in rel.sees(unit):
                    unit.queue.append(("relation_departed", rel.id, m))
                unit.queue.append(("relation_broken", rel.id, None))
        self._maybe_settle(settle)

    # ---- running hooks --------------------------------------------------------------------

    def queue(
        self,
        unit: str,
        event: str,
        *,
        relation: Optional[RelationArg] = None,
        remote: Optional[str] = None,
    ) -> None:
        """Queue one hook on ``unit``, for :meth:`settle` to run (arguments as :meth:`run`)."""
        u = self.unit(unit)
        u.queue.append(self._hooks.hook(u, event, relation, remote))

    def run(
        self,
        unit: str,
        event: str,
        *,
        relation: Optional[RelationArg] = None,
        remote: Optional[str] = None,
        inspect: Optional[Inspect] = None,
    ) -> HookRun:
        """Run one hook on ``unit`` now; the hooks it causes are queued.

        Args:
            unit: the unit's name.
            event: the event as ``ctx.on`` names it (``update_status``, ``upgrade_charm``,
                ``relation_changed``, ...).
            relation: the relation (or its id) of a relation event.
            remote: the remote unit a relation event names (``postgresql/0``).
            inspect: called with the charm after the hook, instead of the application's.

        Raises:
            ModelError: the unit is not in that relation or does not see that remote unit.
        """
        u = self.unit(unit)
        done = self._run(u, self._hooks.hook(u, event, relation, remote), inspect)
        if done is None:
            raise ModelError(f"{unit} cannot run {event} now: it does not see that relation/unit")
        return done

    def run_action(
        self,
        unit: str,
        action: str,
        params: Optional[Mapping[str, Any]] = None,
        *,
        settle: bool = True,
        inspect: Optional[Inspect] = None,
    ) -> HookRun:
        """``juju run unit action key=value ...``: the action runs on ``unit`` now.

        The hooks it causes (relation-changed for the bags it wrote, secret-changed for a new
        revision of a secret it owns) are then run until quiet, unless ``settle=False``. A
        failed action (``event.fail``) is not an error here: :attr:`HookRun.action` says so,
        and what it wrote is kept, as in Juju. An exception in the charm propagates.

        Args:
            unit: the unit's name (actions run on one unit, often the leader).
            action: the action's name, as the charm's ``actions`` declare it.
            params: its parameters (the schema's defaults apply to the others).
            settle: run the hooks it caused.
            inspect: called with the charm after the action, instead of the application's.

        Returns:
            The run; its ``hook`` is ``<action>-action`` and its ``action`` the
            :class:`ActionOutcome` (results, logs, failure).

        Raises:
            ModelError: the charm declares no such action, or the unit is being removed.
        """
        u = self.unit(unit)
        given = action_params(u, action, params)
        done = self._run(u, action_hook(action), inspect, given)
        if done is None:  # pragma: no cover - an action without a relation is always runnable
            raise ModelError(f"{unit} cannot run {action} now")
        self._maybe_settle(settle)
        return done

    def settle(self, *, max_hooks: int = SETTLE_LIMIT) -> int:
        """Run the queued hooks, units taking turns, until none is left; how many ran.

        Raises:
            HookStormError: more than ``max_hooks`` hooks would run (or more than the model's own
                ``max_hooks`` in all).
        """
        return self._hooks.settle(self._run, max_hooks)

    def _maybe_settle(self, settle: bool) -> None:
        if settle:
            self.settle()

    def _run(
        self,
        unit: Unit,
        hook: Hook,
        inspect: Optional[Inspect] = None,
        params: Optional[Dict[str, Any]] = None,
    ) -> Optional[HookRun]:
        if not self._hooks.runnable(unit, hook):
            return None
        if self.max_hooks is not None and self.hooks >= self.max_hooks:
            raise HookStormError(f"more than {self.max_hooks} hooks: the units keep changing bags")
        self.hooks += 1
        event, rel_id, remote = hook
        rel = self.relation(rel_id) if rel_id is not None else None
        if rel is not None and not rel.peer:
            joined = rel.joined[unit.name]
            if event == "relation_joined" and remote not in joined and remote is not None:
                joined.append(remote)
            elif event in ("relation_departed", DEPARTED_SELF) and remote in joined:
                joined.remove(remote)
            elif event == "relation_broken":
                joined.clear()
        state = self._state(unit)
        ctx = unit.ctx
        ctx.emitted_events.clear()
        ctx.juju_log.clear()
        look = inspect or unit.app.inspect
        action = action_of(event)
        failure: Optional[str] = None
        departing = _departing_unit_is(unit.name) if event == DEPARTED_SELF else nullcontext()
        with departing, ctx(self._event(unit, state, hook, params), state) as manager:
            try:
                out = manager.run()
            except model_testing().ActionFailed as exc:
                # event.fail(): the hook ran to its end and what it wrote stands, as in Juju
                failure = str(getattr(exc, "message", exc))
                out = getattr(exc, "state", None)
                if out is None:  # pragma: no cover - ops.testing >= 2.17 gives the state
                    raise ModelError(
                        f"{unit.name}: action {action} failed ({failure}) and this ops.testing "
                        "does not give the state it left: upgrade ops[testing]"
                    ) from exc
            seen = self._inspect(unit, look, manager.charm)
        outcome = None if action is None else action_outcome(ctx, action, params, failure)
        events = [e.handle.kind for e in ctx.emitted_events]
        ctx.emitted_events.clear()
        unit.stored, unit.deferred = out.stored_states, out.deferred
        unit.status = out.unit_status
        unit.seen = seen
        unit.events.extend(events)
        broken = rel if event == "relation_broken" else None
        wrote = self._absorb(unit, out, broken)
        name = event.partition(" ")[0].replace("_", "-")
        if action is not None:
            name = f"{action}-action"  # the event ops emits: <action>_action
        remote_name: Optional[str] = None
        if rel is not None:
            name = f"{rel.endpoint(unit.app)}-{name}"
            if remote is not None:
                remote_name = f"{rel.other(unit.app).name}/{remote}"
        if broken is not None:
            broken.broken.add(unit.name)
            self._topology.forget(broken)
        done = HookRun(
            self.hooks,
            unit.name,
            name,
            remote_name,
            events,
            [d.handle_path for d in out.deferred],
            wrote,
            out.unit_status,
            seen,
            [line.message for line in ctx.juju_log],
            outcome,
        )
        if self.on_hook is not None:
            self.on_hook(done)
        self._topology.bury(unit)
        return done

    @staticmethod
    def _inspect(unit: Unit, look: Optional[Inspect], charm: Any) -> Any:
        """Call ``look`` with the charm as the hook left it, under the hook's Juju version.

        ops.testing has restored the environment by then; what reads ``JUJU_VERSION`` (ops'
        ``JujuVersion.from_environ``, which data_interfaces asks whether secrets exist) would
        otherwise see Juju 0.0.0.
        """
        if look is None:
            return None
        saved = os.environ.get(_JUJU_VERSION)
        os.environ[_JUJU_VERSION] = str(unit.ctx.juju_version)
        try:
            return look(charm)
        finally:
            if saved is None:
                del os.environ[_JUJU_VERSION]
            else:
                os.environ[_JUJU_VERSION] = saved

    def _state(self, unit: Unit) -> Any:
        testing = model_testing()
        app = unit.app
        relations: List[Any] = []
        for rel in self._topology.relations_of(unit):
            endpoint = rel.endpoint(app)
            other = rel.other(app)
            remote = {m: dict(rel.unit_bags[f"{other.name}/{m}"]) for m in rel.sees(unit)}
            common: Dict[str, Any] = {
                "interface": app.endpoints.get(endpoint),
                "id": rel.id,
                "local_app_data": dict(rel.app_bags[app.name]),
                "local_unit_data": dict(rel.unit_bags[unit.name]),
            }
            if rel.peer:
                relations.append(testing.PeerRelation(endpoint, **common, peers_data=remote))
            else:
                relations.append(
                    testing.Relation(
                        endpoint,
                        **common,
                        remote_app_name=other.name,
                        remote_app_data=dict(rel.app_bags[other.name]),
                        remote_units_data=remote,
                    )
                )
        extra: Dict[str, Any] = {}
        if unit.status is not None:
            extra["unit_status"] = unit.status
        secrets = self._secrets.state_of(unit)
        if secrets:
            extra["secrets"] = secrets
        return testing.State(
            **extra,
            leader=unit.is_leader,
            config=dict(app.options),
            relations=relations,
            stored_states=unit.stored,
            deferred=unit.deferred,
        )

    @staticmethod
    def _event(unit: Unit, state: Any, hook: Hook, params: Optional[Dict[str, Any]]) -> Any:
        event, rel_id, remote = hook
        on = unit.ctx.on
        action = action_of(event)
        if action is not None:
            return on.action(action, params=dict(params or {}))
        secret_id = changed_secret(event)
        if secret_id is not None:
            return on.secret_changed(state.get_secret(id=secret_id))
        if rel_id is None:
            return getattr(on, event)()
        rel = state.get_relation(rel_id)
        if event in ("relation_created", "relation_broken"):
            return getattr(on, event)(rel)
        if event == "relation_departed":
            return on.relation_departed(rel, remote_unit=remote, departing_unit=remote)
        if event == DEPARTED_SELF:
            return on.relation_departed(rel, remote_unit=remote)
        return getattr(on, event)(rel, remote_unit=remote)

    def _absorb(
        self, unit: Unit, out: Any, broken: Optional[Integration]
    ) -> Dict[str, Dict[str, Optional[str]]]:
        """Take what the unit wrote; queue the hooks Juju would run because of it."""
        app = unit.app
        self._secrets.absorb(unit, out, self.juju_version)
        wrote: Dict[str, Dict[str, Optional[str]]] = {}
        for rel in self._topology.relations_of(unit):
            if rel is broken:
                continue  # the unit has left it
            endpoint = rel.endpoint(app)
            r_out = out.get_relation(rel.id)
            new_unit, new_app = dict(r_out.local_unit_data), dict(r_out.local_app_data)
            changed = False
            if new_unit != rel.unit_bags[unit.name]:
                wrote[f"{endpoint} {unit.name}"] = _diff(rel.unit_bags[unit.name], new_unit)
                rel.unit_bags[unit.name], changed = new_unit, True
            if new_app != rel.app_bags[app.name]:
                if not unit.is_leader:
                    raise ModelError(f"{unit.name} wrote its application bag without leadership")
                wrote[f"{endpoint} {app.name} (app)"] = _diff(rel.app_bags[app.name], new_app)
                rel.app_bags[app.name], changed = new_app, True
            if not changed or rel.dying:
                continue
            for remote in rel.other(app).units.values():
                if remote is not unit and unit.number in rel.sees(remote):
                    hook: Hook = ("relation_changed", rel.id, unit.number)
                    if hook not in remote.queue:  # Juju runs one relation-changed for both
                        remote.queue.append(hook)
        return wrote

    def __repr__(self) -> str:
        return f"<Model {' '.join(self.apps)}: {len(self.relations)} relations>"


@contextlib.contextmanager
def _departing_unit_is(name: str) -> Generator[None, None, None]:
    """Run one Scenario event with ``JUJU_DEPARTING_UNIT`` naming ``name``, the unit itself.

    Scenario always names a remote unit as the departing one; Juju tells a unit being removed
    that it is itself departing, and charms (providers above all) act on that.
    """
    try:
        runtime: Any = importlib.import_module("scenario._runtime").Runtime
    except ImportError:  # ops-scenario 7 (ops 2.17 to 2.19)
        runtime = importlib.import_module("scenario.runtime").Runtime
    original = runtime._get_event_env

    def env(self: Any, *args: Any, **kwargs: Any) -> Dict[str, str]:
        out: Dict[str, str] = dict(original(self, *args, **kwargs))
        out["JUJU_DEPARTING_UNIT"] = name
        return out

    runtime._get_event_env = env
    try:
        yield
    finally:
        runtime._get_event_env = original
