"""Regression tests for failures the chaos and fuzz suites found, one test per failure.

Each test names what it caught. Failures in modules owned by others that are not fixed yet are
``xfail(strict=True)`` with the precise bug, so they turn into errors the moment they are fixed
(and the marker must go).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict

import ops
import pytest

import pgsql
from pgsql import protocol


def test_unit_sort_key_superscript_digit() -> None:
    # caught by test_fuzz_inputs::test_evaluate_never_raises_and_is_consistent: a unit named
    # "²" (str.isdigit() is True, int() rejects it) made evaluate() raise ValueError
    assert protocol.unit_sort_key("pg/²") == ("pg/²", -1, "pg/²")
    assert protocol.unit_sort_key("²") == ("²", -1, "²")
    r = protocol.evaluate(None, "myapp/0", {}, "²", {}, {"²": {}, "pg/²": {"master": "host=a"}})
    assert r.ready


# ---------------------------------------------------------------------------------------------
# Found by tests/test_chaos_client.py (multi-unit client through ops.testing)
# ---------------------------------------------------------------------------------------------

_META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"db": {"interface": "pgsql"}},
    "peers": {"peers": {"interface": "myapp-peers"}},
}
_CLIENT = {
    "egress-subnets": "10.0.0.10/32",
    "ingress-address": "10.0.0.10",
    "private-address": "10.0.0.10",
}


class _SeedCharm(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.db.on.database_relation_joined, self._on_joined)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "first"


def _scenario() -> Any:
    testing = pytest.importorskip("ops.testing")
    if not hasattr(testing, "Context"):
        pytest.skip("ops.testing has no Scenario Context in this ops")
    return testing


def _server(database: str) -> Dict[str, str]:
    return {
        "allowed-subnets": "10.0.0.10/32,10.0.0.11/32",
        "database": database,
        "master": f"dbname={database} host=10.0.1.0 user=u password=pw",
    }


@pytest.mark.scenario
def test_ex_leader_follows_the_new_leaders_request() -> None:
    # Fixed: an ex-leader's peer-relation-changed now checks is-leader before ignoring the
    # shared request (Juju 4 sends no leader-settings-changed when leadership moves).
    # caught by test_chaos_client (leader_changes, then request_changed_in_config): the ex-leader
    # reported ready for the old database while the application asked for another one
    testing = _scenario()
    ctx = testing.Context(_SeedCharm, meta=_META, unit_id=0)
    rel = testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name="postgresql",
        id=5,
        local_unit_data=dict(_CLIENT),
        remote_units_data={0: _server("first")},
    )
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
        remote_units_data={0: _server("second")},
    )
    peer2 = dataclasses.replace(
        state.get_relation(1),
        local_app_data={"pgsql-db": json.dumps({"5": {"database": "second"}})},
    )
    state = dataclasses.replace(state, leader=False, relations={rel2, peer2})
    with ctx(ctx.on.relation_changed(peer2), state) as mgr:
        state = mgr.run()
        charm: _SeedCharm = mgr.charm  # type: ignore[assignment]
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


@pytest.mark.scenario
def test_scenario_app_bag_change_is_seen() -> None:
    # Fixed: relation-changed always re-reads the server's application bag.
    # caught by test_chaos_client (app_bag_written): a server that publishes in its application
    # bag only (K8s PostgreSQL non-leaders write nothing) was never seen as ready
    testing = _scenario()
    ctx = testing.Context(_SeedCharm, meta=_META, unit_id=0)
    rel = testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name="postgresql",
        id=5,
        local_app_data={"database": "first"},
        local_unit_data={**_CLIENT, "database": "first"},
        remote_units_data={0: {"ingress-address": "10.0.1.0"}},
    )
    state = testing.State(leader=True, relations={rel})
    state = ctx.run(ctx.on.relation_changed(rel, remote_unit=0), state)
    rel2 = dataclasses.replace(state.get_relation(5), remote_app_data=_server("first"))
    state = dataclasses.replace(state, relations={rel2})
    ctx.emitted_events.clear()
    with ctx(ctx.on.relation_changed(rel2), state) as mgr:
        mgr.run()
        charm: _SeedCharm = mgr.charm  # type: ignore[assignment]
        assert charm.db.is_ready()


# ---------------------------------------------------------------------------------------------
# Found by tests/test_fuzz_inputs.py (PGSQL_TEST_PROFILE=long)
# ---------------------------------------------------------------------------------------------


def test_standbys_split_after_a_value_ending_in_equals() -> None:
    # caught by test_standbys_split_back_whatever_the_separator: "host==" (and base64-padded
    # passwords, "password=abc=") before a comma made split_standbys take the trailing "=" for
    # a key's and keep two comma-joined standbys as one bogus string
    raw = "host=a password=abc=,host=b password=def="
    assert protocol.split_standbys(raw) == ["host=a password=abc=", "host=b password=def="]
    assert protocol.split_standbys("dbname=0 host==,dbname=1 host=0") == [
        "dbname=0 host==",
        "dbname=1 host=0",
    ]
    # a comma that starts a value still belongs to it
    assert protocol.split_standbys("host=a user=,dbname=x") == ["host=a user=,dbname=x"]
    assert protocol.split_standbys("host=a port = ,host=b") == ["host=a port = ,host=b"]


class _ConfigCharm(ops.charm.CharmBase):
    """1.x-style charm that follows its config with the 2.x setter."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.told: Any = None
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        framework.observe(self.db.on.master_changed, self._on_master_changed)
        framework.observe(self.on.config_changed, self._on_config_changed)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        event.database = str(self.config["database"])

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        self.told = event.master

    def _on_config_changed(self, event: ops.charm.ConfigChangedEvent) -> None:
        for relation in self.model.relations["db"]:
            self.db.set_request(relation, database=str(self.config["database"]))


