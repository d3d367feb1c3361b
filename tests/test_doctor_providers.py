"""``pgsql doctor`` over documents built from every provider and stage in provider-databags.yaml.

Each stage is rendered as `juju show-unit myapp/0 <every server unit>` in every Juju shape
(2.8, early 2.9, 3.x, 4.x and the 4.0.5 bug), as JSON and as YAML, with and without
``--juju-version``; the verdict and the reason codes must be the same in every shape.
"""

from __future__ import annotations

import json
import re
from typing import Dict, FrozenSet, List, Optional, Tuple

import pytest
from test_doctor_support import (
    SHAPE_VERSION,
    SHAPES,
    VECTORS,
    build,
    codes,
    doctor_json,
    dump,
    run_doctor,
    stages,
    unit_result,
)

READY, NOT_READY, BAD = "ready", "not ready", None

# (provider, stage) -> (verdict for myapp/0, blocking codes, non-blocking codes that must appear)
# None as verdict: no pgsql data anywhere in the input -> exit 2 "no pgsql relation found".
Expect = Tuple[Optional[str], FrozenSet[str], FrozenSet[str]]
_F = frozenset
_OK: Expect = (READY, _F(), _F())
_WAIT: Expect = (NOT_READY, _F({"waiting-for-server"}), _F({"likely-blocked-extensions"}))
_GONE: Expect = (BAD, _F(), _F())
EXPECTED: Dict[Tuple[str, str], Expect] = {
    ("reactive-postgresql", "joined"): _WAIT,
    ("reactive-postgresql", "ready"): _OK,
    ("reactive-postgresql", "standalone_single_unit"): _OK,
    ("reactive-postgresql", "standby_added"): _OK,
    ("reactive-postgresql", "failover_interim"): (NOT_READY, _F({"waiting-for-server"}), _F()),
    ("reactive-postgresql", "failover_done"): _OK,
    ("reactive-postgresql", "client_unit_departed"): _OK,
    ("reactive-postgresql", "broken"): _GONE,
    ("canonical-postgresql-vm", "joined"): _WAIT,
    ("canonical-postgresql-vm", "blocked_extension"): _WAIT,
    ("canonical-postgresql-vm", "ready_leader_only"): _OK,
    ("canonical-postgresql-vm", "ready_converged"): _OK,
    ("canonical-postgresql-vm", "standalone_single_unit"): _OK,
    ("canonical-postgresql-vm", "standby_added"): _OK,
    ("canonical-postgresql-vm", "failover"): (READY, _F(), _F({"masters-disagree"})),
    ("canonical-postgresql-vm", "client_unit_departed_stale"): _OK,
    ("canonical-postgresql-vm", "client_unit_departed_refreshed"): _OK,
    ("canonical-postgresql-vm", "default_database_requested"): _OK,
    ("canonical-postgresql-vm", "stale_app_bag_after_refresh_from_2022_revision"): (
        READY,
        _F(),
        _F({"stale-app-bag"}),
    ),
    ("canonical-postgresql-vm", "broken"): _GONE,
    ("canonical-postgresql-k8s", "joined_or_no_database"): _GONE,
    ("canonical-postgresql-k8s", "ready"): _OK,
    ("canonical-postgresql-k8s", "single_unit"): _OK,
    ("canonical-postgresql-k8s", "standby_added_or_failover"): _OK,
    ("canonical-postgresql-k8s", "client_unit_departed"): _OK,
    ("canonical-postgresql-k8s", "broken"): _GONE,
    ("canonical-pgbouncer-vm", "joined"): _WAIT,
    ("canonical-pgbouncer-vm", "ready"): _OK,
    ("canonical-pgbouncer-vm", "database_race_lost"): (
        NOT_READY,
        _F({"database-mismatch"}),
        _F(),
    ),
    ("canonical-pgbouncer-vm", "backend_failover_or_standby_added"): _OK,
    # myapp/0 only sees the (stale, but matching) application bag: usable
    ("canonical-pgbouncer-vm", "stale_app_bag_from_2023_revision"): _OK,
    ("canonical-pgbouncer-k8s", "joined_waiting_for_database"): (
        NOT_READY,
        _F({"waiting-for-server"}),
        _F({"likely-no-database"}),
    ),
    ("canonical-pgbouncer-k8s", "joined"): _WAIT,
    ("canonical-pgbouncer-k8s", "ready"): _OK,
    ("canonical-pgbouncer-k8s", "client_unit_departed"): _OK,
    ("legacy-ops-postgresql-k8s", "ready"): _OK,
    ("legacy-ops-postgresql-k8s", "failover_or_standby_added"): _OK,
    # every reactive pgbouncer unit advertises itself as master, by design
    ("legacy-reactive-pgbouncer", "ready"): (
        READY,
        _F(),
        _F({"masters-disagree", "extensions-not-echoed"}),
    ),
    ("marcin-postgresql", "ready"): _OK,
    ("marcin-postgresql", "all_client_units_departed"): _GONE,
}

# Passwords appearing anywhere in the vectors: none may reach the report.
PASSWORDS = sorted(
    set(re.findall(r"password[:=] ?([A-Za-z0-9]{8,})", json.dumps(VECTORS["providers"])))
)


