"""Unit and property tests for :mod:`pgsql.connstr` (no libpq needed; see test_connstr_libpq)."""

from __future__ import annotations

import doctest
import pickle
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from conftest import scaled
from hypothesis import given, settings
from hypothesis import strategies as st

import pgsql
from pgsql import connstr
from pgsql.connstr import KEYWORDS, ConnectionString, ConnectionStringError

DATA = Path(__file__).parent / "data" / "provider-databags.yaml"

# input -> the keyword map libpq's PQconninfoParse gives (checked against libpq 18 by hand and
# by test_connstr_libpq).
GOOD: Dict[str, Dict[str, str]] = {
    "": {},
    "   ": {},
    "host=h": {"host": "h"},
    "host = h  port =5432": {"host": "h", "port": "5432"},
    "host=a host=b": {"host": "b"},
    "host=": {"host": ""},
    "host=''": {"host": ""},
    "host= port=5432": {"host": "port=5432"},
    "host='a'port=5": {"host": "a", "port": "5"},
    "password='x y'": {"password": "x y"},
    r"password='it\'s'": {"password": "it's"},
    r"password=it\'s": {"password": "it's"},
    "password=it's": {"password": "it's"},
    r"password=a\ b": {"password": "a b"},
    r"password=a\\b": {"password": "a\\b"},
    "password=a\\": {"password": "a"},
    r"password='a\\'": {"password": "a\\"},
    "password='line\nbreak'": {"password": "line\nbreak"},
    "host=a\tport=1\ndbname=d\r\x0buser=u\x0c": {
        "host": "a",
        "port": "1",
        "dbname": "d",
        "user": "u",
    },
    "host=a\u00a0port=5": {"host": "a\u00a0port=5"},
    "dbname=d\u00e9j\u00e0": {"dbname": "d\u00e9j\u00e0"},
    "host=a,b port=5432,5433": {"host": "a,b", "port": "5432,5433"},
    "host=/run/postgresql": {"host": "/run/postgresql"},
    "requiressl=1": {"sslmode": "require"},
    "requiressl=0": {"sslmode": "prefer"},
    "sslmode=disable requiressl=1": {"sslmode": "require"},
    "dbname=postgresql://not/expanded": {"dbname": "postgresql://not/expanded"},
    "dbname='host=other'": {"dbname": "host=other"},
    "sslkeylogfile=/tmp/k oauth_issuer=https://i": {
        "sslkeylogfile": "/tmp/k",
        "oauth_issuer": "https://i",
    },
    # URIs
    "postgresql://": {},
    "postgres://": {},
    "postgresql://h": {"host": "h"},
    "postgresql:///db": {"dbname": "db"},
    "postgresql://u@": {"user": "u"},
    "postgresql://@h": {"host": "h"},
    "postgresql://:5432": {"port": "5432"},
    "postgresql://u:p@h:5432/db": {
        "user": "u",
        "password": "p",
        "host": "h",
        "port": "5432",
        "dbname": "db",
    },
    "postgresql://u:p:q@h": {"user": "u", "password": "p:q", "host": "h"},
    "postgresql://u@v@h": {"user": "u", "host": "v@h"},
    "postgresql://us%40er:p%40ss@h": {"user": "us@er", "password": "p@ss", "host": "h"},
    "postgresql://u@a:1,b:2/db": {"user": "u", "host": "a,b", "port": "1,2", "dbname": "db"},
    "postgresql://a:1,b": {"host": "a,b", "port": "1,"},
    "postgresql://a,b": {"host": "a,b", "port": ","},
    "postgresql://[::1]:5432/db": {"host": "::1", "port": "5432", "dbname": "db"},
    "postgresql://[2001:db8::1]:1,[::1]:2": {"host": "2001:db8::1,::1", "port": "1,2"},
    "postgresql://[fe80::1%25eth0]": {"host": "fe80::1%eth0"},
    "postgresql://%2Frun%2Fpostgresql/db": {"host": "/run/postgresql", "dbname": "db"},
    "postgresql:///db?host=%2Frun%2Fpostgresql": {"host": "/run/postgresql", "dbname": "db"},
    "postgresql://h/db?sslmode=require&application_name=a%20b": {
        "host": "h",
        "dbname": "db",
        "sslmode": "require",
        "application_name": "a b",
    },
    "postgresql://h?ssl=true": {"host": "h", "sslmode": "require"},
    "postgresql://h?requiressl=1": {"host": "h", "sslmode": "require"},
    "postgresql://h?%68ost=x": {"host": "x"},
    "postgresql://h?host=x&": {"host": "x"},
    "postgresql://h?": {"host": "h"},
    "postgresql://h/d?": {"host": "h", "dbname": "d"},
    "postgresql://h/db?dbname=": {"host": "h", "dbname": ""},
    "postgresql://h/a/b": {"host": "h", "dbname": "a/b"},
    "postgresql://h#frag": {"host": "h#frag"},
    "postgresql://h?user=a@b": {"user": "h?user=a", "host": "b"},
    "postgresql://h?options=-c%20x%3Dy": {"host": "h", "options": "-c x=y"},
    "postgresql://h/d%C3%A9": {"host": "h", "dbname": "d\u00e9"},
    "postgresql://h/%FF?dbname=ok": {"host": "h", "dbname": "ok"},
    "postgresql://h/ db ": {"host": "h", "dbname": "db"},
    "postgresql://h/ ": {"host": "h", "dbname": ""},
    "postgresql://h:/d": {"host": "h", "dbname": "d"},
    "postgresql://h:1:2": {"host": "h", "port": "1:2"},
}

