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

from typing import (
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
)

from ._actions import ActionOutcome, action_hook, action_params
from ._hooks import (
    SETTLE_LIMIT,
    HookQueue,
    HookRun,
    HookStormError,
)
from ._run import HookRunner
from ._secrets import SecretRecord, Secrets
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
    read_meta,
)

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
        self._runner = HookRunner(self._topology, self._secrets)
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
            self._topology.integrate((app, peer), (app, peer), None)
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
                self._hooks.start(unit)
        self._maybe_settle(settle)

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
        rel = self._topology.integrate((a, ea), (b, eb), relation_id)
        self._hooks.related(rel)
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
            self._hooks.start(unit)
        self._hooks.joined(unit)
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
        self._hooks.leaving(unit)
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
        self._hooks.removed(rel)
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
        """Run ``hook`` on ``unit`` now, counted; None when it no longer makes sense."""
        if not self._hooks.runnable(unit, hook):
            return None
        if self.max_hooks is not None and self.hooks >= self.max_hooks:
            raise HookStormError(f"more than {self.max_hooks} hooks: the units keep changing bags")
        self.hooks += 1
        done = self._runner.run(unit, hook, self.hooks, inspect, params, self.juju_version)
        if self.on_hook is not None:
            self.on_hook(done)
        self._topology.bury(unit)
        return done

    def __repr__(self) -> str:
        return f"<Model {' '.join(self.apps)}: {len(self.relations)} relations>"
