"""PostgreSQLServer on a unit being removed (issue #17, point 1, the ``pgsql`` interface).

Juju runs relation-departed naming the removed unit itself, then relation-broken. That is not
the client leaving: ``relation_broken`` (whose handler revokes access and drops the client's
user) must not fire, nor ``request_changed``. A client really leaving still fires it.
"""

from __future__ import annotations

from typing import Any

import pytest
from ops.testing import Harness
from test_server import META, ServerCharm, add_client, charm_of, local_bags, relation

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")


@pytest.fixture(params=[True, False], ids=["leader", "non-leader"])
def harness(request: pytest.FixtureRequest) -> Any:
    h = Harness(ServerCharm, meta=META)
    h.set_leader(bool(request.param))
    h.begin()
    yield h
    h.cleanup()


def _departed_self(h: Any, rel_id: int) -> None:
    """relation-departed on pg/0 naming pg/0 itself, as Juju runs it on a unit being removed."""
    rel = relation(h, rel_id)
    charm = charm_of(h)
    remote = h.model.get_unit("myapp/0")
    charm.on["db"].relation_departed.emit(rel, rel.app, remote, charm.unit.name)


def test_a_removed_server_unit_does_not_tell_the_charm_to_drop_the_client(harness: Any) -> None:
    charm = charm_of(harness)
    charm.auto = True
    rel_id = add_client(harness, units=2, app_data={"database": "mydb"})
    published = local_bags(harness, rel_id)
    assert published[1]["allowed-units"] == "myapp/0 myapp/1"
    charm.seen.clear()
    _departed_self(harness, rel_id)
    harness.remove_relation(rel_id)  # relation-departed per client unit, then relation-broken
    assert [s[0] for s in charm.seen if s[0] == "broken"] == []
    assert str(rel_id) not in charm.db._stored.digests  # pyright: ignore[reportPrivateUsage]


def test_a_client_leaving_is_still_told_after_another_relation_saw_this_unit_leave(
    harness: Any,
) -> None:
    charm = charm_of(harness)
    first = add_client(harness, units=1, app_data={"database": "mydb"})
    second = harness.add_relation("db", "other")
    harness.add_relation_unit(second, "other/0")
    _departed_self(harness, first)
    charm.seen.clear()
    harness.remove_relation(second)
    assert [s[:3] for s in charm.seen if s[0] == "broken"] == [("broken", second, "other")]
