"""PostgreSQLClient under Harness (ops 2.0 and newer): the seed charm, requests, accessors, cost."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import ops
import ops.charm
import ops.framework
import ops.lib
import pytest
import yaml
from ops.testing import Harness
from test_client_support import (
    CONFIG,
    EGRESS0,
    MASTER,
    META,
    META_PEER,
    STANDBY,
    CallSpy,
    fresh_model,
    harness_for,
    seed_charm,
    server_bag,
)

import pgsql
import pgsql.client
from pgsql import protocol

DEPRECATED = "ignore:ops.lib is deprecated:DeprecationWarning"
# Harness is what charms' own 1.x-era tests use; ops 3 marks it pending deprecation
pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")


class Recorder(ops.charm.CharmBase):
    """Records every client event with what the event says when it runs."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.seen: List[str] = []
        self.masters: List[Optional[str]] = []
        self.db = pgsql.PostgreSQLClient(self, "db", **self.request_kwargs())
        for name in (*protocol.EVENT_NAMES, "database_relation_joined", "database_relation_broken"):
            framework.observe(getattr(self.db.on, name), self._record)

    def request_kwargs(self) -> Dict[str, Any]:
        return {}

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        name = type(event).__name__
        self.seen.append(name)
        if name == "MasterChangedEvent":
            self.masters.append(None if event.master is None else event.master.host)


class Declared(Recorder):
    def request_kwargs(self) -> Dict[str, Any]:
        return {"database": str(self.config["database"]), "extensions": ["citext"]}


class DeclaredFromConfig(Recorder):
    """Declarative, re-declared from config-changed (Harness keeps one charm instance)."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on.config_changed, self._on_config_changed)

    def request_kwargs(self) -> Dict[str, Any]:
        return {"database": str(self.config["database"]), "extensions": ["citext"]}

    def _on_config_changed(self, _: ops.charm.ConfigChangedEvent) -> None:
        self.db.request(database=str(self.config["database"]), extensions=["citext"])


class LeaderSets(Recorder):
    """The 1.x way: the leader requests from database_relation_joined."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.db.on.database_relation_joined, self._on_joined)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "mydb"
            event.extensions = ["citext"]


def _relate(harness: Harness[Any], egress: Dict[str, str] = EGRESS0) -> int:
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, harness.charm.unit.name, egress)
    harness.add_relation_unit(rel_id, "postgresql/0")
    return rel_id


# ---------------------------------------------------------------------------------------------
# The seed example, verbatim, both ways of importing
# ---------------------------------------------------------------------------------------------


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
def test_seed_via_ops_lib_use_hands_out_the_same_classes() -> None:
    lib = ops.lib.use("pgsql", 1, "postgresql-charmers@lists.launchpad.net")
    assert lib.PostgreSQLClient is pgsql.PostgreSQLClient
    assert lib.MasterChangedEvent is pgsql.MasterChangedEvent
    assert lib.client is pgsql.client
    assert pgsql.LIBAPI == 1
    assert pgsql.LIBPATCH > 4


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


def test_leader_with_peer_shares_the_request_in_the_peer_app_bag() -> None:
    harness = harness_for(LeaderSets, meta=META_PEER)
    peer_id = harness.add_relation("replicas", "myapp")
    rel_id = _relate(harness)
    shared = json.loads(harness.get_relation_data(peer_id, "myapp")["pgsql-db"])
    assert shared == {str(rel_id): {"database": "mydb", "extensions": "citext"}}
    harness.cleanup()


def test_peer_relation_named_explicitly_or_disabled() -> None:
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


# ---------------------------------------------------------------------------------------------
# Leadership settings (Juju 2.9 / 3.x) and their absence (Juju 4)
# ---------------------------------------------------------------------------------------------


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


def test_no_leader_tools_no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
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


# ---------------------------------------------------------------------------------------------
# Requests: validation, leader only for the setters, declarative from any unit
# ---------------------------------------------------------------------------------------------


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


