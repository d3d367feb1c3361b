"""Actions (``juju run unit action key=value``) as :meth:`Model.run_action` runs them.

What the charm declares, the parameters it is given (the schema's defaults filled in, as Juju
does and ops.testing does not), and what it reported (:class:`ActionOutcome`). The run itself
is one hook like any other (``_run.py``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ._topology import Hook, ModelError, Unit, charm_spec

__all__ = ["ActionOutcome", "action_hook", "action_of", "action_outcome", "action_params"]

_ACTION = "action"  # an action run by run_action: "action <name>" (never queued)


class ActionOutcome:
    """What an action run by :meth:`Model.run_action` reported, as ``juju run`` shows it.

    Attributes:
        name: the action's name (``rotate-password``).
        params: the parameters the charm was given: those passed, and the schema's defaults
            for the others.
        results: what it set with ``event.set_results`` (``{}`` when nothing).
        logs: the messages it gave ``event.log``.
        failure: the message it gave ``event.fail``; None when it did not fail.
    """

    def __init__(
        self,
        name: str,
        params: Dict[str, Any],
        results: Dict[str, Any],
        logs: List[str],
        failure: Optional[str],
    ) -> None:
        self.name = name
        self.params = params
        self.results = results
        self.logs = logs
        self.failure = failure

    @property
    def ok(self) -> bool:
        """Whether the action completed (``juju run`` says ``completed``, not ``failed``)."""
        return self.failure is None

    def __repr__(self) -> str:
        # parameters and results are the charm's: they are not shown
        return f"<ActionOutcome {self.name}: {'completed' if self.ok else 'failed'}>"


def action_hook(action: str) -> Hook:
    """The hook that runs ``action`` (never queued: :meth:`Model.run_action` runs it now)."""
    return (f"{_ACTION} {action}", None, None)


def action_of(event: str) -> Optional[str]:
    """The action an ``action <name>`` event runs; None for a hook."""
    return event.partition(" ")[2] if event.startswith(_ACTION + " ") else None


def action_params(unit: Unit, action: str, params: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The parameters ``action`` runs with on ``unit``: ``params``, and the schema's defaults.

    Raises:
        ModelError: the charm declares no such action, or the unit is being removed.
    """
    declared = declared_actions(unit)
    if action not in declared:
        known = ", ".join(sorted(declared)) or "none"
        raise ModelError(f"{unit.app.name} has no action {action!r} (its actions: {known})")
    if unit.dying:
        raise ModelError(f"{unit.name} is being removed: it runs no action")
    # Juju fills in the schema's defaults (ops.testing does not): the charm sees them
    schema: Dict[str, Any] = dict(declared[action] or {})
    given: Dict[str, Any] = {
        name: spec["default"]
        for name, spec in dict(schema.get("params") or {}).items()
        if isinstance(spec, dict) and "default" in spec
    }
    given.update(params or {})
    return given


def action_outcome(
    ctx: Any, action: str, params: Optional[Dict[str, Any]], failure: Optional[str]
) -> ActionOutcome:
    """What ``action`` reported in the unit's Context ``ctx`` (``failure``: its ``event.fail``)."""
    return ActionOutcome(
        action,
        dict(params or {}),
        dict(ctx.action_results or {}),
        list(ctx.action_logs),
        failure,
    )


def declared_actions(unit: Unit) -> Dict[str, Any]:
    """The actions the unit's charm declares (given to :meth:`add_app`, or its own)."""
    given = unit.app.context.get("actions")
    if given is not None:
        return dict(given)
    actions: Optional[Dict[str, Any]] = getattr(charm_spec(unit.ctx), "actions", None)
    return dict(actions or {})
