"""The 1.x README's seed charm, verbatim, on ``pgsql``: both ways of importing the library,
leader and non-leader (with and without a peer relation), under Harness (one charm for the
whole test, ops 2.0 on) and under Scenario (one fresh charm per hook, ops >= 2.17).
"""

from __future__ import annotations

import json
from typing import Any, Dict

import ops.testing
import pytest
from fix_client_pgsql_harness import relate as _relate
from fix_client_pgsql_scenario import META
from fix_client_pgsql_scenario import local as _local
from fix_client_pgsql_scenario import relation as _relation
from fix_client_pgsql_scenario import replace as _replace
from fix_client_pgsql_scenario import with_remote as _with_remote
from needs import needs_scenario
from test_client_support import (
    EGRESS0,
    EGRESS1,
    MASTER,
    META_PEER,
    STANDBY,
    harness_for,
    seed_charm,
    server_bag,
)

import pgsql
from pgsql import protocol

testing: Any = ops.testing
pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")
DEPRECATED = "ignore:ops.lib is deprecated:DeprecationWarning"


@pytest.mark.filterwarnings(DEPRECATED)
@pytest.mark.parametrize("via", ["ops.lib.use", "import pgsql"])
def test_seed_leader_requests_and_connects(via: str) -> None:
    harness = harness_for(seed_charm(via))
    rel_id = _relate(harness)
    assert harness.get_relation_data(rel_id, "myapp") == {
        "database": "mydbname",
        "extensions": "citext",
    }
    unit_bag = harness.get_relation_data(rel_id, "myapp/0")
    assert unit_bag["database"] == "mydbname"
    assert unit_bag["extensions"] == "citext"
    # not echoed yet: nothing
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("other", extensions=()))
    assert harness.charm._state.db_uri is None
    harness.update_relation_data(
        rel_id, "postgresql/0", server_bag("mydbname", standbys=(STANDBY,))
    )
    state = harness.charm._state
    assert (
        state.db_uri == f"postgresql://juju_myapp:{'Sup3rS3cretPassw0rd'}@10.0.0.20:5432/mydbname"
    )
    assert state.db_conn_str == str(pgsql.ConnectionString(MASTER))
    assert list(state.db_ro_uris) == [pgsql.ConnectionString(STANDBY).uri]
    harness.update_relation_data(rel_id, "postgresql/0", {"master": ""})
    assert harness.charm._state.db_uri is None
    harness.cleanup()


@pytest.mark.filterwarnings(DEPRECATED)
def test_seed_non_leader_without_peer_trusts_the_echo() -> None:
    harness = harness_for(seed_charm(), leader=False)
    rel_id = _relate(harness)
    assert harness.get_relation_data(rel_id, "myapp") == {}
    assert "database" not in harness.get_relation_data(rel_id, "myapp/0")
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydbname"))
    assert harness.charm._state.db_uri is not None
    assert harness.charm.db.readiness().ready
    codes = {r.code for r in harness.charm.db.readiness().reasons}
    assert protocol.REQUEST_UNKNOWN in codes
    harness.cleanup()


@pytest.mark.filterwarnings(DEPRECATED)
def test_seed_non_leader_with_peer_learns_the_request_and_mirrors_it() -> None:
    harness = harness_for(seed_charm(), meta=META_PEER, leader=False)
    peer_id = harness.add_relation("replicas", "myapp")
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, "myapp/0", EGRESS0)
    harness.update_relation_data(
        peer_id,
        "myapp",
        {"pgsql-db": json.dumps({str(rel_id): {"database": "mydbname", "extensions": "citext"}})},
    )
    harness.add_relation_unit(rel_id, "postgresql/0")
    bag = harness.get_relation_data(rel_id, "myapp/0")
    assert bag["database"] == "mydbname"
    assert bag["extensions"] == "citext"
    # a server echoing another database is not good enough: the request is known
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("otherdb"))
    readiness = harness.charm.db.readiness()
    assert not readiness.ready
    assert protocol.DATABASE_MISMATCH in {r.code for r in readiness.reasons}
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydbname"))
    assert harness.charm._state.db_uri is not None
    harness.cleanup()


@needs_scenario
@pytest.mark.filterwarnings(DEPRECATED)
@pytest.mark.parametrize("via", ["ops.lib.use", "import pgsql"])
def test_seed_leader_requests_and_connects_one_charm_per_hook(via: str) -> None:
    charm = seed_charm(via)
    rel = _relation()
    state = testing.State(leader=True, relations={rel})
    ctx = testing.Context(charm, meta=META)
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(rel, remote_unit=0), state)
    rel = state.get_relation(rel.id)
    assert rel.local_app_data == {"database": "mydbname", "extensions": "citext"}
    rel = _with_remote(rel, {0: server_bag("mydbname")})
    state = ctx.run(ctx.on.relation_changed(rel, remote_unit=0), _replace(state, rel))
    assert _charm_state(state)["db_uri"] == pgsql.ConnectionString(MASTER).uri
    assert not state.deferred


@needs_scenario
@pytest.mark.filterwarnings(DEPRECATED)
def test_seed_non_leader_defers_joined_until_the_echo_then_connects() -> None:
    charm = seed_charm("import pgsql")
    rel = _relation()
    ctx = testing.Context(charm, meta=META, unit_id=1)
    state = ctx.run(ctx.on.relation_joined(rel, remote_unit=0), testing.State(relations={rel}))
    assert len(state.deferred) == 1  # event.database unknown yet: the charm defers
    rel = _with_remote(
        state.get_relation(rel.id), {0: server_bag("mydbname", granted={"myapp/1": EGRESS1})}
    )
    rel = _local(rel, EGRESS1)
    state = ctx.run(ctx.on.relation_changed(rel, remote_unit=0), _replace(state, rel))
    assert not state.deferred  # re-run: the echo says mydbname
    assert _charm_state(state)["db_uri"] == pgsql.ConnectionString(MASTER).uri


def _charm_state(state: Any) -> Dict[str, Any]:
    """The seed charm's own ``_state`` (not the client's, which has the same name)."""
    (stored,) = [s for s in state.stored_states if s.owner_path == "MyCharm"]
    return dict(stored.content)
