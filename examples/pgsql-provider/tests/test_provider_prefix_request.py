"""provision.provision_prefix: a prefix request served as PostgreSQL 16 does, on a real server.

The login role gets CONNECT on every existing database whose name starts with the prefix (and
on no other), the list comes back sorted, and calling again (as the charm does on each change)
picks up a database created since.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List

import ops
import ops.testing
import psycopg
import pytest
from psycopg import sql

from pgsql._localpg import LocalPostgres
from pgsql.demo import load_charm

if getattr(ops.testing, "Context", None) is None:
    # the charm module (loaded for its provision.py) is written for ops >= 2.17
    pytest.skip("ops.testing.Context needs ops >= 2.17", allow_module_level=True)

# provision.py, as the charm imports it (its src/ is the import root only while it loads)
CHARM = load_charm(Path(__file__).resolve().parents[1], "pgsql_example_provider_prefix")
prov: Any = sys.modules[CHARM.charm_type.__module__].prov

pytestmark = pytest.mark.postgres


def _create(postgres: LocalPostgres, names: List[str]) -> None:
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        for name in names:
            db = sql.Identifier(name)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(db))
            conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(db))


def _connects(postgres: LocalPostgres, user: str, password: str, dbname: str) -> str:
    """ "ok", or the server's refusal."""
    try:
        psycopg.connect(postgres.dsn(user=user, password=password, dbname=dbname)).close()
    except psycopg.OperationalError as exc:
        return str(exc)
    return "ok"


def test_prefix_grants_every_matching_database_and_no_other(postgres: LocalPostgres) -> None:
    _create(postgres, ["inv_b", "inv_a", "inventory", "other"])
    password = prov.generate_password()
    served: List[str] = prov.provision_prefix(postgres.dsn(), "inv_", "relation_id_7", password)
    assert served == ["inv_a", "inv_b"]
    assert [_connects(postgres, "relation_id_7", password, d) for d in served] == ["ok", "ok"]
    for other in ("inventory", "other"):
        refused = _connects(postgres, "relation_id_7", password, other)
        assert f'permission denied for database "{other}"' in refused

    _create(postgres, ["inv_c"])  # a database created later is served on the next call
    again: List[str] = prov.provision_prefix(postgres.dsn(), "inv_", "relation_id_7", password)
    assert again == ["inv_a", "inv_b", "inv_c"]
    assert _connects(postgres, "relation_id_7", password, "inv_c") == "ok"


def test_prefix_without_a_matching_database_serves_none(postgres: LocalPostgres) -> None:
    assert prov.provision_prefix(postgres.dsn(), "none_yet_", "relation_id_8", "pw-01234567") == []
