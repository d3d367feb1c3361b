"""A pgsql server bag with a password in a mangled value never puts it in a reason.

Readiness reasons become the unit's status message (``juju status`` shows it to anyone): a
``database`` or ``allowed-subnets`` value that holds ``password=...`` (mangled separators) is
quoted through the one masking rule, as the ``postgresql_client`` reasons already were.
"""

from __future__ import annotations

import pytest

from pgsql import protocol
from pgsql.protocol import Request

SECRET = "Zq9-Reason-Secret"
GOOD = {
    "database": "mydb",
    "allowed-subnets": "10.0.0.10/32",
    "allowed-units": "myapp/0",
    "master": "dbname=mydb host=10.0.0.20 user=u password=pw",
    "version": "16",
}
MANGLED = [
    f"x password={SECRET}",
    f"x|password={SECRET}|y",
    f"postgresql://u:{SECRET}@h/d",
    f"host=h password='{SECRET}",
]


@pytest.mark.parametrize("key", ["database", "allowed-subnets"])
@pytest.mark.parametrize("value", MANGLED)
@pytest.mark.parametrize("where", ["unit", "app"])
def test_a_mangled_server_value_is_masked_in_the_reasons(key: str, value: str, where: str) -> None:
    bag = {**GOOD, key: value}
    app_bag, unit_bag = (bag, {}) if where == "app" else ({}, bag)
    r = protocol.evaluate(
        Request.build(database="mydb"),
        "myapp/0",
        {"egress-subnets": "10.0.0.10/32"},
        "postgresql",
        app_bag,
        {"postgresql/0": unit_bag},
    )
    assert not r.ready
    shown = [r.why] + [f"{x.message} {x.advice}" for x in r.reasons]
    assert all(SECRET not in text for text in shown), shown