# input -> a fragment of the error message
BAD: Dict[str, str] = {
    "host": 'missing "=" after "host" at position 1',
    "host=a port": 'missing "=" after "port" at position 8',
    "=x": 'unknown keyword "" at position 1',
    "foo=bar": 'unknown keyword "foo" at position 1',
    "Host=h": 'unknown keyword "Host"',
    "tty=x": 'unknown keyword "tty"',
    "host='a": 'unterminated quoted string for keyword "host" (opened at position 6)',
    "host='a\\'": "unterminated quoted string",
    "host='a\\": "unterminated quoted string",
    "dbname='a''b'": 'missing "=" after "\'b\'"',
    "host=a\x00": "NUL character in the connection string at position 7",
    "host=\ud800": "cannot be encoded as UTF-8",
    "POSTGRESQL://h": 'missing "="',
    "postgresql:/h": 'missing "="',
    "postgresql://h/db?ssl=false": 'unknown keyword "ssl" in the URI query',
    "postgresql://h?foo=1": 'unknown keyword "foo" in the URI query at position 16',
    "postgresql://h?&": 'missing "=" in the URI query parameter at position 16',
    "postgresql://h?host": 'missing "="',
    "postgresql://h?port=a=b": 'extra "=" in the URI query "port" at position 22',
    "postgresql://h?host=%2": "invalid percent-encoding in the URI query value of",
    "postgresql://h?host=%zz": "invalid percent-encoding",
    "postgresql://h?host=%00": "forbidden %00",
    "postgresql://h/%FF": 'bytes in the value of "dbname" are not valid UTF-8',
    "postgresql://h/d b": "unexpected space in the URI database name at position 17",
    "postgresql://a b": "unexpected space in the URI host",
    "postgresql://[::1": 'missing "]" for the IPv6 address opened at position 14',
    "postgresql://[]": "empty IPv6 address at position 14",
    "postgresql://[::1]x": "unexpected character at position 19",
    "postgresql://a%2,b": "invalid percent-encoding in the URI host",
}


