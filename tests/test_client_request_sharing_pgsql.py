"""Where a ``pgsql`` client's request lives and how units other than the leader learn it: the
application bag (moved there from a pre-ops leader's unit bag on upgrade), the peer relation's
application bag (named, default or disabled), the ``interface.pgsql`` leadership setting on Juju
2.9/3.x, and on Juju 4 (no leader-get/leader-set) no hook tool at all.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

import ops.charm
import ops.framework
import ops.testing
import pytest
import yaml
from fix_client_pgsql_harness import LeaderSets, Recorder
from fix_client_pgsql_harness import relate as _relate
from fix_client_pgsql_scenario import META, OneX
from fix_client_pgsql_scenario import event as _event
from fix_client_pgsql_scenario import relation as _relation
from needs import needs_scenario
from test_client_support import EGRESS0, META_PEER, harness_for, server_bag

import pgsql
import pgsql.client

testing: Any = ops.testing
pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")


def test_pre_ops_leader_unit_request_moves_to_the_app_bag_on_upgrade() -> None:
    harness = harness_for(Recorder)
    rel_id = _relate(harness)
    harness.update_relation_data(rel_id, "myapp/0", {"database": "legacy"})
    harness.charm.on.upgrade_charm.emit()
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "legacy"}
    harness.cleanup()


def test_leader_with_peer_shares_the_request_in_the_peer_app_bag() -> None:
    harness = harness_for(LeaderSets, meta=META_PEER)
    peer_id = harness.add_relation("replicas", "myapp")
    rel_id = _relate(harness)
    shared = json.loads(harness.get_relation_data(peer_id, "myapp")["pgsql-db"])
    assert shared == {str(rel_id): {"database": "mydb", "extensions": "citext"}}
    harness.cleanup()


def test_peer_relation_named_explicitly_or_disabled_and_a_wrong_name_raises() -> None:
    class Named(ops.charm.CharmBase):
        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "db", peer="replicas")
            self.none = pgsql.PostgreSQLClient(self, "db2", peer="")

    meta = META_PEER + "  db2:\n    interface: pgsql\n"
    meta = meta.replace("peers:", "requires:\n  db2:\n    interface: pgsql\npeers:", 1)
    meta = META_PEER.replace("    limit: 1\n", "    limit: 1\n  db2:\n    interface: pgsql\n", 1)
    harness = harness_for(Named, meta=meta)
    assert harness.charm.db._peer_name == "replicas"
    assert harness.charm.none._peer_name is None

    class Wrong(ops.charm.CharmBase):
        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "db", peer="nope")

    with pytest.raises(ValueError, match="not a peer endpoint"):
        harness_for(Wrong, meta=META_PEER)
    harness.cleanup()


class FakeLeaderTools:
    """``leader-get``/``leader-set`` on PATH, backed by a dict; records every command."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, settings: Dict[str, str]) -> None:
        self.settings = settings
        self.commands: List[List[str]] = []
        monkeypatch.setattr(pgsql.client.shutil, "which", self.which)
        monkeypatch.setattr(pgsql.client.subprocess, "check_output", self.check_output)
        monkeypatch.setattr(pgsql.client.subprocess, "check_call", self.check_call)

    @staticmethod
    def which(name: str) -> str:
        return f"/usr/bin/{name}"

    def check_output(self, cmd: List[str]) -> bytes:
        self.commands.append(cmd)
        assert cmd[:2] == ["leader-get", "--format=yaml"]
        return yaml.safe_dump(self.settings.get(cmd[2])).encode()

    def check_call(self, cmd: List[str]) -> int:
        self.commands.append(cmd)
        assert cmd[0] == "leader-set"
        assert cmd[1].startswith("interface.pgsql=")
        key, _, value = cmd[1].partition("=")
        self.settings[key] = value
        return 0


def test_non_leader_learns_from_leadership_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    tools = FakeLeaderTools(
        monkeypatch, {"interface.pgsql": yaml.dump({0: {"database": "mydb", "roles": ""}})}
    )
    harness = harness_for(Recorder, leader=False)
    rel_id = _relate(harness)
    assert rel_id == 0
    assert harness.get_relation_data(rel_id, "myapp/0")["database"] == "mydb"
    assert all(c[0] == "leader-get" for c in tools.commands)
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb"))
    assert harness.charm.db.is_ready()
    harness.cleanup()


def test_leader_writes_leadership_settings_only_when_the_request_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tools = FakeLeaderTools(monkeypatch, {})
    harness = harness_for(LeaderSets)
    rel_id = _relate(harness)
    sets = [c for c in tools.commands if c[0] == "leader-set"]
    assert len(sets) == 1
    stored = yaml.safe_load(tools.settings["interface.pgsql"])
    assert stored == {rel_id: {"database": "mydb", "extensions": "citext", "roles": ""}}
    tools.commands.clear()
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb"))
    harness.update_relation_data(rel_id, "postgresql/0", {"version": "17"})
    assert tools.commands == []  # nothing changed: no leader-get, no leader-set
    harness.cleanup()


def test_without_leader_tools_no_process_is_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Juju 4 (and Harness/Scenario): nothing is ever run."""

    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("no hook tool may run")

    def which(_name: str) -> None:
        return None

    monkeypatch.setattr(pgsql.client.shutil, "which", which)
    monkeypatch.setattr(pgsql.client.subprocess, "check_output", boom)
    monkeypatch.setattr(pgsql.client.subprocess, "check_call", boom)
    for leader in (True, False):
        harness = harness_for(LeaderSets, leader=leader)
        rel_id = _relate(harness)
        harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb"))
        assert harness.charm.db.is_ready()
        harness.set_leader(not leader)
        harness.remove_relation(rel_id)
        harness.cleanup()


@needs_scenario
def test_juju_4_runs_no_hook_tool_outside_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("no process may run")

    monkeypatch.setattr(pgsql.client.subprocess, "check_output", boom)
    monkeypatch.setattr(pgsql.client.subprocess, "check_call", boom)
    for leader in (True, False):
        rel = _relation({0: server_bag("mydb", granted={"myapp/0": EGRESS0})})
        ctx = testing.Context(OneX, meta=META, juju_version="4.0.0")
        state = testing.State(leader=leader, relations={rel})
        for kind in ("created", "joined", "changed", "leader", "config", "upgrade", "broken"):
            rel = state.get_relation(rel.id)
            if kind == "leader":
                event = ctx.on.leader_elected()
            elif kind == "config":
                event = ctx.on.config_changed()
            elif kind == "upgrade":
                event = ctx.on.upgrade_charm()
            else:
                event = _event(kind, rel)(ctx)
            state = ctx.run(event, state)
