"""``pgsql demo`` without what it needs: one message naming everything missing, and the fix."""

from __future__ import annotations

import sys
from pathlib import Path

import ops.testing
import pytest

import pgsql
from pgsql import _localpg, cli, demo

EXTRA = "pip install 'ops-lib-pgsql[demo]'"


@pytest.fixture
def without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither psycopg nor ops.testing's State API importable, as from a wheel without [demo]."""
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ImportError
    monkeypatch.delattr(ops.testing, "Context", raising=False)  # ops < 2.17 has none


def test_demo_without_the_extra_names_everything_missing_in_one_message_from_a_wheel(
    without_the_extra: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "_checkout", lambda: None)  # installed from a wheel
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.count("pgsql demo failed") == 1
    assert "ops.testing" in err
    assert "psycopg" in err
    assert err.count(EXTRA) == 1
    assert "ops[testing]" not in err  # the extra brings it: one command fixes everything
    assert "tasks.py" not in err  # there is no checkout to run it in


def test_demo_without_the_extra_in_a_checkout_also_names_tasks_py(
    without_the_extra: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).resolve().parents[1]
    assert demo._checkout() in (root, None)  # pyright: ignore[reportPrivateUsage]
    # the suite may run against an installed wheel (nox): run as from this checkout's src/
    monkeypatch.setattr(pgsql, "__file__", str(root / "src" / "pgsql" / "__init__.py"))
    assert demo._checkout() == root  # pyright: ignore[reportPrivateUsage]
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert f"{EXTRA} (python3 tasks.py demo installs it)" in err


def test_demo_without_the_extra_nor_postgresql_says_both_at_once(
    without_the_extra: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def not_found() -> Path:
        raise _localpg.PostgresNotFound("no PostgreSQL server binaries: apt install postgresql")

    monkeypatch.setattr(_localpg, "find_binaries", not_found)
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert EXTRA in err
    assert "apt install postgresql" in err
