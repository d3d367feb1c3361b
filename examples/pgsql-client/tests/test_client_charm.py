"""Unit tests of the README example charm, with ``pgsql.testing`` on the other end of ``db``.

The charm is loaded from ``src/charm.py`` by :func:`pgsql.demo.load_charm` (two example charms
share this test session, and both have a ``charm.py``); a charm's own repository would simply
put ``src`` on ``sys.path`` and ``from charm import MyCharm``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import ops
import ops.testing
import pytest
import yaml

from pgsql import ConnectionString, Request
from pgsql import testing as pgt
from pgsql.demo import load_charm

CHARM = load_charm(Path(__file__).resolve().parents[1], "pgsql_example_client_charm")
MyCharm: Any = CHARM.charm_type
REQUEST = Request.build(database="mydbname", extensions=["citext"])
APP = "myapp"

scenario = pytest.mark.skipif(
    getattr(ops.testing, "Context", None) is None, reason="ops.testing needs ops >= 2.17"
)


def _ctx(unit_id: int = 0) -> Any:
    testing: Any = ops.testing
    return testing.Context(
        MyCharm, meta=CHARM.meta, config=CHARM.config, app_name=APP, unit_id=unit_id
    )


def _kept(state: Any) -> Dict[str, Any]:
    """What the charm keeps in its StoredState (db_conn_str, db_uri, db_ro_uris)."""
    return dict(state.get_stored_state("_state", owner_path="MyCharm").content)


@scenario
def test_leader_requests_the_database_and_citext() -> None:
    ctx = _ctx()
    client = pgt.Client(app=APP)
    db = pgt.scenario_relation(pgt.Server(state=pgt.JOINED), client, published=False)
    testing: Any = ops.testing
    out = ctx.run(
        ctx.on.relation_joined(db, remote_unit=0), testing.State(leader=True, relations={db})
    )
    assert pgt.requested(out) == REQUEST
    rel = pgt.relation_of(out)
    assert dict(rel.local_app_data) == {"database": "mydbname", "extensions": "citext"}
    assert _kept(out)["db_conn_str"] is None


@scenario
def test_leader_keeps_the_master_and_standbys() -> None:
    ctx = _ctx()
    client = pgt.Client(app=APP, request=REQUEST)
    server = pgt.Server(units=3)
    db = pgt.scenario_relation(server, client)
    testing: Any = ops.testing
    state = testing.State(leader=True, relations={db})
    out = ctx.run(ctx.on.relation_changed(db, remote_unit=0), state)
    kept = _kept(out)
    master = server.master(client)
    assert kept["db_conn_str"] == master.conn_str
    assert kept["db_uri"] == master.uri
    assert master.dbname == "mydbname"
    assert sorted(kept["db_ro_uris"]) == sorted(s.uri for s in server.standby_list(client))

    # Failover: the master goes away (standbys stay), then comes back on another unit.
    out = pgt.scenario_apply(ctx, out, server.evolve(state=pgt.FAILOVER), client)
    assert _kept(out)["db_conn_str"] is None
    moved = server.evolve(primary=2)
    out = pgt.scenario_apply(ctx, out, moved, client)
    assert _kept(out)["db_conn_str"] == moved.master(client).conn_str
    assert ConnectionString(_kept(out)["db_conn_str"]).host == pgt.Server.address(2)


@scenario
def test_nothing_kept_until_access_is_granted() -> None:
    ctx = _ctx()
    client = pgt.Client(app=APP, request=REQUEST)
    server = pgt.Server(state=pgt.NOT_GRANTED)
    db = pgt.scenario_relation(server, client)
    testing: Any = ops.testing
    out = ctx.run(
        ctx.on.relation_changed(db, remote_unit=0), testing.State(leader=True, relations={db})
    )
    assert _kept(out)["db_conn_str"] is None
    out = pgt.scenario_apply(ctx, out, server.evolve(state=pgt.READY), client)
    assert _kept(out)["db_conn_str"] == server.master(client).conn_str


@scenario
def test_non_leader_waits_for_the_leaders_request_then_keeps_the_master() -> None:
    ctx = _ctx(unit_id=1)
    client = pgt.Client(app=APP, units=2, unit=1, request=REQUEST)
    testing: Any = ops.testing
    # Nothing published by the server yet, and the leader's request not shared: the non-leader
    # cannot know the database, so it defers joined and keeps nothing, as the README says.
    joined = pgt.scenario_relation(pgt.Server(state=pgt.JOINED), client, published=False)
    alone = pgt.scenario_peer_relation("replicas", client)
    out = ctx.run(
        ctx.on.relation_joined(joined, remote_unit=0),
        testing.State(leader=False, relations={joined, alone}),
    )
    assert len(out.deferred) == 1
    assert _kept(out)["db_conn_str"] is None
    # The leader shared its request on the peer relation and the server published: the
    # deferred joined runs again, and the master is kept.
    db = pgt.scenario_relation(pgt.Server(), client, published=False, relation_id=joined.id)
    shared = pgt.scenario_peer_relation("replicas", client, shared={"db": db})
    state = testing.State(
        leader=False,
        relations={db, shared},
        deferred=out.deferred,
        stored_states=out.stored_states,
    )
    out = ctx.run(ctx.on.relation_changed(db, remote_unit=0), state)
    assert out.deferred == []
    assert _kept(out)["db_conn_str"] == pgt.Server().master(client).conn_str


@pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")
def test_harness_leader_end_to_end() -> None:
    harness: Any = ops.testing.Harness(
        MyCharm, meta=yaml.safe_dump(CHARM.meta), config=yaml.safe_dump(CHARM.config)
    )
    harness.set_leader(True)
    harness.begin()
    try:
        client = pgt.Client(units=1, request=REQUEST)
        server = pgt.Server(units=2)
        rel_id = pgt.harness_relation(harness, server, client)
        assert pgt.harness_requested(harness, rel_id) == REQUEST
        charm: Any = harness.charm
        expected = server.master(pgt.Client(app=harness.model.app.name, request=REQUEST))
        assert charm._state.db_conn_str == expected.conn_str
        assert charm._state.db_ro_uris == [expected.replace(host=pgt.Server.address(1)).uri]
        pgt.harness_move(harness, rel_id, server.evolve(state=pgt.GONE), client)
        assert charm._state.db_conn_str is None
        assert isinstance(charm.unit.status, ops.model.StatusBase)
    finally:
        harness.cleanup()
