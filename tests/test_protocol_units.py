"""Unit tests of the protocol building blocks: requests, splitting, grants, events, snapshots."""

from __future__ import annotations

import collections
import re
from typing import Any, Dict, List, Optional, Tuple

import pytest
from conftest import scaled
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pgsql import ConnectionString, protocol
from pgsql.protocol import (
    Readiness,
    Reason,
    Request,
    RequestError,
    Snapshot,
    access_grant,
    broken_transitions,
    evaluate,
    parse_extension,
    read_request,
    server_databag,
    split_list,
    split_standbys,
    split_units,
    transitions,
    unit_sort_key,
)

EXAMPLES = scaled(50, 300, 3000)

# ---------------------------------------------------------------------------------------------
# Request.build
# ---------------------------------------------------------------------------------------------


def test_build_normalises() -> None:
    r = Request.build(
        database="mydb", roles=["b", "a", "a"], extensions=["pg_trgm:public", "citext"]
    )
    assert r == Request("mydb", ("a", "b"), ("citext", "pg_trgm:public"))
    assert Request.build() == Request()
    assert Request.build(database="") == Request()
    assert Request.build(database=None, roles=None, extensions=None) == Request()
    assert Request.build(roles=[], extensions=()) == Request()
    assert not Request()
    assert Request.build(database="mydb")
    assert Request.build(roles="x")


def test_build_str_is_one_name() -> None:
    # 1.x's setter turned "admin" into a,d,i,m,n (pitfall 15)
    assert Request.build(roles="admin").roles == ("admin",)
    assert Request.build(extensions="citext").extensions == ("citext",)
    assert Request.build(extensions="pg_trgm:public").extensions == ("pg_trgm:public",)


def test_build_accepts_iterables() -> None:
    assert Request.build(roles=iter(["x", "y"])).roles == ("x", "y")
    assert Request.build(roles={"y", "x"}).roles == ("x", "y")
    assert Request.build(roles=(r for r in ["z"])).roles == ("z",)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"database": "a,b"},
        {"database": "a\nb"},
        {"database": "a\rb"},
        {"database": "a\x00b"},
        {"database": " "},
        {"database": " mydb"},
        {"database": "mydb\t"},
        {"database": 5},
        {"database": b"mydb"},
        {"database": ["mydb"]},
        {"roles": "a,b"},
        {"roles": ["a", "b,c"]},
        {"roles": ["a\nb"]},
        {"roles": [""]},
        {"roles": [" a"]},
        {"roles": ["a "]},
        {"roles": 5},
        {"roles": [5]},
        {"roles": [None]},
        {"roles": [b"a"]},
        {"extensions": "a,b"},
        {"extensions": [""]},
        {"extensions": ["a\n"]},
        {"extensions": 3.5},
        {"extensions": ["citext:"]},
        {"extensions": ["a:b:c"]},
        {"extensions": ["a(b"]},
        {"extensions": ["a()"]},
        {"extensions": ["(x)"]},
        {"extensions": ["a b"]},
        {"extensions": ["a:b(c)"]},
        {"extensions": [":public"]},
    ],
    ids=repr,
)
def test_build_rejects(kwargs: Dict[str, Any]) -> None:
    with pytest.raises(RequestError) as info:
        Request.build(**kwargs)
    assert isinstance(info.value, ValueError)
    assert str(info.value)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("citext", ("citext", None)),
        ("uuid-ossp", ("uuid-ossp", None)),
        ("pg_trgm:public", ("pg_trgm", "public")),
        ("hstore(myschema)", ("hstore", "myschema")),
        (" hstore ( s ) ", ("hstore", "s")),
        ("postgis : topology", ("postgis", "topology")),
    ],
)
def test_parse_extension(item: str, expected: Tuple[str, Optional[str]]) -> None:
    assert parse_extension(item) == expected


def test_extension_names_drop_schema() -> None:
    r = Request.build(extensions=["citext:public", "hstore(s)", "uuid-ossp"])
    assert r.extension_names == frozenset({"citext", "hstore", "uuid-ossp"})


# ---------------------------------------------------------------------------------------------
# Request.databag / from_databag
# ---------------------------------------------------------------------------------------------


