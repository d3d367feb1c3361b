"""Malformed ``pgsql`` server data (unterminated quotes, unknown keywords, huge values, bad
Unicode and NULs, bad subnets) never raises into the charm's hook: not ready, with a reason.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest
from fix_client_pgsql_scenario import META, Recorder
from fix_client_pgsql_scenario import relation as _relation
from needs import requires_scenario

testing: Any = requires_scenario()


@pytest.mark.parametrize(
    "bag",
    [
        {"master": "host='unterminated", "database": "mydb", "allowed-subnets": "10.0.0.10/32"},
        {"master": "hots=db", "database": "mydb"},
        {"master": "x" * 200_000, "standbys": "y=" * 50_000, "database": "mydb"},
        {"master": "host=\udcff\u202e\u0000", "allowed-subnets": "\u2603,,", "database": "mydb"},
        {"master": "host=db", "standbys": "dbname='a,host=b", "allowed-units": "\n\n"},
        {
            "allowed-subnets": "not-a-subnet",
            "master": "host=h",
            "database": "mydb",
            "extensions": ",",
        },
    ],
)
def test_malformed_remote_data_is_not_ready_with_a_reason(bag: Dict[str, str]) -> None:
    rel = _relation({0: bag}, remote_app_data={"master": "\x00", "version": "\ud800"})
    ctx = testing.Context(Recorder, meta=META)
    with ctx(
        ctx.on.relation_changed(rel, remote_unit=0), testing.State(leader=True, relations={rel})
    ) as manager:
        manager.run()
        readiness = manager.charm.db.readiness()
    assert readiness is not None
    assert not readiness.ready
    assert readiness.why
    assert readiness.reasons
