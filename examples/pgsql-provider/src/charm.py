#!/usr/bin/env python3
"""A ``pgsql`` provider that really provisions, on a PostgreSQL server it administers.

For each client relation the leader reads the client's request (:class:`pgsql.PostgreSQLServer`
reads it from the client application bag, else its lowest-numbered unit), provisions it with
:func:`provision.provision` (login role, private database, roles, extensions; identifiers
quoted by psycopg) and publishes the connection details. It keeps each client's credentials in
the peer application bag, so the password stays the same across re-provisioning and leader
changes, and the other units publish exactly what the leader provisioned.

A request that cannot be provisioned (an unknown extension, an invalid name, an unreachable
server) sets a Blocked status naming the problem, and nothing is published for that client:
its relation stays not ready instead of handing out a database without what was asked.
"""

from __future__ import annotations

import json
import logging
from typing import Dict, Optional

import ops
import provision as prov

import pgsql

logger = logging.getLogger(__name__)

PEER = "provider-peers"


class PostgreSQLProviderCharm(ops.CharmBase):
    """Provisions on the server named by ``admin-dsn`` and serves ``db`` (pgsql)."""

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._stored.set_default(problems={})
        self.db = pgsql.PostgreSQLServer(self, "db")
        framework.observe(self.db.on.request_changed, self._on_request_changed)
        framework.observe(self.db.on.relation_broken, self._on_relation_broken)
        for event in (
            self.on.config_changed,
            self.on.leader_elected,
            self.on.update_status,
            self.on[PEER].relation_changed,
        ):
            framework.observe(event, self._on_reconcile)

    # ---- handlers ---------------------------------------------------------------------------

    def _on_request_changed(self, event: pgsql.ClientRequestChangedEvent) -> None:
        self._serve(event.relation, provision=True)
        self._set_status()

    def _on_reconcile(self, event: ops.EventBase) -> None:
        # Config or leadership changes: provision again (idempotent); update-status only
        # retries what failed before.
        retry_only = isinstance(event, ops.UpdateStatusEvent)
        for relation in self.db.relations:
            failed = str(relation.id) in self._stored.problems
            self._serve(relation, provision=failed or not retry_only)
        self._set_status()

    def _on_relation_broken(self, event: pgsql.ClientRelationBrokenEvent) -> None:
        # The role and the database are kept: the data is the operator's to drop.
        key = str(event.relation.id)
        if key in self._stored.problems:
            del self._stored.problems[key]
        if self.unit.is_leader():
            self._save(event.relation.id, None)
        self._set_status()

    # ---- serving ----------------------------------------------------------------------------

    def _serve(self, relation: ops.Relation, *, provision: bool) -> None:
        """Provision (leader) and publish what is provisioned for one client relation."""
        if self.unit.is_leader() and provision:
            try:
                self._provision(relation)
            except prov.ProvisioningError as exc:
                message = f"{relation.name}:{relation.id} ({relation.app.name}): {exc}"
                self._stored.problems[str(relation.id)] = message
                logger.warning("cannot provision %s", message)
                self.db.revoke(relation)
                return
            key = str(relation.id)
            if key in self._stored.problems:
                del self._stored.problems[key]
        entry = self._load(relation.id)
        if not entry or "database" not in entry:
            self.db.revoke(relation)
            return
        host = str(self.config["host"]) or self._ingress(relation)
        if host is None:
            self._stored.problems[str(relation.id)] = "set the 'host' config option"
            self.db.revoke(relation)
            return
        master = pgsql.ConnectionString(
            host=host,
            port=str(self.config["port"]),
            dbname=entry["database"],
            user=entry["user"],
            password=entry["password"],
        )
        self.db.publish(
            relation,
            master=master,
            version=entry.get("version") or None,
            database=entry["database"],
            request=pgsql.Request.from_databag(json.loads(entry.get("request", "{}"))),
        )

    def _provision(self, relation: ops.Relation) -> None:
        """Create what the client asks for; remember the credentials and what was provisioned.

        Raises:
            prov.ProvisioningError: the request cannot be provisioned (nothing is changed
                when the request itself is at fault).
        """
        admin = str(self.config["admin-dsn"])
        if not admin:
            raise prov.ProvisioningError("set the 'admin-dsn' config option")
        if self.model.get_relation(PEER) is None:
            raise prov.ProvisioningError("waiting for the peer relation")
        problems = self.db.request_problems(relation)
        if problems:
            raise prov.ProvisioningError("; ".join(problems))
        request = self.db.request(relation)
        database = request.database or relation.app.name
        entry = self._load(relation.id) or {}
        creds = prov.provision(
            admin,
            prov.Request(
                database=database,
                roles=request.roles,
                extensions=request.extensions,
                user=entry.get("user") or _user_for(relation.app.name),
                password=entry.get("password") or prov.generate_password(),
            ),
        )
        self._save(
            relation.id,
            {
                "user": creds.user,
                "password": creds.password,
                "database": creds.database,
                "version": prov.server_version(admin),
                "request": json.dumps(request.databag(), sort_keys=True),
            },
        )
        logger.debug("relation %s provisioned", relation.id)

    # ---- helpers ----------------------------------------------------------------------------

    def _ingress(self, relation: ops.Relation) -> Optional[str]:
        try:
            address = self.model.get_binding(relation).network.ingress_address
        except (ops.ModelError, AttributeError):  # AttributeError: no binding (ops 2.x: None)
            return None
        return str(address) if address is not None else None

    def _load(self, relation_id: int) -> Optional[Dict[str, str]]:
        peer = self.model.get_relation(PEER)
        raw = peer.data[self.app].get(f"db-{relation_id}", "") if peer is not None else ""
        if not raw:
            return None
        loaded: Dict[str, str] = json.loads(raw)
        return loaded

    def _save(self, relation_id: int, entry: Optional[Dict[str, str]]) -> None:
        peer = self.model.get_relation(PEER)
        if peer is None:
            return
        raw = json.dumps(entry, sort_keys=True) if entry else ""
        key = f"db-{relation_id}"
        if peer.data[self.app].get(key, "") != raw:
            peer.data[self.app][key] = raw  # "" deletes the key

    def _set_status(self) -> None:
        problems = [str(p) for p in self._stored.problems.values()]
        if problems:
            self.unit.status = ops.BlockedStatus("; ".join(sorted(problems)))
        else:
            self.unit.status = ops.ActiveStatus()


def _user_for(app: str) -> str:
    """The login role for a client application: ``juju_<app>`` (within 63 bytes)."""
    return f"juju_{app}".encode()[: prov.MAX_IDENTIFIER_BYTES].decode("utf-8", "ignore")


if __name__ == "__main__":  # pragma: no cover - Juju runs the charm
    ops.main(PostgreSQLProviderCharm)
