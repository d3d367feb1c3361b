"""Every compat.md bullet that charms' own unit tests rely on, as those tests do it."""

from __future__ import annotations

import subprocess
import sys
import types
from typing import Any, Dict, List, Optional
from unittest import mock

import ops
import ops.charm
import ops.framework
import ops.lib
import pytest
from ops.testing import Harness
from test_client_support import EGRESS0, META, META_PEER, harness_for

import pgsql
import pgsql.client

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")

EVENT_CLASSES = [
    "DatabaseAvailableEvent",
    "DatabaseChangedEvent",
    "DatabaseGoneEvent",
    "DatabaseRelationBrokenEvent",
    "DatabaseRelationJoinedEvent",
    "MasterAvailableEvent",
    "MasterChangedEvent",
    "MasterGoneEvent",
    "PostgreSQLRelationEvent",
    "StandbyAvailableEvent",
    "StandbyChangedEvent",
    "StandbyGoneEvent",
]
EVENTS = [
    "database_relation_joined",
    "database_relation_broken",
    "database_available",
    "master_available",
    "standby_available",
    "database_changed",
    "master_changed",
    "standby_changed",
    "database_gone",
    "master_gone",
    "standby_gone",
]


class AppNameCharm(ops.charm.CharmBase):
    """Like hello-juju: the leader requests a database named after the application."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.db_uri: Optional[str] = None
        self.masters: List[Optional[str]] = []
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        framework.observe(self.db.on.master_changed, self._on_master_changed)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = self.app.name

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        self.db_uri = None if event.master is None else event.master.uri
        self.masters.append(self.db_uri)


class IndicoLike(ops.charm.CharmBase):
    """Like indico: extensions with schemas, joined handler on the leader."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        lib = ops.lib.use("pgsql", 1, "postgresql-charmers@lists.launchpad.net")
        self.db = lib.PostgreSQLClient(self, "db")
        self.db_uri: Optional[str] = None
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        framework.observe(self.db.on.master_changed, self._on_master_changed)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "indico"
            event.extensions = ["pg_trgm:public", "unaccent:public"]
        elif event.database != "indico":
            event.defer()

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        if event.database != "indico":
            return
        self.db_uri = None if event.master is None else event.master.uri


# -- imports and discovery --------------------------------------------------------------------


def test_public_names_and_event_classes() -> None:
    assert pgsql.ConnectionString is pgsql.connstr.ConnectionString
    for name in EVENT_CLASSES:
        assert getattr(pgsql, name) is getattr(pgsql.client, name)
    assert set(EVENTS) <= set(dir(pgsql.PostgreSQLClient.on))
    assert pgsql.client.LEADER_KEY == "interface.pgsql"


@pytest.mark.filterwarnings("ignore:ops.lib is deprecated:DeprecationWarning")
def test_ops_lib_use_and_opslib_client_are_the_same_module_tree() -> None:
    lib = ops.lib.use("pgsql", 1, "postgresql-charmers@lists.launchpad.net")
    from pgsql.opslib.pgsql import client

    assert lib.PostgreSQLClient is pgsql.PostgreSQLClient
    assert client is pgsql.client
    assert sys.modules["pgsql.opslib.pgsql.client"] is pgsql.client
    assert lib.LIBAPI == 1
    assert lib.LIBPATCH >= 5


def test_ops_lib_use_replaced_by_a_function_returning_the_top_level_module() -> None:
    def use(*_args: Any) -> Any:
        return pgsql

    with mock.patch.object(ops.lib, "use", use):
        harness = harness_for(IndicoLike)
        with mock.patch.object(pgsql.client, "_is_ready", return_value=True):
            rel_id = harness.add_relation("db", "postgresql")
            harness.add_relation_unit(rel_id, "postgresql/0")
            harness.update_relation_data(rel_id, "postgresql/0", {"master": "host=master"})
        assert harness.charm.db_uri == "postgresql://master"
        harness.cleanup()


# -- private names that tests patch -----------------------------------------------------------