def test_databag_only_what_was_requested() -> None:
    assert Request.build(database="myapp").databag() == {"database": "myapp"}
    assert Request().databag() == {}
    assert Request.build(
        database="mydb", roles=["b", "a"], extensions=["unaccent:public", "pg_trgm:public"]
    ).databag() == {
        "database": "mydb",
        "roles": "a,b",
        "extensions": "pg_trgm:public,unaccent:public",
    }


def test_from_databag_is_lenient() -> None:
    bag = {
        "database": " mydb ",
        "roles": "b, a,,a ",
        "extensions": "citext:public,hstore(s),",
        "x": "y",
    }
    assert Request.from_databag(bag) == Request("mydb", ("a", "b"), ("citext:public", "hstore(s)"))
    assert Request.from_databag({}) == Request()
    assert Request.from_databag({"database": "", "roles": "", "extensions": ""}) == Request()
    # never raises, even on items build() would refuse
    assert Request.from_databag({"extensions": "a:b:c"}).extensions == ("a:b:c",)


_name = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=",\n\r\x00"),
    min_size=1,
    max_size=12,
).filter(lambda s: s == s.strip())


def _ext_item(name: str, schema: Optional[str], colon: bool) -> str:
    if schema is None:
        return name
    return f"{name}:{schema}" if colon else f"{name}({schema})"


_ext = st.builds(
    _ext_item,
    st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True),
    st.none() | st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
    st.booleans(),
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    database=st.none() | _name,
    roles=st.lists(_name, max_size=4),
    extensions=st.lists(_ext, max_size=4),
)
def test_databag_round_trip(
    database: Optional[str], roles: List[str], extensions: List[str]
) -> None:
    r = Request.build(database=database, roles=roles, extensions=extensions)
    assert Request.from_databag(r.databag()) == r
    # a server echoing the request verbatim satisfies it
    assert read_request(r.databag(), {}) == r


# ---------------------------------------------------------------------------------------------
# read_request (server side)
# ---------------------------------------------------------------------------------------------


def test_read_request_app_bag_first() -> None:
    app = {"database": "fromapp", "extensions": "citext"}
    units = {"myapp/0": {"database": "fromunit", "egress-subnets": "10.0.0.10/32"}}
    assert read_request(app, units) == Request("fromapp", (), ("citext",))


def test_read_request_app_bag_with_any_request_key() -> None:
    # an app bag asking only for roles still wins (database: server default)
    assert read_request({"roles": "r"}, {"myapp/0": {"database": "x"}}) == Request("", ("r",), ())


def test_read_request_lowest_unit_numerically() -> None:
    units = {
        "myapp/10": {"database": "ten"},
        "myapp/2": {"database": "two"},
        "myapp/3": {"database": "three"},
    }
    assert read_request({}, units).database == "two"


def test_read_request_skips_units_without_request_keys() -> None:
    units = {
        "myapp/0": {"egress-subnets": "10.0.0.10/32"},
        "myapp/1": {"database": "one", "roles": "a,b"},
    }
    assert read_request({}, units) == Request("one", ("a", "b"), ())
    # app bag without request keys (only foreign keys) falls back to unit bags
    assert read_request({"foo": "bar"}, units).database == "one"


def test_read_request_blank_keys_are_absent() -> None:
    units = {"myapp/0": {"database": "fromunit"}}
    assert read_request({"database": "", "roles": " "}, units).database == "fromunit"
    assert (
        read_request({}, {"myapp/0": {"database": ""}, "myapp/1": {"database": "x"}}).database
        == "x"
    )


def test_read_request_nothing() -> None:
    assert read_request({}, {}) == Request()
    assert read_request({}, {"myapp/0": {"private-address": "10.0.0.10"}}) == Request()


# ---------------------------------------------------------------------------------------------
# access_grant
# ---------------------------------------------------------------------------------------------


