"""``pgsql doctor`` on a charm migrating from ``pgsql`` to ``postgresql_client`` (#17, point 5).

docs/migration.md: the charm serves ``db`` and ``database`` with one client,
``PostgreSQLClient(self, ("db", "database"))``; while both are related it serves the older
relation (the lower relation id) and reports the other ``endpoint-conflict``. The input is
``juju show-unit myapp/0 postgresql14/0 postgresql16/0`` (Juju 3.6) built from the vectors:
``db`` answered by PostgreSQL 14 (mixed-pgsql.yaml), ``database`` by PostgreSQL 16
(pg16-vm-secrets.yaml). The charm's own readiness under Scenario is the oracle.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Tuple

import ops
import ops.charm
import ops.framework
import pytest
import yaml
from needs import needs_scenario
from test_doctor_support import DATA, codes, doctor_json, dump, run_doctor

import pgsql
from pgsql import doctor, protocol
from pgsql.client import ENDPOINT_CONFLICT

pytestmark = needs_scenario

testing: Any = pytest.importorskip("ops.testing")

VECTORS = DATA / "show-unit-postgresql-client"
PASSWORD = "Hq9cR4vN1xB6mT3s"  # mixed-pgsql.yaml's, in clear in PostgreSQL 14's unit bag
RS = doctor.READY_AS_SHOWN


def _load(name: str, server: str) -> Dict[str, Any]:
    text = (VECTORS / name).read_text().replace("postgresql/", f"{server}/")
    loaded: Dict[str, Any] = yaml.safe_load(text)
    return loaded


def _item(unit_doc: Dict[str, Any], endpoint: str) -> Dict[str, Any]:
    (item,) = [i for i in unit_doc["relation-info"] if i["endpoint"] == endpoint]
    return item


def migration(db_id: int = 5, database_id: int = 7, with_ids: bool = True) -> Dict[str, Any]:
    """myapp related on db (PostgreSQL 14) and on database (PostgreSQL 16), both answered."""
    pg14 = _load("mixed-pgsql.yaml", "postgresql14")
    pg16 = _load("pg16-vm-secrets.yaml", "postgresql16")
    myapp = copy.deepcopy(pg14["myapp/0"])
    db, peers = _item(myapp, "db"), _item(myapp, "peers")
    database = _item(pg16["myapp/0"], "database")
    myapp["relation-info"] = [db, database, peers]
    server14 = pg14["postgresql14/0"]
    server14["relation-info"] = [_item(server14, "db")]
    server16 = pg16["postgresql16/0"]
    del _item(server16, "database")["related-units"]["myapp/1"]  # myapp has one unit here
    for item in (db, _item(server14, "db")):
        item["relation-id"] = db_id
    for item in (database, _item(server16, "database")):
        item["relation-id"] = database_id
    doc = {"myapp/0": myapp, "postgresql14/0": server14, "postgresql16/0": server16}
    if not with_ids:  # Juju 2.9 before April 2022
        for unit in doc.values():
            for item in unit["relation-info"]:
                del item["relation-id"]
    return doc


class _Both(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, ("db", "database"))


def charm_readiness(doc: Dict[str, Any]) -> Dict[str, protocol.Readiness]:
    """The one-client charm's readiness of each relation, for the bags of ``doc`` (Scenario)."""
    meta = {
        "name": "myapp",
        "requires": {
            "db": {"interface": "pgsql", "limit": 1},
            "database": {"interface": "postgresql_client", "limit": 1},
        },
    }
    db, database = _item(doc["myapp/0"], "db"), _item(doc["myapp/0"], "database")
    egress = {"egress-subnets": "10.0.0.10/32"}

    def rel(item: Dict[str, Any], endpoint: str, interface: str, app: str) -> Any:
        units = {
            int(u.rpartition("/")[2]): dict(e["data"]) for u, e in item["related-units"].items()
        }
        return testing.Relation(
            endpoint,
            interface,
            id=item["relation-id"],
            remote_app_name=app,
            remote_app_data=dict(item["application-data"]),
            remote_units_data=units,
            local_app_data={"database": "legacydb"} if endpoint == "db" else {"database": "mydb"},
            local_unit_data=egress,
        )

    rels = [
        rel(db, "db", "pgsql", "postgresql14"),
        rel(database, "database", "postgresql_client", "postgresql16"),
    ]
    ctx = testing.Context(_Both, meta=meta, juju_version="3.6.4")
    with ctx(ctx.on.update_status(), testing.State(leader=True, relations=set(rels))) as mgr:
        mgr.run()
        out: Dict[str, protocol.Readiness] = {}
        for r in rels:
            got = mgr.charm.db.readiness(mgr.charm.model.get_relation(r.endpoint, r.id))
            assert got is not None
            out[f"{r.endpoint}:{r.id}"] = got
        return out


def unit_of(report: Dict[str, Any], relation: str) -> Dict[str, Any]:
    (rel,) = [r for r in report["relations"] if r["relation"] == relation]
    (entry,) = rel["units"]
    return entry


