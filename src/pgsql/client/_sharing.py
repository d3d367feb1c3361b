"""Request sharing: how non-leaders learn what the leader requested, and how it is told.

Juju lets only the leader write the application databag, and a non-leader cannot read its own
application's bag. So the leader keeps a copy for the other units: in the charm's peer relation
(application bag, key ``pgsql-<endpoint>``, a JSON table by relation id), else in 1.x leadership
settings (``interface.pgsql``, only where the ``leader-get`` tool exists: Juju 2.9 and 3.x).
Declared requests need no copy: every unit computes the same one.
"""

from __future__ import annotations

import json
import shutil
from typing import Any, Callable, Dict, List, Optional, cast

import ops.model
from ops.model import Relation

from ..protocol import Request
from ._compat import legacy
from ._records import Bag, leader_entry, plain, shared_form


def _peer_table(raw: str) -> Dict[str, object]:
    """The peer bag's shared requests by relation id; {} when absent or not a JSON object."""
    try:
        shared: object = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return dict(cast("Dict[str, object]", shared)) if isinstance(shared, dict) else {}


class RequestSharing:
    """The leader's copy of the request for the other units, and how they read it.

    Args:
        model: the charm's model.
        state: the client's stored state (``was_leader``, ``peer_raw``, ``shared``).
        relation_name: the client's endpoint.
        peer_name: the peer endpoint used for sharing, or None.
    """

    def __init__(
        self,
        model: ops.model.Model,
        state: Any,
        relation_name: str,
        peer_name: Optional[str],
        relations: Optional[Callable[[], List[Relation]]] = None,
        own_request: Optional[Callable[[Relation], Request]] = None,
    ):
        self.model = model
        self._state = state
        self.relation_name = relation_name
        self.peer_name = peer_name
        self._relations = relations or (lambda: list(self.model.relations[relation_name]))
        # what the leader's application bag requests (each interface spells it its own way)
        self._own_request: Callable[[Relation], Request] = own_request or self._app_request

    def _app_request(self, relation: Relation) -> Request:
        return Request.from_databag(relation.data[self.model.app])

    def learn(self, relation: Relation) -> Optional[Bag]:
        """Find out what the application requested (see the module docstring for the order)."""
        if self.model.unit.is_leader():
            self._state.was_leader = True
            return self._own_request(relation).databag()
        peer = self.peer_relation()
        if peer is not None:
            entry = _peer_table(peer.data[self.model.app].get(self.key, "")).get(str(relation.id))
            if isinstance(entry, dict):
                return Request.from_databag(cast("Bag", entry)).databag()
        entry = leader_entry(legacy("_get_pgsql_leader_data")(), relation.id)
        if entry is not None:
            return Request.from_databag(entry).databag()
        return None

    @property
    def key(self) -> str:
        """The peer application-bag key holding the shared requests."""
        return f"pgsql-{self.relation_name}"

    def peer_relation(self) -> Optional[Relation]:
        """The peer relation the requests are shared in, if the charm has one."""
        if not self.peer_name:
            return None
        return self.model.get_relation(self.peer_name)

    def share(self, relid: int, request: Request, *, declared: bool) -> None:
        """The leader's copy of the request for non-leaders (peer relation, else leadership)."""
        if declared or legacy("_legacy_sharing")():
            return  # declared: every unit knows; legacy: the setters shared it the 1.x way
        peer = self.peer_relation()
        if peer is not None:
            bag = peer.data[self.model.app]
            raw = bag.get(self.key, "")
            table = _peer_table(raw)
            if not request and str(relid) not in table:
                return  # nothing requested, nothing shared yet: nothing to tell
            table[str(relid)] = request.databag()
            live = {str(r.id) for r in self._relations()}
            table = {k: v for k, v in table.items() if k in live or k == str(relid)}
            new = json.dumps(table, sort_keys=True, separators=(",", ":"))
            if new != raw:
                bag[self.key] = new
            # what this unit last saw in the peer bag is what it wrote (no stale A-B-A later)
            self._state.peer_raw = new
            return
        if shutil.which("leader-set") is None:
            return
        stored = plain(self._state.shared)
        mine: Dict[int, Dict[str, str]] = (
            {int(k): v for k, v in cast("Dict[Any, Dict[str, str]]", stored).items()}
            if isinstance(stored, dict)
            else {}
        )
        if mine.get(relid) == shared_form(request) or (
            isinstance(stored, dict) and not request and relid not in mine
        ):
            return  # what this client last wrote there already says so
        # The key is shared by every pgsql endpoint of the charm (1.x wrote it that way): read
        # it, change this relation's entry only, write it back.
        current = cast("Dict[Any, Dict[str, str]]", legacy("_get_pgsql_leader_data")())
        leadership: Dict[int, Dict[str, str]] = {}
        for key, entry in current.items():
            try:
                leadership[int(key)] = dict(entry)
            except (TypeError, ValueError):
                continue  # not a relation id: 1.x never wrote one
        if leadership.get(relid) != shared_form(request) and (request or relid in leadership):
            leadership[relid] = shared_form(request)
            legacy("_set_pgsql_leader_data")(leadership)
        mine[relid] = shared_form(request)
        self._state.shared = {str(k): v for k, v in mine.items()}
