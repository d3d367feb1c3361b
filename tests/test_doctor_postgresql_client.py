"""``pgsql doctor`` on ``postgresql_client`` relations.

The inputs are the ``juju show-unit`` vectors of ``tests/data/show-unit-postgresql-client/``
(written from the interface facts: PostgreSQL 14/16 VM and K8s, PgBouncer VM and K8s, Juju 2.9
and 3.6), whole and altered here. Each vector has its own made-up password: no output of the
doctor, text or JSON, may contain one.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple, cast

import pytest
import yaml
from chaos_support import chaos_settings, time_limit
from conftest import scaled
from hypothesis import given
from hypothesis import strategies as st
from test_doctor_support import DATA, codes, doctor_json, run_doctor

from pgsql import cli, doctor, protocol

VECTORS = DATA / "show-unit-postgresql-client"
DOCS = Path(__file__).parent.parent / "docs" / "doctor.md"

#: every password written in the vectors, by file
PASSWORDS: Dict[str, Tuple[str, ...]] = {
    "pg16-vm-secrets.yaml": (),
    "pg14-vm-plaintext.yaml": ("Kp7vQ2xLmN9rT4wZ",),
    "pgbouncer-vm-ready.yaml": (),
    "pgbouncer-vm-not-ready.yaml": (),
    "pgbouncer-k8s.json": (),
    "pg16-k8s-doubled-port.yaml": ("Vb3nH8sJq1LcX6dR",),
    "not-answered.yaml": (),
    "request-changed.yaml": (),
    "mixed-pgsql.yaml": ("Hq9cR4vN1xB6mT3s",),
}
ALL_PASSWORDS = sorted({p for ps in PASSWORDS.values() for p in ps})


def text_of(name: str) -> str:
    return (VECTORS / name).read_text()


def doc_of(name: str) -> Dict[str, Any]:
    loaded: Dict[str, Any] = yaml.safe_load(text_of(name))
    return loaded


def relation(report: Mapping[str, Any], name: str) -> Dict[str, Any]:
    (rel,) = [r for r in report["relations"] if r["relation"] == name]
    return rel


def unit_entry(report: Mapping[str, Any], rel: str, unit: str) -> Dict[str, Any]:
    (entry,) = [u for u in relation(report, rel)["units"] if u["unit"] == unit]
    return entry


def item_of(doc: Mapping[str, Any], unit: str, endpoint: str) -> Dict[str, Any]:
    (item,) = [i for i in doc[unit]["relation-info"] if i["endpoint"] == endpoint]
    return item


def assert_no_password(said: str, passwords: Any = ALL_PASSWORDS) -> None:
    for pw in passwords:
        assert pw not in said, pw
    assert "Traceback" not in said


# ---------------------------------------------------------------------------------------------
# Every vector: its verdicts
# ---------------------------------------------------------------------------------------------

C, N, R = doctor.CANNOT_TELL, doctor.NOT_READY, doctor.READY
#: ready as far as show-unit shows: everything but the secrets' content, which it never shows
RS = doctor.READY_AS_SHOWN
SNV = doctor.SECRET_NOT_VISIBLE


#: file -> exit status, {(relation, unit): (verdict, blocking codes, some non-blocking codes)},
#: the relation findings of the postgresql_client relations
EXPECTED: Dict[
    str,
    Tuple[int, Dict[Tuple[str, str], Tuple[str, FrozenSet[str], FrozenSet[str]]], FrozenSet[str]],
] = {
    "pg16-vm-secrets.yaml": (
        0,
        {("database:7", "myapp/0"): (RS, frozenset(), frozenset({SNV}))},
        frozenset(),
    ),
    "pg14-vm-plaintext.yaml": (
        0,
        {("database:7", "myapp/0"): (R, frozenset(), frozenset())},
        frozenset({doctor.PLAINTEXT_PASSWORD}),
    ),
    "pgbouncer-vm-ready.yaml": (
        1,
        {
            ("database:9", "myapp/0"): (RS, frozenset(), frozenset({SNV})),
            ("backend-database:4", "pgbouncer/0"): (
                C,
                frozenset(),
                frozenset({SNV, doctor.REQUEST_NOT_VISIBLE}),
            ),
        },
        frozenset(),
    ),
    "pgbouncer-vm-not-ready.yaml": (
        1,
        {
            ("database:9", "myapp/0"): (
                N,
                frozenset({protocol.SUBORDINATE_NOT_READY}),
                frozenset({SNV, doctor.REQUEST_NOT_VISIBLE}),
            ),
            ("database:9", "myapp/1"): (C, frozenset(), frozenset({SNV})),
        },
        frozenset(),
    ),
    "pgbouncer-k8s.json": (
        0,
        {("database:12", "myapp/0"): (RS, frozenset(), frozenset({SNV}))},
        frozenset(),
    ),
    "pg16-k8s-doubled-port.yaml": (
        0,
        {("database:11", "myapp/0"): (RS, frozenset(), frozenset({SNV}))},
        frozenset({doctor.PLAINTEXT_PASSWORD}),
    ),
    "not-answered.yaml": (
        1,
        {
            ("database:7", "myapp/0"): (
                N,
                frozenset({protocol.NOT_ANSWERED}),
                frozenset({protocol.EXTENSIONS_BY_CONFIG}),
            )
        },
        frozenset(),
    ),
    "request-changed.yaml": (
        1,
        {
            ("database:7", "myapp/0"): (
                N,
                frozenset({protocol.DATABASE_MISMATCH, protocol.REQUEST_CHANGED}),
                frozenset({protocol.REQUEST_CHANGED, SNV}),
            )
        },
        frozenset(),
    ),
    # one client serving db and database (docs/migration.md) serves only the older, db:5
    "mixed-pgsql.yaml": (
        1,
        {
            ("db:5", "myapp/0"): (R, frozenset(), frozenset({doctor.ENDPOINT_SERVED})),
            ("database:7", "myapp/0"): (
                N,
                frozenset({doctor.ENDPOINT_CONFLICT}),
                frozenset({SNV}),
            ),
        },
        frozenset(),
    ),
}


def test_every_vector_is_examined() -> None:
    files = {p.name for p in VECTORS.iterdir() if p.suffix in (".yaml", ".json")}
    assert files == set(EXPECTED) == set(PASSWORDS)
    for name, passwords in PASSWORDS.items():
        for pw in passwords:
            assert pw in text_of(name), (name, pw)  # the scans below look for something real


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_vector_verdicts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    exit_status, units, findings = EXPECTED[name]
    code, report = doctor_json(capsys, monkeypatch, text_of(name))
    assert code == exit_status == report["exit-status"]
    seen = {(r["relation"], u["unit"]) for r in report["relations"] for u in r["units"]}
    assert seen == set(units)
    for (rel, unit), (verdict, blocking, notes) in units.items():
        entry = unit_entry(report, rel, unit)
        assert entry["verdict"] == verdict, (rel, unit, entry["reasons"])
        assert set(codes(entry, blocking=True)) == blocking, (rel, unit)
        assert notes <= set(codes(entry, blocking=False)), (rel, unit)
    for rel in report["relations"]:
        if rel["interface"] == "postgresql_client":
            assert {f["code"] for f in rel["findings"]} == findings
            assert rel["client"] != rel["server"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("fmt", ["text", "json", "json-input"])
def test_no_output_shows_a_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str, fmt: str
) -> None:
    text = text_of(name)
    if fmt == "json-input":
        text = json.dumps(doc_of(name))
    args = ["--json"] if fmt == "json" else []
    for extra in ([], ["--juju-version", "3.6"], ["--juju-version", "4.0"], ["--unit", "myapp/0"]):
        code, out, err = run_doctor(capsys, monkeypatch, text, *args, *extra)
        assert code in (0, 1), err
        assert out.strip()
        assert_no_password(out + err)
    # the same through diagnose() and to_json(), without the CLI's last redaction
    units = [
        u for d in doctor.load_documents(text.encode(), "x") for u in doctor.parse_units(d, "x")
    ]
    diagnosis = doctor.diagnose(units)
    assert_no_password(doctor.render(diagnosis))
    assert_no_password(json.dumps(doctor.to_json(diagnosis)))
    assert_no_password(repr(diagnosis))


def test_json_and_yaml_input_give_the_same_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in EXPECTED:
        doc = doc_of(name)
        _, from_yaml, _ = run_doctor(capsys, monkeypatch, yaml.safe_dump(doc))
        _, from_json, _ = run_doctor(capsys, monkeypatch, json.dumps(doc))
        assert from_yaml == from_json, name


# ---------------------------------------------------------------------------------------------
# What was requested, the secrets, what the provider published
# ---------------------------------------------------------------------------------------------


def test_the_request_as_written(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, report = doctor_json(capsys, monkeypatch, text_of("pgbouncer-k8s.json"))
    rel = relation(report, "database:12")
    assert rel["interface"] == "postgresql_client"
    assert (rel["client"], rel["server"]) == ("myapp", "pgbouncer-k8s")
    assert rel["request"] == {
        "database": "mydb",
        "extra-user-roles": ["charmed_read"],
        "requested-secrets": ["username", "password", "tls", "tls-ca", "uris", "read-only-uris"],
        "requested-secrets-malformed": False,
        "external-node-connectivity": True,
        "extensions": [],
        "v1-format": False,
    }
    assert rel["request-source"] == "myapp's application databag"
    provider = rel["provider"]
    assert provider["answered"] is True
    assert provider["endpoints"] == ["10.40.0.21:31432", "10.40.0.22:31432"]
    assert sorted(provider["secrets"]) == ["tls", "user"]
    assert provider["in-clear"] == []
    assert provider["password-in-clear"] == []
    assert provider["request-snapshot"] == {
        "database": "mydb",
        "extra-user-roles": "charmed_read",
        "external-node-connectivity": "true",
    }


def test_text_report_of_secrets_requested_and_referenced(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = run_doctor(capsys, monkeypatch, text_of("pg16-vm-secrets.yaml"))
    assert (
        "Relation database:7: myapp:database (requirer) <-> postgresql:database (provider)"
        "  [postgresql_client]"
    ) in out
    assert "requested: database=mydb extra-user-roles=charmed_dml (from myapp's application" in out
    assert (
        "secrets: requested for username, password, tls, tls-ca, uris, read-only-uris; "
        "postgresql references secret-tls, secret-user"
    ) in out
    assert "provider: endpoints 10.0.0.5:5432; read-only-endpoints 10.0.0.6:5432, 10.0.0.7" in out
    assert (
        "  myapp/0: READY AS FAR AS SHOW-UNIT SHOWS\n    database mydb, PostgreSQL 16.14\n" in out
    )
    assert (
        "note: [secret-not-visible] postgresql keeps the credentials in Juju secrets (secret-tls,"
        " secret-user), whose content show-unit never shows; everything else in this input is "
        "ready"
    ) in out
    assert "if myapp/0 still waits, the secrets are why" in out
    assert "run:" not in out  # no other input would tell more
    assert "Verdict: myapp/0 ready as far as show-unit shows (exit status 0)" in out
    # evaluate_client's secret-not-granted is the doctor's own doing: never shown
    assert "secret-not-granted" not in out


def test_plaintext_without_secrets_requested(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, report = doctor_json(capsys, monkeypatch, text_of("pg14-vm-plaintext.yaml"))
    rel = relation(report, "database:7")
    assert rel["request"]["requested-secrets"] is None
    assert rel["provider"]["password-in-clear"] == ["password", "uris"]
    assert rel["provider"]["secrets"] == {}
    (finding,) = rel["findings"]
    assert finding["code"] == "plaintext-password"
    assert finding["blocking"] is False
    assert "password, uris" in finding["message"]
    assert "myapp/0's databag" in finding["message"]  # data_interfaces' data snapshot copies it
    assert "requested-secrets" in finding["advice"]
    assert "started in plaintext stays so" in finding["advice"]
    entry = unit_entry(report, "database:7", "myapp/0")
    assert entry["master"] == "relation-7@10.0.0.5:5432/mydb"
    assert entry["standbys"] == ["relation-7@10.0.0.6:5432/mydb"]
    _, out, _ = run_doctor(capsys, monkeypatch, text_of("pg14-vm-plaintext.yaml"))
    assert "  ! [plaintext-password] postgresql: a password is in clear" in out
    assert "in clear in the provider's bag: username, password, uris, tls" in out
    assert "myapp/0: READY" in out


def test_plaintext_field_missing_from_requested_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL 16 K8s: read-only-uris (port twice) in clear because it was not requested
    _, report = doctor_json(capsys, monkeypatch, text_of("pg16-k8s-doubled-port.yaml"))
    rel = relation(report, "database:11")
    assert rel["provider"]["password-in-clear"] == ["read-only-uris"]
    (finding,) = rel["findings"]
    assert (
        "requested-secrets does not list read-only-uris: listing it avoids it"
        in (finding["advice"])
    )
    assert "stays so" in finding["advice"]


def test_plaintext_although_requested(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = doc_of("pg14-vm-plaintext.yaml")
    wanted = json.dumps(list(protocol.REQUESTED_SECRETS))
    item_of(doc, "postgresql/0", "database")["application-data"]["requested-secrets"] = wanted
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    (finding,) = relation(report, "database:7")["findings"]
    assert "requested-secrets lists them, yet they are in clear" in finding["advice"]
    assert "Juju older than 3.0.3" in finding["advice"]


def test_secrets_not_requested_before_the_answer(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = doc_of("not-answered.yaml")
    del item_of(doc, "postgresql/0", "database")["application-data"]["requested-secrets"]
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    (finding,) = relation(report, "database:7")["findings"]
    assert finding["code"] == "secrets-not-requested"
    assert "will publish the password in clear" in finding["message"]
    # a partial list: the fields it leaves out
    item_of(doc, "postgresql/0", "database")["application-data"]["requested-secrets"] = (
        '["username", "password"]'
    )
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    (finding,) = relation(report, "database:7")["findings"]
    assert "does not list uris, read-only-uris" in finding["message"]


def test_unreadable_requested_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = doc_of("not-answered.yaml")
    item_of(doc, "postgresql/0", "database")["application-data"]["requested-secrets"] = (
        "username,password"
    )
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    rel = relation(report, "database:7")
    assert rel["request"]["requested-secrets-malformed"] is True
    assert [f["code"] for f in rel["findings"]] == ["malformed"]


# ---------------------------------------------------------------------------------------------
# Missing endpoints, extensions, a changed request, v1
# ---------------------------------------------------------------------------------------------


def test_not_answered_names_the_extension_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = run_doctor(capsys, monkeypatch, text_of("not-answered.yaml"))
    assert "provider: postgresql has not answered (no endpoints)" in out
    assert "- [not-answered] postgresql: the provider has not answered the request yet" in out
    assert "fix: `juju status postgresql`" in out
    assert "extensions=citext,pg_trgm (not part of this interface)" in out
    assert "plugin-citext-enable" in out
    assert "plugin-pg-trgm-enable" in out
    assert "juju config postgresql plugin-pg-trgm-enable=true" in out


def test_no_database_requested(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = doc_of("not-answered.yaml")
    del item_of(doc, "postgresql/0", "database")["application-data"]["database"]
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    entry = unit_entry(report, "database:7", "myapp/0")
    assert entry["verdict"] == N
    # the provider's missing answer blocks, as on every unit; the known request says why
    assert codes(entry, blocking=True) == [protocol.NOT_ANSWERED]
    assert protocol.DATABASE_PENDING in codes(entry, blocking=False)


def test_v1_request_is_a_likely_cause(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = doc_of("not-answered.yaml")
    item_of(doc, "postgresql/0", "database")["application-data"].update(
        {"version": "v1", "requests": '[{"resource": "mydb"}]'}
    )
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    codes_found = [f["code"] for f in relation(report, "database:7")["findings"]]
    assert codes_found == [doctor.LIKELY_V1_REQUEST]


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        # a v1 request alone: a v0 provider never answers it, nothing will be published at all
        (None, [doctor.LIKELY_V1_REQUEST]),
        # v1 keys beside a v0 `database`: the provider answers that, in clear without a list
        ("mydb", [doctor.SECRETS_NOT_REQUESTED, doctor.LIKELY_V1_REQUEST]),
    ],
)
def test_v1_request_is_not_told_its_password_will_be_in_clear(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    database: Optional[str],
    expected: List[str],
) -> None:
    doc = doc_of("not-answered.yaml")
    bag = {"version": "v1", "requests": '[{"resource": "mydb", "salt": "ab12cd34"}]'}
    if database is not None:
        bag["database"] = database
    item_of(doc, "postgresql/0", "database")["application-data"] = bag
    for unit_bag in item_of(doc, "postgresql/0", "database")["related-units"].values():
        del unit_bag["data"]["requested-secrets"]
    code, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    assert code == 1
    assert [f["code"] for f in relation(report, "database:7")["findings"]] == expected


def test_request_changed_after_the_answer(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = run_doctor(capsys, monkeypatch, text_of("request-changed.yaml"))
    assert "requested: database=newdb extra-user-roles=createdb" in out
    assert "request as the provider last saw it (its data key): database=mydb" in out
    assert "the database request changed after the provider answered: 'mydb' then, 'newdb'" in out
    assert "extra-user-roles changed after the provider answered" in out


# ---------------------------------------------------------------------------------------------
# PgBouncer subordinate
# ---------------------------------------------------------------------------------------------


def test_pgbouncer_subordinate_state_per_unit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, report = doctor_json(capsys, monkeypatch, text_of("pgbouncer-vm-not-ready.yaml"))
    rel = relation(report, "database:9")
    assert rel["provider"]["subordinated"] is True
    assert rel["provider"]["unit-states"] == {"pgbouncer/0": "", "pgbouncer/1": "ready"}
    (why,) = [
        r
        for r in unit_entry(report, "database:9", "myapp/0")["reasons"]
        if r["code"] == protocol.SUBORDINATE_NOT_READY and r["blocking"]
    ]
    assert why["advice"].startswith("pgbouncer/0 must write state: ready")
    _, out, _ = run_doctor(capsys, monkeypatch, text_of("pgbouncer-vm-not-ready.yaml"))
    assert (
        "subordinate PgBouncer (subordinated: true): pgbouncer/0 state=(none), "
        "pgbouncer/1 state=ready"
    ) in out
    assert "(pgbouncer/0: subordinate-not-ready)" in out


def test_pgbouncer_ready_unit_and_its_backend_relation(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, report = doctor_json(capsys, monkeypatch, text_of("pgbouncer-vm-ready.yaml"))
    front, back = relation(report, "database:9"), relation(report, "backend-database:4")
    assert (front["client"], front["server"]) == ("myapp", "pgbouncer")
    assert front["provider"]["unit-states"] == {"pgbouncer/0": "ready"}
    # on its backend relation PgBouncer is the requirer of PostgreSQL
    assert (back["client"], back["server"]) == ("pgbouncer", "postgresql")
    assert back["provider"]["request-snapshot"] == {
        "database": "pgbouncer",
        "extra-user-roles": "SUPERUSER",
    }
    code, report = doctor_json(
        capsys, monkeypatch, text_of("pgbouncer-vm-ready.yaml"), "--unit", "myapp/0"
    )
    assert code == 0
    assert report["verdict"] == RS
    assert [len(r["units"]) for r in report["relations"]] == [1, 0]


def test_subordinate_units_not_in_the_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # only pgbouncer/0's show-unit: its own unit bag (state) shows only in myapp/0's
    doc = doc_of("pgbouncer-vm-ready.yaml")
    del doc["myapp/0"]
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc), "--juju-version", "3.6")
    entry = unit_entry(report, "database:9", "myapp/0")
    assert entry["verdict"] == C
    assert {doctor.SERVER_APP_BAG_NOT_VISIBLE} <= set(codes(entry))
    assert entry["run"] == [
        "juju show-unit myapp/0 pgbouncer/0 --format json | pgsql doctor --juju-version 3.6"
    ]


# ---------------------------------------------------------------------------------------------
# Recognising the interface, and which side is which
# ---------------------------------------------------------------------------------------------


def test_mixed_with_a_pgsql_relation(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, report = doctor_json(capsys, monkeypatch, text_of("mixed-pgsql.yaml"))
    interfaces = {r["relation"]: r["interface"] for r in report["relations"]}
    assert interfaces == {"db:5": "pgsql", "database:7": "postgresql_client"}
    assert relation(report, "db:5")["request"] == {"database": "legacydb"}
    assert relation(report, "database:7")["request"]["database"] == "mydb"
    _, out, _ = run_doctor(capsys, monkeypatch, text_of("mixed-pgsql.yaml"))
    assert "Relation db:5: myapp:db (client) <-> postgresql:db (server)\n" in out
    assert ("Verdict: myapp/0 ready (db:5), myapp/0 not ready (database:7) (exit status 1)") in out


@pytest.mark.parametrize(
    ("named", "expected"),
    [("postgresql_client", "postgresql_client"), ("pgsql", "pgsql"), ("mysql_client", None)],
)
def test_the_interface_named_in_the_input_decides(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    named: str,
    expected: Optional[str],
) -> None:
    # `juju show-unit` prints no interface; other tools' output may
    doc = doc_of("not-answered.yaml")
    for unit in ("myapp/0", "postgresql/0"):
        item_of(doc, unit, "database")["interface"] = named
    code, out, err = run_doctor(capsys, monkeypatch, json.dumps(doc), "--json")
    if expected is None:
        assert code == 2
        assert "no pgsql relation found" in err
        assert "nor a postgresql_client one" in err
        return
    (rel,) = json.loads(out)["relations"]
    assert rel["interface"] == expected


def test_recognised_by_the_requirer_bag_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # only the provider's show-unit (Juju 3): the request, nothing of the provider's answer
    doc = {"postgresql/0": doc_of("pg16-vm-secrets.yaml")["postgresql/0"]}
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    rel = relation(report, "database:7")
    assert rel["interface"] == "postgresql_client"
    assert (rel["client"], rel["server"]) == ("myapp", "postgresql")
    assert rel["provider"]["visible"] is False
    entry = unit_entry(report, "database:7", "myapp/0")
    assert entry["verdict"] == C
    assert codes(entry) == [doctor.SERVER_APP_BAG_NOT_VISIBLE]


def test_recognised_by_the_provider_bag_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # only the requirer's show-unit, without data_interfaces' unit bags: the provider's answer
    doc = {"myapp/0": doc_of("pg16-vm-secrets.yaml")["myapp/0"]}
    item = item_of(doc, "myapp/0", "database")
    del item["application-data"]["data"]
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    rel = relation(report, "database:7")
    assert (rel["interface"], rel["client"], rel["server"]) == (
        "postgresql_client",
        "myapp",
        "postgresql",
    )
    entry = unit_entry(report, "database:7", "myapp/0")
    assert entry["verdict"] == C
    assert codes(entry) == [doctor.REQUEST_NOT_VISIBLE, SNV]


def _provider_side_of_the_old_requirer() -> Dict[str, Any]:
    # `juju show-unit postgresql/0` alone, Juju 2.9: the requirer wrote only `database`; its
    # unit bag holds data_interfaces' `data` snapshot of the provider's answer, in clear
    return {"postgresql/0": doc_of("pg14-vm-plaintext.yaml")["postgresql/0"]}


@pytest.mark.parametrize("args", [(), ("--endpoint", "database"), ("--juju-version", "2.9.42")])
def test_recognised_by_the_requirers_snapshot_of_the_answer(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: Tuple[str, ...]
) -> None:
    text = json.dumps(_provider_side_of_the_old_requirer())
    code, report = doctor_json(capsys, monkeypatch, text, *args)
    assert code == 1
    rel = relation(report, "database:7")
    assert (rel["interface"], rel["client"], rel["server"]) == (
        "postgresql_client",
        "myapp",
        "postgresql",
    )
    assert rel["request"]["database"] == "mydb"
    assert rel["provider"]["visible"] is False
    (finding,) = rel["findings"]
    assert finding["code"] == doctor.PLAINTEXT_PASSWORD
    assert (
        "a password is in clear in the data snapshot data_interfaces keeps of postgresql's "
        "application databag in myapp/0's databag"
    ) in finding["message"]
    assert "myapp requests no secrets" in finding["advice"]
    entry = unit_entry(report, "database:7", "myapp/0")
    assert entry["verdict"] == C
    assert codes(entry) == [doctor.SERVER_APP_BAG_NOT_VISIBLE]
    assert entry["run"][0].startswith("juju show-unit myapp/0 postgresql/0 --format json")
    code, out, err = run_doctor(capsys, monkeypatch, text, *args)
    assert code == 1
    assert "  ! [plaintext-password] postgresql: a password is in clear" in out
    assert_no_password(out + err)


def test_a_request_of_database_alone_is_told_by_the_servers_endpoint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Juju 2.9 (no requested-secrets), nothing answered yet, only PostgreSQL 14's show-unit:
    # `database` alone is a request of either interface; the charm's endpoint names it
    doc = {"postgresql/0": doc_of("mixed-pgsql.yaml")["postgresql/0"]}
    del item_of(doc, "postgresql/0", "database")["application-data"]["requested-secrets"]
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    interfaces = {r["relation"]: r["interface"] for r in report["relations"]}
    assert interfaces == {"db:5": "pgsql", "database:7": "postgresql_client"}
    # the same relations of another charm (whatever its application's name): by keys only
    doc["postgresql/0"]["charm"] = "local:mydb-0"
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    interfaces = {r["relation"]: r["interface"] for r in report["relations"]}
    assert interfaces == {"db:5": "pgsql", "database:7": "pgsql"}


def test_a_relation_without_data_needs_endpoint_and_interface_names_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = _provider_side_of_the_old_requirer()
    item = item_of(doc, "postgresql/0", "database")
    item["application-data"] = {}
    del item["related-units"]["myapp/0"]["data"]["data"]
    text = json.dumps(doc)
    code, _, err = run_doctor(capsys, monkeypatch, text)
    assert code == 2
    assert "postgresql:database <-> myapp:database (no pgsql keys)" in err
    assert "name it with --endpoint" in err
    assert "--interface postgresql_client" in err
    # --endpoint: the PostgreSQL charm's `database` endpoint is postgresql_client
    code, report = doctor_json(capsys, monkeypatch, text, "--endpoint", "database")
    assert code == 1
    (rel,) = report["relations"]
    assert (rel["interface"], rel["client"], rel["server"]) == (
        "postgresql_client",
        "myapp",
        "postgresql",
    )
    # --interface decides for the relations on --endpoint
    code, report = doctor_json(
        capsys, monkeypatch, text, "--endpoint", "database", "--interface", "pgsql"
    )
    assert code == 1
    assert [r["interface"] for r in report["relations"]] == ["pgsql"]
    # ... and only with --endpoint
    code, _, err = run_doctor(capsys, monkeypatch, text, "--interface", "postgresql_client")
    assert code == 2
    assert "--interface needs --endpoint" in err
    with pytest.raises(doctor.InputError, match="not one of pgsql, postgresql_client"):
        doctor.diagnose(doctor.parse_units(doc, "x"), endpoint="database", interface="mysql_client")


def test_interface_forces_the_reading_of_a_relation_with_keys(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = text_of("mixed-pgsql.yaml")
    args = ("--endpoint", "database", "--interface", "pgsql")
    code, report = doctor_json(capsys, monkeypatch, text, *args)
    assert code == 1
    interfaces = {r["relation"]: r["interface"] for r in report["relations"]}
    assert interfaces == {"db:5": "pgsql", "database:7": "pgsql"}
    _, out, err = run_doctor(capsys, monkeypatch, text, *args)
    assert_no_password(out + err)
    # an interface the input names still decides
    doc = doc_of("mixed-pgsql.yaml")
    for unit in ("myapp/0", "postgresql/0"):
        item_of(doc, unit, "database")["interface"] = "postgresql_client"
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc), *args)
    assert relation(report, "database:7")["interface"] == "postgresql_client"


def test_another_database_with_the_same_keys_is_not_postgresql(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # mysql_client (data_interfaces too): a mysql:// URI or a MySQL charm rules it out
    doc = doc_of("pg14-vm-plaintext.yaml")
    bag = item_of(doc, "myapp/0", "database")["application-data"]
    bag["uris"] = "mysql://relation-7:Kp7vQ2xLmN9rT4wZ@10.0.0.5:3306/mydb"
    code, out, err = run_doctor(capsys, monkeypatch, json.dumps(doc))
    assert code == 2, out
    assert_no_password(out + err)
    doc = doc_of("pg16-vm-secrets.yaml")
    doc["postgresql/0"]["charm"] = "ch:amd64/jammy/mysql-196"
    code, _, err = run_doctor(capsys, monkeypatch, json.dumps(doc))
    assert code == 2
    assert "no pgsql relation found" in err


def test_juju_4_orientation(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Juju 4 shows each unit's own application bag: swap them; same verdict, other reading
    doc = doc_of("pg16-vm-secrets.yaml")
    a, b = item_of(doc, "myapp/0", "database"), item_of(doc, "postgresql/0", "database")
    a["application-data"], b["application-data"] = b["application-data"], a["application-data"]
    _, out, _ = run_doctor(capsys, monkeypatch, json.dumps(doc))
    assert "application-data shows the shown unit's own application" in out
    _, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    assert report["relations"][0]["application-data-shows"] == doctor.OWN
    entry = unit_entry(report, "database:7", "myapp/0")
    assert (entry["verdict"], codes(entry)) == (RS, [SNV])
    _, three = doctor_json(capsys, monkeypatch, text_of("pg16-vm-secrets.yaml"))
    assert relation(three, "database:7")["request"] == relation(report, "database:7")["request"]


# ---------------------------------------------------------------------------------------------
# One readiness implementation
# ---------------------------------------------------------------------------------------------


def test_the_verdict_is_evaluate_clients(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: List[Tuple[Any, ...]] = []
    real = protocol.evaluate_client

    def spy(*args: Any, **kwargs: Any) -> protocol.Readiness:
        result = real(*args, **kwargs)
        calls.append((*args, kwargs, result))
        return result

    # the doctor's postgresql_client module calls the one implementation: watch its calls
    monkeypatch.setattr("pgsql.doctor._client_verdict.evaluate_client", spy)
    _, report = doctor_json(capsys, monkeypatch, text_of("pg16-vm-secrets.yaml"))
    (shown_call, stand_in_call) = calls
    request, app_bag, unit_bags, secrets, kwargs, result = shown_call
    assert request == protocol.Request("mydb", ("charmed_dml",))
    assert app_bag["endpoints"] == "10.0.0.5:5432"
    assert set(unit_bags) == {"postgresql/0", "postgresql/1", "postgresql/2"}
    # first every referenced secret handed in as unreadable: the verdict shown
    refs = protocol.secret_fields(app_bag)
    assert dict(secrets) == dict.fromkeys(refs.values())
    # the provider's units are listed, as the charm passes relation.units
    assert kwargs == {"remote_app": "postgresql", "units_present": True}
    assert not result.ready
    assert {r.code for r in result.reasons if r.blocking} == {protocol.SECRET_NOT_GRANTED}
    entry = unit_entry(report, "database:7", "myapp/0")
    assert entry["database"] == result.database == "mydb"
    assert entry["version"] == result.version == "16.14"
    assert entry["master"] is None  # nothing built from the stand-ins is shown
    assert [set(b["reasons"]) for b in entry["bags"]] == [{SNV}]
    # then the same bags, the secrets' content stood in for: ready, so ready as far as shown
    assert stand_in_call[:3] == shown_call[:3]
    stand_ins = stand_in_call[3]
    assert set(stand_ins) == set(refs.values())
    assert stand_ins[refs["tls"]] == {}  # the tls fields then come from the bag
    assert set(stand_ins[refs["user"]]) == {"username", "password"}
    assert stand_in_call[5].ready
    assert entry["verdict"] == RS


def _stand_in_values() -> List[str]:
    calls: List[Mapping[str, Any]] = []
    real = protocol.evaluate_client

    def spy(*args: Any, **kwargs: Any) -> protocol.Readiness:
        calls.append(args[3])
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("pgsql.doctor._client_verdict.evaluate_client", spy)
        units = [
            u
            for d in doctor.load_documents(text_of("pg16-vm-secrets.yaml").encode(), "x")
            for u in doctor.parse_units(d, "x")
        ]
        doctor.diagnose(units)
    values = {v for secrets in calls for c in secrets.values() if c for v in c.values()}
    assert len(values) == 2
    return sorted(values)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_stand_ins_are_never_shown(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    stand_ins = _stand_in_values()
    for args in ((), ("--json",), ("--juju-version", "4.0"), ("--unit", "myapp/0")):
        _, out, err = run_doctor(capsys, monkeypatch, text_of(name), *args)
        for value in stand_ins:
            assert value not in out + err


def test_secret_extra_may_hold_any_field_so_it_is_cannot_tell(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = doc_of("pg16-vm-secrets.yaml")
    bag = item_of(doc, "myapp/0", "database")["application-data"]
    bag["secret-extra"] = "secret://2f4c9e1a-7b3d-4e8f-9a6b-1c2d3e4f5a6b/d7f1qk8mp25c77bn3kx0"
    code, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    assert code == 1
    entry = unit_entry(report, "database:7", "myapp/0")
    assert (entry["verdict"], codes(entry)) == (C, [SNV])
    (note,) = entry["reasons"]
    assert "secret-extra, secret-tls, secret-user" in note["message"]
    assert "cannot be told from here" in note["message"]


def test_what_only_the_stand_ins_show_is_not_ready(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # endpoints and a TLS secret, but credentials neither in the bag nor in a user secret
    doc = doc_of("pg16-vm-secrets.yaml")
    del item_of(doc, "myapp/0", "database")["application-data"]["secret-user"]
    code, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    assert code == 1
    entry = unit_entry(report, "database:7", "myapp/0")
    assert entry["verdict"] == N
    assert codes(entry, blocking=True) == [protocol.NO_CREDENTIALS]
    (note,) = [r for r in entry["reasons"] if r["code"] == SNV]
    assert "nothing else" not in note["message"]


def test_ready_as_shown_needs_the_rest_of_the_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the request not visible: cannot tell, though nothing else keeps it from being ready
    doc = {"myapp/0": doc_of("pg16-vm-secrets.yaml")["myapp/0"]}
    code, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    assert code == 1
    entry = unit_entry(report, "database:7", "myapp/0")
    assert entry["verdict"] == C
    (note,) = [r for r in entry["reasons"] if r["code"] == SNV]
    assert note["message"].endswith("nothing else in this input keeps it from being ready")
    assert entry["run"] == ["juju show-unit myapp/0 postgresql/0 --format json | pgsql doctor"]
    # the PgBouncer subordinate: only the unit serving myapp/0 decides
    doc = doc_of("pgbouncer-vm-ready.yaml")
    item = item_of(doc, "myapp/0", "database")
    item["related-units"]["pgbouncer/0"]["data"]["state"] = "starting"
    code, report = doctor_json(capsys, monkeypatch, json.dumps(doc), "--unit", "myapp/0")
    assert code == 1
    entry = unit_entry(report, "database:9", "myapp/0")
    assert entry["verdict"] == N
    assert codes(entry, blocking=True) == [protocol.SUBORDINATE_NOT_READY]


def test_a_ready_relation_is_ready_by_evaluate_client_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = doc_of("pg14-vm-plaintext.yaml")
    provider = item_of(doc, "myapp/0", "database")["application-data"]
    readiness = protocol.evaluate_client(
        protocol.Request("mydb"), provider, {"postgresql/0": {}}, {}, remote_app="postgresql"
    )
    _, report = doctor_json(capsys, monkeypatch, text_of("pg14-vm-plaintext.yaml"))
    entry = unit_entry(report, "database:7", "myapp/0")
    assert readiness.ready
    assert entry["verdict"] == R
    assert readiness.master is not None
    assert entry["master"] == doctor.target(readiness.master)
    assert entry["standbys"] == [doctor.target(s) for s in readiness.standbys]


# ---------------------------------------------------------------------------------------------
# docs/doctor.md's postgresql_client example is the doctor's output
# ---------------------------------------------------------------------------------------------


def test_docs_example_is_the_real_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    examples = re.findall(r"<!-- example: (\S+) -->\n```text\n(.*?)```", DOCS.read_text(), re.S)
    assert len(examples) == 2
    for name, shown in examples:
        _, out, _ = run_doctor(capsys, monkeypatch, text_of(name))
        assert out == shown, name


# ---------------------------------------------------------------------------------------------
# Altered vectors: never a crash, never a password
# ---------------------------------------------------------------------------------------------

_JUNK = st.text(alphabet="abcxyz019:/@.,[]{}\"' -_", max_size=24)


def _is_bag(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    return all(isinstance(v, str) for v in cast(Dict[str, Any], value).values())


@st.composite
def altered(draw: st.DrawFn) -> Tuple[str, Any]:
    """A vector whose databags lost, blanked, retyped or replaced values (secrets kept whole)."""
    name = draw(st.sampled_from(sorted(EXPECTED)))
    doc = copy.deepcopy(doc_of(name))

    def walk(node: Any) -> None:
        if _is_bag(node):
            bag: Dict[str, Any] = node
            for key in list(bag):
                secret = any(pw in bag[key] for pw in ALL_PASSWORDS)
                fate = draw(st.sampled_from(["keep"] * 6 + ["drop", "blank", "junk", "cut"]))
                if fate == "drop":
                    del bag[key]
                elif fate == "blank":
                    bag[key] = ""
                elif fate == "junk" and not secret:
                    bag[key] = draw(_JUNK)
                elif fate == "cut" and key == "data":
                    bag[key] = bag[key][: draw(st.integers(0, len(bag[key])))]
            if draw(st.integers(0, 9)) == 0:
                bag[draw(st.sampled_from(["subordinated", "state", "endpoints", "x"]))] = draw(
                    _JUNK
                )
            return
        if isinstance(node, dict):
            for value in list(cast(Dict[str, Any], node).values()):
                walk(value)
        elif isinstance(node, list):
            for value in cast(List[Any], node):
                walk(value)

    walk(doc)
    return name, doc


@chaos_settings(scaled(25, 150, 3000))
@given(
    case=altered(), as_json=st.booleans(), version=st.sampled_from([None, "2.9.42", "3.6", "4.0"])
)
def test_altered_vectors_never_crash_nor_leak(
    case: Tuple[str, Any], as_json: bool, version: Optional[str]
) -> None:
    name, doc = case
    argv = ["doctor", "-"]
    if as_json:
        argv.append("--json")
    if version:
        argv += ["--juju-version", version]
    raw = json.dumps(doc).encode()
    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")
    saved = sys.stdin
    sys.stdin = stdin
    try:
        with time_limit(10), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    finally:
        sys.stdin = saved
    assert code in (0, 1, 2), code
    said = out.getvalue() + err.getvalue()
    assert said.strip(), name
    assert_no_password(said)