def reason(entry: Dict[str, Any], code: str) -> Dict[str, Any]:
    (found,) = [r for r in entry["reasons"] if r["code"] == code]
    return found


@pytest.mark.parametrize(
    ("ids", "served", "other", "alone", "remove"),
    [
        ((5, 7), "db:5", "database:7", RS, "juju remove-relation myapp:db postgresql14"),
        ((9, 4), "database:4", "db:9", doctor.READY, "juju remove-relation myapp:database "),
    ],
    ids=["db-older", "database-older"],
)
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_one_client_serves_the_older_relation_and_the_other_is_endpoint_conflict(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
    ids: Tuple[int, int],
    served: str,
    other: str,
    alone: str,
    remove: str,
) -> None:
    doc = migration(*ids)
    charm = charm_readiness(doc)
    text = dump(doc, fmt)
    code, report = doctor_json(capsys, monkeypatch, text)
    assert code == report["exit-status"] == 1
    assert {r["relation"]: r["one-client-serves"] for r in report["relations"]} == {
        served: served,
        other: served,
    }
    # the served relation: the charm's verdict, and a note naming the other relation
    entry = unit_of(report, served)
    assert entry["verdict"] in (doctor.READY, RS)
    assert codes(entry, blocking=True) == []
    assert entry["verdict-with-own-client"] is None
    note = reason(entry, doctor.ENDPOINT_SERVED)
    assert not note["blocking"]
    assert f"reports {other} as endpoint-conflict" in note["message"]
    assert "a charm with a separate client per endpoint serves both" in note["message"]
    # the other: not ready, endpoint-conflict first, in the library's words
    entry = unit_of(report, other)
    assert entry["verdict"] == doctor.NOT_READY
    assert codes(entry, blocking=True) == [doctor.ENDPOINT_CONFLICT]
    assert entry["reasons"][0]["code"] == doctor.ENDPOINT_CONFLICT
    library = charm[other]
    assert not library.ready
    assert library.reasons[0].code == ENDPOINT_CONFLICT == doctor.ENDPOINT_CONFLICT
    why = entry["reasons"][0]
    assert why["message"].startswith(library.reasons[0].message)
    assert f"serves only the older relation, {served} (the lower relation id)" in why["message"]
    assert "a charm with a separate client per endpoint serves both" in why["message"]
    assert why["advice"].startswith(f"once the data is moved: {remove}")
    # what a charm with one client per endpoint would get there
    assert entry["verdict-with-own-client"] == alone
    assert f"then myapp/0 is {alone} on {other}" in why["message"]
    code, out, err = run_doctor(capsys, monkeypatch, text)
    assert code == 1
    endpoint = served.partition(":")[0]
    assert f"    - [endpoint-conflict] {endpoint} is related too ({served}, served);" in out
    assert "    note: [endpoint-served] myapp is related on" in out
    summary = ", ".join(
        f"myapp/0 {_said(report, r['relation'])} ({r['relation']})" for r in report["relations"]
    )
    assert f"Verdict: {summary} (exit status 1)" in out
    assert f"myapp/0 not ready ({other})" in summary
    assert PASSWORD not in out + err + str(report)


def _said(report: Dict[str, Any], relation: str) -> str:
    verdict: str = unit_of(report, relation)["verdict"]
    return verdict


def test_the_served_relation_is_the_one_the_charm_serves() -> None:
    # the oracle itself: one client, both endpoints related, the lower id served
    charm = charm_readiness(migration(5, 7))
    assert charm["db:5"].ready
    assert [r.code for r in charm["database:7"].reasons][:1] == [ENDPOINT_CONFLICT]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_without_relation_ids_the_older_relation_cannot_be_told_a_note_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    text = dump(migration(with_ids=False), fmt)
    code, report = doctor_json(capsys, monkeypatch, text)
    verdicts: List[str] = []
    for rel in report["relations"]:
        assert rel["one-client-serves"] is None
        (entry,) = rel["units"]
        verdicts.append(entry["verdict"])
        note = reason(entry, doctor.ENDPOINT_CONFLICT)
        assert not note["blocking"]
        assert "cannot tell which is older (no relation-id" in note["message"]
        assert "relation-ids" in note["advice"]
        assert entry["verdict-with-own-client"] is None
    # the verdicts are each relation's own: the note does not count in the exit status
    assert sorted(verdicts) == sorted([doctor.READY, RS])
    assert code == 0
    _, out, _ = run_doctor(capsys, monkeypatch, text)
    assert "    note: [endpoint-conflict] myapp is related on" in out
    assert PASSWORD not in out


def test_a_single_endpoint_gets_no_one_client_finding(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = migration()
    for unit in ("myapp/0",):
        doc[unit]["relation-info"] = [
            i for i in doc[unit]["relation-info"] if i["endpoint"] != "db"
        ]
    del doc["postgresql14/0"]
    code, report = doctor_json(capsys, monkeypatch, dump(doc, "yaml"))
    assert code == 0
    (rel,) = report["relations"]
    assert rel["one-client-serves"] is None
    said = str(report)
    assert "endpoint-conflict" not in said
    assert "endpoint-served" not in said
