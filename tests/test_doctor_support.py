"""Builders of ``juju show-unit`` documents from the provider databag vectors, for the doctor tests.

The documents follow the schema in ``tests/data/show-unit-examples.md`` §1 with each Juju
version's differences: which application's data ``application-data`` shows (own on 2.8, early
2.9 and 4.x; remote on later 2.9 and 3.x), ``relation-id`` (absent on 2.8 / early 2.9), ``life``
(3.x, 4.x) and the Juju 4.0.5 bug (``local-unit`` instead of ``related-units`` on non-peer
relations). The client unit's peer relation carries its own ``egress-subnets`` in ``local-unit``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import pytest
import yaml

from pgsql.cli import main

DATA = Path(__file__).parent / "data"
VECTORS: Dict[str, Any] = yaml.safe_load((DATA / "provider-databags.yaml").read_text())
PROVIDERS: Dict[str, Any] = VECTORS["providers"]

Bag = Dict[str, str]

#: shape -> (application-data shows own app?, relation-id?, life?, 4.0.5 local-unit bug?)
SHAPES: Dict[str, Tuple[bool, bool, bool, bool]] = {
    "juju-2.8": (True, False, False, False),
    "juju-2.9-early": (False, False, False, False),
    "juju-3": (False, True, True, False),
    "juju-4": (True, True, True, False),
    "juju-4.0.5": (True, True, True, True),
}
SHAPE_VERSION = {
    "juju-2.8": "2.8.13",
    "juju-2.9-early": "2.9.12",
    "juju-3": "3.6.1",
    "juju-4": "4.0.6",
    "juju-4.0.5": "4.0.5",
}
RELATION_IDS = {
    "canonical-pgbouncer-vm": 7,
    "canonical-pgbouncer-k8s": 7,
    "legacy-reactive-pgbouncer": 9,
}


def stages() -> List[Tuple[str, str]]:
    """Every (provider, stage) pair in the vectors."""
    return [(p, s) for p, spec in PROVIDERS.items() for s in spec["stages"]]


def sides(provider: str, stage: str) -> Tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(client, server) of a stage; "unchanged from stage X" stages borrow X's server."""
    spec = PROVIDERS[provider]["stages"][stage]
    server = spec.get("server")
    if server is None:
        ref = spec["note"].split("`")[1]
        server = PROVIDERS[provider]["stages"][ref]["server"]
    return spec["client"], server


def _s(bag: Mapping[str, Any]) -> Bag:
    return {str(k): str(v) for k, v in bag.items()}


def co_located(provider: str, client_unit: str, server_units: Sequence[str]) -> Optional[str]:
    """The pgbouncer unit serving a client unit on a container-scoped relation, else None."""
    if provider != "canonical-pgbouncer-vm":
        return None
    n = client_unit.rpartition("/")[2]
    match = [u for u in server_units if u.rpartition("/")[2] == n]
    return match[0] if match else None


