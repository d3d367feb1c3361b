"""The provider keeps its clients' passwords in Juju secrets, never in clear in a databag.

Each relation's password is in an application-owned secret (``provider-credentials-<id>``);
the peer bag keeps the rest. The only databags holding a password are the ``db`` relation's,
whose ``master`` carries it by the ``pgsql`` protocol. Rotation and a leader change keep the
credentials working (psycopg against the real server of the ``postgres`` fixture); where Juju
has no secrets (2.9) the peer bag keeps the password, as before.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import ops
import ops.testing
import psycopg
import pytest

import pgsql
from pgsql import ConnectionString, Request
from pgsql._localpg import LocalPostgres
from pgsql.demo import load_charm

if getattr(ops.testing, "Context", None) is None:
    pytest.skip("ops.testing.Context needs ops >= 2.17", allow_module_level=True)

pytestmark = pytest.mark.postgres

CHARM = load_charm(Path(__file__).resolve().parents[1], "pgsql_example_provider_secrets")
ProviderCharm: Any = CHARM.charm_type
testing: Any = ops.testing

SERVER_APP = "postgresql"
PEER = "provider-peers"
DB_ID, DATABASE_ID, PEER_ID = 31, 32, 33
LEGACY = Request.build(database="kept_legacy")
MODERN = Request.build(database="kept_modern")
#: Where the ``pgsql`` interface itself carries the password: ``master`` in both bags of ``db``.
BY_PROTOCOL = {("db", "app", "master"), ("db", "unit", "master")}


def _ctx(unit_id: int = 0, juju: str = "3.6.4") -> Any:
    return testing.Context(
        ProviderCharm,
        meta=CHARM.meta,
        config=CHARM.config,
        actions=CHARM.actions,
        app_name=SERVER_APP,
        unit_id=unit_id,
        juju_version=juju,
    )


def _state(postgres: LocalPostgres) -> Any:
    want = LEGACY.databag()
    db = testing.Relation(
        "db",
        interface="pgsql",
        id=DB_ID,
        remote_app_name="legacy-app",
        remote_app_data=dict(want),
        remote_units_data={0: {**want, "private-address": "10.1.2.3"}},
    )
    database = testing.Relation(
        "database",
        interface="postgresql_client",
        id=DATABASE_ID,
        remote_app_name="modern-app",
        remote_app_data=pgsql.protocol.requirer_databag(MODERN),
        remote_units_data={0: {"private-address": "10.1.2.4"}},
    )
    config = {"admin-dsn": postgres.conninfo, "host": postgres.host, "port": postgres.port}
    peer = testing.PeerRelation(PEER, id=PEER_ID)
    return testing.State(leader=True, config=config, relations={db, database, peer})


def _provisioned(postgres: LocalPostgres, juju: str = "3.6.4") -> Any:
    """The leader's state once it has served ``db`` and then ``database``."""
    ctx = _ctx(juju=juju)
    state = _state(postgres)
    state = ctx.run(ctx.on.relation_changed(state.get_relation(DB_ID), remote_unit=0), state)
    return ctx.run(ctx.on.relation_changed(state.get_relation(DATABASE_ID), remote_unit=0), state)


def _credentials(state: Any) -> Tuple[str, str]:
    """The connection strings the clients are given: the ``db`` master, the ``database`` URI."""
    master = state.get_relation(DB_ID).local_unit_data["master"]
    secret_id = state.get_relation(DATABASE_ID).local_app_data["secret-user"]
    return master, state.get_secret(id=secret_id).latest_content["uris"]


def _holders(state: Any, passwords: Set[str]) -> Set[Tuple[str, str, str]]:
    """Every (endpoint, bag, key) of every databag in ``state`` holding one of ``passwords``."""
    found: Set[Tuple[str, str, str]] = set()
    for relation in state.relations:
        bags: List[Tuple[str, Dict[str, str]]] = [
            ("app", dict(relation.local_app_data)),
            ("unit", dict(relation.local_unit_data)),
        ]
        bags += [("peer unit", dict(b)) for b in getattr(relation, "peers_data", {}).values()]
        for bag_name, bag in bags:
            for key, value in bag.items():
                if any(p in value for p in passwords):
                    found.add((relation.endpoint, bag_name, key))
    for stored in state.stored_states:
        if any(p in str(stored.content) for p in passwords):
            found.add(("stored state", stored.owner_path, stored.name))
    return found