@pytest.mark.parametrize("leader", [True, False])
def test_declared_request_published_from_relation_created_on_every_unit(leader: bool) -> None:
    harness = harness_for(DeclaredFromConfig, config=CONFIG, leader=leader)
    rel_id = harness.add_relation("db", "postgresql")  # relation-created only
    want = {"database": "mydb", "extensions": "citext"}
    assert harness.get_relation_data(rel_id, "myapp/0") == want
    assert harness.get_relation_data(rel_id, "myapp") == (want if leader else {})
    harness.update_config({"database": "other"})
    want["database"] = "other"
    assert harness.get_relation_data(rel_id, "myapp/0") == want
    assert harness.get_relation_data(rel_id, "myapp") == (want if leader else {})
    harness.cleanup()


def test_request_method_republishes_and_deletes_keys_no_longer_requested() -> None:
    harness = harness_for(Declared, config=CONFIG)
    rel_id = _relate(harness)
    harness.charm.db.request(database="mydb", roles=["reader"])
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "mydb", "roles": "reader"}
    unit_bag = harness.get_relation_data(rel_id, "myapp/0")
    assert "extensions" not in unit_bag
    assert unit_bag["roles"] == "reader"
    with pytest.raises(protocol.RequestError):
        harness.charm.db.request(database="bad,name")
    harness.cleanup()


def test_new_leader_publishes_the_declared_request_to_the_app_bag() -> None:
    harness = harness_for(Declared, config=CONFIG, leader=False)
    rel_id = _relate(harness)
    assert harness.get_relation_data(rel_id, "myapp") == {}
    harness.set_leader(True)
    assert harness.get_relation_data(rel_id, "myapp") == {
        "database": "mydb",
        "extensions": "citext",
    }
    harness.cleanup()


# ---------------------------------------------------------------------------------------------
# Events and accessors
# ---------------------------------------------------------------------------------------------


def test_event_sequence_over_a_lifecycle() -> None:
    harness = harness_for(Declared, config=CONFIG)
    rel_id = _relate(harness)
    seen = harness.charm.seen
    assert seen == ["DatabaseRelationJoinedEvent"]
    seen.clear()
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb"))
    assert seen == [
        "MasterAvailableEvent",
        "MasterChangedEvent",
        "DatabaseAvailableEvent",
        "DatabaseChangedEvent",
    ]
    seen.clear()
    harness.update_relation_data(rel_id, "postgresql/0", {"version": "17"})
    assert seen == []  # nothing new for the charm
    assert harness.charm.db.version() == "17"
    harness.update_relation_data(rel_id, "postgresql/0", {"standbys": STANDBY})
    assert seen == [
        "StandbyAvailableEvent",
        "StandbyChangedEvent",
        "DatabaseAvailableEvent",
        "DatabaseChangedEvent",
    ]
    seen.clear()
    harness.update_relation_data(rel_id, "postgresql/0", {"master": ""})
    assert seen == ["MasterChangedEvent", "MasterGoneEvent", "DatabaseChangedEvent"]
    seen.clear()
    harness.remove_relation(rel_id)
    assert seen == [
        "StandbyChangedEvent",
        "StandbyGoneEvent",
        "DatabaseChangedEvent",
        "DatabaseGoneEvent",
        "DatabaseRelationBrokenEvent",
    ]
    assert harness.charm.db.readiness() is None
    harness.cleanup()


def test_accessors_without_relation_and_with_one() -> None:
    harness = harness_for(Declared, config=CONFIG)
    db = harness.charm.db
    assert db.readiness() is None
    assert db.master() is None
    assert db.standbys() == []
    assert db.version() is None
    assert not db.is_ready()
    rel_id = _relate(harness)
    readiness = db.readiness()
    assert readiness is not None
    assert not readiness.ready
    assert readiness.why  # a reason, e.g. waiting for the server
    harness.update_relation_data(
        rel_id,
        "postgresql/0",
        server_bag("mydb", granted={"myapp/9": {"egress-subnets": "10.9.9.9/32"}}),
    )
    readiness = db.readiness()
    assert readiness is not None
    assert not readiness.ready
    assert readiness.reasons[0].code == protocol.EGRESS_NOT_ALLOWED
    assert "10.0.0.10/32" in readiness.why
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb", standbys=(STANDBY,)))
    master = db.master()
    assert db.is_ready()
    assert master is not None
    assert master.host == "10.0.0.20"
    assert [s.host for s in db.standbys()] == ["10.0.0.21"]
    assert db.version() == "16"
    harness.cleanup()


