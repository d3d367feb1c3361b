"""``pgsql demo`` shows a prefix request (``database="shop_*"``) served on the real PostgreSQL.

The default run ends with it: two databases starting with ``shop_`` and one that does not are
created on the server; the client asking ``shop_*`` is given both (``event.databases``) and a
master on the first, which the secret's ``uris`` names (PostgreSQL 16's rule); libpq connects
with that master and is refused on the database that does not match.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List

import pytest
from needs import needs_scenario

from pgsql import cli
from pgsql.demo import _steps
from pgsql.demo._output import Printer

ROOT = Path(__file__).resolve().parents[1]


def _demo(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    rc = cli.main(["demo", *args, "--examples", str(ROOT / "examples")])
    out, err = capsys.readouterr()
    assert rc == 0, err or out
    return out


def _check_prefix_part(prefix: Dict[str, Any]) -> None:
    rel_id = prefix["relation_id"]
    user = f"relation_id_{rel_id}"
    assert (prefix["app"], prefix["request"]) == ("shop", "shop_*")
    assert prefix["created"] == ["shop_eu", "shop_us", "stock"]
    assert prefix["prefix_databases"] == "shop_eu,shop_us"
    assert prefix["databases"] == ["shop_eu", "shop_us"]
    assert "dbname=shop_eu host=" in prefix["master"]
    assert "password=******" in prefix["master"]
    (secret,) = prefix["secrets"]
    assert re.fullmatch(rf"postgresql://{user}:\*+@[^/]+/shop_eu", secret["content"]["uris"])
    assert prefix["result"] == {"database": "shop_eu", "user": user}
    assert prefix["other"]["refused"] is True
    assert 'permission denied for database "stock"' in prefix["other"]["error"]


@pytest.mark.postgres
@needs_scenario  # the demo simulates Juju with ops.testing's Context
def test_demo_prefix_request_gets_the_matching_databases_and_connects_to_the_first(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc: Dict[str, Any] = json.loads(_demo(capsys, "--json"))
    assert doc["ok"] is True, doc.get("error")
    _check_prefix_part(doc["postgresql_client"]["prefix"])
    shop = [s for s in doc["steps"] if s["unit"] == "shop/0"]
    assert {s["phase"] for s in shop} == {"prefix"}
    told = [s["hook"] for s in shop if "master_changed" in s["events"]]
    assert told == ["database-relation-changed", "database-relation-departed"]
    served = [s["wrote"] for s in doc["steps"] if s["unit"] == "postgresql/0" and s["wrote"]]
    assert any(
        w.get("database postgresql (app)", {}).get("prefix-databases") == "shop_eu,shop_us"
        for w in served
    )


@pytest.mark.postgres
@needs_scenario  # the demo simulates Juju with ops.testing's Context
def test_demo_walk_through_shows_the_prefix_request_and_each_joined_event_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _demo(capsys)
    title = '=== a prefix request, served the way PostgreSQL 16 serves it: database="shop_*"'
    part = out[out.index(title) :]
    assert "on the server: CREATE DATABASE shop_eu, shop_us, stock (none open to PUBLIC)" in part
    assert "== juju integrate shop:database postgresql:database" in part
    assert "prefix-databases = shop_eu,shop_us" in part
    assert re.search(r"uris = postgresql://relation_id_\d+:\*+@\S+/shop_eu\n", part)
    assert "event.databases: shop_eu, shop_us" in part
    assert re.search(r"^    shop_eu \| relation_id_\d+$", part, flags=re.MULTILINE)
    assert 'stock: refused: permission denied for database "stock"' in part
    assert out.rstrip().splitlines()[-1].startswith("Demo passed in ")
    # Juju's database_relation_joined (the hook) is not shown beside the library's 1.x event
    assert "events: database_relation_joined, database_relation_joined" not in out
    assert re.search(
        r"myapp/0        database-relation-joined \(postgresql/0\)\n"
        r"         events: database_relation_joined\n",
        out,
    )


def test_a_step_lists_the_hooks_own_event_name_only_when_a_library_emitted_it_too() -> None:
    printer = Printer(True, None)
    steps = _steps.Steps(printer)

    def run(hook: str, events: List[str]) -> Any:
        return SimpleNamespace(
            n=1,
            unit="myapp/0",
            hook=hook,
            remote_unit="postgresql/0",
            events=events,
            deferred=[],
            wrote={},
            status=SimpleNamespace(name="active", message=""),
            seen=None,
        )

    # on an endpoint named database: Juju's event, then PostgreSQLClient's 1.x one
    steps(run("database-relation-joined", ["database_relation_joined"] * 2))
    steps(run("database-relation-joined", ["database_relation_joined"]))  # Juju's alone
    steps(run("db-relation-joined", ["db_relation_joined", "database_relation_joined"]))
    assert [s["events"] for s in printer.steps] == [
        ["database_relation_joined"],
        [],
        ["database_relation_joined"],
    ]
