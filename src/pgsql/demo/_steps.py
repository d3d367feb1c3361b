"""The walk-through: each hook :class:`pgsql.testing.Model` runs, as a step (passwords masked)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .. import protocol
from .._passwords import passwords_in
from ..connstr import mask_value
from ._common import MASK, SERVER_APP
from ._output import Printer, mask_bag, masked_values, readiness_json

_CLIENT_EVENTS = frozenset({*protocol.EVENT_NAMES, "database_relation_joined"})
_SERVER_EVENTS = frozenset({"request_changed", "relation_broken"})


def _status_text(status: Any) -> str:
    return status.name + (f": {status.message}" if status.message else "")


def _library_events(run: Any) -> List[str]:
    """The events the libraries emitted in the hook: all but the hook's own (Juju's) event.

    On an endpoint named ``database``, Juju's ``database_relation_joined`` has the name of
    the 1.x event :class:`pgsql.PostgreSQLClient` emits in that hook: one is the hook, one the
    library's, and only the library's is worth showing.
    """
    events: List[str] = list(run.events)
    own = run.hook.replace("-", "_")
    if own in events:
        events.remove(own)  # emitted first: the dispatched event
    return events


class Steps:
    """Turns every hook the model runs into a step of the walk-through, as it runs."""

    def __init__(self, printer: Printer) -> None:
        self.printer = printer
        self.model: Any = None  # the pgsql.testing.Model, once made: its secrets are scrubbed
        self.phase = ""
        self.interface = ""
        self.status: Dict[str, str] = {}  # by unit: the status its last hook left
        self.readiness: Dict[str, protocol.Readiness] = {}  # by client unit: its last verdict

    def learn_secrets(self) -> None:
        """Tell the scrubber every password in every revision of every secret of the model."""
        if self.model is None:
            return
        for record in self.model.secrets.values():
            for content in record.revisions:
                self.printer.secrets |= passwords_in(content)

    def __call__(self, run: Any) -> None:
        # before anything of this hook is printed: the passwords it may have brought
        self.learn_secrets()
        server = run.unit.startswith(f"{SERVER_APP}/")
        names = _SERVER_EVENTS if server else _CLIENT_EVENTS
        wrote: Dict[str, Dict[str, Optional[str]]] = run.wrote
        for changes in wrote.values():
            written = {k: v for k, v in changes.items() if v is not None}
            self.printer.secrets |= passwords_in(written)
        step: Dict[str, Any] = {
            "n": run.n,
            "interface": self.interface,
            "phase": self.phase,
            "unit": run.unit,
            "hook": run.hook,
            "remote_unit": run.remote_unit,
            "events": [e for e in _library_events(run) if e in names],
            "deferred": [path.rpartition("/")[2] for path in run.deferred],
            "wrote": {
                bag: {k: (mask_bag({k: v})[k] if v is not None else None) for k, v in c.items()}
                for bag, c in wrote.items()
            },
        }
        action = getattr(run, "action", None)
        if action is not None:
            step["action"] = {
                "name": action.name,
                "params": masked_values(action.params),
                "results": masked_values(action.results),
                "failure": None if action.failure is None else mask_value(action.failure, MASK),
            }
        status = _status_text(run.status)
        if status != self.status.get(run.unit, "unknown"):
            step["status"] = status
        self.status[run.unit] = status
        if run.seen is not None:
            self.readiness[run.unit] = run.seen
            step["readiness"] = readiness_json(run.seen)
        self.printer.step(step)
