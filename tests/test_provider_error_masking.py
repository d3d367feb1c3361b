"""No password in the provides side's messages (issue #17, point 3).

``publish(endpoints=["relation-7:PW@10.0.0.5:5432"])`` raised a ValueError quoting ``PW``. Every
message of the provides side (errors for the caller, problems read from remote data) masks a
``user:password@`` written without a ``scheme://``, as the requires side's reasons do.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest
from ops.testing import Harness
from test_server import META as PGSQL_META
from test_server import ServerCharm, add_client, relation

from pgsql import ConnectionString
from pgsql.protocol import (
    REQUESTED_SECRETS,
    DatabaseRequest,
    provider_answer,
    read_database_request,
)

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")

PW = "Pl41nPassw0rd"
WITH_PASSWORD = f"relation-7:{PW}@10.0.0.5:5432"
REQUEST = DatabaseRequest("mydb", requested_secrets=REQUESTED_SECRETS)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"endpoints": [WITH_PASSWORD]},
        {"endpoints": WITH_PASSWORD},
        {"endpoints": f"10.0.0.4:5432,{WITH_PASSWORD}"},
        {"endpoints": ["10.0.0.5:5432"], "read_only_endpoints": [WITH_PASSWORD]},
        {"endpoints": [f"postgresql://relation-7:{PW}@10.0.0.5:5432/mydb"]},
        {"endpoints": ["10.0.0.5:5432"], "database": f"u:{PW}@h,x"},
        {"endpoints": ["10.0.0.5:5432"], "read_only_database": f"u:{PW}@h\nx"},
    ],
    ids=["list", "str", "second", "read-only", "uri", "database", "read-only-database"],
)
def test_provider_answer_errors_never_quote_the_password(kwargs: Dict[str, Any]) -> None:
    # masked, not dropped: the caller still sees which entry
    with pytest.raises(ValueError, match=r"\*{8}") as info:
        provider_answer(REQUEST, username="relation-7", password=PW, **kwargs)
    assert PW not in str(info.value)


def test_the_endpoint_entry_is_still_recognisable() -> None:
    with pytest.raises(ValueError, match=r"'\*{8}@10\.0\.0\.5:5432'"):
        provider_answer(REQUEST, endpoints=[WITH_PASSWORD], username="u", password=PW)


@pytest.mark.parametrize(
    "bag",
    [
        {"database": f"u:{PW}@h,x"},
        {"database": f"u:{PW}@h,x*"},  # a prefix request with an unusable name
        {"database": "mydb", "extra-user-roles": f"ok,u:{PW}@h\nx"},
    ],
    ids=["database", "prefix", "role"],
)
def test_requirer_data_problems_never_quote_the_password(bag: Dict[str, str]) -> None:
    _, problems = read_database_request(bag)
    assert problems
    assert not any(PW in p for p in problems), problems


# ---- pgsql (PostgreSQLServer) ----------------------------------------------------------------


@pytest.fixture
def harness() -> Any:
    h = Harness(ServerCharm, meta=PGSQL_META)
    h.set_leader(True)
    h.begin()
    yield h
    h.cleanup()


def test_pgsql_publish_errors_never_quote_the_password(harness: Any) -> None:
    rel_id = add_client(harness, units=1)
    rel = relation(harness, rel_id)
    master = ConnectionString(host="10.0.0.5", dbname="mydb", user="u", password=PW)
    with pytest.raises(ValueError, match=r"'\*{8}@h,x'") as info:
        harness.charm.db.publish(rel, master=master, database=f"u:{PW}@h,x")
    assert PW not in str(info.value)
    with pytest.raises(ValueError, match=r"cannot grant '\*{8}@myapp/0'") as info:
        harness.charm.db.publish(rel, master=master, granted_units=[f"u:{PW}@myapp/0"])
    assert PW not in str(info.value)


def test_pgsql_client_request_problems_never_quote_the_password(harness: Any) -> None:
    rel_id = add_client(harness, units=1)
    harness.update_relation_data(
        rel_id,
        "myapp",
        {"database": f"u:{PW}@h\nx", "roles": f"u:{PW}@h\ny", "extensions": f"u:{PW}@h(z"},
    )
    problems = harness.charm.db.request_problems(relation(harness, rel_id))
    assert len(problems) == 3, problems
    assert not any(PW in p for p in problems), problems