def _databag_conn_strs() -> List[str]:
    """Every master/standbys value in the vendored interface vectors, newline-split."""
    data = yaml.safe_load(DATA.read_text())
    found: List[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():  # pyright: ignore[reportUnknownVariableType]
                if key in ("master", "standbys") and isinstance(value, str):
                    found.extend(line for line in value.split("\n") if line.strip())
                walk(value)
        elif isinstance(node, list):
            for value in node:  # pyright: ignore[reportUnknownVariableType]
                walk(value)

    walk(data)
    return sorted(set(found))


DATABAG_CONN_STRS = _databag_conn_strs()


@pytest.mark.parametrize(("text", "expected"), GOOD.items())
def test_good(text: str, expected: Dict[str, str]):
    cs = ConnectionString(text)
    assert cs.to_dict() == expected
    assert ConnectionString(str(cs)) == cs
    assert ConnectionString(cs.uri) == cs


@pytest.mark.parametrize(("text", "fragment"), BAD.items())
def test_bad(text: str, fragment: str):
    with pytest.raises(ConnectionStringError, match=None) as info:
        ConnectionString(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_databag_values_found():
    # The vectors hold masters and standbys of every known server implementation.
    assert len(DATABAG_CONN_STRS) >= 20


@pytest.mark.parametrize("text", DATABAG_CONN_STRS)
def test_databag_values(text: str):
    cs = ConnectionString(text)
    assert cs.host
    assert cs.port
    assert cs.dbname
    assert cs.user
    assert cs.password
    fields = dict(part.split("=", 1) for part in text.split())
    # Comma-joined standby lists parse as one string; splitting them is the protocol's job.
    if "," not in text:
        assert cs.to_dict() == fields
    assert ConnectionString(cs.uri) == cs
    assert ConnectionString(str(cs)) == cs
    assert cs.password not in repr(cs)


# --- 1.x compatibility ------------------------------------------------------------------------


def test_1x_uri_layout():
    cs = ConnectionString(
        "host=host port=5432 dbname=livepatch-server user=username password=password"
    )
    assert cs.uri == "postgresql://username:password@host:5432/livepatch-server"
    assert ConnectionString("host=master").uri == "postgresql://master"
    cs = ConnectionString("host=h dbname=d sslmode=prefer fallback_application_name=x")
    assert cs.uri == "postgresql://h/d?fallback_application_name=x&sslmode=prefer"


def test_1x_doctest():
    c = ConnectionString(
        host="1.2.3.4",
        dbname="mydb",
        port=5432,
        user="anon",
        password="sec'ret",
        application_name="myapp",
    )
    assert str(c) == (
        r"application_name=myapp dbname=mydb host=1.2.3.4 password=sec\'ret port=5432 user=anon"
    )
    assert str(ConnectionString(str(c), dbname="otherdb")) == (
        r"application_name=myapp dbname=otherdb host=1.2.3.4 password=sec\'ret port=5432 user=anon"
    )
    assert (c.dbname, c.host, c.port) == ("mydb", "1.2.3.4", "5432")
    assert c.connect_timeout is None
    assert c.uri == "postgresql://anon:sec%27ret@1.2.3.4:5432/mydb?application_name=myapp"
    assert ConnectionString(c, host="2001:db8::1234").uri == (
        "postgresql://anon:sec%27ret@[2001:db8::1234]:5432/mydb?application_name=myapp"
    )


def test_1x_mapping_api():
    cs = ConnectionString("host=h port=5432 user=u")
    assert sorted(cs.keys()) == ["host", "port", "user"]
    assert sorted(cs.values()) == ["5432", "h", "u"]
    assert sorted(cs.items()) == [("host", "h"), ("port", "5432"), ("user", "u")]
    assert cs["host"] == "h"
    with pytest.raises(KeyError):
        cs["dbname"]
    with pytest.raises(KeyError):
        cs["nonsense"]
    assert cs.conn_str == str(cs) == "host=h port=5432 user=u"
    assert "host" in cs
    assert "dbname" not in cs
    assert len(cs) == 3
    assert list(cs) == ["host", "port", "user"]
    assert dict(cs) == cs.to_dict() == {"host": "h", "port": "5432", "user": "u"}
    assert cs.get("dbname") is None


def test_every_keyword_is_an_attribute():
    assert len(KEYWORDS) == len(set(KEYWORDS)) == 50
    empty = ConnectionString()
    full = ConnectionString(**{k: f"v-{k}" for k in KEYWORDS})
    for k in KEYWORDS:
        assert getattr(empty, k) is None
        assert getattr(full, k) == f"v-{k}"
    # Keywords libpq dropped but 1.x had as attributes.
    assert empty.tty is None
    assert full.requiressl is None


# --- construction, overrides, immutability ----------------------------------------------------


def test_overrides():
    base = ConnectionString("host=h port=5432 dbname=d")
    assert ConnectionString(base, port=6432).port == "6432"
    assert ConnectionString(base, dbname=None).dbname is None
    assert ConnectionString(base, dbname="").to_dict() == {"host": "h", "port": "5432"}
    assert ConnectionString("host=h", host="o").host == "o"
    assert ConnectionString(base) == base
    assert ConnectionString(None) == ConnectionString() == ConnectionString("")
    assert ConnectionString(conn_str="host=x").host == "x"
    assert ConnectionString(base, requiressl=1).sslmode == "require"
    with pytest.raises(ConnectionStringError, match='unknown keyword "bogus"'):
        ConnectionString(base, bogus="x")
    with pytest.raises(ConnectionStringError, match='unknown keyword "bogus"'):
        ConnectionString(base, bogus=None)
    with pytest.raises(ConnectionStringError, match="NUL"):
        ConnectionString(password="a\x00b")
    with pytest.raises(TypeError):
        ConnectionString(42)  # type: ignore[arg-type]


def test_replace():
    cs = ConnectionString("host=h port=5432")
    other = cs.replace(host="o", sslmode="require", port=None)
    assert other.to_dict() == {"host": "o", "sslmode": "require"}
    assert cs.to_dict() == {"host": "h", "port": "5432"}


def test_immutable():
    cs = ConnectionString("host=h")
    with pytest.raises(AttributeError):
        cs.host = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cs.anything = "x"  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(AttributeError):
        del cs.host  # type: ignore[misc]
    d = cs.to_dict()
    d["host"] = "changed"
    assert cs.host == "h"


def test_equality_ordering_hashing():
    a = ConnectionString("host=a port=1")
    a2 = ConnectionString("postgresql://a:1")
    b = ConnectionString("host=b")
    assert a == a2
    assert hash(a) == hash(a2)
    assert len({a, a2, b}) == 2
    assert a != b
    assert a < b
    assert b > a
    assert a <= a2
    assert b >= a
    assert sorted([b, a]) == [a, b]
    assert a != "host=a port=1"
    assert a.__eq__("host=a port=1") is NotImplemented
    assert a.__lt__("x") is NotImplemented


def test_pickle():
    cs = ConnectionString("host=h password='p w'")
    assert pickle.loads(pickle.dumps(cs)) == cs


def test_repr_masks_secrets():
    cs = ConnectionString(
        "dbname=x host=h user=u password=hunter2 sslpassword=s3 oauth_client_secret=s4"
    )
    r = repr(cs)
    assert r == (
        "ConnectionString('dbname=x host=h oauth_client_secret=******** password=********"
        " sslpassword=******** user=u')"
    )
    assert "hunter2" not in cs.masked_uri()
    assert cs.masked_uri().startswith("postgresql://u:********@h/x?")


def test_public_api():
    assert pgsql.ConnectionString is ConnectionString
    assert pgsql.ConnectionStringError is ConnectionStringError
    assert issubclass(ConnectionStringError, ValueError)


def test_doctests():
    result = doctest.testmod(connstr, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10
    assert result.failed == 0


# --- formatting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "conn_str", "uri"),
    [
        ({}, "", "postgresql://"),
        ({"host": "h"}, "host=h", "postgresql://h"),
        ({"host": ""}, "host=''", "postgresql://?host="),
        ({"password": "a b"}, "password='a b'", "postgresql://:a%20b@"),
        ({"user": "", "password": "p"}, "password=p user=''", "postgresql://:p@?user="),
        ({"user": "u", "password": ""}, "password='' user=u", "postgresql://u@?password="),
        ({"dbname": ""}, "dbname=''", "postgresql://?dbname="),
        ({"dbname": "a/b"}, "dbname=a/b", "postgresql:///a%2Fb"),
        ({"options": "-c a=b"}, "options='-c a=b'", "postgresql://?options=-c%20a%3Db"),
        ({"password": "\\'"}, r"password=\\\'", "postgresql://:%5C%27@"),
        ({"password": "'x"}, r"password=\'x", "postgresql://:%27x@"),
        ({"host": "a,b", "port": "1,2"}, "host=a,b port=1,2", "postgresql://a:1,b:2"),
        ({"host": "a,b", "port": "5"}, "host=a,b port=5", "postgresql://a,b?port=5"),
        ({"host": "a", "port": "1,2"}, "host=a port=1,2", "postgresql://a?port=1%2C2"),
        ({"host": "a,b"}, "host=a,b", "postgresql://?host=a%2Cb"),
        ({"host": "a,b", "port": "1,"}, "host=a,b port=1,", "postgresql://a:1,b"),
        ({"host": "h", "port": ""}, "host=h port=''", "postgresql://h?port="),
        ({"port": "5"}, "port=5", "postgresql://?port=5"),
        ({"host": "::1", "port": "5"}, "host=::1 port=5", "postgresql://[::1]:5"),
        ({"host": "fe80::1%eth0"}, "host=fe80::1%eth0", "postgresql://[fe80::1%25eth0]"),
        (
            {"host": "/run/postgresql", "port": "5432", "dbname": "d"},
            "dbname=d host=/run/postgresql port=5432",
            "postgresql:///d?host=%2Frun%2Fpostgresql&port=5432",
        ),
        ({"host": "@abstract,h"}, "host=@abstract,h", "postgresql://?host=%40abstract%2Ch"),
        ({"host": "h\u00e9"}, "host=h\u00e9", "postgresql://h%C3%A9"),
    ],
)
def test_formats(fields: Dict[str, str], conn_str: str, uri: str):
    cs = ConnectionString(conn_str)
    assert cs.to_dict() == fields
    assert str(cs) == conn_str
    assert cs.uri == uri
    assert ConnectionString(uri).to_dict() == fields
    if "" not in fields.values():  # an empty override drops the keyword
        assert ConnectionString(**fields) == cs


# --- errors never leak secrets ----------------------------------------------------------------

SECRET = "Sup3rS3cretValue"


@pytest.mark.parametrize(
    "text",
    [
        f"password={SECRET} tail",
        f"password={SECRET} {SECRET}=x",
        f"password='{SECRET}",
        f"password='{SECRET} host=h",
        f"password=\\'{SECRET} x",
        f"host=h password={SECRET} bogus",
        f"postgresql://u:{SECRET} x@h",
        f"postgresql://u:{SECRET}%zz@h",
        f"postgresql://u:{SECRET}%00@h",
        f"postgresql://u:{SECRET}%FF@h",
        f"postgresql://h?password={SECRET}&{SECRET}",
        f"postgresql://h?password={SECRET}&{SECRET}=1",
        f"postgresql://h?password={SECRET}=1",
        f"postgresql://h?password={SECRET}%2",
        f"postgresql://h?password={SECRET} x",
        f"postgresql://[{SECRET}",
    ],
)
def test_errors_do_not_leak(text: str):
    with pytest.raises(ConnectionStringError) as info:
        ConnectionString(text)
    assert SECRET not in str(info.value)
    assert text not in str(info.value)


# --- properties ---------------------------------------------------------------------------------

_values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
) | st.sampled_from(["", " ", "'", "\\", "a,b", ",", "::1", "/tmp", "@x", "%", "%20", "a b,c:d"])
_maps = st.dictionaries(st.sampled_from(KEYWORDS), _values, max_size=8)


@settings(max_examples=scaled(100, 1000, 20000), deadline=None, derandomize=True)
@given(_maps)
def test_str_round_trips(fields: Dict[str, str]):
    cs = ConnectionString(**{k: v for k, v in fields.items() if v})
    cs2 = ConnectionString(str(cs))
    assert cs2 == cs
    assert cs2.to_dict() == cs.to_dict()


@settings(max_examples=scaled(100, 1000, 20000), deadline=None, derandomize=True)
@given(_maps)
def test_uri_round_trips(fields: Dict[str, str]):
    cs = ConnectionString(**{k: v for k, v in fields.items() if v})
    assert ConnectionString(cs.uri) == cs


@settings(max_examples=scaled(100, 1000, 20000), deadline=None, derandomize=True)
@given(_maps)
def test_parsed_empty_values_round_trip(fields: Dict[str, str]):
    # Overrides drop empty values, but parsed ones are kept (as libpq keeps them).
    quote = connstr._quote_value  # pyright: ignore[reportPrivateUsage]
    text = " ".join(f"{k}={quote(v)}" for k, v in fields.items())
    cs = ConnectionString(text)
    assert cs.to_dict() == fields
    assert ConnectionString(str(cs)) == cs
    assert ConnectionString(cs.uri) == cs


@settings(max_examples=scaled(100, 1000, 20000), deadline=None, derandomize=True)
@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_raises_cleanly(text: str):
    try:
        cs = ConnectionString(text)
    except ConnectionStringError as e:
        message = str(e)
    else:
        message = ""
        assert ConnectionString(str(cs)) == cs
        assert ConnectionString(cs.uri) == cs
    assert "\n" not in message


# --- secrets inside values (mangled separators, URIs) ------------------------------------------

MANGLED_SECRET = "M4ngledPw"


@pytest.mark.parametrize("sep", ["|", ";", ",", " ", "&", "\t", "\n"])
def test_mask_value_hides_what_follows_password_whatever_the_separator(sep: str):
    value = sep.join(["mydb", "host=10.0.0.20", f"password={MANGLED_SECRET}", "port=5432"])
    masked = connstr.mask_value(value)
    assert MANGLED_SECRET not in masked
    assert "5432" not in masked  # to the end of the value: the password could hold separators
    assert masked == sep.join(["mydb", "host=10.0.0.20", "password=********"])


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (f"password={MANGLED_SECRET}", "password=********"),
        (f"mydb|PASSWORD={MANGLED_SECRET}", "mydb|PASSWORD=********"),
        (f"mydb|Password = {MANGLED_SECRET}", "mydb|Password =********"),
        (f"mydb|sslpassword={MANGLED_SECRET}", "mydb|sslpassword=********"),
        (f"mydb;oauth_client_secret={MANGLED_SECRET}", "mydb;oauth_client_secret=********"),
        (f"mydb|password={MANGLED_SECRET}|x;y,z 'q'", "mydb|password=********"),
        (f"mydb|password='{MANGLED_SECRET} |;,'|port=1", "mydb|password=********"),
    ],
)
def test_mask_value_hides_secret_keywords_in_any_case_to_the_end(value: str, shown: str):
    assert connstr.mask_value(value) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (f"postgresql://u:{MANGLED_SECRET}@h:5432/db", "postgresql://u:********@h:5432/db"),
        (f"mydb|postgres://u:{MANGLED_SECRET}@h/db", "mydb|postgres://u:********@h/db"),
        (f"see https://u:{MANGLED_SECRET}@example.com/x", "see https://u:********@example.com/x"),
        (f"postgresql://u:{MANGLED_SECRET}@/@h/db", "postgresql://u:********@h/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        (
            f"postgresql://u:{MANGLED_SECRET}@h/db?password={MANGLED_SECRET}",
            "postgresql://u:********@h/db?password=********",
        ),
    ],
)
def test_mask_value_hides_uri_userinfo_password_inside_a_value(value: str, shown: str):
    assert connstr.mask_value(value) == shown