@pytest.mark.scenario
def test_set_request_emits_the_transition_it_causes() -> None:
    # Fixed: set_request() and request() emit the transitions their change causes.
    # caught by test_chaos_roundtrip (long profile): a seed-style charm whose leader switched
    # the database to one the server already served never got master_changed
    testing = _scenario()
    meta = {"name": "myapp", "requires": {"db": {"interface": "pgsql"}}}
    config = {"options": {"database": {"type": "string", "default": "first"}}}
    ctx = testing.Context(_ConfigCharm, meta=meta, config=config, unit_id=0)
    rel = testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name="postgresql",
        id=5,
        local_unit_data=dict(_CLIENT),
        remote_units_data={0: _server("second")},
    )
    state = testing.State(leader=True, relations={rel})
    state = ctx.run(ctx.on.relation_joined(rel, remote_unit=0), state)
    state = ctx.run(ctx.on.relation_changed(state.get_relation(5), remote_unit=0), state)
    ctx.emitted_events.clear()
    state = dataclasses.replace(state, config={"database": "second"})
    with ctx(ctx.on.config_changed(), state) as mgr:
        mgr.run()
        charm: _ConfigCharm = mgr.charm  # type: ignore[assignment]
        assert charm.db.is_ready()
        kinds = [e.handle.kind for e in ctx.emitted_events]
        assert "master_available" in kinds
        assert charm.told is not None


def test_comma_joined_master_is_malformed_not_ready() -> None:
    # caught by test_fuzz_inputs (long profile, wrong separators): a master written with commas
    # instead of spaces parses, as in libpq, as one long dbname holding the password; it was
    # "ready" and the password showed in the dbname of every repr
    bag = {
        "master": "dbname=mydb,host=10.0.0.20,password=SECRETpw,port=5432,user=u",
        "database": "mydb",
        "allowed-subnets": "10.0.0.10/32",
    }
    r = protocol.evaluate(
        protocol.Request.build(database="mydb"),
        "myapp/0",
        {"egress-subnets": "10.0.0.10/32"},
        "postgresql",
        {},
        {"postgresql/0": bag},
    )
    assert not r.ready
    assert r.master is None
    assert [x.code for x in r.reasons if x.blocking] == [protocol.MALFORMED]
    assert "SECRETpw" not in repr(r)


