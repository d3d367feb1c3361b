"""Regression tests for what real charms' unit tests and a fresh review found in 2.0.

One test per behaviour, named after it: relation-changed before any remote unit joined, a
declared request lasting across hooks, request() events delivered once the charm is built, and
``event.database`` of a unit that cannot know the request once the relation is gone.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from typing import Any, ClassVar, Dict, List, Optional
from unittest import mock

import ops
import ops.charm
import ops.framework
import pytest
import yaml
from ops.testing import Harness
from test_client_support import (
    EGRESS0,
    EGRESS1,
    MASTER,
    META,
    PASSWORD,
    harness_for,
    seed_charm,
    server_bag,
)

import pgsql

SERVER_APP = "postgresql-k8s"


class _Recorder(ops.charm.CharmBase):
    """Records every client event with what the event said, the 1.x way (setters in joined)."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.seen: List[str] = []
        for bound in self.db.on.events().values():
            framework.observe(bound, self._record)

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        self.seen.append(type(event).__name__)
        if isinstance(event, pgsql.DatabaseRelationJoinedEvent) and self.unit.is_leader():
            event.database = "mydbname"


# ---------------------------------------------------------------------------------------------
# 1. relation-changed before any remote unit joined
# ---------------------------------------------------------------------------------------------


def test_app_bag_changed_before_any_unit_joined_emits_nothing() -> None:
    harness = harness_for(_Recorder)
    charm: _Recorder = harness.charm
    rel_id = harness.add_relation("db", SERVER_APP)
    harness.update_relation_data(rel_id, SERVER_APP, server_bag("mydbname"))
    assert charm.seen == []  # 1.x: nothing until a unit joined; no joined handler run here
    harness.add_relation_unit(rel_id, f"{SERVER_APP}/0")
    assert charm.seen == ["DatabaseRelationJoinedEvent"]
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "mydbname"}
    harness.update_relation_data(rel_id, f"{SERVER_APP}/0", {"ingress-address": "10.0.0.20"})
    assert "MasterChangedEvent" in charm.seen
    master = charm.db.master()
    assert master is not None
    assert master.password == PASSWORD
    # nothing was deferred along the way: no event waits forever
    assert list(harness.framework._storage.notices(None)) == []  # pyright: ignore[reportPrivateUsage]


def test_changed_with_a_joined_unit_but_no_record_still_tells_joined() -> None:
    # lost StoredState (a replaced pod), or -changed before -joined: Juju lists a joined unit
    testing = pytest.importorskip("ops.testing")
    if not hasattr(testing, "Context"):
        pytest.skip("ops.testing has no Scenario Context in this ops")
    meta = {"name": "myapp", "requires": {"db": {"interface": "pgsql"}}}
    ctx = testing.Context(_Recorder, meta=meta, unit_id=0)
    rel = testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name=SERVER_APP,
        id=7,
        local_unit_data=dict(EGRESS0),
        local_app_data={"database": "mydbname", "extensions": "citext"},
        remote_units_data={0: server_bag("mydbname")},
    )
    with ctx(
        ctx.on.relation_changed(rel, remote_unit=0), testing.State(leader=True, relations={rel})
    ) as mgr:
        mgr.run()
        charm: _Recorder = mgr.charm  # type: ignore[assignment]
        assert charm.seen[0] == "DatabaseRelationJoinedEvent"
        assert "MasterChangedEvent" in charm.seen


# ---------------------------------------------------------------------------------------------
# 2. a declared request lasts until the charm declares another
# ---------------------------------------------------------------------------------------------


