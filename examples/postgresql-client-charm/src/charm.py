#!/usr/bin/env python3
"""myapp: a machine charm whose application stores its data in PostgreSQL 16."""

# In this repository pgsql is first-party; in a charm it is a library like ops, sorted with it.
# ruff: noqa: I001

from pathlib import Path

import ops
import pgsql

ENV_FILE = Path("/etc/myapp/database.env")  # read by the myapp service; holds the password


class MyCharm(ops.CharmBase):
    """Asks for the database mydb and gives its address to the application."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb")
        framework.observe(self.db.on.master_changed, self._on_master_changed)
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        # the first primary, another primary, a rotated password; None: the database is gone
        if event.master is None:
            ENV_FILE.unlink(missing_ok=True)
        else:
            ENV_FILE.parent.mkdir(parents=True, exist_ok=True)
            ENV_FILE.touch(mode=0o600)
            ENV_FILE.chmod(0o600)  # also when it existed: it holds the password
            ENV_FILE.write_text(f"DATABASE_URL={event.master.uri}\n")
        # (then restart the myapp service, so that it reads the file)

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        readiness = self.db.readiness()  # None: no database relation
        if readiness is None:
            event.add_status(ops.BlockedStatus("needs a database relation"))
        elif not readiness.ready:
            event.add_status(ops.WaitingStatus(f"database: {readiness.why}"))
        else:
            event.add_status(ops.ActiveStatus())


if __name__ == "__main__":
    ops.main(MyCharm)
