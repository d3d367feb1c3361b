"""Leadership moving on ``pgsql``: the shared request an ex-leader or a returning leader
follows, with and without a peer relation, and one endpoint's leadership entry
beside another's.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from typing import Any, ClassVar, Dict, List, Optional

import ops
import ops.charm
import ops.framework
import ops.testing
import pytest
import yaml
from fix_client_pgsql import (
    META_PGSQL,
    META_PGSQL_PEERS,
    ConfigSetter,
    LeaderRequestsFirst,
    bag_for,
    db_relation,
    served_relation,
    server_answer,
    stored_content,
    with_db_relation,
)
from fix_client_pgsql_scenario import META_PEER, OneX
from fix_client_pgsql_scenario import event as _event
from fix_client_pgsql_scenario import local as _local
from fix_client_pgsql_scenario import relation as _relation
from fix_client_pgsql_scenario import replace as _replace
from fix_client_pgsql_scenario import run as _run
from fix_client_pgsql_scenario import with_remote as _with_remote
from needs import needs_scenario, requires_scenario
from test_client_support import EGRESS1, harness_for, server_bag

import pgsql
from pgsql import protocol

testing: Any = ops.testing


class _LeaderSetsFromConfig(ops.charm.CharmBase):
    _st = ops.framework.StoredState()

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self._st.set_default(conn=None)
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.db.on.database_relation_joined, self._joined)
        framework.observe(self.db.on.master_changed, self._master)
        framework.observe(self.on.config_changed, self._config_changed)

    def _joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = str(self.config["database"])

    def _config_changed(self, event: ops.charm.ConfigChangedEvent) -> None:
        relation = self.db.relation()
        if relation is not None and self.unit.is_leader():
            self.db.set_request(relation, database=str(self.config["database"]))

    def _master(self, event: pgsql.MasterChangedEvent) -> None:
        self._st.conn = None if event.master is None else event.master.dbname


@pytest.mark.scenario
@pytest.mark.parametrize("first_leader", [True, False])
def test_ex_leader_without_peer_follows_the_echo_like_any_non_leader(first_leader: bool) -> None:
    # Juju 4, no peer relation: nothing tells an ex-leader that leadership moved
    testing = requires_scenario()
    config = {"options": {"database": {"type": "string", "default": "a"}}}
    unit = 0 if first_leader else 1
    ctx = testing.Context(_LeaderSetsFromConfig, meta=META_PGSQL, config=config, unit_id=unit)
    rel = db_relation(
        unit, {0: {"ingress-address": "10.0.0.20"}}, {} if first_leader else {"database": "a"}
    )
    state = testing.State(leader=first_leader, relations={rel}, config={"database": "a"})
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(4), remote_unit=0), state)
    state = with_db_relation(state, remote_units_data={0: bag_for("a")})
    state = ctx.run(ctx.on.relation_changed(state.get_relation(4), remote_unit=0), state)
    assert stored_content(state, "/_st")["conn"] == "a"
    state = dataclasses.replace(state, leader=False, config={"database": "b"})
    state = ctx.run(ctx.on.config_changed(), state)
    state = with_db_relation(
        state, remote_units_data={0: bag_for("b")}, local_app_data={"database": "b"}
    )
    state = ctx.run(ctx.on.relation_changed(state.get_relation(4), remote_unit=0), state)
    assert stored_content(state, "/_st")["conn"] == "b"
    assert state.get_relation(4).local_unit_data.get("database", "") in {"", "b"}


_TWO_ENDPOINTS = """
name: myapp
requires:
  db:
    interface: pgsql
  db-admin:
    interface: pgsql