class _DeclaresInConfigChanged(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.masters: List[Optional[str]] = []
        framework.observe(self.on.config_changed, self._on_config_changed)
        framework.observe(self.db.on.master_changed, self._on_master_changed)

    def _on_config_changed(self, event: ops.charm.ConfigChangedEvent) -> None:
        self.db.request(database=str(self.config["database"]))

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        self.masters.append(None if event.master is None else event.master.dbname)


_CONFIG: Dict[str, Any] = {"options": {"database": {"type": "string", "default": "mydbname"}}}
_META: Dict[str, Any] = {"name": "myapp", "requires": {"db": {"interface": "pgsql"}}}


def _scenario() -> Any:
    testing = pytest.importorskip("ops.testing")
    if not hasattr(testing, "Context"):
        pytest.skip("ops.testing has no Scenario Context in this ops")
    return testing


@pytest.mark.scenario
def test_leader_request_before_the_relation_exists_is_published_later() -> None:
    testing = _scenario()
    ctx = testing.Context(_DeclaresInConfigChanged, meta=_META, config=_CONFIG, unit_id=0)
    state = ctx.run(ctx.on.config_changed(), testing.State(leader=True))
    rel = testing.Relation(
        "db", interface="pgsql", remote_app_name="postgresql", id=4, local_unit_data=dict(EGRESS0)
    )
    state = ctx.run(ctx.on.relation_created(rel), dataclasses.replace(state, relations={rel}))
    out = state.get_relation(4)
    assert dict(out.local_app_data) == {"database": "mydbname"}
    assert out.local_unit_data["database"] == "mydbname"


@pytest.mark.scenario
def test_non_leader_request_from_a_hook_judges_later_hooks() -> None:
    testing = _scenario()
    ctx = testing.Context(_DeclaresInConfigChanged, meta=_META, config=_CONFIG, unit_id=1)
    rel = testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name="postgresql",
        id=4,
        local_unit_data=dict(EGRESS1),
        remote_units_data={0: {"ingress-address": "10.0.0.20"}},
    )
    state = testing.State(leader=False, relations={rel})
    state = ctx.run(ctx.on.config_changed(), state)
    # the server serves another database (and grants this unit)
    other = server_bag("otherdb", master=MASTER.replace("mydbname", "otherdb"))
    other = server_bag(
        "otherdb",
        master=MASTER.replace("mydbname", "otherdb"),
        granted={"myapp/1": EGRESS1},
    )
    rel2 = dataclasses.replace(state.get_relation(4), remote_units_data={0: other})
    with ctx(
        ctx.on.relation_changed(rel2, remote_unit=0), dataclasses.replace(state, relations={rel2})
    ) as mgr:
        mgr.run()
        charm: _DeclaresInConfigChanged = mgr.charm  # type: ignore[assignment]
        readiness = charm.db.readiness()
        assert readiness is not None
        assert not readiness.ready
        assert charm.db.master() is None
        assert charm.masters == []  # never told of a master for the wrong database


# ---------------------------------------------------------------------------------------------
# 3. request() in __init__: events once the charm is built
# ---------------------------------------------------------------------------------------------


class _DeclaresInInit(ops.charm.CharmBase):
    """request() in __init__, before the charm's observers are registered."""

    register_first = False

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.built = False
        self.told: List[Any] = []
        self.db = pgsql.PostgreSQLClient(self, "db")
        if self.register_first:
            framework.observe(self.db.on.master_changed, self._on_master_changed)
        self.db.request(database=str(self.config["database"]))
        if not self.register_first:
            framework.observe(self.db.on.master_changed, self._on_master_changed)
        self.built = True

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        assert self.built, "handler run on a half-built charm"
        self.told.append((event.database, None if event.master is None else event.master.dbname))


class _DeclaresInInitRegisteringFirst(_DeclaresInInit):
    register_first = True