def test_access_grant_sorted_deduplicated() -> None:
    units = {
        "myapp/10": {"egress-subnets": "10.0.0.12/32", "ingress-address": "10.9.9.9"},
        "myapp/2": {"ingress-address": "10.0.0.2", "private-address": "10.8.8.8"},
        "myapp/1": {"private-address": "2001:db8::1"},
        "myapp/3": {"egress-subnets": "10.0.0.12/32, 10.1.0.0/24"},
    }
    subnets, allowed = access_grant(units)
    assert subnets == "10.0.0.12/32,10.0.0.2/32,10.1.0.0/24,2001:db8::1/128"
    assert allowed == "myapp/1 myapp/2 myapp/3 myapp/10"


def test_access_grant_ipv6_compressed() -> None:
    subnets, _ = access_grant({"a/0": {"ingress-address": "2001:0db8:0000::0001"}})
    assert subnets == "2001:db8::1/128"


def test_access_grant_falls_back_past_a_non_ip_ingress_address() -> None:
    subnets, _ = access_grant(
        {"a/0": {"ingress-address": "pod.example", "private-address": "10.0.0.5"}}
    )
    assert subnets == "10.0.0.5/32"


def test_access_grant_nothing() -> None:
    assert access_grant({}) == ("", "")
    assert access_grant({"a/0": {}}) == ("", "a/0")


def test_access_grant_satisfies_the_client_rule() -> None:
    units = {
        "myapp/0": {"egress-subnets": "10.0.0.10/32"},
        "myapp/1": {"ingress-address": "10.0.0.11"},
    }
    bag = server_databag(
        Request.build(database="mydb"),
        master=ConnectionString("host=10.0.0.20 dbname=mydb"),
        granted_units=units,
    )
    for unit, local in [
        ("myapp/0", units["myapp/0"]),
        ("myapp/1", {"egress-subnets": "10.0.0.11/32"}),
    ]:
        r = evaluate(Request.build(database="mydb"), unit, local, "pg", {}, {"pg/0": bag})
        assert r.ready, r.why


# ---------------------------------------------------------------------------------------------
# server_databag
# ---------------------------------------------------------------------------------------------

M = ConnectionString("dbname=mydb host=10.0.0.20 password=s3cretpass port=5432 user=u")
S1 = ConnectionString("dbname=mydb host=10.0.0.21 password=s3cretpass port=5432 user=u")
S2 = ConnectionString("dbname=mydb host=10.0.0.22 password='a,b=c d' port=5432 user=u")


def test_server_databag_full() -> None:
    bag = server_databag(
        Request.build(database="mydb", roles=["r"], extensions=["citext:public"]),
        master=M,
        standbys=[S1, S2],
        version="16.4",
        granted_units={
            "myapp/1": {"egress-subnets": "10.0.0.11/32"},
            "myapp/0": {"egress-subnets": "10.0.0.10/32"},
        },
        state="master",
    )
    assert bag == {
        "database": "mydb",
        "roles": "r",
        "extensions": "citext:public",
        "allowed-subnets": "10.0.0.10/32,10.0.0.11/32",
        "allowed-units": "myapp/0 myapp/1",
        "master": str(M),
        "standbys": f"{S1}\n{S2}",
        "version": "16.4",
        "state": "master",
    }
    assert split_standbys(bag["standbys"]) == [str(S1), str(S2)]


def test_server_databag_absent_when_empty() -> None:
    assert server_databag(Request(), master=None, granted_units={}) == {}
    bag = server_databag(Request(), master=M, standbys=[], version="", granted_units={}, state="")
    assert bag == {"master": str(M)}


def test_server_databag_default_database() -> None:
    bag = server_databag(Request(), master=M, granted_units={}, database="myapp")
    assert bag["database"] == "myapp"
    # an explicit request wins over the default
    bag = server_databag(Request.build(database="mydb"), master=M, granted_units={}, database="x")
    assert bag["database"] == "mydb"


def test_server_databag_is_ready_for_the_client() -> None:
    req = Request.build(database="mydb", roles=["r"], extensions=["citext:public", "hstore(s)"])
    units = {"myapp/0": {"egress-subnets": "10.0.0.10/32"}}
    bag = server_databag(req, master=M, standbys=[S1, S2], granted_units=units, state="master")
    r = evaluate(req, "myapp/0", units["myapp/0"], "pg", {}, {"pg/0": bag})
    assert r.ready, r.why
    assert r.master == M
    assert r.standbys == (S1, S2)
    assert not [x for x in r.reasons if x.code != protocol.REQUEST_UNKNOWN]