def test_expectations_cover_every_stage() -> None:
    assert set(EXPECTED) == set(stages())
    assert len(PASSWORDS) >= 8


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("with_version", [False, True], ids=["content", "version"])
@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize(("provider", "stage"), stages())
def test_provider_stage(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    stage: str,
    shape: str,
    with_version: bool,
    fmt: str,
) -> None:
    verdict, blocking, notes = EXPECTED[(provider, stage)]
    text = dump(build(provider, stage, shape), fmt)
    args = ["--juju-version", SHAPE_VERSION[shape]] if with_version else []
    code, out, err = run_doctor(capsys, monkeypatch, text, "--json", *args)
    for pw in PASSWORDS:
        assert pw not in out
        assert pw not in err
    if verdict is None:
        assert code == 2
        assert out == ""
        assert "no pgsql relation found" in err
        assert err.count("\n") == 1
        return
    assert err == ""
    report = json.loads(out)
    entry = unit_result(report)
    assert entry["verdict"] == verdict, entry["reasons"]
    assert set(codes(entry, blocking=True)) == blocking
    assert notes <= set(codes(entry, blocking=False))
    assert code == (0 if verdict == READY else 1)
    assert report["exit-status"] == code
    if verdict == READY:
        assert entry["master"] is not None
        assert "@" in entry["master"]


@pytest.mark.parametrize(("provider", "stage"), stages())
def test_human_report_never_shows_passwords(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, provider: str, stage: str
) -> None:
    doc = build(provider, stage, "juju-3", client_units=["myapp/0", "myapp/1"])
    code, out, err = run_doctor(capsys, monkeypatch, dump(doc, "yaml"))
    text = out + err
    for pw in PASSWORDS:
        assert pw not in text
    assert "Traceback" not in text
    if code != 2:
        assert "Verdict:" in out
        if "    master   " in out:
            assert "(password hidden)" in out


def test_container_scoped_pgbouncer_each_client_unit_sees_its_own_unit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-pgbouncer-vm", "ready", client_units=["myapp/0", "myapp/1"])
    code, report = doctor_json(capsys, monkeypatch, dump(doc, "json"))
    assert code == 0
    assert unit_result(report, "myapp/0")["source"] == "pgbouncer/0"
    assert unit_result(report, "myapp/1")["source"] == "pgbouncer/1"
    # pgbouncer/1 does not echo extensions (PGB-VM mirrors them only into the leader's bag)
    assert "extensions-not-echoed" in codes(unit_result(report, "myapp/1"))


def test_stale_pgbouncer_app_bag_locks_out_the_other_client_unit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build(
        "canonical-pgbouncer-vm", "stale_app_bag_from_2023_revision", client_units=["myapp/1"]
    )
    code, report = doctor_json(capsys, monkeypatch, dump(doc, "yaml"))
    assert code == 1
    entry = unit_result(report, "myapp/1")
    assert entry["verdict"] == NOT_READY
    assert codes(entry, blocking=True) == ["egress-not-allowed"]
    (reason,) = [r for r in entry["reasons"] if r["code"] == "egress-not-allowed"]
    assert reason["bag"] == "pgbouncer"
    assert "10.0.0.11/32" in reason["message"]
    assert "10.0.0.10/32" in reason["message"]


def test_k8s_server_publishing_nothing_without_database_with_endpoint_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-postgresql-k8s", "joined_or_no_database")
    code, _, err = run_doctor(capsys, monkeypatch, dump(doc, "yaml"))
    assert code == 2
    assert "--endpoint" in err
    # both sides name their endpoint `db`: the endpoint alone does not say who is the client
    code, report = doctor_json(capsys, monkeypatch, dump(doc, "yaml"), "--endpoint", "db")
    assert code == 1
    assert codes(unit_result(report)) == ["roles-unknown"]
    code, report = doctor_json(
        capsys, monkeypatch, dump(doc, "yaml"), "--endpoint", "db", "--unit", "myapp/0"
    )
    assert code == 1
    entry = unit_result(report)
    assert entry["verdict"] == NOT_READY
    assert codes(entry, blocking=True) == ["waiting-for-server"]
    (likely,) = [r for r in entry["reasons"] if r["code"] == "likely-no-database"]
    assert "no database is requested" in likely["message"]
    assert "juju status postgresql-k8s" in likely["advice"]


def test_database_mismatch_names_both_databases(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-pgbouncer-vm", "database_race_lost")
    _, report = doctor_json(capsys, monkeypatch, dump(doc, "json"))
    (reason,) = [r for r in unit_result(report)["reasons"] if r["code"] == "database-mismatch"]
    assert "'myapp'" in reason["message"]
    assert "'mydb'" in reason["message"]
    assert reason["advice"]


def test_failover_interim_says_no_master(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("reactive-postgresql", "failover_interim")
    code, out, _ = run_doctor(capsys, monkeypatch, dump(doc, "yaml"))
    assert code == 1
    assert "no master published" in out
    assert "myapp/0: NOT READY" in out


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_request_source_and_publishing_bags(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    doc = build("canonical-postgresql-vm", "ready_leader_only", shape)
    _, report = doctor_json(capsys, monkeypatch, dump(doc, "json"))
    (rel,) = report["relations"]
    assert rel["client"] == "myapp"
    assert rel["server"] == "postgresql"
    assert rel["request"] == {"database": "mydb", "extensions": "citext"}
    bags: List[Dict[str, object]] = rel["server-bags"]
    by_name = {str(b["bag"]): b for b in bags}
    assert by_name["postgresql/0"]["master"] == "relation-5@10.0.0.20:5432/mydb"
    assert by_name["postgresql/0"]["standbys"] == ["relation-5@10.0.0.21:5432/mydb"]
    assert by_name["postgresql/1"]["master"] is None
    entry = unit_result(report)
    assert entry["egress-subnets"] == "10.0.0.10/32"
    assert entry["source"] == "postgresql/0"