def test_is_ready_patched_forces_the_verdict_both_ways() -> None:
    harness = harness_for(AppNameCharm)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    with mock.patch("pgsql.client._is_ready", return_value=False) as is_ready:
        harness.update_relation_data(
            rel_id, "postgresql/0", {"master": "host=m", "database": "myapp"}
        )
        assert harness.charm.db_uri is None
        assert is_ready.called
        args = is_ready.call_args[0]
        assert isinstance(args[0], pgsql.client.logging.Logger)
        assert args[3]["master"] == "host=m"
    with mock.patch("pgsql.opslib.pgsql.client._is_ready", return_value=True):
        harness.update_relation_data(rel_id, "postgresql/0", {"version": "12"})
        assert harness.charm.db_uri == "postgresql://m"
    harness.cleanup()


def test_is_ready_original_judges_one_bag() -> None:
    log = pgsql.client.logging.getLogger("t")
    request = {"database": "mydb"}
    egress = {"egress-subnets": "10.0.0.10/32"}
    ok = {"database": "mydb", "allowed-subnets": "10.0.0.10/32", "master": "host=x"}
    is_ready = pgsql.client._is_ready  # pyright: ignore[reportPrivateUsage]
    assert is_ready(log, request, egress, ok)
    assert not is_ready(log, request, egress, {**ok, "database": "other"})
    assert not is_ready(log, request, egress, {**ok, "allowed-subnets": "1.2.3.4/32"})
    assert is_ready(log, {}, {}, {"database": "anything"})


def test_leader_data_patched_as_dict_copy_and_update_feeds_non_leaders() -> None:
    """The waltz/indico pattern: leadership data in a test-owned dict."""
    leadership: Dict[Any, Any] = {}
    with mock.patch.multiple(
        pgsql.client,
        _get_pgsql_leader_data=leadership.copy,
        _set_pgsql_leader_data=leadership.update,
    ):
        harness = harness_for(AppNameCharm)
        rel_id = harness.add_relation("db", "postgresql")
        harness.add_relation_unit(rel_id, "postgresql/0")
        assert leadership[rel_id]["database"] == "myapp"
        # remote data in the server APP bag only, echoing the request
        harness.update_relation_data(
            rel_id, "postgresql", {"database": "myapp", "master": "host=foo.lish dbname=myapp"}
        )
        assert harness.charm.db_uri == "postgresql://foo.lish/myapp"
        # by hand, with the local unit as the event's unit (waltz does that)
        relation = harness.model.get_relation("db")
        unit = harness.charm.unit
        harness.charm.masters.clear()
        harness.charm.db.on.master_changed.emit(relation, harness.charm.app, unit, unit)
        assert harness.charm.masters == ["postgresql://foo.lish/myapp"]
        harness.cleanup()

        follower = harness_for(AppNameCharm, leader=False)
        rel_id = follower.add_relation("db", "postgresql")
        leadership[rel_id] = {"database": "myapp", "roles": "", "extensions": ""}
        follower.add_relation_unit(rel_id, "postgresql/0")
        assert follower.get_relation_data(rel_id, "myapp/0")["database"] == "myapp"
        follower.update_relation_data(
            rel_id, "postgresql/0", {"database": "other", "master": "host=x"}
        )
        assert follower.charm.db_uri is None  # the request is known: other != myapp
        follower.cleanup()


@pytest.mark.parametrize("path", ["pgsql.client", "pgsql.opslib.pgsql.client"])
def test_leader_get_and_set_patched_hello_juju_style(path: str) -> None:
    with mock.patch(f"{path}._leader_get") as leader_get, mock.patch(
        f"{path}._leader_set"
    ) as leader_set:
        leader_get.return_value = {}
        leader_set.return_value = None
        harness = harness_for(AppNameCharm)
        rel_id = harness.add_relation("db", "postgresql")
        harness.add_relation_unit(rel_id, "postgresql/0")
        assert harness.get_relation_data(rel_id, harness.charm.app.name) == {
            "database": harness.charm.app.name
        }
        assert leader_set.called
        assert leader_set.call_args[0][0]["interface.pgsql"].startswith(f"{rel_id}:")
        harness.cleanup()

        harness = harness_for(AppNameCharm, leader=False)
        rel_id = harness.add_relation("db", "postgresql")
        harness.add_relation_unit(rel_id, "postgresql/0")
        assert harness.get_relation_data(rel_id, harness.charm.app.name) == {}
        harness.cleanup()


