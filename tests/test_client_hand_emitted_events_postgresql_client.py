"""Client events emitted by hand, as 1.x charms' Harness tests do (compat.md): they read
the relation as it is now (``postgresql_client``).
"""

from __future__ import annotations

from fix_client_postgresql_client import (
    TLS_PROVIDER,
    CaRecorder,
    Declared,
    provider_harness,
)
from provider_double import (
    PASSWORD,
    Provider,
)


def test_harness_events_emitted_by_hand_read_the_relation_as_1x_tests_do() -> None:
    """compat.md: tests emit client events by hand with four positional arguments."""
    harness, rel_id, _ = provider_harness(Declared, Provider(secrets=False), leader=False)
    charm: Declared = harness.charm
    charm.seen.clear()
    relation_ = harness.model.get_relation("database", rel_id)
    charm.db.on.master_changed.emit(relation_, relation_.app, None, harness.model.unit)
    assert len(charm.seen) == 1
    kind, master, standbys, database = charm.seen[0]
    assert kind == "MasterChangedEvent"
    assert master is not None
    assert master.password == PASSWORD
    assert len(standbys) == 2
    assert database == "mydbname"
    harness.cleanup()


def test_harness_an_event_emitted_by_hand_after_a_late_grant_carries_the_master() -> None:
    """1.x tests emit events by hand (compat.md) and read ``event.master``: after the grant,
    the event must see the secret as ``readiness()`` does."""
    harness, rel_id, ids = provider_harness(CaRecorder, TLS_PROVIDER, grant=False)
    charm: CaRecorder = harness.charm
    assert not charm.db.is_ready()
    for secret_id in ids.values():
        harness.grant_secret(secret_id, "myapp")
    rel = harness.model.get_relation("database", rel_id)
    charm.seen.clear()
    charm.db.on.master_changed.emit(rel, rel.app, None, harness.model.unit)
    (event,) = charm.seen
    assert event[1] is not None
    assert event[1].password == PASSWORD
    assert charm.db.is_ready()
    harness.cleanup()
