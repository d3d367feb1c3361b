"""What a ``pgsql`` client's 1.x setters accept: invalid values raise ``RequestError`` (a
``ValueError``) and publish nothing, a non-leader's setter raises ``NotLeaderError``, and roles
are one role for a string and sorted, deduplicated for a list.
"""

from __future__ import annotations

from typing import Any, List

import ops.framework
import ops.model
import pytest
from fix_client_pgsql_harness import Recorder
from fix_client_pgsql_harness import relate as _relate
from ops.testing import Harness
from test_client_support import META

import pgsql
from pgsql import protocol

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")


class Setter(Recorder):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.errors: List[Exception] = []
        self.value: Any = None
        self.attr = "database"
        framework.observe(self.db.on.database_relation_joined, self._on_joined)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        try:
            setattr(event, self.attr, self.value)
        except (pgsql.NotLeaderError, protocol.RequestError) as e:
            self.errors.append(e)


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        ("database", "a,b"),
        ("database", "a\nb"),
        ("database", 5),
        ("roles", ["ok", ""]),
        ("roles", [1]),
        ("extensions", ["citext", "bad,ext"]),
        ("extensions", ["no spaces allowed"]),
    ],
)
def test_invalid_request_values_raise_request_error(attr: str, value: Any) -> None:
    harness: Harness[Setter] = Harness(Setter, meta=META)
    harness.set_leader(True)
    harness.begin()
    harness.charm.attr, harness.charm.value = attr, value
    rel_id = _relate(harness)
    assert len(harness.charm.errors) == 1
    assert isinstance(harness.charm.errors[0], protocol.RequestError)
    assert isinstance(harness.charm.errors[0], ValueError)
    assert harness.get_relation_data(rel_id, "myapp") == {}
    harness.cleanup()


def test_non_leader_setter_raises_not_leader_error() -> None:
    harness: Harness[Setter] = Harness(Setter, meta=META)
    harness.set_leader(False)
    harness.begin()
    harness.charm.value = "mydb"
    _relate(harness)
    (error,) = harness.charm.errors
    assert isinstance(error, pgsql.NotLeaderError)
    assert isinstance(error, ops.model.RelationDataError)
    assert "not the leader" in str(error)
    harness.cleanup()


def test_roles_string_is_one_role_and_lists_are_sorted() -> None:
    harness: Harness[Setter] = Harness(Setter, meta=META)
    harness.set_leader(True)
    harness.begin()
    harness.charm.attr, harness.charm.value = "roles", "admin"
    rel_id = _relate(harness)
    assert harness.get_relation_data(rel_id, "myapp") == {"roles": "admin"}
    relation = harness.model.get_relation("db", rel_id)
    assert relation is not None
    harness.charm.db.set_request(relation, roles=["b", "a", "b"], database="x")
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "x", "roles": "a,b"}
    harness.charm.db.set_request(relation, roles=[])
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "x"}
    harness.cleanup()
