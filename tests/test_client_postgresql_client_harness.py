"""PostgreSQLClient on a ``postgresql_client`` endpoint under Harness (every ops 2.x/3.x).

The provider is :mod:`provider_double`; its secrets are Harness model secrets owned by the
provider application and granted to ours, as Juju does.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
import pytest
from ops.testing import Harness
from provider_double import NEW_PASSWORD, PASSWORD, USER_SECRET, Provider, relate_harness

import pgsql
from pgsql import protocol

META = """
name: myapp
requires:
  db:
    interface: postgresql_client
    limit: 1
"""


class Charm(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database="mydbname")
        self.seen: List[Tuple[str, Optional[str]]] = []
        for name in protocol.EVENT_NAMES:
            framework.observe(getattr(self.db.on, name), self._record)

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        self.seen.append((type(event).__name__, event.master.password if event.master else None))


def _setup(leader: bool, provider: Provider, grant: bool = True) -> Tuple[Any, int, Dict[str, str]]:
    harness: Any = Harness(Charm, meta=META)
    harness.set_leader(leader)
    harness.begin()
    rel_id, ids = relate_harness(harness, "db", provider, grant)
    return harness, rel_id, ids


@pytest.mark.parametrize("leader", [True, False])
@pytest.mark.parametrize("secrets", [True, False])
def test_ready_from_secrets_or_plaintext(leader: bool, secrets: bool) -> None:
    harness, rel_id, _ = _setup(leader, Provider(secrets=secrets))
    charm: Charm = harness.charm
    assert charm.db.is_ready()
    master = charm.db.master()
    assert master is not None
    assert master.password == PASSWORD
    assert master.dbname == "mydbname"
    assert ("MasterChangedEvent", PASSWORD) in charm.seen
    mine = harness.get_relation_data(rel_id, "myapp")
    if leader:
        assert mine["database"] == "mydbname"
        assert "password" in mine["requested-secrets"]
    assert PASSWORD not in repr(charm.db.readiness())
    harness.cleanup()


def test_not_granted_is_a_reason_then_rotation_is_followed() -> None:
    harness, rel_id, ids = _setup(True, Provider(), grant=False)
    charm: Charm = harness.charm
    r = charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert protocol.SECRET_NOT_GRANTED in {x.code for x in r.reasons}
    for secret_id in ids.values():
        harness.grant_secret(secret_id, "myapp")
    # the grant itself fires no hook on the requirer; the next relation-changed tells
    harness.update_relation_data(rel_id, "postgresql", {"version": "16.15"})
    assert charm.db.is_ready()
    charm.seen.clear()
    user_secret = ids[USER_SECRET]
    harness.set_secret_content(user_secret, Provider(password=NEW_PASSWORD).user_content())
    # Harness, as Juju, fires secret-changed on the observers
    assert ("MasterChangedEvent", NEW_PASSWORD) in charm.seen
    master = charm.db.master()
    assert master is not None
    assert master.password == NEW_PASSWORD
    harness.cleanup()


def test_broken_is_gone() -> None:
    harness, rel_id, _ = _setup(True, Provider())
    charm: Charm = harness.charm
    charm.seen.clear()
    harness.remove_relation(rel_id)
    assert [name for name, _ in charm.seen][:2] == ["MasterChangedEvent", "MasterGoneEvent"]
    assert all(password is None for _, password in charm.seen)
    harness.cleanup()


def test_harness_readiness_follows_a_grant_without_a_relation_event() -> None:
    harness, _, ids = _setup(True, Provider(), grant=False)
    charm: Charm = harness.charm
    assert not charm.db.is_ready()
    for secret_id in ids.values():
        harness.grant_secret(secret_id, "myapp")
    harness.charm.on.update_status.emit()
    assert charm.db.is_ready()
    assert ("MasterChangedEvent", PASSWORD) in charm.seen
    harness.cleanup()
