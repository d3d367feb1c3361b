"""Charms and relation helpers for the ``pgsql`` client tests under Scenario and Harness.

Shared by the ``test_client_*_pgsql`` modules and :mod:`test_client_declared_requests`; the
1.x seed charm and the server bags are in :mod:`test_client_support`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

import ops
import ops.charm
import ops.framework
from needs import requires_scenario
from test_client_support import EGRESS0, EGRESS1, MASTER, server_bag

import pgsql

SERVER_APP = "postgresql-k8s"


class PgsqlRecorder(ops.charm.CharmBase):
    """Records every client event with what the event said, the 1.x way (setters in joined)."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.seen: List[str] = []
        for bound in self.db.on.events().values():
            framework.observe(bound, self._record)

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        self.seen.append(type(event).__name__)
        if isinstance(event, pgsql.DatabaseRelationJoinedEvent) and self.unit.is_leader():
            event.database = "mydbname"


META_PGSQL: Dict[str, Any] = {"name": "myapp", "requires": {"db": {"interface": "pgsql"}}}


def bag_for(database: str, units: Any = (0, 1)) -> Dict[str, str]:
    egress = {0: EGRESS0, 1: EGRESS1}
    return server_bag(
        database,
        master=MASTER.replace("mydbname", database),
        granted={f"myapp/{u}": egress[u] for u in units},
        extensions=(),
    )


def db_relation(
    unit: int, units: Dict[int, Dict[str, str]], local_app: Optional[Dict[str, str]] = None
) -> Any:
    testing = requires_scenario()
    return testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name="postgresql",
        id=4,
        local_unit_data=dict(EGRESS0 if unit == 0 else EGRESS1),
        local_app_data=dict(local_app or {}),
        remote_units_data=units,
    )


def with_db_relation(state: Any, **changes: Any) -> Any:
    rel = dataclasses.replace(state.get_relation(4), **changes)
    return dataclasses.replace(state, relations={rel})


def stored_content(state: Any, suffix: str) -> Dict[str, Any]:
    for s in state.stored_states:
        if f"{s.owner_path}/{s.name}".endswith(suffix):
            return dict(s.content)
    raise AssertionError(f"no stored state {suffix}")


META_PGSQL_PEERS: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"db": {"interface": "pgsql"}},
    "peers": {"peers": {"interface": "myapp-peers"}},
}
CLIENT_ADDRESSES = {
    "egress-subnets": "10.0.0.10/32",
    "ingress-address": "10.0.0.10",
    "private-address": "10.0.0.10",
}


class LeaderRequestsFirst(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.db.on.database_relation_joined, self._on_joined)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "first"


def server_answer(database: str) -> Dict[str, str]:
    return {
        "allowed-subnets": "10.0.0.10/32,10.0.0.11/32",
        "database": database,
        "master": f"dbname={database} host=10.0.1.0 user=u password=pw",
    }


class ConfigSetter(ops.charm.CharmBase):
    """1.x-style charm that follows its config with the 2.x setter."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.told: Any = None
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        framework.observe(self.db.on.master_changed, self._on_master_changed)
        framework.observe(self.on.config_changed, self._on_config_changed)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        event.database = str(self.config["database"])

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        self.told = event.master

    def _on_config_changed(self, event: ops.charm.ConfigChangedEvent) -> None:
        for relation in self.model.relations["db"]:
            self.db.set_request(relation, database=str(self.config["database"]))


def served_relation(testing: Any, database: str, **kw: Any) -> Any:
    """The ``db`` relation (id 5) to ``postgresql``, whose unit 0 serves ``database``.

    ``kw`` overrides any field (by default this unit's addresses, nothing in the app bags).
    """
    kw.setdefault("local_unit_data", dict(CLIENT_ADDRESSES))
    kw.setdefault("remote_units_data", {0: server_answer(database)})
    return testing.Relation("db", interface="pgsql", remote_app_name="postgresql", id=5, **kw)