"""


class _TwoEndpoints(ops.charm.CharmBase):
    databases: ClassVar[Dict[str, str]] = {"db": "appdb", "db-admin": "admindb"}

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.admin = pgsql.PostgreSQLClient(self, "db-admin")
        framework.observe(self.db.on.database_relation_joined, self._joined)
        framework.observe(self.admin.on.database_relation_joined, self._joined)

    def _joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = self.databases[event.relation.name]


def test_one_endpoints_request_change_keeps_the_others_leadership_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Juju 2.9/3.x, no peer relation: both endpoints share the 1.x key interface.pgsql
    store: Dict[str, str] = {}

    def check_call(cmd: List[str], *_args: Any, **_kwargs: Any) -> int:
        assert cmd[0] == "leader-set"
        assert cmd[1].startswith("interface.pgsql=")
        store["interface.pgsql"] = cmd[1].partition("=")[2]
        return 0

    def check_output(cmd: List[str], *_args: Any, **_kwargs: Any) -> bytes:
        return yaml.safe_dump(store.get(cmd[-1])).encode()

    real_which = shutil.which

    def which(name: str, *args: Any, **kwargs: Any) -> Optional[str]:
        return f"/fake/{name}" if name.startswith("leader-") else real_which(name, *args, **kwargs)

    monkeypatch.setattr(subprocess, "check_call", check_call)
    monkeypatch.setattr(subprocess, "check_output", check_output)
    monkeypatch.setattr(shutil, "which", which)
    harness = harness_for(_TwoEndpoints, meta=_TWO_ENDPOINTS)
    r1 = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(r1, "postgresql/0")
    r2 = harness.add_relation("db-admin", "postgresql")
    harness.add_relation_unit(r2, "postgresql/0")
    assert yaml.safe_load(store["interface.pgsql"])[r2]["database"] == "admindb"
    monkeypatch.setitem(_TwoEndpoints.databases, "db", "appdb2")
    rel = harness.model.get_relation("db", r1)
    unit = harness.model.get_unit("postgresql/0")
    assert rel is not None
    harness.charm.db.on.database_relation_joined.emit(rel, unit.app, unit, harness.charm.unit)
    shared = yaml.safe_load(store["interface.pgsql"])
    assert shared[r1]["database"] == "appdb2"
    assert shared[r2]["database"] == "admindb"


@pytest.mark.scenario
def test_ex_leader_follows_the_new_leaders_request() -> None:
    # Fixed: an ex-leader's peer-relation-changed now checks is-leader before ignoring the
    # shared request (Juju 4 sends no leader-settings-changed when leadership moves).
    # caught by test_chaos_client (leader_changes, then request_changed_in_config): the ex-leader
    # reported ready for the old database while the application asked for another one
    testing = requires_scenario()
    ctx = testing.Context(LeaderRequestsFirst, meta=META_PGSQL_PEERS, unit_id=0)
    rel = served_relation(testing, "first")
    peer = testing.PeerRelation("peers", interface="myapp-peers", id=1, peers_data={1: {}})
    # as leader, myapp/0 requests "first" (database_relation_joined) and shares it
    state = testing.State(leader=True, relations={rel, peer})
    state = ctx.run(ctx.on.relation_joined(rel, remote_unit=0), state)
    state = ctx.run(ctx.on.relation_changed(state.get_relation(5), remote_unit=0), state)
    shared = dict(state.get_relation(1).local_app_data)
    assert json.loads(shared["pgsql-db"]) == {"5": {"database": "first"}}
    # leadership moves to myapp/1, which requests "second" and shares it in the peer bag
    rel_out = state.get_relation(5)
    rel2 = dataclasses.replace(
        rel_out,
        local_app_data={"database": "second"},
        remote_units_data={0: server_answer("second")},
    )
    peer2 = dataclasses.replace(
        state.get_relation(1),
        local_app_data={"pgsql-db": json.dumps({"5": {"database": "second"}})},
    )
    state = dataclasses.replace(state, leader=False, relations={rel2, peer2})
    with ctx(ctx.on.relation_changed(peer2), state) as mgr:
        state = mgr.run()
        charm: LeaderRequestsFirst = mgr.charm  # type: ignore[assignment]
        relation = charm.model.relations["db"][0]
        assert charm.db.requested(relation) == protocol.Request.build(database="second")
    # the server's new echo arrives in its own relation-changed, as Juju delivers it
    with ctx(ctx.on.relation_changed(state.get_relation(5), remote_unit=0), state) as mgr:
        mgr.run()
        charm = mgr.charm  # type: ignore[assignment]
        readiness = charm.db.readiness()
        assert readiness is not None
        assert readiness.ready
        assert readiness.database == "second"


class _LeaderConfigCharm(ConfigSetter):
    """_ConfigCharm that, like the seed example, only sets the request on the leader."""

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            super()._on_joined(event)

    def _on_config_changed(self, event: ops.charm.ConfigChangedEvent) -> None:
        if self.unit.is_leader():
            super()._on_config_changed(event)


def test_unit_back_from_leadership_relearns_a_request_it_saw_before() -> None:
    # caught by test_chaos_roundtrip (long profile: leadership moving while the request went
    # mydbname -> otherdb -> mydbname): a unit that learnt "mydbname" from the peer bag, then as
    # leader shared "otherdb", saw the new leader's "mydbname" share as the very text it had
    # already read (A-B-A), skipped it and kept judging readiness against "otherdb"
    testing = requires_scenario()
    config = {"options": {"database": {"type": "string", "default": "mydbname"}}}
    ctx = testing.Context(_LeaderConfigCharm, meta=META_PGSQL_PEERS, config=config, unit_id=1)
    share = {"pgsql-db": json.dumps({"5": {"database": "mydbname"}}, separators=(",", ":"))}
    rel = served_relation(testing, "mydbname")
    peer = testing.PeerRelation(
        "peers", interface="myapp-peers", id=1, local_app_data=share, peers_data={0: {}}
    )
    state = testing.State(leader=False, relations={rel, peer}, config={"database": "mydbname"})
    state = ctx.run(ctx.on.relation_joined(rel, remote_unit=0), state)
    state = ctx.run(ctx.on.relation_changed(state.get_relation(1), remote_unit=0), state)
    # this unit becomes leader and asks for "otherdb"
    state = dataclasses.replace(state, leader=True, config={"database": "otherdb"})
    state = ctx.run(ctx.on.leader_elected(), state)
    state = ctx.run(ctx.on.config_changed(), state)
    assert json.loads(state.get_relation(1).local_app_data["pgsql-db"]) == {
        "5": {"database": "otherdb"}
    }
    # leadership moves on; the new leader asks for "mydbname" again, and the server serves it
    peer2 = dataclasses.replace(state.get_relation(1), local_app_data=share)
    state = dataclasses.replace(state, leader=False, relations={state.get_relation(5), peer2})
    with ctx(ctx.on.relation_changed(peer2, remote_unit=0), state) as mgr:
        mgr.run()
        charm: _LeaderConfigCharm = mgr.charm  # type: ignore[assignment]
        relation = charm.model.relations["db"][0]
        assert charm.db.requested(relation) == protocol.Request.build(database="mydbname")
        readiness = charm.db.readiness()
        assert readiness is not None
        assert readiness.ready, readiness


@needs_scenario
def test_leader_writes_the_peer_copy_and_a_non_leader_reads_it() -> None:
    rel = _relation()
    peer = testing.PeerRelation("replicas")
    ctx = testing.Context(OneX, meta=META_PEER)
    state = ctx.run(
        ctx.on.relation_joined(rel, remote_unit=0),
        testing.State(leader=True, relations={rel, peer}),
    )
    shared = state.get_relation(peer.id).local_app_data["pgsql-db"]
    assert shared == f'{{"{rel.id}":{{"database":"mydb"}}}}'
    # a non-leader with that peer data: mirrors the request, insists on its echo
    peer2 = testing.PeerRelation("replicas", local_app_data={"pgsql-db": shared})
    rel2 = _with_remote(
        _local(rel, EGRESS1), {0: server_bag("otherdb", granted={"myapp/1": EGRESS1})}
    )
    out, seen = _run(
        OneX,
        _event("changed", rel2),
        testing.State(relations={rel2, peer2}),
        META_PEER,
        unit_id=1,
    )
    assert out.get_relation(rel2.id).local_unit_data["database"] == "mydb"
    assert seen == []  # otherdb != mydb: not ready
    rel3 = _with_remote(rel2, {0: server_bag("mydb", granted={"myapp/1": EGRESS1})})
    out, seen = _run(
        OneX,
        _event("changed", rel3),
        _replace(out, rel3),
        META_PEER,
        unit_id=1,
    )
    assert seen == [("master", "10.0.0.20"), ("database", "mydb")]
