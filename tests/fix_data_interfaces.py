"""Charms for the interop tests: data_interfaces v0 on one side, this library on the other.

data_interfaces (``charms.data_platform_libs.v0``, LIBPATCH 58) is the one that PyPI's
``postgresql-charms-single-kernel`` ships; it is imported from there, not copied. It needs
Python >= 3.10 (``X | Y`` in annotations evaluated at import time): the test module skips on
older Pythons before importing this one.

- :class:`DIProvider`: a PostgreSQL charm's ``database`` endpoint written with data_interfaces'
  ``DatabaseProvides`` the way canonical/postgresql-operator (16/edge,
  ``src/relations/postgresql_provider.py``) uses it: on ``database_requested`` the leader sets
  the credentials, the version and the database, then the endpoints (read-write, read-only),
  TLS, the CA and the URIs; a change of topology or password (config) updates every relation.
- :class:`DIRequirer`: an application charm written with data_interfaces' ``DatabaseRequires``.
- :class:`OurClient`: ``pgsql.PostgreSQLClient`` on a ``postgresql_client`` endpoint.
- :class:`OurProvider`: ``pgsql.DatabaseProvider``, answering with what its config says.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import ops
import ops.charm
import ops.framework
from single_kernel_postgresql.lib.charms.data_platform_libs.v0 import (  # pyright: ignore[reportMissingTypeStubs]
    data_interfaces as di,
)

import pgsql

DATABASE = "mydb"
PORT = 5432
PASSWORD = "Fr3sh-Pa55word-one"
NEW_PASSWORD = "r0tated-Pa55word-two"
VERSION = "16.6"

PROVIDER_META: Dict[str, Any] = {
    "name": "postgresql",
    "provides": {"database": {"interface": "postgresql_client"}},
}
REQUIRER_META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client", "limit": 1}},
}
# what the provider charm is told by its operator: the password it hands out and the topology
PROVIDER_CONFIG: Dict[str, Any] = {
    "options": {
        "password": {"type": "string", "default": PASSWORD},
        "primary": {"type": "string", "default": "10.0.0.5"},
        "replicas": {"type": "string", "default": "10.0.0.6,10.0.0.7"},
    }
}


def _hosts(value: str) -> List[str]:
    return [h for h in value.split(",") if h]


class DIProvider(ops.charm.CharmBase):
    """data_interfaces' DatabaseProvides, used as postgresql-operator 16/edge uses it."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.provides = di.DatabaseProvides(self, relation_name="database")
        framework.observe(self.provides.on.database_requested, self._on_database_requested)
        framework.observe(self.on.config_changed, self._on_config_changed)

    def _on_database_requested(self, event: di.DatabaseRequestedEvent) -> None:
        if not self.unit.is_leader():
            return
        rel_id = event.relation.id
        self.provides.set_credentials(rel_id, f"relation-{rel_id}", str(self.config["password"]))
        self.provides.set_version(rel_id, VERSION)
        self.provides.set_database(rel_id, event.database or "")
        self._update_endpoints([rel_id])

    def _on_config_changed(self, _: ops.charm.ConfigChangedEvent) -> None:
        if not self.unit.is_leader():
            return
        # a new password (the operator rotated it) goes to every relation that has a user
        answered = self.provides.fetch_my_relation_data(None, ["username"]) or {}
        for rel_id, data in answered.items():
            if data.get("username"):
                self.provides.set_credentials(
                    rel_id, data["username"], str(self.config["password"])
                )
        self._update_endpoints(None)

    def _update_endpoints(self, rel_ids: Optional[List[int]]) -> None:
        """As PostgreSQLProvider.update_endpoints: endpoints, TLS and URIs of each relation."""
        requests = self.provides.fetch_relation_data(rel_ids, ["database"])
        creds = self.provides.fetch_my_relation_data(rel_ids, ["username", "password"]) or {}
        primary = str(self.config["primary"])
        replicas = _hosts(str(self.config["replicas"])) or [primary]
        rw = f"{primary}:{PORT}"
        ro = ",".join(f"{h}:{PORT}" for h in replicas)
        for rel_id, request in requests.items():
            database = request.get("database")
            user = creds.get(rel_id, {}).get("username")
            password = creds.get(rel_id, {}).get("password")
            if not database or not password:
                continue
            self.provides.set_endpoints(rel_id, rw)
            self.provides.set_read_only_endpoints(rel_id, ro)
            self.provides.set_tls(rel_id, "False")
            self.provides.set_tls_ca(rel_id, "")
            self.provides.set_uris(rel_id, f"postgresql://{user}:{password}@{rw}/{database}")
            wanted = self.provides.fetch_relation_field(rel_id, "requested-secrets") or ""
            if "read-only-uris" in wanted:
                self.provides.set_read_only_uris(
                    rel_id,
                    f"postgresql://{user}:{password}@{','.join(replicas)}:{PORT}/{database}",
                )


class DIRequirer(ops.charm.CharmBase):
    """data_interfaces' DatabaseRequires asking for ``mydb``; records the events it emits."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.database = di.DatabaseRequires(self, "database", database_name=DATABASE)
        for event in (
            self.database.on.database_created,
            self.database.on.endpoints_changed,
            self.database.on.read_only_endpoints_changed,
        ):
            framework.observe(event, self._noop)

    def _noop(self, event: ops.framework.EventBase) -> None:
        pass


def di_view(charm: DIRequirer) -> Dict[int, Dict[str, str]]:
    """What the data_interfaces requirer reads: every field, secrets resolved, by relation."""
    return {k: dict(v) for k, v in charm.database.fetch_relation_data().items()}


class OurClient(ops.charm.CharmBase):
    """This library's client on the ``postgresql_client`` endpoint ``database``, asking for mydb."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database=DATABASE)
        for name in ("master_changed", "standby_changed", "master_available", "master_gone"):
            framework.observe(getattr(self.db.on, name), self._noop)

    def _noop(self, event: ops.framework.EventBase) -> None:
        pass


def client_view(charm: OurClient) -> Dict[str, Any]:
    """What our client makes of the relation: ready or why not, the master and standbys."""
    r = charm.db.readiness()
    if r is None:
        return {"ready": False, "why": "no relation"}
    return {
        "ready": r.ready,
        "why": r.why,
        "master": r.master,
        "standbys": list(r.standbys),
    }


class OurProvider(ops.charm.CharmBase):
    """This library's DatabaseProvider answering every request; config rotates the password."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.database = pgsql.DatabaseProvider(self, "database")
        framework.observe(self.database.on.request_changed, self._on_request_changed)
        framework.observe(self.on.config_changed, self._publish_all)

    def _on_request_changed(self, event: pgsql.DatabaseRequestChangedEvent) -> None:
        self._publish(event.relation)

    def _publish_all(self, _: ops.framework.EventBase) -> None:
        if not self.unit.is_leader():
            return
        for relation in self.database.relations:
            if self.database.request(relation) is not None:
                self._publish(relation)

    def _publish(self, relation: ops.model.Relation) -> None:
        if self.database.request(relation) is None:
            return
        primary = str(self.config["primary"])
        self.database.publish(
            relation,
            endpoints=[f"{primary}:{PORT}"],
            read_only_endpoints=[f"{h}:{PORT}" for h in _hosts(str(self.config["replicas"]))],
            username=f"relation-{relation.id}",
            password=str(self.config["password"]),
            version=VERSION,
        )
