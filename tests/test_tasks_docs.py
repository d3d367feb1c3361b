"""``python3 tasks.py``: the docs job, and when the docs' system packages are needed."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tasks() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("pgsql_tasks", str(ROOT / "tasks.py"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would
    loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("nox_args", "runs"),
    [
        ([], True),  # nox runs every session, docs included
        (["-s", "docs"], True),
        (["-s", "lint", "docs"], True),
        (["-s", "tests"], False),
        (["--session", "lint", "typecheck"], False),
        (["-l"], False),
    ],
)
def test_docs_packages_are_needed_only_when_the_docs_session_runs(nox_args: list[str], runs: bool):
    assert _tasks()._runs_docs(nox_args) is runs


def test_docs_job_runs_the_docs_session_only(monkeypatch: pytest.MonkeyPatch):
    tasks = _tasks()
    calls: list[list[str]] = []

    def call(cmd: list[str], **_: object) -> int:
        calls.append(cmd)
        return 0

    monkeypatch.setattr(tasks, "_venv", lambda: None)
    monkeypatch.setattr(tasks, "_docs_packages", lambda: calls.append(["docs-packages"]))
    monkeypatch.setattr(tasks, "_postgres_binaries", lambda: calls.append(["postgres"]))
    monkeypatch.setattr(tasks.subprocess, "call", call)
    assert tasks.main(["docs", "-r"]) == 0
    assert calls[0] == ["docs-packages"]  # no PostgreSQL needed to build the docs
    assert calls[1][1:] == ["-db", "uv", "-s", "docs", "-r"]
    assert len(calls) == 2


def test_usage_names_the_docs_job(capsys: pytest.CaptureFixture[str]):
    assert _tasks().main([]) == 2
    assert "docs [nox args]" in capsys.readouterr().out
