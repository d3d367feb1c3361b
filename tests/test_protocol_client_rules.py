"""Protocol rules for prefix requests and what PostgreSQL 16 refuses (``pgsql.protocol``)."""

from __future__ import annotations

from typing import Dict, List

import pytest

from pgsql.protocol import (
    NO_PREFIX_DATABASES,
    ROLES_REFUSED,
    Request,
    RequestError,
    check_request,
    evaluate_client,
    pg16_roles_problem,
)

PASSWORD = "Ru1es-Pa55"  # a test vector


def answer(**extra: str) -> Dict[str, str]:
    bag = {
        "database": "mydb_*",
        "endpoints": "10.0.0.5:5432",
        "username": "relation-3",
        "password": PASSWORD,
        "version": "16.9",
    }
    bag.update(extra)
    return bag


def test_an_echoed_prefix_without_prefix_databases_is_not_ready_on_the_pattern() -> None:
    r = evaluate_client(Request.build("mydb_*"), answer(), {}, {}, units_present=True)
    assert not r.ready
    assert r.master is None
    assert [x.code for x in r.reasons if x.blocking] == [NO_PREFIX_DATABASES]


def test_the_master_names_the_database_uris_names_when_listed_else_the_first() -> None:
    uris = f"postgresql://relation-3:{PASSWORD}@10.0.0.5:5432/mydb_b"
    r = evaluate_client(None, answer(**{"prefix-databases": "mydb_a,mydb_b", "uris": uris}), {}, {})
    assert r.master is not None
    assert r.master.dbname == "mydb_b"
    assert r.databases == ("mydb_a", "mydb_b")
    other = f"postgresql://relation-3:{PASSWORD}@10.0.0.5:5432/elsewhere"
    r = evaluate_client(
        None, answer(**{"prefix-databases": "mydb_a,mydb_b", "uris": other}), {}, {}
    )
    assert r.master is not None
    assert r.master.dbname == "mydb_a"


def test_a_changed_list_changes_the_snapshot_a_plain_request_keeps_its_digest() -> None:
    one = evaluate_client(None, answer(**{"prefix-databases": "mydb_a"}), {}, {})
    two = evaluate_client(None, answer(**{"prefix-databases": "mydb_a,mydb_b"}), {}, {})
    assert one.snapshot().master != two.snapshot().master
    plain = evaluate_client(Request.build("mydb"), answer(database="mydb"), {}, {})
    assert plain.databases == ("mydb",)
    assert plain.master is not None
    assert plain.snapshot().master is not None
    assert "dbs=" not in str(plain.master)


@pytest.mark.parametrize(
    ("roles", "accepted"),
    [
        (["charmed_read"], True),
        (["Charmed_DML"], True),
        (["charmed_admin", "CREATEDB"], True),
        (["relation_access", "charmed_read"], True),  # access groups are dropped
        (["superuser"], True),
        (["charmed_dba"], False),  # defined, not requestable in 16.3.5
        (["createrole"], False),
        (["charmed_read", "charmed_dml"], False),
        (["charmed_admin", "superuser"], False),
    ],
)
def test_postgresql_16_role_rule(roles: List[str], accepted: bool) -> None:
    assert (pg16_roles_problem(roles) is None) is accepted


def test_roles_refused_is_a_note_before_any_answer_and_nothing_after() -> None:
    request = Request.build("mydb", ["charmed_read", "charmed_dml"])
    waiting = evaluate_client(request, {}, {}, {})
    assert [x.code for x in waiting.reasons if x.blocking] == ["not-answered"]
    notes = [x for x in waiting.reasons if x.code == ROLES_REFUSED]
    assert len(notes) == 1
    assert not notes[0].blocking
    assert "charmed_admin with createdb" in notes[0].message
    answered = evaluate_client(request, answer(database="mydb"), {}, {})
    assert answered.ready
    assert ROLES_REFUSED not in {x.code for x in answered.reasons}


def test_pgsql_requests_keep_their_names_but_refuse_a_prefix() -> None:
    check_request(Request.build("postgres"), "pgsql")
    check_request(Request.build("d" * 60), "pgsql")
    with pytest.raises(RequestError, match="postgresql_client"):
        check_request(Request.build("mydb_*"), "pgsql")


def test_the_rules_module_examples_hold() -> None:
    import doctest

    from pgsql.protocol import _client_rules  # pyright: ignore[reportPrivateUsage]

    result = doctest.testmod(_client_rules, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 7
    assert result.failed == 0
