"""``pgsql.testing.relation_of`` without an endpoint: the only PostgreSQL relation, of either
interface, or an error naming the candidates."""

from __future__ import annotations

from typing import Any, Dict

import ops
import pytest
from needs import requires_scenario

import pgsql
from pgsql import Request
from pgsql import testing as pgt

testing: Any = requires_scenario()

MYDB = Request.build(database="mydb")


class DatabaseCharm(ops.CharmBase):
    """One ``database`` endpoint, of whichever interface the metadata says."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb")


def _meta(interface: str, *more: str) -> Dict[str, Any]:
    requires = {name: {"interface": interface} for name in ("database", *more)}
    return {"name": "myapp", "requires": requires}


def test_relation_of_finds_the_only_postgresql_client_relation_on_database() -> None:
    ctx = testing.Context(DatabaseCharm, meta=_meta("postgresql_client"))
    db, secrets = pgt.scenario_provider_relation(pgt.Provider(), pgt.Client(request=MYDB))
    out = ctx.run(
        ctx.on.relation_changed(db), testing.State(leader=True, relations={db}, secrets=secrets)
    )
    assert pgt.relation_of(out).id == db.id
    assert pgt.provider_requested(out).database == "mydb"


def test_relation_of_finds_the_only_pgsql_relation_on_another_endpoint_than_db() -> None:
    ctx = testing.Context(DatabaseCharm, meta=_meta("pgsql"))
    client = pgt.Client(request=MYDB)
    db = pgt.scenario_relation(pgt.Server(), client, endpoint="database")
    out = ctx.run(
        ctx.on.relation_changed(db, remote_unit=0), testing.State(leader=True, relations={db})
    )
    assert pgt.relation_of(out).id == db.id
    assert pgt.requested(out) == MYDB
    assert pgt.scenario_apply(ctx, out, pgt.Server(state=pgt.GONE), client) is not out


def test_relation_of_with_two_postgresql_relations_names_both() -> None:
    client = pgt.Client(request=MYDB)
    legacy = pgt.scenario_relation(pgt.Server(), client, endpoint="db")
    modern, _ = pgt.scenario_provider_relation(pgt.Provider(), client)
    state = testing.State(relations={legacy, modern})
    with pytest.raises(ValueError, match="found 2") as raised:
        pgt.relation_of(state)
    message = str(raised.value)
    assert f"db (id {legacy.id}, interface pgsql)" in message
    assert f"database (id {modern.id}, interface postgresql_client)" in message
    assert "endpoint=" in message
    assert pgt.relation_of(state, "db").id == legacy.id  # naming the endpoint still works


def test_relation_of_without_a_postgresql_relation_names_what_there_is() -> None:
    other = testing.Relation("ingress", interface="ingress")
    with pytest.raises(ValueError, match="found none") as raised:
        pgt.relation_of(testing.State(relations={other}))
    assert f"ingress (id {other.id}, interface ingress)" in str(raised.value)


def test_relation_of_takes_a_hand_built_db_relation_without_interface() -> None:
    db = testing.Relation("db")  # as before: the endpoint the helpers assumed
    assert pgt.relation_of(testing.State(relations={db})).id == db.id
