"""Smoke run of ``benchmarks/run.py`` so the benchmark cannot rot (no timing is asserted).

One run of the leader lifecycle with the interpreter running the tests: ``bare`` (plain ops) and,
once :mod:`pgsql.client` exists, ``pgsql`` (the seed charm on this library). ``orig`` needs its
own venv from PyPI and is left to the real benchmark. The harness itself fails a run whose charm
stores anything but what the fake server published, so a passing smoke run also means every
variant's charm ended each step knowing the right master and standbys.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List, cast

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
HOOKTOOL = ROOT / "benchmarks" / "fakejuju"

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or not RUN.exists(), reason="the fake Juju runs on Linux only"
)


def _client_available() -> bool:
    """Whether `ops.lib.use("pgsql", 1, ...)` can load the client here (then the run uses it)."""
    if (
        importlib.util.find_spec("pgsql") is None
        or importlib.util.find_spec("pgsql.client") is None
    ):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            importlib.import_module("pgsql.opslib.pgsql")  # what ops.lib.use loads
        except Exception:  # e.g. an ops too old for the client: its own tests say so
            return False
    return True


def _run_benchmark(tmp_path: Path) -> Dict[str, Any]:
    out = tmp_path / "bench.json"
    cmd = [
        sys.executable,
        str(RUN),
        "--python",
        sys.executable,
        "--variants",
        "bare,pgsql",
        "--scenario",
        "leader",
        "--runs",
        "1",
        "--no-imports",
        "--workdir",
        str(tmp_path / "work"),
        "--json",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "hook-tool calls" in proc.stdout
    return cast(Dict[str, Any], json.loads(out.read_text()))


def test_leader_lifecycle_smoke(tmp_path: Path) -> None:
    report = _run_benchmark(tmp_path)
    variants = cast(Dict[str, Any], report["variants"])
    assert "bare" in variants
    if _client_available():
        assert "pgsql" in variants, report["notes"]
    scenarios = cast(List[Dict[str, Any]], report["scenarios"])
    assert [s["scenario"] for s in scenarios] == ["leader"]
    leader = scenarios[0]
    assert "error" not in leader, leader.get("error")
    steps = {cast(str, s["step"]): cast(Dict[str, Any], s["by_variant"]) for s in leader["steps"]}
    for name in variants:
        # counts are produced, by tool, for every hook of the lifecycle
        total = cast(Dict[str, Any], leader["totals"][name])
        calls = cast(Dict[str, int], total["calls"])
        assert total["hooks"] >= 20
        assert calls["relation-get"] > 0
        assert calls["relation-set"] > 0
        assert total["total_calls"] == sum(calls.values())
        # the lifecycle's states: ready, failed over, then gone after relation-broken
        ready_uri, ready_ro = steps["changed: ready"][name]["state"]
        assert ready_uri == (
            "postgresql://juju_myapp:Zk3pQ9vR7mW2xL5tN8bC4hJ6@10.1.0.1:5432/mydbname"
        )
        assert ready_ro == [
            "postgresql://juju_myapp:Zk3pQ9vR7mW2xL5tN8bC4hJ6@10.1.0.2:5432/mydbname"
        ]
        assert steps["failover: master gone"][name]["state"][0] is None
        assert cast(str, steps["failover: new master"][name]["state"][0]).endswith(
            "@10.1.0.2:5432/mydbname"
        )
        assert steps["relation-broken"][name]["state"] == [None, []]


def _tool(tmp_path: Path, tool: str, *args: str, unit: str, stdin: str = "") -> Any:
    model = tmp_path / "model"
    (model / "bags" / "3").mkdir(parents=True, exist_ok=True)
    meta = {
        "leader": "myapp/0",
        "relations": {
            "3": {"endpoint": "db", "remote_app": "postgresql", "units": ["postgresql/0"]}
        },
    }
    if not (model / "meta.json").exists():
        (model / "meta.json").write_text(json.dumps(meta))
    env = dict(os.environ, FAKEJUJU_MODEL=str(model), JUJU_UNIT_NAME=unit)
    code = (
        f"import sys; sys.path.insert(0, {str(HOOKTOOL)!r}); "
        f"import hooktool; hooktool.main({tool!r})"
    )
    return subprocess.run(
        [sys.executable, "-S", "-c", code, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_fake_juju_enforces_databag_rules(tmp_path: Path) -> None:
    ok = _tool(tmp_path, "relation-set", "-r", "db:3", "--app", "--file", "-", unit="myapp/0",
               stdin='{"database": "x"}')  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    got = _tool(tmp_path, "relation-get", "--format=json", "-r", "db:3", "--app", "-", "myapp",
                unit="myapp/0")  # fmt: skip
    assert json.loads(got.stdout) == {"database": "x"}
    # lp:1869915: a non-leader can neither read nor write its own application's bag
    denied = _tool(tmp_path, "relation-get", "--format=json", "-r", "db:3", "--app", "-", "myapp",
                   unit="myapp/1")  # fmt: skip
    assert denied.returncode != 0
    assert "permission denied" in denied.stderr
    denied = _tool(tmp_path, "relation-set", "-r", "3", "--app", "database=y", unit="myapp/1")
    assert denied.returncode != 0
    # a remote unit not in the relation cannot be read; one in it can
    gone = _tool(tmp_path, "relation-get", "--format=json", "-r", "3", "-", "postgresql/7",
                 unit="myapp/0")  # fmt: skip
    assert gone.returncode != 0
    assert "ERROR" in gone.stderr
    there = _tool(tmp_path, "relation-get", "--format=json", "-r", "3", "-", "postgresql/0",
                  unit="myapp/0")  # fmt: skip
    assert there.returncode == 0, there.stderr
    # unknown options fail loudly rather than silently succeeding
    bad = _tool(tmp_path, "relation-list", "--frobnicate", unit="myapp/0")
    assert bad.returncode != 0
    calls = (tmp_path / "model" / "calls").read_text().split()
    assert calls.count("relation-get") == 4