# ---------------------------------------------------------------------------------------------
# transitions / broken_transitions
# ---------------------------------------------------------------------------------------------

A, B = "a" * 32, "b" * 32
X, Y = "1" * 32, "2" * 32
EMPTY = Snapshot()

MA = ("master_available",)
MC = ("master_changed",)
MG = ("master_gone",)
SA = ("standby_available",)
SC = ("standby_changed",)
SG = ("standby_gone",)
DA = ("database_available",)
DC = ("database_changed",)
DG = ("database_gone",)

TRANSITIONS: List[Tuple[Optional[Snapshot], Snapshot, Tuple[str, ...]]] = [
    (None, EMPTY, ()),
    (EMPTY, EMPTY, ()),
    (None, Snapshot(A), MA + MC + DA + DC),
    (None, Snapshot(A, (X,)), MA + MC + SA + SC + DA + DC),
    (None, Snapshot(None, (X,)), SA + SC + DA + DC),
    (Snapshot(A), Snapshot(A), ()),
    (Snapshot(A), Snapshot(B), MC + DC),
    (Snapshot(A), EMPTY, MC + MG + DC + DG),
    (Snapshot(A, (X,)), Snapshot(A, (X,)), ()),
    # R-PG failover: master removed, standbys stay -> no database_gone
    (Snapshot(A, (X,)), Snapshot(None, (X,)), MC + MG + DC),
    (Snapshot(None, (X,)), Snapshot(B, (X,)), MA + MC + DA + DC),
    (Snapshot(A, (X,)), Snapshot(A, (X, Y)), SC + DC),
    (Snapshot(A, (X, Y)), Snapshot(A, (Y, X)), SC + DC),
    (Snapshot(A, (X,)), Snapshot(A), SC + SG + DC),
    (Snapshot(A), Snapshot(A, (X,)), SA + SC + DA + DC),
    (Snapshot(A, (X,)), EMPTY, MC + MG + SC + SG + DC + DG),
    (Snapshot(None, (X,)), EMPTY, SC + SG + DC + DG),
    (Snapshot(A, (X,)), Snapshot(B, (Y,)), MC + SC + DC),
    (Snapshot(A), Snapshot(None, (X,)), MC + MG + SA + SC + DA + DC),
]


@pytest.mark.parametrize(("prev", "cur", "events"), TRANSITIONS)
def test_transitions(prev: Optional[Snapshot], cur: Snapshot, events: Tuple[str, ...]) -> None:
    assert transitions(prev, cur) == events
    assert set(events) <= set(protocol.EVENT_NAMES)


@pytest.mark.parametrize(
    ("prev", "events"),
    [
        (None, ()),
        (EMPTY, ()),
        (Snapshot(A), MC + MG + DC + DG),
        (Snapshot(None, (X,)), SC + SG + DC + DG),
        (Snapshot(A, (X, Y)), MC + MG + SC + SG + DC + DG),
    ],
)
def test_broken_transitions(prev: Optional[Snapshot], events: Tuple[str, ...]) -> None:
    assert broken_transitions(prev) == (*events, "database_relation_broken")