def _passwords(state: Any) -> Set[str]:
    legacy, modern = _credentials(state)
    return {str(ConnectionString(legacy).password), str(ConnectionString(modern).password)}


def _connects(*conn_strs: str) -> None:
    for conn_str in conn_strs:
        with psycopg.connect(conn_str, connect_timeout=10) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


def _rotate(state: Any, relation_id: int) -> Any:
    ctx = _ctx()
    return ctx.run(ctx.on.action("rotate-password", params={"relation-id": relation_id}), state)


def test_no_databag_holds_a_password_except_the_db_master_through_rotation_and_leader_change(
    postgres: LocalPostgres,
) -> None:
    state = _provisioned(postgres)
    passwords = _passwords(state)
    assert len(passwords) == 2
    assert _holders(state, passwords) == BY_PROTOCOL
    # each kept in a secret of the application, one per relation
    kept = [state.get_secret(label=f"provider-credentials-{i}") for i in (DB_ID, DATABASE_ID)]
    assert [s.owner for s in kept] == ["app", "app"]
    assert {s.latest_content["password"] for s in kept} == passwords
    _connects(*_credentials(state))

    # rotation on both endpoints: new passwords, still only in the db master, and working
    rotated = _rotate(_rotate(state, DB_ID), DATABASE_ID)
    new_passwords = _passwords(rotated)
    assert new_passwords.isdisjoint(passwords)
    assert _holders(rotated, passwords | new_passwords) == BY_PROTOCOL
    _connects(*_credentials(rotated))

    # a non-leader, told by the peer bag, publishes the rotated master on db
    follower = _ctx(unit_id=1)
    before = dataclasses.replace(
        rotated,
        leader=False,
        relations={dataclasses.replace(r, local_unit_data={}) for r in rotated.relations},
    )
    out = follower.run(
        follower.on.relation_changed(before.get_relation(PEER_ID), remote_unit=0), before
    )
    assert out.get_relation(DB_ID).local_unit_data["master"] == _credentials(rotated)[0]

    # a new leader (unit 1) reconciles: provisions again with the kept passwords
    leader = _ctx(unit_id=1)
    elected = leader.run(leader.on.leader_elected(), dataclasses.replace(out, leader=True))
    assert _credentials(elected) == _credentials(rotated)
    assert _holders(elected, passwords | new_passwords) == BY_PROTOCOL
    _connects(*_credentials(elected))


def test_relation_broken_removes_the_secret_keeping_its_password(postgres: LocalPostgres) -> None:
    state = _provisioned(postgres)
    ctx = _ctx()
    out = ctx.run(ctx.on.relation_broken(state.get_relation(DB_ID)), state)
    labels = {s.label for s in out.secrets}
    assert f"provider-credentials-{DB_ID}" not in labels
    assert f"provider-credentials-{DATABASE_ID}" in labels
    assert f"db-{DB_ID}" not in out.get_relation(PEER_ID).local_app_data


def test_without_juju_secrets_the_peer_bag_keeps_the_password(postgres: LocalPostgres) -> None:
    state = _provisioned(postgres, juju="2.9.50")
    assert list(state.secrets) == []
    master = state.get_relation(DB_ID).local_unit_data["master"]
    uri = state.get_relation(DATABASE_ID).local_app_data["uris"]
    passwords = {str(ConnectionString(c).password) for c in (master, uri)}
    holders = _holders(state, passwords)
    assert ("provider-peers", "app", f"db-{DB_ID}") in holders
    assert ("provider-peers", "app", f"db-{DATABASE_ID}") in holders
    _connects(master, uri)