def test_mangled_standby_separators_do_not_leak_the_password() -> None:
    # caught by test_fuzz_inputs (matrix, Python 3.9): standbys joined with "|" parse as one
    # dbname holding "password=..."; the standby was used and its repr showed the password
    bag = {
        "master": "dbname=mydb host=10.0.0.20 password=SECRETpw port=5432 user=u",
        "standbys": "dbname=mydb|host=10.0.0.21|password=SECRETpw|port=5432|user=u",
        "database": "mydb",
        "allowed-subnets": "10.0.0.10/32",
    }
    r = protocol.evaluate(
        None, "myapp/0", {"egress-subnets": "10.0.0.10/32"}, "postgresql", {}, {"postgresql/0": bag}
    )
    assert r.ready
    assert r.standbys == ()
    assert protocol.MALFORMED in {x.code for x in r.reasons}
    assert "SECRETpw" not in repr(r.standbys) + repr(r.reasons)


def test_standby_votes_compare_parsed_values_not_raw_strings() -> None:
    # caught by test_chaos_client (long profile): with no master anywhere, bags publishing the
    # same standbys in different key orders were counted as different values, so the vote
    # (pitfall 3) was lost and another bag (with another version) was chosen; pitfall 5 says
    # compare parsed values
    sorted_form = "dbname=mydb host=10.0.0.21 password=pw port=5432 user=u"
    insertion_form = "host=10.0.0.21 dbname=mydb port=5432 user=u password=pw"
    grant = {"allowed-subnets": "10.0.0.10/32", "database": "mydb"}
    units = {
        "postgresql/0": {**grant, "standbys": "host=10.0.0.99 user=u", "version": "14.1"},
        "postgresql/1": {**grant, "standbys": sorted_form, "version": "14.0"},
        "postgresql/2": {**grant, "standbys": insertion_form, "version": "14.0"},
    }
    r = protocol.evaluate(
        None, "myapp/0", {"egress-subnets": "10.0.0.10/32"}, "postgresql", {}, units
    )
    assert r.master is None
    assert [s.host for s in r.standbys] == ["10.0.0.21"]
    assert (r.source, r.version) == ("postgresql/1", "14.0")


class _LeaderConfigCharm(_ConfigCharm):
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
    testing = _scenario()
    config = {"options": {"database": {"type": "string", "default": "mydbname"}}}
    ctx = testing.Context(_LeaderConfigCharm, meta=_META, config=config, unit_id=1)
    share = {"pgsql-db": json.dumps({"5": {"database": "mydbname"}}, separators=(",", ":"))}
    rel = testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name="postgresql",
        id=5,
        local_unit_data=dict(_CLIENT),
        remote_units_data={0: _server("mydbname")},
    )
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


def test_password_inside_a_mangled_master_is_never_printed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # reported: `pgsql doctor` (text and --json) printed a server's master whose separators were
    # mangled ("dbname=mydb|host=10.0.0.20|password=S|port=5432|user=u", or with ";") with the
    # password in clear; repr(ConnectionString(...)) and `pgsql connstr` showed it too (libpq
    # reads it as one dbname). Every rendering now masks what follows "password=" in a value.
    import io

    from pgsql.cli import main
    from pgsql.connstr import ConnectionString

    secret = "M4ngledPw"
    for sep in ("|", ";"):
        master = sep.join(
            ["dbname=mydb", "host=10.0.0.20", f"password={secret}", "port=5432", "user=u"]
        )
        shown = f"mydb{sep}host=10.0.0.20{sep}password=********"
        cs = ConnectionString(master)
        assert str(cs) == master  # the API keeps the real string
        assert secret not in repr(cs)
        assert shown in repr(cs)

        for args in ([], ["--json"], ["--uri"]):
            assert main(["connstr", *args, master]) == 0
            out, err = capsys.readouterr()
            assert secret not in out + err
            assert "10.0.0.20" in out

        bag = {"master": master, "database": "mydb", "allowed-subnets": "10.0.0.10/32"}
        doc = {
            "myapp/0": {
                "relation-info": [
                    {
                        "relation-id": 5,
                        "endpoint": "db",
                        "related-endpoint": "db",
                        "application-data": {"database": "mydb"},
                        "related-units": {"postgresql/0": {"in-scope": True, "data": bag}},
                    }
                ]
            }
        }
        for args in ([], ["--json"]):
            raw = json.dumps(doc).encode()
            monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
            main(["doctor", "--juju-version", "3.6", *args])
            out, err = capsys.readouterr()
            assert secret not in out + err
            assert f"localhost/{shown}" in out
