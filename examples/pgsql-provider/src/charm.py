#!/usr/bin/env python3
"""A PostgreSQL provider that really provisions, on a PostgreSQL server it administers.

It serves two endpoints: ``db`` (the legacy ``pgsql`` interface, :class:`pgsql.PostgreSQLServer`)
and ``database`` (``postgresql_client``, the interface of Charmed PostgreSQL 16,
:class:`pgsql.DatabaseProvider`).

For each client relation the leader reads the client's request (``db``: the client application
bag, else its lowest-numbered unit; ``database``: the requirer application bag), provisions it
with :func:`provision.provision` (login role, private database, roles, and extensions: those
requested on ``db``, those the ``plugin-<name>-enable`` options turn on for ``database``;
identifiers quoted by psycopg) and publishes the connection details: on ``db`` in
the unit and application bags, on ``database`` in the application bag with the credentials in
a Juju secret granted to the relation (in clear only where Juju has no secrets). It keeps each
client's credentials (:mod:`credentials`), so the password stays the same across re-provisioning
and leader changes, and the other units publish exactly what the leader provisioned on ``db``
(``database`` is answered by the leader alone): the password in a Juju secret of this
application (``provider-credentials-<relation id>``, read by every unit, removed with the
relation), the rest in the peer application bag. Where Juju has no secrets (2.9) the password
is kept in that peer bag too, as nothing else outlives a hook.

A request that cannot be provisioned (an unknown extension, an invalid name, an unreachable
server) sets a Blocked status naming the problem, and nothing is published for that client:
its relation stays not ready instead of handing out a database without what was asked.
"""

from __future__ import annotations

import json
import logging
from typing import Dict, List, Optional

import ops
import provision as prov
from credentials import Credentials

import pgsql

logger = logging.getLogger(__name__)

PEER = "provider-peers"
DATABASE = "database"  # the postgresql_client endpoint
#: Config options that create an extension in every database provisioned on ``database``, as
#: Charmed PostgreSQL's ``plugin-<name>-enable`` options do (option -> extension).
PLUGINS: Dict[str, str] = {"plugin-citext-enable": "citext"}