@pytest.mark.parametrize(
    "value", ["", "mydb", "10.0.0.1,10.0.0.2", "-c search_path=app", "mypassword=x", "a=b"]
)
def test_mask_value_leaves_values_without_secrets_alone(value: str):
    assert connstr.mask_value(value) == value


def test_mask_value_is_idempotent_and_takes_another_mask():
    once = connstr.mask_value(f"mydb|password={MANGLED_SECRET}")
    assert connstr.mask_value(once) == once
    assert connstr.mask_value(f"mydb|password={MANGLED_SECRET}", "***") == "mydb|password=***"


def test_mask_value_is_linear_on_huge_input():
    for value in ["@" + "://a:" * 50000, "://a:" * 50000 + "@", "password " * 50000, "x" * 10**6]:
        connstr.mask_value(value)  # the suite's time limit catches a quadratic scan


def test_secret_assignment_is_the_rule_the_client_refuses():
    from pgsql import protocol

    assert protocol._SECRET_ASSIGNMENT is connstr.SECRET_ASSIGNMENT  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize("sep", ["|", ";"])
def test_repr_masks_password_inside_mangled_dbname(sep: str):
    text = sep.join(["dbname=mydb", "host=10.0.0.20", f"password={MANGLED_SECRET}", "user=u"])
    cs = ConnectionString(text)
    assert cs.password is None  # libpq reads it as one dbname
    assert cs.dbname is not None
    for shown in (repr(cs), cs.masked(), cs.masked_uri()):
        assert MANGLED_SECRET not in shown
        assert "10.0.0.20" in shown
    assert repr(cs) == f"ConnectionString('dbname=mydb{sep}host=10.0.0.20{sep}password=********')"
    assert cs.masked_uri() == (
        f"postgresql:///mydb%{ord(sep):02X}host%3D10.0.0.20%{ord(sep):02X}password%3D********"
    )
    # the API still hands back the real string
    assert str(cs) == cs.conn_str == text
    assert ConnectionString(cs.uri) == cs