class _DeclaresInConstructor(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.built = False
        self.told: List[Any] = []
        self.db = pgsql.PostgreSQLClient(self, "db", database=str(self.config["database"]))
        framework.observe(self.db.on.master_changed, self._on_master_changed)
        self.built = True

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        assert self.built, "handler run on a half-built charm"
        self.told.append((event.database, None if event.master is None else event.master.dbname))


def _created_and_joined(testing: Any, ctx: Any) -> Any:
    """A leader related to a server already serving "mydbname": created and joined have run."""
    rel = testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name="postgresql",
        id=4,
        local_unit_data=dict(EGRESS0),
        remote_units_data={0: server_bag("mydbname", extensions=())},
    )
    state = testing.State(leader=True, relations={rel}, config={"database": "mydbname"})
    state = ctx.run(ctx.on.relation_created(rel), state)
    return ctx.run(ctx.on.relation_joined(state.get_relation(4), remote_unit=0), state)


@pytest.mark.scenario
@pytest.mark.parametrize(
    "charm_cls", [_DeclaresInInit, _DeclaresInInitRegisteringFirst, _DeclaresInConstructor]
)
def test_request_in_init_tells_the_config_change_to_the_handler(charm_cls: Any) -> None:
    testing = _scenario()
    ctx = testing.Context(charm_cls, meta=_META, config=_CONFIG, unit_id=0)
    state = _created_and_joined(testing, ctx)
    with ctx(ctx.on.relation_changed(state.get_relation(4), remote_unit=0), state) as mgr:
        state = mgr.run()
        charm = mgr.charm
        assert charm.told == [("mydbname", "mydbname")]
    # the operator changes the database: the old master no longer serves the request
    state = dataclasses.replace(state, config={"database": "newdb"})
    with ctx(ctx.on.config_changed(), state) as mgr:
        state = mgr.run()
        charm = mgr.charm
        assert charm.told == [("newdb", None)]
    assert state.get_relation(4).local_app_data["database"] == "newdb"


@pytest.mark.scenario
def test_request_in_init_in_a_hook_the_client_does_not_observe_is_told_at_commit() -> None:
    testing = _scenario()
    ctx = testing.Context(_DeclaresInInit, meta=_META, config=_CONFIG, unit_id=0)
    state = _created_and_joined(testing, ctx)
    state = ctx.run(ctx.on.relation_changed(state.get_relation(4), remote_unit=0), state)
    state = dataclasses.replace(state, config={"database": "newdb"})
    with ctx(ctx.on.update_status(), state) as mgr:
        state = mgr.run()
        charm: _DeclaresInInit = mgr.charm  # type: ignore[assignment]
        assert charm.told == [("newdb", None)]
    assert state.get_relation(4).local_app_data["database"] == "newdb"


def test_request_in_init_under_harness_is_published_at_the_first_event() -> None:
    harness = harness_for(_DeclaresInInit, config=_CONFIG_YAML)
    assert harness.charm.told == []
    rel_id = harness.add_relation("db", "postgresql")  # relation-created
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "mydbname"}
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydbname", extensions=()))
    assert harness.charm.told == [("mydbname", "mydbname")]


_CONFIG_YAML = """
options:
  database:
    type: string
    default: mydbname
"""


# ---------------------------------------------------------------------------------------------
# 4. a non-leader that cannot know the request (Juju 4, no peer) sees "gone"
# ---------------------------------------------------------------------------------------------


def _seed_non_leader() -> Any:
    cls = seed_charm()
    harness = harness_for(cls, meta=META, leader=False)
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, "myapp/0", dict(EGRESS0))
    harness.add_relation_unit(rel_id, "postgresql/0")
    return harness, rel_id


def test_non_leader_clears_the_master_when_access_is_revoked() -> None:
    harness, rel_id = _seed_non_leader()
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydbname"))
    assert harness.charm._state.db_conn_str == pgsql.ConnectionString(MASTER).conn_str
    # the server drops this unit from allowed-units and its echo
    bag = server_bag("mydbname", granted={"myapp/9": EGRESS1})
    bag = {k: ("" if k in {"database", "allowed-units"} else v) for k, v in bag.items()}
    harness.update_relation_data(rel_id, "postgresql/0", bag)
    assert harness.charm._state.db_conn_str is None
    assert harness.charm._state.db_uri is None


