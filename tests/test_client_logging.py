"""What the client logs over a whole relation lifecycle: few lines, DEBUG only, no secrets.

In production every log record is a ``juju-log`` process, and logs end up in ``juju debug-log``
for anyone with model access to read.
"""

from __future__ import annotations

import logging
from typing import Any, List

import ops
import ops.charm
import ops.framework
import pytest
from test_client_support import (
    EGRESS0,
    META_PEER,
    PASSWORD,
    STANDBY,
    harness_for,
    server_bag,
)

import pgsql

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")

NEW_MASTER = f"host=10.0.0.21 port=5432 dbname=mydb user=juju_myapp password={PASSWORD}"


class Charm(ops.charm.CharmBase):
    """The 1.x way, reading everything an event offers (so every code path runs)."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.uris: List[Any] = []
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        for name in ("master_changed", "standby_changed", "database_changed", "database_gone"):
            framework.observe(getattr(self.db.on, name), self._on_change)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "mydb"
            event.extensions = ["citext"]

    def _on_change(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        self.uris.append(
            (
                event.master.uri if event.master else None,
                [s.uri for s in event.standbys],
                event.version,
                event.database,
                event.readiness.why,
            )
        )


def test_a_whole_lifecycle_logs_little_and_never_a_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    harness = harness_for(Charm, meta=META_PEER)
    harness.add_relation("replicas", "myapp")
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, "myapp/0", EGRESS0)
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.add_relation_unit(rel_id, "postgresql/1")
    # not echoed yet, then access for another unit only, then ready
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("other"))
    harness.update_relation_data(
        rel_id,
        "postgresql/0",
        server_bag("mydb", granted={"myapp/9": {"egress-subnets": "1.2.3.4/32"}}),
    )
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb", state="master"))
    harness.update_relation_data(
        rel_id, "postgresql/1", server_bag("mydb", standbys=(STANDBY,), state="hot standby")
    )
    harness.update_relation_data(rel_id, "postgresql/0", {"standbys": STANDBY})
    # garbage with the password in it
    harness.update_relation_data(
        rel_id, "postgresql/1", {"master": f"host='x password={PASSWORD}", "state": "master"}
    )
    harness.charm.on.upgrade_charm.emit()
    harness.charm.on.config_changed.emit()
    harness.set_leader(False)
    harness.set_leader(True)
    # failover, then the master goes away, a server unit leaves, the relation goes
    harness.update_relation_data(rel_id, "postgresql/0", {"master": NEW_MASTER})
    harness.update_relation_data(rel_id, "postgresql/1", {"master": NEW_MASTER})
    harness.update_relation_data(rel_id, "postgresql/0", {"master": ""})
    harness.update_relation_data(rel_id, "postgresql/1", {"master": ""})
    harness.remove_relation_unit(rel_id, "postgresql/1")
    harness.remove_relation(rel_id)

    assert any(uri and PASSWORD in uri for uri, *_ in harness.charm.uris)  # it was there
    everything = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    leaks = [m for m in everything if PASSWORD in m[2]]
    assert leaks == []
    ours = [m for m in everything if m[0] == "pgsql" or m[0].startswith("pgsql.")]
    print(*ours, sep="\n")
    assert all(level == logging.DEBUG for _, level, _ in ours)
    # One line per request change (database, extensions) and one per change of readiness
    # verdict (not ready waiting / not echoed / not granted / ready / masters disagree...)
    # over ~20 hooks and ~30 events: a line per event would be far more.
    assert 3 <= len(ours) <= 12
    assert all(" not ready: " in m or " ready " in m or "request on" in m for _, _, m in ours)
    harness.cleanup()


def test_reasons_and_why_never_hold_a_password() -> None:
    harness = harness_for(Charm)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.update_relation_data(
        rel_id,
        "postgresql/0",
        {
            "database": "mydb",
            "master": f"host=h password='{PASSWORD}",  # unterminated quote
            "standbys": f"host=s password={PASSWORD} bogus",
        },
    )
    readiness = harness.charm.db.readiness()
    assert readiness is not None
    assert not readiness.ready
    text = " ".join([readiness.why, *(str(r) for r in readiness.reasons), repr(readiness.reasons)])
    assert PASSWORD not in text
    harness.cleanup()
