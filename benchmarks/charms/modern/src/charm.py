#!/usr/bin/env python3
"""The seed charm's job on ``postgresql_client``, written the way this library recommends.

A declarative request (every unit computes it, nothing to share or store), a handler for
``database_changed`` (the master or the standbys changed: one event for either) that
(re)configures the workload from the event, and collect-status with ``readiness()``. The
workload's configuration is a file in the charm directory (``workload.json``: ``db_uri``,
``db_ro_uris``), which the benchmark compares with what the server published; the charm keeps
no StoredState of its own.
"""

import json
import os

import ops

import pgsql

DATABASE = "mydbname"


class MyCharm(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database=DATABASE)
        framework.observe(self.db.on.database_changed, self._on_database_changed)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _on_database_changed(self, event):
        master = None if event.master is None else event.master.uri
        self._configure(master, [s.uri for s in event.standbys])

    def _on_collect_status(self, event):
        readiness = self.db.readiness()
        if readiness is None:
            event.add_status(ops.BlockedStatus("needs a database relation"))
        elif not readiness.ready:
            event.add_status(ops.WaitingStatus(f"database: {readiness.why}"))
        else:
            event.add_status(ops.ActiveStatus())

    def _configure(self, master, standbys):
        """Write the workload's database settings (the benchmark reads them back)."""
        path = os.path.join(str(self.charm_dir), "workload.json")
        with open(path, "w") as f:
            json.dump({"db_uri": master, "db_ro_uris": standbys}, f)


if __name__ == "__main__":
    ops.main(MyCharm)
