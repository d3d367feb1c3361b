"""Declared requests on ``pgsql`` (``request()``, the constructor keywords, the 1.x setters):
when they are published, how long they last, and the events they cause.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

import ops
import ops.charm
import ops.framework
import pytest
from fix_client_pgsql import (
    META_PGSQL,
    ConfigSetter,
    bag_for,
    db_relation,
    served_relation,
    stored_content,
)
from fix_client_pgsql_harness import Declared, DeclaredFromConfig
from fix_client_pgsql_harness import relate as _relate
from needs import requires_scenario
from ops.testing import Harness
from test_client_support import CONFIG, EGRESS0, EGRESS1, MASTER, harness_for, server_bag
from test_client_support import META as META_1X

import pgsql
from pgsql import protocol


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


@pytest.mark.scenario
def test_leader_request_before_the_relation_exists_is_published_later() -> None:
    testing = requires_scenario()
    ctx = testing.Context(_DeclaresInConfigChanged, meta=META_PGSQL, config=_CONFIG, unit_id=0)
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
    testing = requires_scenario()
    ctx = testing.Context(_DeclaresInConfigChanged, meta=META_PGSQL, config=_CONFIG, unit_id=1)
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
    testing = requires_scenario()
    ctx = testing.Context(charm_cls, meta=META_PGSQL, config=_CONFIG, unit_id=0)
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
    testing = requires_scenario()
    ctx = testing.Context(_DeclaresInInit, meta=META_PGSQL, config=_CONFIG, unit_id=0)
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
    testing = requires_scenario()
    ctx1 = testing.Context(_RevisionOne, meta=META_PGSQL, unit_id=1)
    state = ctx1.run(ctx1.on.config_changed(), testing.State(leader=False))
    ctx2 = testing.Context(_RevisionTwo, meta=META_PGSQL, unit_id=1)
    state = ctx2.run(ctx2.on.upgrade_charm(), state)
    rel = db_relation(1, {0: bag_for("newdb")})
    state = dataclasses.replace(state, relations={rel})
    state = ctx2.run(ctx2.on.relation_created(rel), state)
    state = ctx2.run(ctx2.on.relation_joined(state.get_relation(4), remote_unit=0), state)
    state = ctx2.run(ctx2.on.relation_changed(state.get_relation(4), remote_unit=0), state)
    assert stored_content(state, "MyCharm/_st")["conn"] == "newdb"


class _Plain(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")


def test_request_from_test_code_before_any_event_is_published_at_once() -> None:
    harness: Harness[_Plain] = Harness(_Plain, meta=META_1X)
    harness.set_leader(True)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.begin()
    harness.charm.db.request(database="mydbname")
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "mydbname"}


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
    testing = requires_scenario()
    config = {"options": {"database": {"type": "string", "default": "a"}}}
    rel = db_relation(0, {0: bag_for("a")})
    state = testing.State(leader=True, relations={rel}, config={"database": "a"})
    for cls, expected in ((_RequestsInConfigChanged, "a"), (_DeclaresB, "b"), (_SetsB, "b")):
        ctx = testing.Context(cls, meta=META_PGSQL, config=config, unit_id=0)
        state = ctx.run(ctx.on.upgrade_charm(), state)
        state = ctx.run(ctx.on.config_changed(), state)
        assert state.get_relation(4).local_app_data["database"] == expected


class _DeclaresMydb(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database="mydb")


def test_declaration_published_at_a_first_event_the_client_does_not_observe() -> None:
    harness: Harness[_DeclaresMydb] = Harness(_DeclaresMydb, meta=META_1X)
    harness.set_leader(True)
    rel_id = harness.add_relation("db", "postgresql")
    harness.add_relation_unit(rel_id, "postgresql/0")
    harness.begin()
    harness.charm.on.start.emit()
    assert harness.get_relation_data(rel_id, "myapp") == {"database": "mydb"}


@pytest.mark.scenario
def test_set_request_emits_the_transition_it_causes() -> None:
    # Fixed: set_request() and request() emit the transitions their change causes.
    # caught by test_chaos_roundtrip (long profile): a seed-style charm whose leader switched
    # the database to one the server already served never got master_changed
    testing = requires_scenario()
    meta = {"name": "myapp", "requires": {"db": {"interface": "pgsql"}}}
    config = {"options": {"database": {"type": "string", "default": "first"}}}
    ctx = testing.Context(ConfigSetter, meta=meta, config=config, unit_id=0)
    rel = served_relation(testing, "second")
    state = testing.State(leader=True, relations={rel})
    state = ctx.run(ctx.on.relation_joined(rel, remote_unit=0), state)
    state = ctx.run(ctx.on.relation_changed(state.get_relation(5), remote_unit=0), state)
    ctx.emitted_events.clear()
    state = dataclasses.replace(state, config={"database": "second"})
    with ctx(ctx.on.config_changed(), state) as mgr:
        mgr.run()
        charm: ConfigSetter = mgr.charm  # type: ignore[assignment]
        assert charm.db.is_ready()
        kinds = [e.handle.kind for e in ctx.emitted_events]
        assert "master_available" in kinds
        assert charm.told is not None


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
