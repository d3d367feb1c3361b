"""Odd values in ``pgsql`` server bags (found by the fuzz and chaos suites): unit names,
standby separators, comma-joined masters, vote counting; never a crash or a leak.
"""

from __future__ import annotations

from pgsql import protocol


def test_a_unit_named_with_a_superscript_digit_sorts_and_is_judged_without_raising() -> None:
    # caught by test_fuzz_inputs::test_evaluate_never_raises_and_is_consistent: a unit named
    # "²" (str.isdigit() is True, int() rejects it) made evaluate() raise ValueError
    assert protocol.unit_sort_key("pg/²") == ("pg/²", -1, "pg/²")
    assert protocol.unit_sort_key("²") == ("²", -1, "²")
    r = protocol.evaluate(None, "myapp/0", {}, "²", {}, {"²": {}, "pg/²": {"master": "host=a"}})
    assert r.ready


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
