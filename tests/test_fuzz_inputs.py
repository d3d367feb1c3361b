"""Fuzzing of every input that comes from outside the charm.

- Connection strings: :class:`pgsql.ConnectionString` on arbitrary text (and bytes decoded every
  way a charm might) raises nothing but :class:`pgsql.ConnectionStringError`, fast; what it
  accepts round-trips through its canonical string and its URI; it agrees with libpq's own
  parser (``PQconninfoParse`` via psycopg) on what is valid and what it means.
- Remote databags: :func:`pgsql.protocol.evaluate` on random, truncated, huge, odd-Unicode,
  wrong-separator bags and on the interoperability vectors with keys dropped, emptied and mangled
  never raises, never hangs, never contains a password in what it says, and is consistent.
- The server side readers (:func:`~pgsql.protocol.read_request`, splitting helpers) likewise.
- ``juju show-unit`` documents for ``pgsql doctor``: see :func:`test_doctor_never_crashes`.

Every example runs under a hard time limit (:func:`chaos_support.time_limit`): a hang fails.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import psycopg
import pytest
import yaml
from chaos_support import chaos_settings, time_limit
from conftest import scaled
from hypothesis import assume, event, example, given
from hypothesis import strategies as st
from needs import requires_scenario
from psycopg.conninfo import conninfo_to_dict

from pgsql import ConnectionString, ConnectionStringError, protocol

DATA = Path(__file__).resolve().parent / "data"
VECTORS: Dict[str, Any] = yaml.safe_load((DATA / "provider-databags.yaml").read_text())
STAGES: List[Tuple[str, str, Dict[str, Any]]] = [
    (p, s, stage)
    for p, prov in VECTORS["providers"].items()
    for s, stage in prov["stages"].items()
    if "server" in stage and stage["client"]["units"]
]


def _server_bags(stage: Mapping[str, Any]) -> List[Dict[str, str]]:
    server: Dict[str, Any] = stage["server"]
    units: Dict[str, Dict[str, str]] = server.get("units") or {}
    return [dict(server.get("app") or {}), *(dict(b) for b in units.values())]


# The passwords the vectors publish: none may ever show up in what the library says.
VECTOR_PASSWORDS = sorted(
    {
        str(v)
        for _, _, stage in STAGES
        for bag in _server_bags(stage)
        for k, v in bag.items()
        if k in ("password", "schema_password")
    }
)
# Every value seen per key, to draw realistic values from.
VALUES_BY_KEY: Dict[str, List[str]] = {}
for _, _, _stage in STAGES:
    for _bag in _server_bags(_stage):
        for _k, _v in _bag.items():
            VALUES_BY_KEY.setdefault(_k, [])
            if str(_v) not in VALUES_BY_KEY[_k]:
                VALUES_BY_KEY[_k].append(str(_v))
SERVER_KEYS = [*sorted(VALUES_BY_KEY), "allowed_units", "slave", "schema_user"]

ODD = [
    "",
    " ",
    "\n",
    "\x00",
    "\ud800",  # a lone surrogate: Juju never sends one, the library must still not crash
    "\u202e",
    "\ufeff",
    "\u2028",
    "é",
    "\U0001d54f",
    "'",
    "\\",
    ",",
    "=",
    "%",
    "%00",
    "[",
    "@",
    "postgresql://",
]
SEPARATORS = [",", "\n", " ", ";", "\t", "\r\n", ", ", ",,", "\n\n", "|"]


@st.composite
def mangled(draw: st.DrawFn, value: str) -> str:
    """A realistic value, broken in one of the ways remote data gets broken."""
    how = draw(
        st.sampled_from(["keep", "truncate", "separators", "splice", "huge", "odd", "strip"])
    )
    if how == "truncate" and value:
        return value[: draw(st.integers(0, len(value) - 1))]
    if how == "separators":
        old = draw(st.sampled_from(SEPARATORS))
        return value.replace(old, draw(st.sampled_from(SEPARATORS)))
    if how == "splice":
        i = draw(st.integers(0, len(value)))
        return value[:i] + draw(st.sampled_from(ODD) | st.text(max_size=8)) + value[i:]
    if how == "huge":
        return value * draw(st.integers(50, 400))
    if how == "odd":
        return "".join(draw(st.lists(st.sampled_from(ODD) | st.characters(), max_size=20)))
    if how == "strip":
        return f"  {value}\n"
    return value


def any_value(key: str) -> st.SearchStrategy[str]:
    """Any value for ``key``: a real one (possibly mangled), odd text, or pure noise."""
    real = VALUES_BY_KEY.get(key) or ["x"]
    return st.one_of(
        st.sampled_from(real).flatmap(mangled),
        st.text(max_size=60),
        st.sampled_from(ODD),
    )


@st.composite
def random_bag(draw: st.DrawFn) -> Dict[str, str]:
    """A bag of random known (and unknown) keys with random values."""
    keys = draw(st.lists(st.sampled_from(SERVER_KEYS) | st.text(max_size=10), max_size=12))
    return {k: draw(any_value(k)) for k in keys}


@st.composite
def mutated_bag(draw: st.DrawFn, bag: Mapping[str, Any]) -> Dict[str, str]:
    """A real bag with keys dropped, emptied or mangled."""
    out: Dict[str, str] = {}
    for k, v in bag.items():
        fate = draw(st.sampled_from(["keep", "keep", "drop", "empty", "mangle"]))
        if fate == "keep":
            out[k] = str(v)
        elif fate == "empty":
            out[k] = ""
        elif fate == "mangle":
            out[k] = draw(mangled(str(v)))
    return out


@st.composite
def relation_views(draw: st.DrawFn) -> Dict[str, Any]:
    """Everything one client unit reads on a relation, from the vectors or from noise."""
    provider, stage_name, stage = draw(st.sampled_from(STAGES))
    client_units = stage["client"]["units"]
    local = draw(st.sampled_from(sorted(client_units)))
    server: Dict[str, Any] = stage["server"]
    server_units: Dict[str, Dict[str, str]] = server.get("units") or {}
    noise = draw(st.booleans())
    units: Dict[str, Dict[str, str]]
    if noise:
        app_bag = draw(random_bag())
        units = draw(
            st.dictionaries(
                st.sampled_from([f"postgresql/{n}" for n in (0, 1, 2, 10)]) | st.text(max_size=12),
                random_bag(),
                max_size=4,
            )
        )
    else:
        app_bag = draw(mutated_bag(server.get("app") or {}))
        units = {n: draw(mutated_bag(b)) for n, b in server_units.items()}
    own: Dict[str, str] = dict(client_units[local])
    empty: Dict[str, str] = {}
    local_bag = draw(mutated_bag(own) | st.just(empty)) if draw(st.booleans()) else own
    request = draw(
        st.sampled_from(
            [
                None,
                protocol.Request.from_databag(stage["client"]["app"] or {}),
                protocol.Request.build(database="mydb", roles=["r"], extensions=["citext:public"]),
                protocol.Request(),
            ]
        )
    )
    remote_app = next(iter(units), "postgresql").partition("/")[0] or "postgresql"
    return {
        "where": f"{provider}.{stage_name} as {local} ({'noise' if noise else 'mutated'})",
        "request": request,
        "local": local,
        "local_bag": local_bag,
        "remote_app": remote_app,
        "app_bag": app_bag,
        "units": units,
    }


def _said(r: protocol.Readiness) -> List[str]:
    texts = [r.why, repr(r)]
    for reason in r.reasons:
        texts += [str(reason), reason.message, reason.advice or ""]
    for b in r.bags:
        texts += [str(x) for x in b.reasons]
    return texts


def _evaluate(
    v: Mapping[str, Any], units: Optional[Mapping[str, Mapping[str, str]]] = None
) -> protocol.Readiness:
    return protocol.evaluate(
        v["request"],
        v["local"],
        v["local_bag"],
        v["remote_app"],
        v["app_bag"],
        v["units"] if units is None else units,
    )


# ---------------------------------------------------------------------------------------------
# Remote databags through the protocol
# ---------------------------------------------------------------------------------------------


@chaos_settings(scaled(100, 1000, 30000))
@given(view=relation_views())
def test_evaluate_never_raises_and_is_consistent(view: Dict[str, Any]) -> None:
    with time_limit(5):
        r = _evaluate(view)
        again = _evaluate(view, dict(reversed(list(view["units"].items()))))
    assert r.ready == (r.master is not None)
    if r.ready:
        assert r.why == "ready"
        assert r.source is not None
        assert any(b.ready and b.bag == r.source for b in r.bags)
    else:
        assert any(x.blocking for x in r.reasons), (view["where"], r.reasons)
        assert r.why
        assert r.why != "ready"
    # the same bags in another order are the same relation
    assert (again.master, again.standbys, again.source, again.ready) == (
        r.master,
        r.standbys,
        r.source,
        r.ready,
    )
    snap = r.snapshot()
    assert protocol.transitions(snap, snap) == ()
    assert protocol.transitions(protocol.Snapshot.from_dict(snap.to_dict()), snap) == ()
    for text in _said(r):
        for pw in VECTOR_PASSWORDS:
            assert pw not in text, (view["where"], text)


@chaos_settings(scaled(50, 200, 10000))
@given(bag=random_bag(), units=st.dictionaries(st.text(max_size=20), random_bag(), max_size=3))
def test_server_side_readers_never_raise(
    bag: Dict[str, str], units: Dict[str, Dict[str, str]]
) -> None:
    with time_limit(5):
        req = protocol.read_request(bag, units)
        subnets, names = protocol.access_grant(units)
        protocol.split_standbys(bag.get("standbys"))
        protocol.split_units(bag.get("allowed-units"))
        protocol.split_list(bag.get("extensions"))
        for item in req.extensions:
            with contextlib.suppress(protocol.RequestError):
                protocol.parse_extension(item)
        for unit in units:
            protocol.unit_sort_key(unit)
    assert req == protocol.Request.from_databag(req.databag())
    if all(u and not any(ch.isspace() for ch in u) for u in units):
        assert set(names.split()) == set(units)
    assert "," not in subnets or subnets.count(",") + 1 == len(subnets.split(","))


@st.composite
def simple_value(draw: st.DrawFn) -> str:
    """A connection string value with anything but a comma followed by ``word=`` (pitfall 4's
    inherent ambiguity: an unquoted ``a,b=c`` in a comma-joined list cannot be told apart)."""
    v = draw(
        st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12)
    )
    assume("," not in v)
    return v


@chaos_settings(scaled(50, 300, 10000))
@given(
    css=st.lists(
        st.fixed_dictionaries(
            {"host": simple_value(), "dbname": simple_value()},
            optional={"password": simple_value(), "port": st.integers(1, 65535).map(str)},
        ).map(lambda d: ConnectionString(**d)),
        min_size=1,
        max_size=4,
        unique=True,
    ),
    sep=st.sampled_from(["\n", ",", "\r\n", "\n\n"]),
)
@example(  # regression: a value ending in "=" before the comma (base64 padding)
    css=[ConnectionString("dbname=0 host=="), ConnectionString("dbname=1 host=0")], sep=","
)
def test_standbys_split_back_whatever_the_separator(css: List[ConnectionString], sep: str) -> None:
    joined = sep.join(str(c) for c in css)
    assume(
        len(css) == 1 or "\n" in sep or all("\n" not in str(c) and "\r" not in str(c) for c in css)
    )
    with time_limit(5):
        parts = [ConnectionString(p) for p in protocol.split_standbys(joined)]
    assert parts == css


# ---------------------------------------------------------------------------------------------
# Connection strings
# ---------------------------------------------------------------------------------------------

CONNSTR_ALPHABET = st.sampled_from(
    [
        *"=' \\\t\n,/:@?&%[]#-_.0123456789abcdefhostpwrdu",
        "host",
        "port",
        "dbname",
        "password",
        "user",
        "sslmode",
        "postgresql://",
        "postgres://",
        "%20",
        "%00",
        "%zz",
        "%C3%A9",
        "é",
        "\x00",
        "\ud800",
        "\u00a0",
        "\u3000",
    ]
)
CONNSTR_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(CONNSTR_ALPHABET, max_size=60).map("".join),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)


def _parse_or_none(text: str) -> Optional[ConnectionString]:
    try:
        return ConnectionString(text)
    except ConnectionStringError as e:
        error = e
    assert str(error), "an error must say what is wrong"
    return None


@chaos_settings(scaled(200, 3000, 100000))
@given(text=CONNSTR_TEXT)
@example(text="host=a password='unterminated")
@example(text="postgresql://u:p@[::1")
@example(text="host=" + "\\" * 5000)
@example(text="host='" + "\\'" * 5000)
def test_connection_string_raises_only_its_error_and_round_trips(text: str) -> None:
    with time_limit(2):
        cs = _parse_or_none(text)
        if cs is None:
            return
        canonical = ConnectionString(str(cs))
        via_uri = ConnectionString(cs.uri)
    assert canonical == cs, (text, str(cs))
    assert via_uri == cs, (text, cs.uri)
    assert ConnectionString(cs.conn_str).conn_str == cs.conn_str
    if cs.password:
        masked = repr(cs.replace(password="Pw0rdLEAKxyz"))
        assert "Pw0rdLEAKxyz" not in masked


@chaos_settings(scaled(10, 40, 400))
@given(
    unit=st.sampled_from(["a=", "host=x ", "\\", "'", "postgresql://u@h,", "%41", "x=' '", "&a=b"]),
    n=st.integers(1000, 50000),
)
def test_connection_string_is_linear_on_huge_input(unit: str, n: int) -> None:
    with time_limit(2):
        _parse_or_none(unit * n)
        _parse_or_none("postgresql://h/?" + "&".join(["sslmode=require"] * (n // 10)))


class UndecodableError(Exception):
    """libpq accepted it, but what it holds is not UTF-8 (psycopg cannot hand it back)."""


def _libpq(text: str) -> Optional[Dict[str, str]]:
    try:
        return {k: str(v) for k, v in conninfo_to_dict(text).items()}
    except psycopg.ProgrammingError:
        return None
    except UnicodeDecodeError:
        raise UndecodableError from None


@chaos_settings(scaled(100, 2000, 100000))
@given(text=CONNSTR_TEXT)
@example(text="postgresql://%80")  # regression: psycopg raised UnicodeDecodeError (oracle bug)
def test_connection_string_agrees_with_libpq(text: str) -> None:
    # psycopg hands libpq a NUL-terminated UTF-8 string: compare only what it can pass
    assume("\x00" not in text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return
    with time_limit(2):
        ours = _parse_or_none(text)
    try:
        theirs = _libpq(text)
    except UndecodableError:
        # e.g. postgresql://%80: a value a str cannot hold; ours must refuse it, clearly
        assert ours is None, text
        return
    assert (ours is None) == (theirs is None), (text, ours, theirs)
    if ours is not None and theirs is not None:
        assert ours.to_dict() == theirs, text


# ---------------------------------------------------------------------------------------------
# juju show-unit documents for the doctor
# ---------------------------------------------------------------------------------------------

SHOW_UNIT_TEXT = (DATA / "show-unit-examples.md").read_text()


def _examples() -> List[str]:
    return re.findall(r"```(?:yaml|json)\n(.*?)```", SHOW_UNIT_TEXT, flags=re.DOTALL)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "relation-info",
                    "related-units",
                    "application-data",
                    "data",
                    "local-unit",
                    "endpoint",
                    "related-endpoint",
                    "relation-id",
                    "in-scope",
                    "leader",
                    "charm",
                    "myapp/0",
                    "postgresql/0",
                    "master",
                    "standbys",
                    "allowed-subnets",
                    "egress-subnets",
                    "database",
                ]
            )
            | st.text(max_size=8),
            kids,
            max_size=5,
        )
    ),
    max_leaves=25,
)


def _mutate_doc(doc: Any, draw: st.DrawFn, rate: int) -> Any:
    """Drop, null, retype or mangle about one node in ``rate`` of a parsed document."""
    fates = ["drop", "null", "retype", "mangle"] + ["keep"] * rate
    if isinstance(doc, dict):
        d: Dict[Any, Any] = dict(doc)  # type: ignore[arg-type]
        for k in list(d):
            fate = draw(st.sampled_from(fates))
            if fate == "drop":
                del d[k]
            elif fate == "null":
                d[k] = None
            elif fate == "retype":
                d[k] = draw(JSONISH)
            else:
                d[k] = _mutate_doc(d[k], draw, rate)
        return d
    if isinstance(doc, list):
        return [_mutate_doc(x, draw, rate) for x in doc]  # type: ignore[misc]
    if isinstance(doc, str) and draw(st.sampled_from(fates)) != "keep":
        return draw(mangled(doc))
    return doc


def _unit_doc(name: str, leader: bool, related: Mapping[str, Any], app_data: Any) -> Dict[str, Any]:
    return {
        name: {
            "opened-ports": [],
            "charm": f"local:{name.partition('/')[0]}-0",
            "leader": leader,
            "relation-info": [
                {
                    "relation-id": 5,
                    "endpoint": "db",
                    "related-endpoint": "db",
                    "application-data": dict(app_data or {}),
                    "related-units": {
                        u: {"in-scope": True, "data": dict(b)} for u, b in related.items()
                    },
                }
            ],
        }
    }


def _stage_documents(stage: Mapping[str, Any], client_unit: str) -> Dict[str, Any]:
    """``juju show-unit <client unit> <first server unit>`` (Juju 3 orientation) for a stage."""
    server = stage["server"]
    server_units: Dict[str, Any] = server.get("units") or {}
    doc = _unit_doc(client_unit, client_unit.endswith("/0"), server_units, server.get("app"))
    if server_units:
        first = sorted(server_units)[0]
        doc.update(_unit_doc(first, True, stage["client"]["units"], stage["client"]["app"]))
    return doc


@st.composite
def show_unit_documents(draw: st.DrawFn) -> str:
    """Text for ``pgsql doctor``: real and vector-built documents, mutated, or garbage."""
    how = draw(
        st.sampled_from(
            [
                *("vector", "vector-data", "vector-data", "vector-data", "vector-mutated"),
                *("example-mutated", "random", "text"),
            ]
        )
    )
    if how == "text":
        return draw(st.text(max_size=300))
    if how == "random":
        doc = draw(JSONISH)
        return json.dumps(doc) if draw(st.booleans()) else yaml.safe_dump(doc)
    if how.startswith("vector"):
        _, _, stage = draw(st.sampled_from(STAGES))
        if how == "vector-data":
            # a well-formed document whose databags are broken: reaches the verdict code
            server = stage["server"]
            units: Dict[str, Any] = server.get("units") or {}
            client: Dict[str, Any] = stage["client"]
            cunits: Dict[str, Any] = client["units"]
            stage = {
                "server": {
                    "app": draw(mutated_bag(server.get("app") or {})),
                    "units": {n: draw(mutated_bag(b)) for n, b in units.items()},
                },
                "client": {
                    "app": draw(mutated_bag(client.get("app") or {})),
                    "units": {n: draw(mutated_bag(b)) for n, b in cunits.items()},
                },
            }
        doc: Any = _stage_documents(stage, draw(st.sampled_from(sorted(stage["client"]["units"]))))
    else:
        try:
            doc = yaml.safe_load(draw(st.sampled_from(_examples())))
        except yaml.YAMLError:
            return draw(st.sampled_from(_examples()))
    if how.endswith("-mutated"):
        doc = _mutate_doc(copy.deepcopy(doc), draw, draw(st.sampled_from([3, 10, 40])))
    if draw(st.booleans()):
        return json.dumps(doc, default=str)
    return yaml.safe_dump(doc)


def test_show_unit_examples_are_found() -> None:
    assert len(_examples()) >= 8


DOC_PASSWORDS = sorted(set(re.findall(r"password[=:] ?'?([A-Za-z0-9]{12,})", SHOW_UNIT_TEXT)))


@chaos_settings(scaled(30, 600, 20000))
@given(
    text=show_unit_documents(),
    as_json=st.booleans(),
    juju=st.sampled_from([None, None, None, "2.8", "2.9.42", "3.6", "4.0", "x"]),
    unit=st.sampled_from([None, None, None, "myapp/0", "postgresql/0", "nope"]),
)
def test_doctor_never_crashes(
    text: str, as_json: bool, juju: Optional[str], unit: Optional[str]
) -> None:
    # exit 0/1/2 with a message on stdout or stderr: never a traceback, never a hang, no password
    from pgsql import cli

    argv = ["doctor"]
    if as_json:
        argv.append("--json")
    if juju:
        argv += ["--juju-version", juju]
    if unit:
        argv += ["--unit", unit]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "show-unit.txt")
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
        out, err = io.StringIO(), io.StringIO()
        with time_limit(10), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main([*argv, path])
    assert code in (0, 1, 2), code
    event(f"exit {code}")
    said = out.getvalue() + err.getvalue()
    assert said.strip(), "the doctor must say something"
    assert "Traceback" not in said
    if code == 2:
        assert err.getvalue().startswith("pgsql doctor: "), err.getvalue()
    for pw in DOC_PASSWORDS:
        assert pw not in said, pw


# ---------------------------------------------------------------------------------------------
# Remote databags through the client charm (ops.testing)
# ---------------------------------------------------------------------------------------------


def _fuzz_charm() -> Any:
    import ops

    import pgsql

    class FuzzCharm(ops.CharmBase):
        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "db", database="mydb", extensions=["citext"])
            framework.observe(self.db.on.master_changed, self._on_master_changed)

        def _on_master_changed(self, event: Any) -> None:
            # a charm reads everything an event offers
            _ = (event.master, event.standbys, event.database, event.version, event.readiness)

    return FuzzCharm


@pytest.mark.scenario
@chaos_settings(scaled(20, 300, 5000))
@given(view=relation_views(), leader=st.booleans())
def test_client_charm_survives_any_remote_bags(view: Dict[str, Any], leader: bool) -> None:
    testing = requires_scenario()
    units = {
        i: {k: v for k, v in bag.items() if "\x00" not in k + v}
        for i, bag in enumerate(view["units"].values())
    }
    assume(units)
    ctx = testing.Context(
        _fuzz_charm(), meta={"name": "myapp", "requires": {"db": {"interface": "pgsql"}}}
    )
    rel = testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name="postgresql",
        id=5,
        local_unit_data={k: v for k, v in view["local_bag"].items() if "\x00" not in k + v},
        remote_app_data={k: v for k, v in view["app_bag"].items() if "\x00" not in k + v},
        remote_units_data=units,
    )
    state = testing.State(leader=leader, relations={rel})
    with time_limit(10), ctx(ctx.on.relation_changed(rel, remote_unit=min(units)), state) as mgr:
        mgr.run()
        r = mgr.charm.db.readiness()
    assert r is not None
    assert r.ready == (r.master is not None)
    for line in ctx.juju_log:
        for pw in VECTOR_PASSWORDS:
            assert pw not in line.message, line
