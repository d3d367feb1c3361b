#!/usr/bin/env python3
"""The seed charm's job on ``postgresql_client``, with data_interfaces' ``DatabaseRequires``.

The library is data_interfaces LIBPATCH 58 as shipped in the PyPI package
``postgresql-charms-single-kernel`` (installed in the ``di`` variant's venv; not copied here).
The charm is written the way data_interfaces documents it: the request is the constructor's
``database_name`` (sent at relation-created), ``database_created`` / ``endpoints_changed`` /
``read_only_endpoints_changed`` (re)configure the workload from ``fetch_relation_data()``, and,
since data_interfaces ignores a rotated password (it emits nothing on ``secret-changed``), the
charm follows ``secret-changed`` of the user secret itself. Collect-status reports whether the
database exists (``is_resource_created()``), as the ``pgsql`` variant's charm does with
``readiness()``.

The workload's configuration is a file in the charm directory (``workload.json``: ``db_uri``,
``db_ro_uris``), which the benchmark compares with what the server published.
"""

import json
import os
from urllib.parse import quote

import ops
from single_kernel_postgresql.lib.charms.data_platform_libs.v0.data_interfaces import (
    DatabaseRequires,
)

DATABASE = "mydbname"


def _split(raw):
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def _uri(user, password, hostport, dbname):
    return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{hostport}/{dbname}"


class MyCharm(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.db = DatabaseRequires(self, "db", database_name=DATABASE)
        framework.observe(self.db.on.database_created, self._on_database_changed)
        framework.observe(self.db.on.endpoints_changed, self._on_database_changed)
        framework.observe(self.db.on.read_only_endpoints_changed, self._on_database_changed)
        framework.observe(self.on.secret_changed, self._on_secret_changed)
        framework.observe(self.on.db_relation_broken, self._on_db_relation_broken)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _on_database_changed(self, event):
        self._refresh(event.relation)

    def _on_secret_changed(self, event):
        # data_interfaces labels the secrets it reads "<endpoint>.<relation id>.<group>.secret"
        relation = self.model.get_relation("db")
        if relation is None or event.secret.label != f"db.{relation.id}.user.secret":
            return
        event.secret.get_content(refresh=True)  # track the new revision, then read it again
        self._refresh(relation)

    def _on_db_relation_broken(self, event):
        self._configure(None, [])

    def _on_collect_status(self, event):
        if not self.db.relations:
            event.add_status(ops.BlockedStatus("needs a database relation"))
        elif not self.db.is_resource_created():
            event.add_status(ops.WaitingStatus("waiting for the database"))
        else:
            event.add_status(ops.ActiveStatus())

    def _refresh(self, relation):
        data = self.db.fetch_relation_data([relation.id]).get(relation.id, {})
        endpoints = _split(data.get("endpoints"))
        user, password = data.get("username"), data.get("password")
        if data.get("database") != DATABASE or not endpoints or not user or not password:
            self._configure(None, [])
            return
        standbys = [
            _uri(user, password, ro, DATABASE) for ro in _split(data.get("read-only-endpoints"))
        ]
        self._configure(_uri(user, password, endpoints[0], DATABASE), standbys)

    def _configure(self, master, standbys):
        """Write the workload's database settings (the benchmark reads them back)."""
        path = os.path.join(str(self.charm_dir), "workload.json")
        with open(path, "w") as f:
            json.dump({"db_uri": master, "db_ro_uris": standbys}, f)


if __name__ == "__main__":
    ops.main(MyCharm)