class PostgreSQLProviderCharm(ops.CharmBase):
    """Provisions on the server named by ``admin-dsn``; serves ``db`` and ``database``."""

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._stored.set_default(problems={})
        self.db = pgsql.PostgreSQLServer(self, "db")
        self.database = pgsql.DatabaseProvider(self, DATABASE)
        self._credentials = Credentials(self.model, PEER, secrets=self.database.secrets_available)
        for server in (self.db, self.database):
            framework.observe(server.on.request_changed, self._on_request_changed)
            framework.observe(server.on.relation_broken, self._on_relation_broken)
        framework.observe(self.on.rotate_password_action, self._on_rotate_password)
        for event in (
            self.on.config_changed,
            self.on.leader_elected,
            self.on.update_status,
            self.on[PEER].relation_changed,
        ):
            framework.observe(event, self._on_reconcile)

    # ---- handlers ---------------------------------------------------------------------------

    def _on_request_changed(self, event: ops.RelationEvent) -> None:
        # pgsql.ClientRequestChangedEvent (db) or pgsql.DatabaseRequestChangedEvent (database)
        self._serve(event.relation, provision=True)
        self._set_status()

    def _on_reconcile(self, event: ops.EventBase) -> None:
        # Config or leadership changes: provision again (idempotent); update-status only
        # retries what failed before.
        retry_only = isinstance(event, ops.UpdateStatusEvent)
        for relation in [*self.db.relations, *self.database.relations]:
            failed = str(relation.id) in self._stored.problems
            self._serve(relation, provision=failed or not retry_only)
        self._set_status()

    def _on_relation_broken(self, event: ops.RelationEvent) -> None:
        # The role and the database are kept: the data is the operator's to drop. On
        # ``database``, DatabaseProvider has already removed the relation's secrets; the
        # leader removes the secret keeping the relation's password with the peer entry.
        key = str(event.relation.id)
        if key in self._stored.problems:
            del self._stored.problems[key]
        if self.unit.is_leader():
            self._save(event.relation.id, None)
        self._set_status()

    def _on_rotate_password(self, event: ops.ActionEvent) -> None:
        """``juju run <leader> rotate-password relation-id=<id>``: a new password, published."""
        if not self.unit.is_leader():
            event.fail(
                "only the leader rotates passwords (the credentials are the application's): "
                "run the action on the leader unit"
            )
            return
        relation_id = int(event.params["relation-id"])
        relation = next(
            (r for r in [*self.db.relations, *self.database.relations] if r.id == relation_id),
            None,
        )
        entry = self._load(relation_id) if relation is not None else None
        if relation is None or not entry or "database" not in entry or "password" not in entry:
            known = ", ".join(
                f"{r.name}:{r.id}" for r in [*self.db.relations, *self.database.relations]
            )
            event.fail(
                f"no provisioned client relation {relation_id} on db or database"
                + (f" (client relations: {known})" if known else "")
            )
            return
        admin = str(self.config["admin-dsn"])
        if not admin:
            event.fail("set the 'admin-dsn' config option")
            return
        password = prov.generate_password()
        try:
            prov.set_password(admin, entry["user"], password)
        except prov.ProvisioningError as exc:
            event.fail(str(exc))
            return
        # The server has the new password now. Should this hook fail from here on, Juju drops
        # what it wrote (the stored password stays the old one), and the next config-changed
        # provisions again with the stored password, which puts the old one back: the clients
        # never keep a password the server refuses.
        self._save(relation_id, {**entry, "password": password})
        self._serve(relation, provision=False)
        how = "secret-changed" if relation.name == DATABASE else "relation-changed"
        event.log(f"password of {entry['user']} rotated; the client follows through {how}")
        event.set_results(
            {"relation-id": str(relation_id), "endpoint": relation.name, "username": entry["user"]}
        )

    # ---- serving ----------------------------------------------------------------------------

    def _serve(self, relation: ops.Relation, *, provision: bool) -> None:
        """Provision (leader) and publish what is provisioned for one client relation."""
        modern = relation.name == DATABASE
        if modern and not self.unit.is_leader():
            return  # postgresql_client is answered in the application bag: the leader's
        if self.unit.is_leader() and provision:
            try:
                self._provision(relation)
            except prov.ProvisioningError as exc:
                message = f"{relation.name}:{relation.id} ({relation.app.name}): {exc}"
                self._stored.problems[str(relation.id)] = message
                logger.warning("cannot provision %s", message)
                self._revoke(relation)
                return
            key = str(relation.id)
            if key in self._stored.problems:
                del self._stored.problems[key]
        entry = self._load(relation.id)
        if not entry or "database" not in entry or "password" not in entry:
            self._revoke(relation)
            return
        host = str(self.config["host"]) or self._ingress(relation)
        if host is None:
            self._stored.problems[str(relation.id)] = "set the 'host' config option"
            self._revoke(relation)
            return
        if modern:
            acted, _ = pgsql.protocol.read_database_request(json.loads(entry.get("request", "{}")))
            # a prefix request: the matching databases, the first named by the URIs
            prefixed = json.loads(entry["databases"]) if "databases" in entry else None
            self.database.publish(
                relation,
                endpoints=[_endpoint(host, int(self.config["port"]))],
                username=entry["user"],
                password=entry["password"],
                version=entry.get("version") or None,
                database=None if prefixed is not None else entry["database"],
                request=acted,
                databases=prefixed,
            )
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
        if relation.name == DATABASE:
            problems = self.database.request_problems(relation)
            if problems:
                raise prov.ProvisioningError("; ".join(problems))
            modern = self.database.request(relation)
            if modern is None:
                return  # no database requested yet: postgresql_client providers wait for one
            if modern.prefix:
                self._provision_prefix(relation, admin, modern)
                return
            # extensions are not on this interface: the operator enables them by config
            database, roles, extensions = modern.database, modern.roles, self._plugins()
            # the role PostgreSQL 16 creates: one per relation (an application related on
            # both db and database must not share a role whose password each would reset)
            user = f"relation_id_{relation.id}"
            asked = modern.snapshot()
        else:
            problems = self.db.request_problems(relation)
            if problems:
                raise prov.ProvisioningError("; ".join(problems))
            request = self.db.request(relation)
            database = request.database or relation.app.name
            roles, extensions = request.roles, request.extensions
            user = _user_for(relation.app.name)
            asked = request.databag()
        entry = self._load(relation.id) or {}
        creds = prov.provision(
            admin,
            prov.Request(
                database=database,
                roles=roles,
                extensions=extensions,
                user=entry.get("user") or user,
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
                "request": json.dumps(asked, sort_keys=True),
            },
        )
        logger.debug("relation %s provisioned", relation.id)

    def _provision_prefix(
        self, relation: ops.Relation, admin: str, request: pgsql.protocol.DatabaseRequest
    ) -> None:
        """A prefix request (``mydb_*``), as PostgreSQL 16 serves it: every matching database."""
        entry = self._load(relation.id) or {}
        user = entry.get("user") or f"relation_id_{relation.id}"
        password = entry.get("password") or prov.generate_password()
        databases = prov.provision_prefix(admin, request.prefix, user, password, request.roles)
        self._save(
            relation.id,
            {
                "user": user,
                "password": password,
                "database": request.database,
                "databases": json.dumps(databases),
                "version": prov.server_version(admin),
                "request": json.dumps(request.snapshot(), sort_keys=True),
            },
        )
        logger.debug("relation %s provisioned: %d databases", relation.id, len(databases))

    # ---- helpers ----------------------------------------------------------------------------

    def _plugins(self) -> List[str]:
        """The extensions the ``plugin-<name>-enable`` options turn on, for ``database``."""
        return [ext for option, ext in PLUGINS.items() if self.config.get(option) is True]

    def _revoke(self, relation: ops.Relation) -> None:
        if relation.name != DATABASE:
            self.db.revoke(relation)
        elif self.unit.is_leader():
            self.database.revoke(relation)

    def _ingress(self, relation: ops.Relation) -> Optional[str]:
        try:
            address = self.model.get_binding(relation).network.ingress_address
        except (ops.ModelError, AttributeError):  # AttributeError: no binding (ops 2.x: None)
            return None
        return str(address) if address is not None else None

    def _load(self, relation_id: int) -> Optional[Dict[str, str]]:
        return self._credentials.load(relation_id)

    def _save(self, relation_id: int, entry: Optional[Dict[str, str]]) -> None:
        self._credentials.save(relation_id, entry)

    def _set_status(self) -> None:
        problems = [str(p) for p in self._stored.problems.values()]
        if problems:
            self.unit.status = ops.BlockedStatus("; ".join(sorted(problems)))
        else:
            self.unit.status = ops.ActiveStatus()


def _endpoint(host: str, port: int) -> str:
    """A postgresql_client ``endpoints`` entry: ``host:port``, ``[v6]:port``, ``/dir:port``."""
    if ":" in host and not host.startswith("/"):
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def _user_for(app: str) -> str:
    """The login role for a client application: ``juju_<app>`` (within 63 bytes)."""
    return f"juju_{app}".encode()[: prov.MAX_IDENTIFIER_BYTES].decode("utf-8", "ignore")


if __name__ == "__main__":  # pragma: no cover - Juju runs the charm
    ops.main(PostgreSQLProviderCharm)