def test_subprocess_stubs_only_see_leader_set_with_the_1x_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: List[List[str]] = []

    def check_call(cmd: List[str], *_a: Any, **_k: Any) -> int:
        seen.append(cmd)
        assert cmd[0] == "leader-set"
        assert cmd[1].startswith("interface.pgsql=")
        return 0

    def check_output(cmd: List[str], *_a: Any, **_k: Any) -> bytes:
        seen.append(cmd)
        assert cmd[0] == "leader-get"
        return b"''\n"

    monkeypatch.setattr(subprocess, "check_call", check_call)
    monkeypatch.setattr(subprocess, "check_output", check_output)
    # without the tools on PATH (Harness, Scenario, Juju 4) nothing is run at all
    harness = harness_for(AppNameCharm)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.cleanup()
    assert seen == []

    # with them (Juju 2.9/3.x), only leader-set interface.pgsql=... and leader-get
    def which(name: str) -> str:
        return f"/x/{name}"

    monkeypatch.setattr(pgsql.client.shutil, "which", which)
    harness = harness_for(AppNameCharm)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.cleanup()
    assert any(c[0] == "leader-set" for c in seen)


@pytest.mark.parametrize("module", ["pgsql.client", "pgsql.opslib.pgsql.client"])
def test_on_joined_and_mirror_appdata_patched_on_the_class_after_the_charm_was_built(
    module: str,
) -> None:
    harness = harness_for(AppNameCharm)
    with mock.patch(f"{module}.PostgreSQLClient._on_joined") as on_joined, mock.patch(
        f"{module}.PostgreSQLClient._mirror_appdata"
    ) as mirror:
        rel_id = harness.add_relation("db", "postgresql")
        harness.add_relation_unit(rel_id, "postgresql/0")
        assert on_joined.call_count == 1
        assert mirror.called  # relation-created publishes through it
    # _on_joined was replaced: the charm never saw database_relation_joined, so no request
    assert harness.get_relation_data(rel_id, "myapp") == {}
    harness.cleanup()


def test_mirror_appdata_patched_stops_mirroring_only() -> None:
    class Declared(ops.charm.CharmBase):
        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "db", database="mydb")

    harness = harness_for(Declared)
    with mock.patch.object(pgsql.PostgreSQLClient, "_mirror_appdata"):
        rel_id = harness.add_relation("db", "postgresql")
    assert harness.get_relation_data(rel_id, "myapp/0") == {}
    harness.cleanup()


# -- events -----------------------------------------------------------------------------------


def test_events_emitted_by_hand_with_four_positional_arguments() -> None:
    harness = harness_for(AppNameCharm)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    relation = harness.model.get_relation("db", rel_id)
    remote = harness.model.get_unit("postgresql/0")
    seen: List[pgsql.PostgreSQLRelationEvent] = []

    class Observer(ops.framework.Object):
        def on_event(self, event: pgsql.PostgreSQLRelationEvent) -> None:
            seen.append(event)

    observer = Observer(harness.framework, "observer")
    for name in EVENTS:
        harness.framework.observe(getattr(harness.charm.db.on, name), observer.on_event)
        getattr(harness.charm.db.on, name).emit(relation, remote.app, remote, harness.charm.unit)
    assert [type(e).__name__ for e in seen] == [
        "DatabaseRelationJoinedEvent",
        "DatabaseRelationBrokenEvent",
        "DatabaseAvailableEvent",
        "MasterAvailableEvent",
        "StandbyAvailableEvent",
        "DatabaseChangedEvent",
        "MasterChangedEvent",
        "StandbyChangedEvent",
        "DatabaseGoneEvent",
        "MasterGoneEvent",
        "StandbyGoneEvent",
    ]
    event = seen[6]
    assert event.relation is relation
    assert event.unit is remote
    assert event.app is remote.app
    assert event.master is None
    assert event.standbys == []
    assert event.version is None
    assert event.database == "myapp"
    assert event.roles == []
    assert event.extensions == []
    harness.cleanup()


