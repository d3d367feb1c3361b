"""The passwords ``pgsql doctor`` and ``pgsql demo`` hide, found by one rule (``_passwords``)."""

from __future__ import annotations

import json
from typing import Any, Dict

from pgsql import demo, doctor
from pgsql._passwords import passwords_in, redact

# every way the two interfaces (and the example provider) carry a password
BAG: Dict[str, str] = {
    "master": "host=10.0.0.5 dbname=db user=u password=master-pw",
    "standbys": "host=10.0.0.6 password=standby-one\nhost=10.0.0.7 password=standby-two",
    "schema_password": "schema-pw",
    "uris": "postgresql://u:uri-pw@10.0.0.5:5432/db",
    "read-only-uris": "postgresql://u:ro-one@10.0.0.6/db,postgresql://u:ro-two@10.0.0.7/db",
    "data": json.dumps({"password": "snapshot-pw", "username": "u"}),
    "db-myapp": json.dumps({"user": "u", "password": "peer-entry-pw"}),
    "username": "relation_id_7",
    "endpoints": "10.0.0.5:5432",
}
FOUND = {
    "master-pw",
    "standby-one",
    "standby-two",
    "schema-pw",
    "uri-pw",
    "ro-one",
    "ro-two",
    "snapshot-pw",
    "peer-entry-pw",
}


def test_passwords_in_finds_every_password_of_both_interfaces_and_nothing_else() -> None:
    assert passwords_in(BAG) == FOUND


def test_passwords_in_reads_a_multi_host_uri_as_one_uri() -> None:
    assert passwords_in({"uris": "postgresql://u:multi-pw@h1:5432,h2:5432/db"}) == {"multi-pw"}


def test_passwords_in_hides_an_unparseable_connection_string_whole() -> None:
    raw = "host=h password='unterminated"
    assert raw in passwords_in({"master": raw})
    uri = "postgresql://u:uri-secret@h/db?bogus=1"
    assert {uri, "uri-secret"} <= passwords_in({"uris": uri})


def test_passwords_in_skips_values_too_short_to_hide() -> None:
    assert passwords_in({"password": "ab", "schema_password": " "}) == set()


def test_redact_replaces_the_longest_secret_first_and_ignores_an_empty_one() -> None:
    assert redact("pw=abcdef and abc", {"abc", "abcdef", ""}, "**") == "pw=** and **"


def test_demo_hides_every_password_the_doctor_hides() -> None:
    # the demo's scrubber and the doctor's redaction are fed by the same finder
    assert demo._secrets_of(BAG) == FOUND  # pyright: ignore[reportPrivateUsage]


def test_doctor_redacts_a_password_in_a_peer_entry_and_a_snapshot() -> None:
    unit: Dict[str, Any] = {
        "postgresql/0": {
            "charm": "postgresql",
            "leader": "true",
            "relation-info": [
                {
                    "relation-id": "5",
                    "endpoint": "database-peers",
                    "related-endpoint": "database-peers",
                    "application-data": {k: BAG[k] for k in ("data", "db-myapp")},
                    "local-unit": {"in-scope": "true", "data": {}},
                }
            ],
        }
    }
    docs = doctor.load_documents(json.dumps(unit).encode(), "x")
    units = [u for d in docs for u in doctor.parse_units(d, "x")]
    secrets = doctor.diagnose(units).secrets
    assert {"snapshot-pw", "peer-entry-pw"} <= secrets
    shown = doctor.redact(json.dumps(BAG), secrets)
    assert "snapshot-pw" not in shown
    assert "peer-entry-pw" not in shown
