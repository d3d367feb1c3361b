"""``pgsql`` client charms and the relation helper for the Harness tests (ops 2.0 and newer).

Harness keeps one charm instance for a whole test, as charms' own 1.x-era tests do; the seed
charm, the server bags and ``harness_for`` are in :mod:`test_client_support`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import ops.charm
import ops.framework
from ops.testing import Harness
from test_client_support import EGRESS0

import pgsql
from pgsql import protocol


class Recorder(ops.charm.CharmBase):
    """Records every client event with what the event says when it runs."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.seen: List[str] = []
        self.masters: List[Optional[str]] = []
        self.db = pgsql.PostgreSQLClient(self, "db", **self.request_kwargs())
        for name in (*protocol.EVENT_NAMES, "database_relation_joined", "database_relation_broken"):
            framework.observe(getattr(self.db.on, name), self._record)

    def request_kwargs(self) -> Dict[str, Any]:
        return {}

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        name = type(event).__name__
        self.seen.append(name)
        if name == "MasterChangedEvent":
            self.masters.append(None if event.master is None else event.master.host)


class Declared(Recorder):
    """Declarative: the request comes from config, on every unit."""

    def request_kwargs(self) -> Dict[str, Any]:
        return {"database": str(self.config["database"]), "extensions": ["citext"]}


class DeclaredFromConfig(Recorder):
    """Declarative, re-declared from config-changed (Harness keeps one charm instance)."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on.config_changed, self._on_config_changed)

    def request_kwargs(self) -> Dict[str, Any]:
        return {"database": str(self.config["database"]), "extensions": ["citext"]}

    def _on_config_changed(self, _: ops.charm.ConfigChangedEvent) -> None:
        self.db.request(database=str(self.config["database"]), extensions=["citext"])


class LeaderSets(Recorder):
    """The 1.x way: the leader requests from database_relation_joined."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.db.on.database_relation_joined, self._on_joined)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "mydb"
            event.extensions = ["citext"]


def relate(harness: Harness[Any], egress: Dict[str, str] = EGRESS0) -> int:
    """Relate ``db`` to a ``postgresql`` app with one unit; the local unit's bag says ``egress``."""
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, harness.charm.unit.name, egress)
    harness.add_relation_unit(rel_id, "postgresql/0")
    return rel_id