def test_departing_remote_unit_is_forgotten_and_own_departure_ignored() -> None:
    harness = harness_for(Declared, config=CONFIG)
    rel_id = _relate(harness)
    harness.add_relation_unit(rel_id, "postgresql/1")
    harness.update_relation_data(rel_id, "postgresql/1", server_bag("mydb", state="master"))
    assert harness.charm.db.is_ready()
    harness.charm.seen.clear()
    harness.remove_relation_unit(rel_id, "postgresql/1")
    assert harness.charm.seen[:2] == ["MasterChangedEvent", "MasterGoneEvent"]
    assert not harness.charm.db.is_ready()
    harness.cleanup()


def test_upgrade_from_1x_stored_state_emits_nothing_spurious() -> None:
    harness = harness_for(LeaderSets)
    rel_id = _relate(harness)
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb", standbys=(STANDBY,)))
    # what 1.4 kept: raw strings, as the server wrote them (not in canonical order)
    harness.charm.db._state.rels = {rel_id: {"master": MASTER, "standbys": [STANDBY]}}
    harness.charm.seen.clear()
    harness.charm.on.upgrade_charm.emit()
    assert harness.charm.seen == []
    assert harness.charm.db._state.rels[rel_id]["v"] == 2
    # 1.x saw nothing yet: the upgrade announces what is there
    harness.charm.db._state.rels = {rel_id: {"master": None, "standbys": None}}
    harness.charm.on.upgrade_charm.emit()
    assert harness.charm.seen[0] == "MasterAvailableEvent"
    assert "DatabaseRelationJoinedEvent" not in harness.charm.seen
    harness.cleanup()


def test_pre_ops_leader_unit_request_moves_to_the_app_bag_on_upgrade() -> None:
    harness = harness_for(Recorder)
    rel_id = _relate(harness)
    harness.update_relation_data(rel_id, "myapp/0", {"database": "legacy"})
    harness.charm.on.upgrade_charm.emit()
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "legacy"}
    harness.cleanup()


# ---------------------------------------------------------------------------------------------
# Cost: hook-tool calls against a hand-written plain-ops charm
# ---------------------------------------------------------------------------------------------


class Bare(ops.charm.CharmBase):
    """What a charm author would write by hand: read the master from the triggering unit."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on["db"].relation_changed, self._on_changed)
        self.master: Optional[str] = None

    def _on_changed(self, event: ops.charm.RelationChangedEvent) -> None:
        if event.unit is not None:
            self.master = event.relation.data[event.unit].get("master")


def _measure(
    charm_cls: Any, change: Dict[str, str], config: Optional[str] = CONFIG
) -> Dict[str, int]:
    harness = harness_for(charm_cls, config=config)
    rel_id = _relate(harness)
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb"))
    spy = CallSpy(harness._backend, harness.framework)  # pyright: ignore[reportPrivateUsage]
    fresh_model(harness)
    spy.reset()
    harness.update_relation_data(rel_id, "postgresql/0", change)
    counts = spy.summary()
    harness.cleanup()
    return counts


def test_relation_changed_with_nothing_new_costs_at_most_one_call_more_than_bare() -> None:
    bare = _measure(Bare, {"version": "17"}, config=None)
    ours = _measure(Declared, {"version": "17"})
    print("bare", bare, "ours", ours)
    assert sum(ours.values()) <= sum(bare.values()) + 1
    assert ours.get("update_relation_data", 0) + ours.get("relation_set", 0) == 0
    assert ours.get("is_leader", 0) == 0


def test_ready_relation_changed_costs_few_calls() -> None:
    harness = harness_for(Declared, config=CONFIG)
    rel_id = _relate(harness)
    spy = CallSpy(harness._backend, harness.framework)  # pyright: ignore[reportPrivateUsage]
    fresh_model(harness)
    spy.reset()
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydb"))
    counts = spy.summary()
    print("ready relation-changed", counts)
    assert harness.charm.db.is_ready()
    assert counts.get("relation_get", 0) <= 2  # the triggering unit's bag (+ the local one once)
    assert counts.get("update_relation_data", 0) + counts.get("relation_set", 0) == 0
    assert sum(counts.values()) <= 5
    harness.cleanup()