def test_non_leader_clears_the_master_when_the_relation_is_broken() -> None:
    harness, rel_id = _seed_non_leader()
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydbname"))
    assert harness.charm._state.db_conn_str == pgsql.ConnectionString(MASTER).conn_str
    harness.remove_relation(rel_id)
    assert harness.charm._state.db_conn_str is None


def test_deferred_joined_stops_deferring_once_the_relation_is_gone() -> None:
    harness, rel_id = _seed_non_leader()
    storage: Any = harness.framework._storage  # pyright: ignore[reportPrivateUsage]
    # the seed charm's non-leader defers joined until it knows the request
    assert any("database_relation_joined" in n[0] for n in storage.notices(None))
    harness.remove_relation(rel_id)
    harness.framework.reemit()
    assert not any("database_relation_joined" in n[0] for n in storage.notices(None))


def test_gone_event_database_is_the_last_known_request() -> None:
    seed = seed_charm()

    class Seed(seed):  # type: ignore[misc, valid-type]
        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)  # pyright: ignore[reportUnknownMemberType]
            self.gone: List[Optional[str]] = []
            framework.observe(self.db.on.master_gone, self._on_gone)

        def _on_gone(self, event: Any) -> None:
            self.gone.append(event.database)

    harness = harness_for(Seed, meta=META, leader=False)
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, "myapp/0", dict(EGRESS0))
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.update_relation_data(rel_id, "postgresql/0", server_bag("mydbname"))
    harness.remove_relation(rel_id)
    assert harness.charm.gone == ["mydbname"]


# ---------------------------------------------------------------------------------------------
# Found by the fresh-eyes review of the fixes above
# ---------------------------------------------------------------------------------------------


def _bag_for(database: str, units: Any = (0, 1)) -> Dict[str, str]:
    egress = {0: EGRESS0, 1: EGRESS1}
    return server_bag(
        database,
        master=MASTER.replace("mydbname", database),
        granted={f"myapp/{u}": egress[u] for u in units},
        extensions=(),
    )


def _rel(
    unit: int, units: Dict[int, Dict[str, str]], local_app: Optional[Dict[str, str]] = None
) -> Any:
    testing = _scenario()
    return testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name="postgresql",
        id=4,
        local_unit_data=dict(EGRESS0 if unit == 0 else EGRESS1),
        local_app_data=dict(local_app or {}),
        remote_units_data=units,
    )


def _with(state: Any, **changes: Any) -> Any:
    rel = dataclasses.replace(state.get_relation(4), **changes)
    return dataclasses.replace(state, relations={rel})


def _stored(state: Any, suffix: str) -> Dict[str, Any]:
    for s in state.stored_states:
        if f"{s.owner_path}/{s.name}".endswith(suffix):
            return dict(s.content)
    raise AssertionError(f"no stored state {suffix}")


class _StatusCharm(_Recorder):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on.collect_unit_status, self._status)

    def _status(self, event: Any) -> None:
        r = self.db.readiness()
        event.add_status(ops.ActiveStatus() if r and r.ready else ops.WaitingStatus("db"))


def test_app_bag_before_any_unit_is_seen_after_an_early_readiness_read() -> None:
    # a readiness() read (collect-status) before the server wrote its app bag cached an empty
    # one; the relation-changed for the app bag before any unit joined must still refresh it
    if not hasattr(Harness, "evaluate_status"):
        pytest.skip("Harness.evaluate_status needs ops >= 2.5")
    harness = harness_for(_StatusCharm)
    charm: _StatusCharm = harness.charm
    rel_id = harness.add_relation("db", SERVER_APP)
    harness.update_relation_data(rel_id, "myapp/0", dict(EGRESS0))
    harness.evaluate_status()
    harness.update_relation_data(rel_id, SERVER_APP, server_bag("mydbname"))
    harness.evaluate_status()
    harness.add_relation_unit(rel_id, f"{SERVER_APP}/0")
    harness.update_relation_data(rel_id, f"{SERVER_APP}/0", {"ingress-address": "10.0.0.20"})
    assert "MasterChangedEvent" in charm.seen
    assert charm.db.is_ready()