def build(
    provider: str,
    stage: str,
    shape: str = "juju-3",
    *,
    client_units: Optional[Sequence[str]] = None,
    server_units: Optional[Sequence[str]] = None,
    with_peer: bool = True,
    client_name: str = "myapp",
) -> Dict[str, Any]:
    """One document as `juju show-unit <client units> <server units>` prints it.

    Args:
        provider: provider key in provider-databags.yaml.
        stage: stage key.
        shape: a key of :data:`SHAPES`.
        client_units: client units to show (default: myapp/0); [] shows none.
        server_units: server units to show (default: every server unit); [] shows none.
        with_peer: give the client units a peer relation (their own egress-subnets).
        client_name: rename the client application (for the name-prefix bug).
    """
    own, with_rid, with_life, bug = SHAPES[shape]
    client, server = sides(provider, stage)
    rid = RELATION_IDS.get(provider, 5)

    def rename(unit: str) -> str:
        return unit.replace("myapp", client_name, 1) if unit.startswith("myapp/") else unit

    def fix(bag: Mapping[str, Any]) -> Bag:
        out = _s(bag)
        if client_name != "myapp":
            for key in ("allowed-units",):
                if key in out:
                    out[key] = out[key].replace("myapp/", f"{client_name}/")
        return out

    raw_c: Dict[str, Mapping[str, Any]] = client["units"] or {}
    raw_s: Dict[str, Mapping[str, Any]] = server["units"] or {}
    c_units: Dict[str, Bag] = {rename(u): _s(b) for u, b in raw_c.items()}
    s_units: Dict[str, Bag] = {u: fix(b) for u, b in raw_s.items()}
    c_app, s_app = _s(client["app"] or {}), fix(server["app"] or {})
    shown_clients = [f"{client_name}/0"] if client_units is None else list(client_units)
    shown_servers = list(s_units) if server_units is None else list(server_units)
    doc: Dict[str, Any] = {}

    def item(
        unit: str, app_data: Bag, related: Dict[str, Bag], local: Bag, scope: Optional[str]
    ) -> Optional[Dict[str, Any]]:
        it: Dict[str, Any] = {}
        if with_rid:
            it["relation-id"] = rid
        it["endpoint"] = "db"
        it["related-endpoint"] = "db"
        it["application-data"] = app_data
        if bug:
            if not local and not app_data:
                return None
            it["local-unit"] = {"in-scope": True, "data": local}
            return it
        if not related and not app_data:
            return None  # Juju omits a relation with no data at all
        it["related-units"] = {
            u: {"in-scope": scope in (None, u), "data": b if scope in (None, u) else {}}
            for u, b in related.items()
        }
        return it

    conventions = VECTORS["conventions"]["client_machine_units"]
    for unit in shown_clients:
        infos: List[Dict[str, Any]] = []
        own_bag = c_units.get(unit)
        if own_bag is not None:
            app_data = c_app if own else s_app
            scope = co_located(provider, unit, list(s_units))
            rel = item(unit, app_data, s_units, own_bag, scope)
            infos = [rel] if rel is not None else []
        else:  # the unit left the relation (broken): only its peer relation is shown
            own_bag = _s(conventions.get(unit.replace(client_name, "myapp", 1), {}))
        if with_peer:
            peer: Dict[str, Any] = {}
            if with_rid:
                peer["relation-id"] = 3
            peer.update(
                {
                    "endpoint": "peers",
                    "related-endpoint": "peers",
                    "application-data": {},
                    "local-unit": {
                        "in-scope": True,
                        "data": {k: v for k, v in own_bag.items() if "-" in k},
                    },
                }
            )
            others = {
                u: {"in-scope": True, "data": {k: v for k, v in b.items() if "-" in k}}
                for u, b in c_units.items()
                if u != unit
            }
            if others:
                peer["related-units"] = others
            infos.append(peer)
        doc[unit] = _unit_doc(unit, infos, with_life, k8s="10.152" in str(own_bag))
    for unit in shown_servers:
        app_data = s_app if own else c_app
        related = {
            u: b
            for u, b in c_units.items()
            if co_located(provider, u, list(s_units)) in (None, unit)
        }
        rel = item(unit, app_data, related, s_units.get(unit, {}), None)
        doc[unit] = _unit_doc(unit, [rel] if rel is not None else [], with_life, k8s=False)
    return doc


def _unit_doc(unit: str, infos: List[Dict[str, Any]], life: bool, k8s: bool) -> Dict[str, Any]:
    out: Dict[str, Any] = {"opened-ports": [], "charm": f"local:{unit.split('/', maxsplit=1)[0]}-0"}
    out["leader"] = unit.endswith("/0")
    if life:
        out["life"] = "alive"
    if infos:
        out["relation-info"] = infos
    if k8s:
        out["provider-id"] = unit.replace("/", "-")
    return out


def dump(doc: Mapping[str, Any], fmt: str) -> str:
    """The document as `--format json` or `--format yaml` output (quoted strings like Juju)."""
    if fmt == "json":
        return json.dumps(doc)
    return yaml.safe_dump(dict(doc), default_flow_style=False, sort_keys=False)


def run_doctor(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: Union[str, bytes],
    *args: str,
) -> Tuple[int, str, str]:
    """Run ``pgsql doctor ARGS`` in-process with ``text`` on stdin."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    stdin = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    code = main(["doctor", *args])
    out, err = capsys.readouterr()
    return code, out, err


def doctor_json(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: Union[str, bytes],
    *args: str,
) -> Tuple[int, Dict[str, Any]]:
    """Run ``pgsql doctor --json`` and parse the report."""
    code, out, err = run_doctor(capsys, monkeypatch, text, "--json", *args)
    assert err == ""
    return code, json.loads(out)


def unit_result(report: Mapping[str, Any], unit: str = "myapp/0") -> Dict[str, Any]:
    """The verdict entry of one client unit (the only pgsql relation)."""
    (rel,) = report["relations"]
    (entry,) = [u for u in rel["units"] if u["unit"] == unit]
    return entry


def codes(entry: Mapping[str, Any], blocking: Optional[bool] = None) -> List[str]:
    """Reason codes of a unit entry, optionally only blocking / non-blocking ones."""
    return sorted(
        {r["code"] for r in entry["reasons"] if blocking is None or r["blocking"] == blocking}
    )
