"""A refused request name never echoes a password it holds (mask_value, the one masking rule).

A name with mangled separators (``mydb,password=s3cret``, from a config option pasted from a
connection string) is refused loudly, and the message shows the name with the secret masked.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

from pgsql import protocol
from pgsql.protocol import Request, RequestError

SECRET = "S3cret-In-A-Name"

REFUSED: Dict[str, Dict[str, Any]] = {
    "database-comma": {"database": f"mydb,password={SECRET}"},
    "database-newline": {"database": f"mydb\npassword={SECRET}"},
    "database-whitespace": {"database": f" password={SECRET}"},
    "role-comma": {"database": "x", "roles": [f"r,password={SECRET}"]},
    "extension-malformed": {"database": "x", "extensions": [f"citext password={SECRET}"]},
    "username-comma": {"database": "x", "username": f"u,password={SECRET}"},
}


@pytest.mark.parametrize("kwargs", REFUSED.values(), ids=list(REFUSED))
def test_a_refused_request_name_is_shown_with_its_password_masked(kwargs: Dict[str, Any]) -> None:
    with pytest.raises(RequestError) as info:
        Request.build(**kwargs)
    assert SECRET not in str(info.value)
    assert "password=********" in str(info.value)


@pytest.mark.parametrize(
    ("request_", "interface"),
    [
        (Request.build(database=f"a password={SECRET}*"), "pgsql"),
        (Request.build(database="x", username=f"pg_x password={SECRET}"), "postgresql_client"),
        (Request.build(database="x", username=f"u password={SECRET}"), "pgsql"),
    ],
    ids=["prefix-on-pgsql", "reserved-user-prefix", "username-on-pgsql"],
)
def test_an_interface_rule_refusing_a_name_masks_its_password(
    request_: Request, interface: str
) -> None:
    with pytest.raises(RequestError) as info:
        protocol.check_request(request_, interface)
    assert SECRET not in str(info.value)


def test_a_refused_pg16_role_is_shown_with_its_password_masked() -> None:
    problem = protocol.pg16_roles_problem([f"password={SECRET}"])
    assert problem is not None
    assert SECRET.lower() not in problem.lower()
