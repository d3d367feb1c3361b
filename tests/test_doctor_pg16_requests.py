"""``pgsql doctor`` reports PostgreSQL 16's requests: prefixes, a requested user, refused names.

Built on the ``not-answered.yaml`` vector (myapp asked Charmed PostgreSQL 16 VM, which has
not answered), with the requirer's application bag altered.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List

import pytest
import yaml
from test_doctor_support import DATA, codes, doctor_json

VECTOR = DATA / "show-unit-postgresql-client" / "not-answered.yaml"


def _vector(requirer_app: Dict[str, str], provider_app: Any = None) -> str:
    doc: Dict[str, Any] = copy.deepcopy(yaml.safe_load(VECTOR.read_text()))
    # what postgresql/0 shows as myapp's application bag
    doc["postgresql/0"]["relation-info"][0]["application-data"] = requirer_app
    if provider_app is not None:
        doc["myapp/0"]["relation-info"][0]["application-data"] = provider_app
    return yaml.safe_dump(doc)


def _findings(report: Dict[str, Any]) -> List[Dict[str, Any]]:
    (rel,) = report["relations"]
    found: List[Dict[str, Any]] = rel.get("findings") or []
    return found


def _codes(report: Dict[str, Any]) -> List[str]:
    return sorted(f["code"] for f in _findings(report))


REQUESTED = '["username", "password", "tls", "tls-ca", "uris", "read-only-uris"]'


def test_doctor_reports_a_prefix_request_and_the_databases_served(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = {
        "database": "mydb_*",
        "prefix-databases": "mydb_a,mydb_b",
        "endpoints": "10.0.0.5:5432",
        "secret-user": "secret:d7f1qk8mp25c77bn3k0g",
        "version": "16.14",
    }
    _, report = doctor_json(
        capsys, monkeypatch, _vector({"database": "mydb_*", "requested-secrets": REQUESTED}, answer)
    )
    [prefix] = [f for f in _findings(report) if f["code"] == "prefix-request"]
    assert "'mydb_'" in prefix["message"]
    assert "mydb_a, mydb_b" in prefix["message"]


def test_doctor_reports_a_requested_user(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bag = {
        "database": "mydb",
        "requested-secrets": REQUESTED,
        "requested-entity-secret": "secret:d7f1qk8mp25c77bn3k1g",
    }
    _, report = doctor_json(capsys, monkeypatch, _vector(bag))
    assert "username-requested" in _codes(report)


def test_doctor_reports_a_database_name_postgresql_16_refuses(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, report = doctor_json(
        capsys, monkeypatch, _vector({"database": "postgres", "requested-secrets": REQUESTED})
    )
    [refused] = [f for f in _findings(report) if f["code"] == "name-refused"]
    assert "reserved on PostgreSQL 16" in refused["message"]


def test_doctor_reports_roles_postgresql_16_refuses_on_the_unit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bag = {
        "database": "mydb",
        "extra-user-roles": "charmed_read,charmed_dml",
        "requested-secrets": REQUESTED,
    }
    _, report = doctor_json(capsys, monkeypatch, _vector(bag))
    (rel,) = report["relations"]
    (unit,) = [u for u in rel["units"] if u["unit"] == "myapp/0"]
    assert "roles-refused" in codes(unit, blocking=False)
