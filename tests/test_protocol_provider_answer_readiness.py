"""``pgsql.protocol.provider_answer`` judged by the client's own rule: whatever it renders
is ready (or waits for a subordinate), and its repr hides the password.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest

from pgsql import protocol
from pgsql.protocol import (
    DatabaseRequest,
    Request,
    provider_answer,
    read_database_request,
)

PASSWORD = "Hv5qTz8LmW2rNc4K"
REQUEST = Request.build(database="mydb")


def _answer(requested: Tuple[str, ...], **kw: Any) -> Any:
    request = DatabaseRequest("mydb", requested_secrets=requested)
    args: Dict[str, Any] = {
        "endpoints": ["10.0.0.5:5432"],
        "username": "relation_id_7",
        "password": PASSWORD,
        "read_only_endpoints": ["10.0.0.6:5432"],
        "version": "16.4",
    }
    args.update(kw)
    return provider_answer(request, **args)


@pytest.mark.parametrize("requested", [(), ("password",), protocol.REQUESTED_SECRETS])
def test_provider_answer_repr_hides_the_password(requested: Tuple[str, ...]) -> None:
    """ProviderAnswer is what a provider charm holds and logs; its repr is shown by pytest."""
    answer = _answer(requested)
    assert PASSWORD not in repr(answer)
    assert PASSWORD not in str(answer)


def _ready_codes(answer: Any, units: Dict[str, Dict[str, str]]) -> Tuple[bool, List[str]]:
    uris = {group: f"secret:review{group}" for group in answer.secrets}
    bag = answer.databag(uris)
    secrets = {uris[group]: dict(content) for group, content in answer.secrets.items()}
    readiness = protocol.evaluate_client(REQUEST, bag, units, secrets)
    return readiness.ready, sorted(r.code for r in readiness.reasons if r.blocking)


def test_an_answer_to_a_requirer_listing_endpoints_in_requested_secrets_is_judged_ready() -> None:
    """data_interfaces' DatabaseRequires(additional_secret_fields=[...]) may list any field.

    provider_answer then moves ``endpoints`` into ``secret-extra`` (as data_interfaces' provider
    does), and the library's own requirer rule no longer sees an answer: docs/protocol.md says
    whatever provider_answer renders is judged ready by evaluate_client.
    """
    answer = _answer(("username", "password", "endpoints"))
    assert _ready_codes(answer, {"postgresql/0": {}}) == (True, [])


def test_a_subordinate_answer_stays_not_ready_when_subordinated_is_listed_in_secrets() -> None:
    """``subordinated`` moved into ``secret-extra`` hides it from the readiness rule.

    The PgBouncer unit has not said ``state: ready``: the requirer must wait, whichever bag
    the provider put ``subordinated`` in.
    """
    answer = _answer(
        ("username", "password", "subordinated"),
        endpoints=["localhost:6432"],
        read_only_endpoints=["localhost:6432"],
        read_only_database="mydb_readonly",
        subordinated=True,
    )
    assert _ready_codes(answer, {"pgbouncer/0": {}}) == (False, ["subordinate-not-ready"])


def test_a_pgbouncer_answer_waits_for_the_unit_state_then_serves_the_readonly_database() -> None:
    answer = _answer(
        protocol.REQUESTED_SECRETS,
        endpoints=["localhost:6432"],
        read_only_endpoints=["localhost:6432"],
        read_only_database="mydb_readonly",
        subordinated=True,
    )
    assert _ready_codes(answer, {"pgbouncer/0": {}}) == (False, ["subordinate-not-ready"])
    assert _ready_codes(answer, {"pgbouncer/0": {"state": "ready"}}) == (True, [])
    uris = {group: f"secret:review{group}" for group in answer.secrets}
    secrets = {uris[g]: dict(c) for g, c in answer.secrets.items()}
    readiness = protocol.evaluate_client(
        REQUEST, answer.databag(uris), {"pgbouncer/0": {"state": "ready"}}, secrets
    )
    assert [s.dbname for s in readiness.standbys] == ["mydb_readonly"]
    assert readiness.master is not None
    assert readiness.master.dbname == "mydb"


def test_read_database_request_normalises_roles_and_the_client_sees_no_request_change() -> None:
    # a data_interfaces requirer writes its roles as the charm gave them: unsorted, spaced
    bag = {
        "database": "mydb",
        "extra-user-roles": "charmed_read, charmed_dml,charmed_read",
        "requested-secrets": '["username","password"]',
    }
    request, problems = read_database_request(bag)
    assert problems == ()
    assert request is not None
    assert request.roles == ("charmed_dml", "charmed_read")
    answer = provider_answer(request, endpoints="10.0.0.5:5432", username="u", password=PASSWORD)
    readiness = protocol.evaluate_client(
        protocol.requirer_request(bag),
        answer.databag({"user": "secret:x"}),
        {"postgresql/0": {}},
        {"secret:x": answer.secrets["user"]},
    )
    assert readiness.ready
    assert "request-changed" not in [r.code for r in readiness.reasons]