class _BusyCharm(ops.charm.CharmBase):
    _st = ops.framework.StoredState()

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self._st.set_default(conn="unset", broken_seen=0)
        self.db = pgsql.PostgreSQLClient(self, "db", database="mydbname")
        framework.observe(self.db.on.master_changed, self._master)
        framework.observe(self.db.on.database_relation_broken, self._broken)

    def _master(self, event: pgsql.MasterChangedEvent) -> None:
        if self.config["busy"]:
            event.defer()
            return
        self._st.conn = None if event.master is None else event.master.conn_str

    def _broken(self, event: pgsql.DatabaseRelationBrokenEvent) -> None:
        if self.config["busy"]:
            event.defer()
            return
        self._st.broken_seen += 1


@pytest.mark.scenario
def test_gone_and_broken_events_deferred_at_broken_run_later() -> None:
    testing = _scenario()
    config = {"options": {"busy": {"type": "boolean", "default": False}}}
    ctx = testing.Context(_BusyCharm, meta=_META, config=config, unit_id=0)
    rel = _rel(0, {0: {"ingress-address": "10.0.0.20"}})
    state = testing.State(leader=True, relations={rel})
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(4), remote_unit=0), state)
    state = _with(state, remote_units_data={0: _bag_for("mydbname")})
    state = ctx.run(ctx.on.relation_changed(state.get_relation(4), remote_unit=0), state)
    assert _stored(state, "/_st")["conn"]
    state = dataclasses.replace(state, config={"busy": True})
    state = ctx.run(ctx.on.relation_broken(state.get_relation(4)), state)
    state = dataclasses.replace(state, relations=set(), config={"busy": False})
    state = ctx.run(ctx.on.update_status(), state)
    assert _stored(state, "/_st")["conn"] is None
    assert _stored(state, "/_st")["broken_seen"] == 1


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
    testing = _scenario()
    config = {"options": {"database": {"type": "string", "default": "a"}}}
    unit = 0 if first_leader else 1
    ctx = testing.Context(_LeaderSetsFromConfig, meta=_META, config=config, unit_id=unit)
    rel = _rel(
        unit, {0: {"ingress-address": "10.0.0.20"}}, {} if first_leader else {"database": "a"}
    )
    state = testing.State(leader=first_leader, relations={rel}, config={"database": "a"})
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(4), remote_unit=0), state)
    state = _with(state, remote_units_data={0: _bag_for("a")})
    state = ctx.run(ctx.on.relation_changed(state.get_relation(4), remote_unit=0), state)
    assert _stored(state, "/_st")["conn"] == "a"
    state = dataclasses.replace(state, leader=False, config={"database": "b"})
    state = ctx.run(ctx.on.config_changed(), state)
    state = _with(state, remote_units_data={0: _bag_for("b")}, local_app_data={"database": "b"})
    state = ctx.run(ctx.on.relation_changed(state.get_relation(4), remote_unit=0), state)
    assert _stored(state, "/_st")["conn"] == "b"
    assert state.get_relation(4).local_unit_data.get("database", "") in {"", "b"}


class _RevisionOne(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database="olddb")


class _RevisionTwo(ops.charm.CharmBase):
    _st = ops.framework.StoredState()

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self._st.set_default(conn=None)
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.db.on.database_relation_joined, self._joined)
        framework.observe(self.db.on.master_changed, self._master)

    def _joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "newdb"

    def _master(self, event: pgsql.MasterChangedEvent) -> None:
        self._st.conn = None if event.master is None else event.master.dbname