def test_repr_masks_upper_case_password_and_uri_userinfo_inside_values():
    cs = ConnectionString(
        f"dbname='mydb PASSWORD={MANGLED_SECRET}' host=h"
        f" application_name='postgresql://u:{MANGLED_SECRET}@db/x' password=pw"
    )
    r = repr(cs)
    assert MANGLED_SECRET not in r
    assert r == (
        """ConnectionString("application_name=postgresql://u:********@db/x"""
        """ dbname='mydb PASSWORD=********' host=h password=********")"""
    )
    assert cs.masked_uri() == (
        "postgresql://:********@h/mydb%20PASSWORD%3D********"
        "?application_name=postgresql%3A%2F%2Fu%3A********%40db%2Fx"
    )


@pytest.mark.parametrize(
    "text",
    [
        f"dbname=mydb|password={MANGLED_SECRET} tail",
        f"dbname=mydb|password={MANGLED_SECRET} tail=1",
        f"dbname=mydb;PASSWORD={MANGLED_SECRET} tail",
        f"host=h postgresql://u:{MANGLED_SECRET}@h/db",
        f"postgresql://h/?dbname=mydb%7Cpassword%3D{MANGLED_SECRET}&tail",
        f"postgresql://h/?dbname=mydb%7Cpassword%3D{MANGLED_SECRET}&tail=1",
    ],
)
def test_errors_do_not_echo_what_follows_a_password_inside_a_value(text: str):
    with pytest.raises(ConnectionStringError) as info:
        ConnectionString(text)
    assert MANGLED_SECRET not in str(info.value)
    assert "tail" not in str(info.value)


def test_a_uri_without_its_scheme_is_refused_without_quoting_its_password() -> None:
    with pytest.raises(ConnectionStringError) as info:
        ConnectionString("relation-7:s3cr3t-Pa55@10.0.0.5:5432/mydb")
    assert "s3cr3t-Pa55" not in str(info.value)
    assert connstr.mask_value("u:s3cr3t-Pa55@h/db") == "********@h/db"
    assert connstr.mask_value("user@server") == "user@server"  # a user name alone is shown
