"""A request changed after the provider answered: written or refused, and a reason,
never a crash of the provider's hook (``postgresql_client``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Dict, Tuple

import ops
import ops.framework
import pytest
from fix_client_postgresql_client import (
    JUJU_36,
    META,
    TLS_PROVIDER,
    CaRecorder,
    Declared,
    changed,
    everything,
    kinds,
    no_password,
    provide,
    relation,
    run,
    started,
    testing,
)
from provider_double import (
    Provider,
)

from pgsql import protocol


class ConfigRoles(Declared):
    """Roles from config: an operator changes them after the relation was created."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        type(self).KW = {"database": "mydbname", "roles": [str(framework.model.config["roles"])]}
        super().__init__(framework)


CONFIG_ROLES = {"options": {"roles": {"type": "string", "default": "charmed_read"}}}


def test_roles_changed_after_the_answer_are_a_reason_and_not_written() -> None:
    """Facts: a changed extra-user-roles makes the PostgreSQL charm's hook raise (LIBPATCH >= 50).

    Issue 12: "A request changed after the provider answered gets a clear reason (real providers
    ignore or reject it), never a crash": writing it crashes the provider's hook.
    """
    ctx = testing.Context(ConfigRoles, meta=META, config=CONFIG_ROLES, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    assert state.get_relation(rel_id).local_app_data["extra-user-roles"] == "charmed_read"
    answered = Provider(request={"database": "mydbname", "extra-user-roles": "charmed_read"})
    state, _ = changed(ctx, provide(state, rel_id, answered), rel_id)
    state = dataclasses.replace(state, config={"roles": "charmed_dml"})
    state, charm = run(ctx, ctx.on.config_changed(), state)
    r = charm.db.readiness()
    assert r is not None
    assert protocol.REQUEST_CHANGED in {x.code for x in r.reasons}
    assert state.get_relation(rel_id).local_app_data["extra-user-roles"] == "charmed_read"


class InitRequest(Declared):
    """request() from __init__, computed from config."""

    KW: ClassVar[Dict[str, Any]] = {}

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db.request(database=str(self.config["database"]))


CONFIG_DB = {"options": {"database": {"type": "string", "default": "mydbname"}}}


@pytest.mark.parametrize("leader", [True, False])
def test_init_time_request_publishes_once_and_is_told(leader: bool) -> None:
    ctx = testing.Context(
        InitRequest, meta=META, config=CONFIG_DB, juju_version=JUJU_36, unit_id=0 if leader else 1
    )
    state, rel_id = started(ctx, leader=leader)
    bag = dict(state.get_relation(rel_id).local_app_data)
    assert bag.get("database") == ("mydbname" if leader else None)
    state, charm = changed(ctx, provide(state, rel_id, Provider()), rel_id)
    assert kinds(charm)[:2] == ["MasterAvailableEvent", "MasterChangedEvent"]
    assert charm.seen[1][3] == "mydbname"
    # a later config change of the database: a reason, the master is no longer served
    state = dataclasses.replace(state, config={"database": "otherdb"})
    state, charm = run(ctx, ctx.on.config_changed(), state)
    r = charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert {x.code for x in r.reasons} & {protocol.DATABASE_MISMATCH, protocol.REQUEST_CHANGED}
    assert "MasterGoneEvent" in kinds(charm)


class ConfigRequest(CaRecorder):
    """Database and roles from config: an operator changes them after the relation was made."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        roles = str(framework.model.config["roles"])
        type(self).KW = {
            "database": str(framework.model.config["database"]),
            "roles": roles.split(",") if roles else [],
        }
        super().__init__(framework)


CONFIG = {
    "options": {
        "roles": {"type": "string", "default": "charmed_read"},
        "database": {"type": "string", "default": "mydbname"},
    }
}


def _configured(**config: str) -> Tuple[Any, Any, int]:
    ctx = testing.Context(ConfigRequest, meta=META, config=CONFIG, juju_version=JUJU_36)
    rel = relation()
    state = testing.State(leader=True, relations={rel}, config=dict(config))
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state)
    request = {
        k: v
        for k, v in state.get_relation(rel.id).local_app_data.items()
        if k != "requested-secrets"
    }
    prov = TLS_PROVIDER.evolve(request=request)
    state, charm = changed(ctx, provide(state, rel.id, prov), rel.id)
    assert "MasterAvailableEvent" in kinds(charm)
    return ctx, state, rel.id


def test_a_changed_database_is_written_blocks_and_changing_it_back_is_ready_again() -> None:
    ctx, state, rel_id = _configured()
    state = dataclasses.replace(state, config={"database": "otherdb"})
    state, charm = run(ctx, ctx.on.config_changed(), state)
    bag = state.get_relation(rel_id).local_app_data
    assert bag["database"] == "otherdb"
    assert bag["extra-user-roles"] == "charmed_read"
    r = charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert protocol.REQUEST_CHANGED in {x.code for x in r.reasons if x.blocking}
    assert "MasterGoneEvent" in kinds(charm)
    no_password(r.why + everything(ctx, state, charm))
    state = dataclasses.replace(state, config={"database": "mydbname"})
    state, charm = run(ctx, ctx.on.config_changed(), state)
    assert state.get_relation(rel_id).local_app_data["database"] == "mydbname"
    assert charm.db.is_ready()
    assert "MasterAvailableEvent" in kinds(charm)


def test_roles_added_after_an_answer_without_roles_are_not_written_and_noted() -> None:
    ctx, state, rel_id = _configured(roles="")
    assert "extra-user-roles" not in state.get_relation(rel_id).local_app_data
    state = dataclasses.replace(state, config={"roles": "charmed_dml"})
    state, charm = run(ctx, ctx.on.config_changed(), state)
    assert "extra-user-roles" not in state.get_relation(rel_id).local_app_data
    r = charm.db.readiness()
    assert r is not None
    assert r.ready
    assert protocol.REQUEST_CHANGED in {x.code for x in r.reasons}
    assert kinds(charm) == []


def test_roles_removed_after_the_answer_keep_the_written_roles() -> None:
    ctx, state, rel_id = _configured()
    state = dataclasses.replace(state, config={"roles": ""})
    state, _ = run(ctx, ctx.on.config_changed(), state)
    assert state.get_relation(rel_id).local_app_data["extra-user-roles"] == "charmed_read"


def test_a_new_leader_keeps_the_roles_the_provider_acted_on() -> None:
    ctx, state, rel_id = _configured()
    state = dataclasses.replace(state, config={"roles": "charmed_dml"})
    state, _ = run(ctx, ctx.on.config_changed(), state)
    # another unit becomes leader: no StoredState of this unit
    other = testing.Context(
        ConfigRequest, meta=META, config=CONFIG, juju_version=JUJU_36, unit_id=1
    )
    fresh = dataclasses.replace(state, stored_states=[], leader=True)
    out, charm = run(other, other.on.leader_elected(), fresh)
    assert out.get_relation(rel_id).local_app_data["extra-user-roles"] == "charmed_read"
    assert charm.db.is_ready()