_RevisionOne.__name__ = _RevisionOne.__qualname__ = "MyCharm"
_RevisionTwo.__name__ = _RevisionTwo.__qualname__ = "MyCharm"


@pytest.mark.scenario
def test_constructor_declaration_does_not_outlive_its_revision() -> None:
    testing = _scenario()
    ctx1 = testing.Context(_RevisionOne, meta=_META, unit_id=1)
    state = ctx1.run(ctx1.on.config_changed(), testing.State(leader=False))
    ctx2 = testing.Context(_RevisionTwo, meta=_META, unit_id=1)
    state = ctx2.run(ctx2.on.upgrade_charm(), state)
    rel = _rel(1, {0: _bag_for("newdb")})
    state = dataclasses.replace(state, relations={rel})
    state = ctx2.run(ctx2.on.relation_created(rel), state)
    state = ctx2.run(ctx2.on.relation_joined(state.get_relation(4), remote_unit=0), state)
    state = ctx2.run(ctx2.on.relation_changed(state.get_relation(4), remote_unit=0), state)
    assert _stored(state, "MyCharm/_st")["conn"] == "newdb"


class _JoinedUnits(ops.charm.CharmBase):
    _st = ops.framework.StoredState()

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self._st.set_default(joined_units=[])
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.db.on.database_relation_joined, self._joined)

    def _joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        self._st.joined_units.append(event.unit.name if event.unit else None)


@pytest.mark.scenario
@pytest.mark.parametrize("hook", ["upgrade_charm", "leader_elected", "update_status"])
def test_joined_after_lost_state_names_a_remote_unit(hook: str) -> None:
    testing = _scenario()
    ctx = testing.Context(_JoinedUnits, meta=_META, unit_id=0)
    rel = _rel(0, {0: _bag_for("mydbname")}, {"database": "mydbname"})
    state = ctx.run(getattr(ctx.on, hook)(), testing.State(leader=True, relations={rel}))
    units = _stored(state, "/_st")["joined_units"]
    assert None not in units


class _Plain(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")


def test_request_from_test_code_before_any_event_is_published_at_once() -> None:
    harness: Harness[_Plain] = Harness(_Plain, meta=META)
    harness.set_leader(True)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.begin()
    harness.charm.db.request(database="mydbname")
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "mydbname"}


# ---------------------------------------------------------------------------------------------
# Found by the second review (1.x-style unit tests that pass unchanged on 1.4)
# ---------------------------------------------------------------------------------------------

_LEADER_DATA = {0: {"database": "mydbname", "roles": "", "extensions": ""}}


class _UriCharm(ops.charm.CharmBase):
    _state = ops.framework.StoredState()

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self._state.set_default(uri=None)
        self.joined = 0
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.db.on.database_relation_joined, self._joined)
        framework.observe(self.db.on.master_changed, self._master_changed)

    def _joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        self.joined += 1
        if self.unit.is_leader():
            event.database = "mydbname"

    def _master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        self._state.uri = None if event.master is None else event.master.uri


def _hand_emit_master_changed(harness: Harness[_UriCharm], rel_id: int) -> None:
    rel = harness.model.get_relation("db", rel_id)
    unit = harness.model.get_unit("postgresql/0")
    assert rel is not None
    harness.charm.db.on.master_changed.emit(rel, unit.app, unit, harness.charm.unit)


@mock.patch("pgsql.client._set_pgsql_leader_data")
@mock.patch("pgsql.client._get_pgsql_leader_data", return_value=_LEADER_DATA)
def test_hand_emitted_event_reads_is_ready_and_bags_live(*_patches: Any) -> None:
    harness = harness_for(_UriCharm)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    with mock.patch("pgsql.client._is_ready", return_value=True):
        master = {"master": "host=master", "database": "mydbname"}
        harness.update_relation_data(rel_id, "postgresql/0", master)
        assert harness.charm._state.uri == "postgresql://master"
        with harness.hooks_disabled():
            harness.update_relation_data(rel_id, "postgresql/0", {"master": "host=new_master"})
        _hand_emit_master_changed(harness, rel_id)
        assert harness.charm._state.uri == "postgresql://new_master"
    with mock.patch("pgsql.client._is_ready", return_value=False):
        _hand_emit_master_changed(harness, rel_id)
    assert harness.charm._state.uri is None


