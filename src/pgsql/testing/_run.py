"""One hook on one unit: the State it starts from in, what it wrote and emitted out.

:class:`HookRunner` builds the unit's ``ops.testing.State`` from the model (its relations as
it sees them, the secrets it can read, what Juju kept for it), runs the event with the unit's
own Context, and takes back what the hook wrote: the bags (queuing relation-changed where Juju
would), the secrets, StoredState, deferred events and status. Which hooks run, and when, is the
queue's (``_hooks.py``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from contextlib import nullcontext
from typing import Any, Dict, Generator, List, Mapping, Optional, Tuple

from ._actions import action_of, action_outcome
from ._hooks import DEPARTED_SELF, HookRun
from ._secrets import Secrets, changed_secret
from ._topology import Hook, Inspect, Integration, ModelError, Topology, Unit, model_testing

__all__ = ["HookRunner"]

_JUJU_VERSION = "JUJU_VERSION"


def _diff(old: Mapping[str, str], new: Mapping[str, str]) -> Dict[str, Optional[str]]:
    keys = sorted(set(old) | set(new))
    return {k: new.get(k) for k in keys if old.get(k) != new.get(k)}


class HookRunner:
    """Runs one hook on one unit against the model's topology and secrets."""

    def __init__(self, topology: Topology, secrets: Secrets) -> None:
        self._topology = topology
        self._secrets = secrets

    def run(
        self,
        unit: Unit,
        hook: Hook,
        n: int,
        inspect: Optional[Inspect],
        params: Optional[Dict[str, Any]],
        juju_version: Optional[str],
    ) -> HookRun:
        """Run ``hook`` on ``unit`` now (the model's hook number ``n``), and take what it did.

        Args:
            unit: the unit.
            hook: the hook, runnable (see ``HookQueue.runnable``).
            n: its number in the model.
            inspect: called with the charm after the hook (else the application's).
            params: an action's parameters.
            juju_version: the model's Juju version (a secret created before 3.0 is refused).

        Raises:
            ModelError: the charm did what Juju would refuse.
        """
        event, rel_id, remote = hook
        rel = self._topology.relation(rel_id) if rel_id is not None else None
        if rel is not None and not rel.peer:
            _track_joined(rel.joined[unit.name], event, remote)
        state = self.state(unit)
        ctx = unit.ctx
        action = action_of(event)
        out, seen, failure = self._execute(unit, state, hook, params, inspect or unit.app.inspect)
        outcome = None if action is None else action_outcome(ctx, action, params, failure)
        events = [e.handle.kind for e in ctx.emitted_events]
        ctx.emitted_events.clear()
        unit.stored, unit.deferred = out.stored_states, out.deferred
        unit.status = out.unit_status
        unit.seen = seen
        unit.events.extend(events)
        broken = rel if event == "relation_broken" else None
        wrote = self._absorb(unit, out, broken, juju_version)
        name, remote_name = _names(unit, rel, event, remote, action)
        if broken is not None:
            broken.broken.add(unit.name)
            self._topology.forget(broken)
        return HookRun(
            n,
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

    @staticmethod
    def _execute(
        unit: Unit,
        state: Any,
        hook: Hook,
        params: Optional[Dict[str, Any]],
        look: Optional[Inspect],
    ) -> Tuple[Any, Any, Optional[str]]:
        """Run the event in the unit's Context: the State out, what ``look`` saw, the failure.

        The failure is what an action gave ``event.fail`` (None when it did not fail).
        """
        event = hook[0]
        ctx = unit.ctx
        ctx.emitted_events.clear()
        ctx.juju_log.clear()
        failure: Optional[str] = None
        departing = _departing_unit_is(unit.name) if event == DEPARTED_SELF else nullcontext()
        with departing, ctx(_event(unit, state, hook, params), state) as manager:
            try:
                out = manager.run()
            except model_testing().ActionFailed as exc:
                # event.fail(): the hook ran to its end and what it wrote stands, as in Juju
                failure = str(getattr(exc, "message", exc))
                out = getattr(exc, "state", None)
                if out is None:  # pragma: no cover - ops.testing >= 2.17 gives the state
                    raise ModelError(
                        f"{unit.name}: action {action_of(event)} failed ({failure}) and this "
                        "ops.testing does not give the state it left: upgrade ops[testing]"
                    ) from exc
            seen = _inspect(unit, look, manager.charm)
        return out, seen, failure

    def state(self, unit: Unit) -> Any:
        """The ``ops.testing.State`` the unit's next hook starts from: bags, secrets, status."""
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

    def _absorb(
        self, unit: Unit, out: Any, broken: Optional[Integration], juju_version: Optional[str]
    ) -> Dict[str, Dict[str, Optional[str]]]:
        """Take what the unit wrote; queue the hooks Juju would run because of it."""
        app = unit.app
        self._secrets.absorb(unit, out, juju_version)
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


def _track_joined(joined: List[int], event: str, remote: Optional[int]) -> None:
    """Keep which remote units a unit has seen join (``Integration.joined``) after ``event``."""
    if event == "relation_joined" and remote not in joined and remote is not None:
        joined.append(remote)
    elif event in ("relation_departed", DEPARTED_SELF) and remote in joined:
        joined.remove(remote)
    elif event == "relation_broken":
        joined.clear()


def _names(
    unit: Unit,
    rel: Optional[Integration],
    event: str,
    remote: Optional[int],
    action: Optional[str],
) -> Tuple[str, Optional[str]]:
    """Juju's name of the hook (``db-relation-changed``) and of the remote unit it names."""
    name = event.partition(" ")[0].replace("_", "-")
    if action is not None:
        name = f"{action}-action"  # the event ops emits: <action>_action
    remote_name: Optional[str] = None
    if rel is not None:
        name = f"{rel.endpoint(unit.app)}-{name}"
        if remote is not None:
            remote_name = f"{rel.other(unit.app).name}/{remote}"
    return name, remote_name


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