_snap = st.builds(
    Snapshot,
    st.none() | st.sampled_from([A, B]),
    st.lists(st.sampled_from([X, Y]), max_size=2, unique=True).map(tuple),
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(prev=_snap, cur=_snap)
def test_transitions_follow_emission_order(prev: Snapshot, cur: Snapshot) -> None:
    events = transitions(prev, cur)
    order: List[str] = list(protocol.EVENT_NAMES)
    assert [order.index(e) for e in events] == sorted(order.index(e) for e in events)
    assert (events == ()) == (prev == cur)
    assert ("database_gone" in events) == (
        (prev.master is not None or bool(prev.standbys)) and cur == EMPTY
    )


# ---------------------------------------------------------------------------------------------
# Snapshot
# ---------------------------------------------------------------------------------------------


def test_snapshot_round_trip() -> None:
    for s in (EMPTY, Snapshot(A), Snapshot(None, (X,)), Snapshot(A, (X, Y))):
        d = s.to_dict()
        assert Snapshot.from_dict(d) == s
        assert isinstance(d["standbys"], list)


def test_snapshot_from_stored_state_list() -> None:
    # ops' StoredState hands back StoredDict/StoredList (Mapping/MutableSequence, not dict/list)
    d = collections.UserDict({"master": A, "standbys": collections.UserList([X, Y])})
    assert Snapshot.from_dict(d) == Snapshot(A, (X, Y))


def test_snapshot_from_dict_lenient() -> None:
    assert Snapshot.from_dict({}) == EMPTY
    assert Snapshot.from_dict({"master": 5, "standbys": "abc"}) == EMPTY
    assert Snapshot.from_dict({"master": None, "standbys": None}) == EMPTY
    assert Snapshot.from_dict({"standbys": [X, 3, None]}) == Snapshot(None, (X,))


def test_snapshot_from_1x_stored_state() -> None:
    """1.x stored raw connection strings: read as digests, no spurious event, no secret kept."""
    raw_master = "user=u password=supers3cret host=master"
    raw_standby = "host=s1 password=supers3cret"
    old = Snapshot.from_dict({"master": raw_master, "standbys": [raw_standby]})
    cur = Readiness(True, ConnectionString(raw_master), (ConnectionString(raw_standby),)).snapshot()
    assert old == cur
    assert transitions(old, cur) == ()
    assert "supers3cret" not in repr(old)
    assert Snapshot.from_dict({"master": "host='unterminated"}).master is not None


def test_readiness_snapshot_has_no_secrets() -> None:
    r = Readiness(True, M, (S1, S2))
    snap = r.snapshot()
    assert snap.master is not None
    assert re.fullmatch(r"[0-9a-f]{32}", snap.master)
    assert all(re.fullmatch(r"[0-9a-f]{32}", s) for s in snap.standbys)
    text = repr(snap) + repr(snap.to_dict())
    for secret in ("s3cretpass", "a,b=c d", "10.0.0.20", "mydb"):
        assert secret not in text
    assert Readiness(False).snapshot() == EMPTY
    # the same master in another key order is the same snapshot (pitfall 5)
    same = ConnectionString("user=u port=5432 password=s3cretpass host=10.0.0.20 dbname=mydb")
    assert Readiness(True, same, (S1, S2)).snapshot() == snap
    assert Readiness(True, same, (S2, S1)).snapshot() != snap


# ---------------------------------------------------------------------------------------------
# Splitting
# ---------------------------------------------------------------------------------------------


def test_split_list() -> None:
    assert split_list(None) == []
    assert split_list("") == []
    assert split_list(" a, b ,,c ,") == ["a", "b", "c"]


def test_split_units() -> None:
    assert split_units(None) == frozenset()
    assert split_units("") == frozenset()
    assert split_units("a/0 a/1") == {"a/0", "a/1"}
    assert split_units("a/0,a/1, a/2  a/3\n") == {"a/0", "a/1", "a/2", "a/3"}


def test_unit_sort_key() -> None:
    names = ["pg/10", "pg/2", "other/0", "pg/1", "pg", "pg/x"]
    assert sorted(names, key=unit_sort_key) == ["other/0", "pg", "pg/1", "pg/2", "pg/10", "pg/x"]


VM_TWO = (
    "dbname=mydb host=10.0.0.21 password=Xq3vLr8TzW1bNc6K port=5432 user=relation-5,"
    "dbname=mydb host=10.0.0.22 password=Xq3vLr8TzW1bNc6K port=5432 user=relation-5"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, []),
        ("", []),
        ("\n \n", []),
        ("host=a", ["host=a"]),
        ("host=a\nhost=b", ["host=a", "host=b"]),
        ("host=a\r\nhost=b\r\n", ["host=a", "host=b"]),
        (VM_TWO, VM_TWO.split(",")),
        ("host=a password='x,user=y'", ["host=a password='x,user=y'"]),
        ("host=a password='x,y',host=b", ["host=a password='x,y'", "host=b"]),
        (r"host=a password='it\'s,user=x',host=b", [r"host=a password='it\'s,user=x'", "host=b"]),
        ("host=a options=-c,x", ["host=a options=-c,x"]),
        ("host=a,host=b", ["host=a", "host=b"]),
        # only a comma directly followed by a keyword separates (VM-PG joins with a bare ",")
        ("host=a password=, user=b", ["host=a password=, user=b"]),
        ("host=a password=,user=b", ["host=a password=,user=b"]),
        # a quote in the middle of an unquoted value is literal in libpq
        ("host=a password=ab'c,host=b", ["host=a password=ab'c", "host=b"]),
        # an unbalanced quote costs only its own line
        ("host='a\nhost=b", ["host='a", "host=b"]),
        # a newline inside a quoted value does not split
        ("host=a password='x\ny'\nhost=b", ["host=a password='x\ny'", "host=b"]),
        # only "\n" (and "\r") separate; other Unicode line breaks are data
        ("host=a password=x\u2028y\x85z", ["host=a password=x\u2028y\x85z"]),
    ],
)
def test_split_standbys(raw: Optional[str], expected: List[str]) -> None:
    assert split_standbys(raw) == expected


