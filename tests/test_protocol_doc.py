"""Every YAML example in docs/protocol.md is evaluated and must match its ``# expect:`` line.

Wire examples in the documentation are kept forever: when behaviour changes, the example's
expectation fails here instead of the documentation silently going stale.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, cast

import pytest
import yaml

from pgsql import ConnectionString, protocol
from pgsql.protocol import Request, evaluate, evaluate_client, read_request, requirer_databag

DOC = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"
Bag = Dict[str, str]


def _blocks() -> List[Tuple[int, str]]:
    text = DOC.read_text()
    out: List[Tuple[int, str]] = []
    for m in re.finditer(r"^```yaml\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        out.append((text.count("\n", 0, m.start()) + 1, m.group(1)))
    return out


BLOCKS = _blocks()


def _expect(block: str) -> Tuple[str, List[str], Dict[str, str]]:
    first = block.splitlines()[0]
    m = re.fullmatch(r"# expect: (\S+)(.*)", first)
    assert m, f"the first line of every YAML example must be '# expect: ...', not {first!r}"
    words = m.group(2).split()
    options = dict(w.split("=", 1) for w in words if "=" in w)
    plain = [w for w in words if "=" not in w]
    return m.group(1), plain, options


def _strs(d: Any) -> Bag:
    return {str(k): str(v) for k, v in cast(Mapping[Any, Any], d or {}).items()}


def _bags(d: Any) -> Dict[str, Bag]:
    return {str(k): _strs(v) for k, v in cast(Mapping[Any, Any], d or {}).items()}


def _request_words(options: Dict[str, str]) -> Request:
    return Request.from_databag({k: v for k, v in options.items() if k in protocol.REQUEST_KEYS})


def _host_dbs(raw: Optional[str]) -> List[Tuple[str, str]]:
    if not raw:
        return []
    return [cast(Tuple[str, str], tuple(item.split("/", 1))) for item in raw.split(",")]


def _check_relation(kind: str, plain: List[str], options: Dict[str, str], doc: Any) -> None:
    view = str(doc["view"])
    client: Dict[str, Any] = doc.get("client") or {}
    server: Dict[str, Any] = doc.get("server") or {}
    units = _bags(server.get("units"))
    remote_app = str(server.get("server-app") or next(iter(units), "server/0").rpartition("/")[0])
    request = (
        None if doc.get("request") == "unknown" else Request.from_databag(_strs(client.get("app")))
    )
    r = evaluate(
        request,
        view,
        _bags(client.get("units")).get(view, {}),
        remote_app,
        _strs(server.get("app")),
        units,
    )
    context = f"{r.why} / {[str(x) for x in r.reasons]}"
    blocking = {x.code for x in r.reasons if x.blocking}
    notes = {x.code for x in r.reasons if not x.blocking}
    if kind == "ready":
        assert r.ready, context
        assert not plain
    else:
        assert kind == "not-ready"
        assert not r.ready
        assert blocking == set(",".join(plain).split(",")), context
    if "source" in options:
        assert r.source == options["source"]
    if "master" in options:
        assert r.master is not None
        assert [(r.master.host, r.master.dbname)] == _host_dbs(options["master"])
    if "standbys" in options or kind == "ready":
        assert [(s.host, s.dbname) for s in r.standbys] == _host_dbs(options.get("standbys"))
    if "notes" in options:
        assert set(options["notes"].split(",")) <= notes, context
    secrets = re.findall(r"password=(\S+)", yaml.safe_dump(doc, width=1000))
    assert secrets or kind == "not-ready"
    for text in [r.why, repr(r), *(str(x) for x in r.reasons)]:
        for secret in secrets:
            assert secret not in text


def _endpoint_db(c: ConnectionString) -> str:
    where = f"{c.host}:{c.port}" if c.port else str(c.host)
    return f"{where}/{c.dbname}"


def _secrets(d: Any) -> Dict[str, Optional[Bag]]:
    items = cast(Mapping[Any, Any], d or {}).items()
    return {str(k): None if v is None else _strs(v) for k, v in items}


def _check_postgresql_client(plain: List[str], options: Dict[str, str], doc: Any) -> None:
    """A ``postgresql_client`` example: ``evaluate_client`` or ``requirer_databag``."""
    what, codes = plain[0], plain[1:]
    if what == "requirer-bag":
        request = _request_words(options)
        bag = requirer_databag(request, external=options.get("external") == "true")
        assert bag == _strs(doc["client"]["app"])
        return
    raw_request = doc.get("request")
    # from_record: the wire keys and a requested ``username`` (it travels in a Juju secret)
    request = None if raw_request == "unknown" else Request.from_record(_strs(raw_request))
    provider: Dict[str, Any] = doc.get("provider") or {}
    secrets = _secrets(doc.get("secrets"))
    r = evaluate_client(request, _strs(provider.get("app")), _bags(provider.get("units")), secrets)
    context = f"{r.why} / {[str(x) for x in r.reasons]}"
    blocking = {x.code for x in r.reasons if x.blocking}
    notes = {x.code for x in r.reasons if not x.blocking}
    if what == "ready":
        assert r.ready, context
        assert not codes
        assert blocking == set()
    else:
        assert what == "not-ready"
        assert not r.ready
        assert blocking == set(",".join(codes).split(",")), context
    if "master" in options:
        assert r.master is not None
        assert _endpoint_db(r.master) == options["master"]
    expected = options.get("standbys")
    assert [_endpoint_db(s) for s in r.standbys] == (expected.split(",") if expected else [])
    if "notes" in options:
        assert set(options["notes"].split(",")) <= notes, context
    passwords = [str(v) for v in re.findall(r"password: (\S+)", yaml.safe_dump(doc, width=1000))]
    assert passwords or what == "not-ready"
    shown = [r.why, repr(r), *(str(x) for x in r.reasons), *(x.advice or "" for x in r.reasons)]
    for text in shown:
        for password in passwords:
            assert password not in text


def test_doc_has_examples() -> None:
    kinds = [_expect(b)[0] for _, b in BLOCKS]
    assert kinds.count("ready") >= 5
    assert kinds.count("not-ready") >= 4
    assert {"request", "peer-data", "leader-data"} <= set(kinds)
    client = [_expect(b)[1][0] for _, b in BLOCKS if _expect(b)[0] == "postgresql_client"]
    assert client.count("ready") >= 4
    assert client.count("not-ready") >= 3
    assert "requirer-bag" in client


@pytest.mark.parametrize("block", [b for _, b in BLOCKS], ids=[f"line{n}" for n, _ in BLOCKS])
def test_doc_example(block: str) -> None:
    kind, plain, options = _expect(block)
    doc: Any = yaml.safe_load(block)
    if kind in ("ready", "not-ready"):
        _check_relation(kind, plain, options, doc)
    elif kind == "postgresql_client":
        _check_postgresql_client(plain, options, doc)
    elif kind == "request":
        client = doc["client"]
        got = read_request(_strs(client.get("app")), _bags(client.get("units")))
        assert got == _request_words(options)
    elif kind == "peer-data":
        ((key, raw),) = cast(Dict[str, str], doc).items()
        assert re.fullmatch(r"pgsql-[a-z][a-z0-9-]*", key)
        table = cast(Dict[str, Bag], json.loads(raw))
        assert Request.from_databag(table[options.pop("relation")]) == _request_words(options)
        assert raw == json.dumps(table, sort_keys=True, separators=(",", ":"))
    elif kind == "leader-data":
        table = cast(Dict[int, Bag], yaml.safe_load(doc["interface.pgsql"]))
        entry = table[int(options.pop("relation"))]
        assert Request.from_databag(entry) == _request_words(options)
    else:
        pytest.fail(f"unknown example kind {kind!r}")