@mock.patch("pgsql.client._set_pgsql_leader_data")
@mock.patch("pgsql.client._get_pgsql_leader_data", return_value=_LEADER_DATA)
@mock.patch("pgsql.client._is_ready", return_value=True)
def test_hand_emitted_events_with_hooks_disabled_throughout(*_patches: Any) -> None:
    harness = harness_for(_UriCharm)
    with harness.hooks_disabled():
        rel_id = harness.add_relation("db", "postgresql")
        harness.add_relation_unit(rel_id, "postgresql/0")
        master = {"master": "host=master", "database": "mydbname"}
        harness.update_relation_data(rel_id, "postgresql/0", master)
    _hand_emit_master_changed(harness, rel_id)
    assert harness.charm._state.uri == "postgresql://master"
    with harness.hooks_disabled():
        harness.update_relation_data(rel_id, "postgresql/0", {"master": "host=new_master"})
    _hand_emit_master_changed(harness, rel_id)
    assert harness.charm._state.uri == "postgresql://new_master"


@mock.patch("pgsql.client._set_pgsql_leader_data")
@mock.patch("pgsql.client._get_pgsql_leader_data", return_value={})
def test_patched_on_joined_means_no_joined_event(*_patches: Any) -> None:
    harness = harness_for(_UriCharm)
    with mock.patch("pgsql.client.PostgreSQLClient._on_joined") as on_joined:
        rel_id = harness.add_relation("db", "postgresql")
        harness.add_relation_unit(rel_id, "postgresql/0")
        master = {"master": "host=master", "database": "myapp"}
        harness.update_relation_data(rel_id, "postgresql/0", master)
        assert on_joined.call_count == 1
    assert harness.charm.joined == 0
    assert harness.get_relation_data(rel_id, "myapp") == {}


class _RequestsInConfigChanged(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.on.config_changed, self._config_changed)

    def _config_changed(self, event: ops.charm.ConfigChangedEvent) -> None:
        self.db.request(database=str(self.config["database"]))


class _DeclaresB(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database="b")


class _SetsB(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.db.on.database_relation_joined, self._joined)

    def _joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "b"


for _cls in (_RequestsInConfigChanged, _DeclaresB, _SetsB):
    _cls.__name__ = _cls.__qualname__ = "MyCharm"


@pytest.mark.scenario
def test_request_of_two_revisions_ago_is_not_resurrected() -> None:
    testing = _scenario()
    config = {"options": {"database": {"type": "string", "default": "a"}}}
    rel = _rel(0, {0: _bag_for("a")})
    state = testing.State(leader=True, relations={rel}, config={"database": "a"})
    for cls, expected in ((_RequestsInConfigChanged, "a"), (_DeclaresB, "b"), (_SetsB, "b")):
        ctx = testing.Context(cls, meta=_META, config=config, unit_id=0)
        state = ctx.run(ctx.on.upgrade_charm(), state)
        state = ctx.run(ctx.on.config_changed(), state)
        assert state.get_relation(4).local_app_data["database"] == expected


class _DeclaresMydb(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database="mydb")


def test_declaration_published_at_a_first_event_the_client_does_not_observe() -> None:
    harness: Harness[_DeclaresMydb] = Harness(_DeclaresMydb, meta=META)
    harness.set_leader(True)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.begin()
    harness.charm.on.start.emit()
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "mydb"}


# ---------------------------------------------------------------------------------------------
# Found by the third review
# ---------------------------------------------------------------------------------------------

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