def test_leader_app_bag_exactly_the_request_and_empty_on_a_non_leader() -> None:
    for leader, want in ((True, {"database": "myapp"}), (False, {})):
        harness = harness_for(AppNameCharm, leader=leader)
        rel_id = harness.add_relation("db", "postgresql")
        harness.add_relation_unit(rel_id, "postgresql/0")
        assert harness.get_relation_data(rel_id, "myapp") == want
        harness.cleanup()


@pytest.mark.filterwarnings("ignore:ops.lib is deprecated:DeprecationWarning")
def test_extensions_comma_joined_in_the_app_bag_indico_style() -> None:
    harness = harness_for(IndicoLike, meta=META_PEER)
    harness.add_relation("replicas", "myapp")
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    data = harness.get_relation_data(rel_id, "myapp")
    assert data["database"] == "indico"
    assert data["extensions"] == "pg_trgm:public,unaccent:public"
    harness.cleanup()


def test_host_master_then_new_master_gives_two_master_changed() -> None:
    """The indico test, without _is_ready patched: a non-leader trusts the echo."""
    harness = harness_for(AppNameCharm, leader=False)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.update_relation_data(rel_id, "postgresql/0", {"master": "host=master"})
    assert harness.charm.masters == ["postgresql://master"]
    harness.update_relation_data(rel_id, "postgresql/0", {"master": "host=new_master"})
    assert harness.charm.masters == ["postgresql://master", "postgresql://new_master"]
    harness.cleanup()


@pytest.mark.filterwarnings("ignore:ops.lib is deprecated:DeprecationWarning")
def test_indico_pattern_is_ready_and_leadership_dict_patched_on_the_leader() -> None:
    leadership: Dict[Any, Any] = {}
    with mock.patch.multiple(
        pgsql.client,
        _is_ready=mock.MagicMock(return_value=True),
        _get_pgsql_leader_data=leadership.copy,
        _set_pgsql_leader_data=leadership.update,
    ):
        harness = harness_for(IndicoLike, meta=META_PEER)
        harness.add_relation("replicas", "myapp")
        rel_id = harness.add_relation("db", "postgresql")
        harness.add_relation_unit(rel_id, "postgresql/0")
        app_bag = harness.get_relation_data(rel_id, "myapp")
        assert app_bag["database"] == "indico"
        assert set(app_bag["extensions"].split(",")) == {"pg_trgm:public", "unaccent:public"}
        harness.update_relation_data(rel_id, "postgresql/0", {"master": "host=master"})
        assert harness.charm.db_uri == "postgresql://master"
        harness.update_relation_data(rel_id, "postgresql/0", {"master": "host=new_master"})
        assert harness.charm.db_uri == "postgresql://new_master"
        harness.cleanup()


def test_uri_forms() -> None:
    cs = pgsql.ConnectionString(
        "host=host port=5432 dbname=livepatch-server user=username password=password"
    )
    assert cs.uri == "postgresql://username:password@host:5432/livepatch-server"
    assert pgsql.ConnectionString("host=master").uri == "postgresql://master"
    cs = pgsql.ConnectionString("host=h sslmode=prefer fallback_application_name=x")
    assert cs.uri == "postgresql://h?fallback_application_name=x&sslmode=prefer"


def test_works_with_a_harness_built_from_meta_without_peers() -> None:
    harness: Harness[AppNameCharm] = Harness(AppNameCharm, meta=META)
    harness.begin_with_initial_hooks()
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, "myapp/0", EGRESS0)
    harness.add_relation_unit(rel_id, "postgresql/0")
    assert isinstance(harness.charm.db.on, pgsql.PostgreSQLClientEvents)
    harness.cleanup()


def test_module_types_are_plain() -> None:
    assert isinstance(pgsql.client, types.ModuleType)


@pytest.mark.filterwarnings("ignore:ops.lib is deprecated:DeprecationWarning")
def test_seed_via_ops_lib_use_hands_out_the_same_classes() -> None:
    lib = ops.lib.use("pgsql", 1, "postgresql-charmers@lists.launchpad.net")
    assert lib.PostgreSQLClient is pgsql.PostgreSQLClient
    assert lib.MasterChangedEvent is pgsql.MasterChangedEvent
    assert lib.client is pgsql.client
    assert pgsql.LIBAPI == 1
    assert pgsql.LIBPATCH > 4