_value = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=16,
)
_host = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,15}", fullmatch=True)


@st.composite
def _conn(draw: Any) -> str:
    cs = ConnectionString(
        host=draw(_host),
        dbname=draw(_value),
        user=draw(_value),
        password=draw(_value),
    )
    return str(cs)


def _unambiguous_for_commas(conn: str) -> bool:
    # an unquoted value containing ",keyword=" cannot be told apart from a separator; libpq
    # quoting (forced by whitespace, quotes or backslashes) makes it safe
    return not re.search(r"(?:^|\s)\w+=(?!')\S*,\w+\s*=", conn)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conns=st.lists(_conn(), min_size=1, max_size=4), sep=st.sampled_from(["\n", ",", "\r\n"]))
def test_split_standbys_round_trip(conns: List[str], sep: str) -> None:
    # standbys are split on commas too, whatever the separator (pitfall 4)
    assume(all(_unambiguous_for_commas(c) for c in conns))
    parts = split_standbys(sep.join(conns))
    assert [ConnectionString(p) for p in parts] == [ConnectionString(c) for c in conns]


_quoted = st.text(alphabet=st.sampled_from(list("ab ,=;'\\\nxyz")), min_size=0, max_size=12).map(
    lambda v: "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(
    values=st.lists(_quoted, min_size=1, max_size=4),
    sep=st.sampled_from(["\n", ","]),
)
def test_split_standbys_quoted_values(values: List[str], sep: str) -> None:
    conns = [f"host=h{i} password={v} user=u" for i, v in enumerate(values)]
    assert split_standbys(sep.join(conns)) == conns


# ---------------------------------------------------------------------------------------------
# Readiness.why
# ---------------------------------------------------------------------------------------------


def test_why() -> None:
    assert Readiness(True, M).why == "ready"
    assert Readiness(False).why == "not ready"
    note = Reason("stale-app-bag", "a note", blocking=False)
    assert Readiness(False, reasons=(note,)).why == "not ready"
    one = Reason(protocol.EGRESS_NOT_ALLOWED, "egress x not in y", "pg/0")
    assert Readiness(False, reasons=(one, note)).why == "egress x not in y"
    same_code = Reason(protocol.EGRESS_NOT_ALLOWED, "egress x not in z", "pg/1")
    assert Readiness(False, reasons=(one, same_code)).why == "egress x not in y"
    other = Reason(protocol.DATABASE_PENDING, "database request not echoed yet", "pg/1")
    third = Reason(protocol.ROLES_IGNORED, "roles", "pg/1")
    assert Readiness(False, reasons=(one, other, note)).why == "egress x not in y (+1 more)"
    assert Readiness(False, reasons=(one, other, third)).why == "egress x not in y (+2 more)"


def test_reason_str() -> None:
    assert str(Reason("c", "msg", "pg/0")) == "pg/0: msg"
    assert str(Reason("c", "msg")) == "msg"
