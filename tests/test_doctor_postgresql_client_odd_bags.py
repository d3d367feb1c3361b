"""``pgsql doctor`` on ``postgresql_client`` provider bags: old requirers, v1 requests and
odd bags; never a crash nor a printed password.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml
from test_doctor_support import doctor_json, run_doctor

VECTORS = Path(__file__).parent / "data" / "show-unit-postgresql-client"
REQUESTED = '["username", "password", "tls", "tls-ca", "uris", "read-only-uris"]'
JUJU_KEYS = {"egress-subnets": "10.0.0.10/32", "ingress-address": "10.0.0.10"}
PROVIDER_KEYS = {"egress-subnets": "10.0.0.5/32", "ingress-address": "10.0.0.5"}


def _show_unit(
    name: str, charm: str, app_data: Dict[str, str], units: Dict[str, Dict[str, str]]
) -> Dict[str, Any]:
    return {
        name: {
            "opened-ports": [],
            "charm": charm,
            "leader": True,
            "relation-info": [
                {
                    "relation-id": 7,
                    "endpoint": "database",
                    "related-endpoint": "database",
                    "application-data": app_data,
                    "related-units": {u: {"in-scope": True, "data": d} for u, d in units.items()},
                }
            ],
        }
    }


def test_doctor_recognises_the_provider_side_of_an_old_requirer_and_flags_its_snapshot(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`juju show-unit postgresql/0` alone, from the project's own Juju 2.9 vector.

    The requirer (data_interfaces on Juju 2.9) wrote only ``database``; its unit bag holds the
    ``data`` snapshot data_interfaces keeps, with the provider's password in clear. The doctor
    says there is no relation at all (exit 2) and does not flag the password.
    """
    whole = yaml.safe_load((VECTORS / "pg14-vm-plaintext.yaml").read_text())
    text = yaml.safe_dump({"postgresql/0": whole["postgresql/0"]})
    code, out, err = run_doctor(capsys, monkeypatch, text)
    assert "Kp7vQ2xLmN9rT4wZ" not in out + err
    assert code == 1, err
    assert "[postgresql_client]" in out
    assert "plaintext-password" in out


def test_doctor_does_not_say_a_v1_request_will_get_its_password_in_clear(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A v1 request is never answered by a v0 provider: nothing will be published at all."""
    v1 = {"version": "v1", "requests": json.dumps([{"resource": "mydb", "salt": "ab12cd34"}])}
    doc = _show_unit("myapp/0", "local:myapp-0", {}, {"postgresql/0": PROVIDER_KEYS})
    doc.update(_show_unit("postgresql/0", "ch:amd64/noble/postgresql-843", v1, {}))
    code, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    assert code == 1
    (rel,) = report["relations"]
    found = [f["code"] for f in rel["findings"]]
    assert "likely-v1-request" in found
    assert "secrets-not-requested" not in found


PLAIN = "Pq4wEr7tYu1iOp3A"
SECRETS_BAG = {
    "database": "mydb",
    "endpoints": "10.0.0.5:5432",
    "read-only-endpoints": "10.0.0.6:5432",
    "secret-user": "secret:d7f1qk8mp25c77bn3k0g",
    "version": "16.4",
}
ODD_PROVIDER_BAGS: Dict[str, Dict[str, str]] = {
    "uri-in-endpoints": dict(SECRETS_BAG, endpoints=f"postgresql://u:{PLAIN}@10.0.0.5:5432/mydb"),
    "kv-in-read-only-endpoints": dict(
        SECRETS_BAG, **{"read-only-endpoints": f"host=10.0.0.6 password={PLAIN}"}
    ),
    "uri-in-database": dict(SECRETS_BAG, database=f"postgresql://u:{PLAIN}@h/mydb"),
    "uri-in-secret-user": dict(SECRETS_BAG, **{"secret-user": f"postgresql://u:{PLAIN}@h/db"}),
    "password-in-query": {
        "database": "mydb",
        "endpoints": "10.0.0.5:5432",
        "username": "u",
        "uris": f"postgresql://10.0.0.5:5432/mydb?user=u&password={PLAIN}",
    },
    "doubled-port-in-clear": {
        "database": "mydb",
        "endpoints": "h:5432",
        "read-only-endpoints": "r:5432",
        "username": "u",
        "password": PLAIN,
        "read-only-uris": f"postgresql://u:{PLAIN}@r:5432:5432/mydb",
    },
    "pgbouncer-shouting": {
        "database": "mydb",
        "endpoints": "localhost:6432",
        "subordinated": "TRUE",
        "username": "u",
        "password": PLAIN,
    },
    "data-not-json": dict(SECRETS_BAG, data="{not json"),
}


@pytest.mark.parametrize("case", sorted(ODD_PROVIDER_BAGS))
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_doctor_on_odd_provider_bags_never_crashes_nor_prints_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, case: str, fmt: str
) -> None:
    request = {"database": "mydb", "requested-secrets": REQUESTED}
    doc = _show_unit("myapp/0", "local:myapp-0", ODD_PROVIDER_BAGS[case], {"pg/0": PROVIDER_KEYS})
    doc.update(_show_unit("pg/0", "ch:amd64/noble/postgresql-843", request, {"myapp/0": JUJU_KEYS}))
    text = json.dumps(doc) if fmt == "json" else yaml.safe_dump(doc)
    for args in ((), ("--json",)):
        code, out, err = run_doctor(capsys, monkeypatch, text, *args)
        assert code in (0, 1), err
        assert "Traceback" not in out + err
        assert PLAIN not in out + err
