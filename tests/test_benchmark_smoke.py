"""Smoke run of ``benchmarks/run.py`` so the benchmark cannot rot (no timing is asserted).

One run of the leader lifecycle, ``pgsql`` and ``postgresql_client`` (``modern-leader``), with
the interpreter running the tests: ``bare`` (plain ops) and, once :mod:`pgsql.client` exists,
``pgsql`` (the seed charm on this library; on ``postgresql_client`` the charm in the library's
recommended style, ``charms/modern``) and ``pgsql-1x`` (the seed charm on ``postgresql_client``).
``orig`` and ``di`` (data_interfaces) need their own venvs from PyPI and are left to the real
benchmark. The harness itself fails a run whose charm stores anything but what the fake
server published, so a passing smoke run also means every variant's charm ended each step
knowing the right master and standbys.
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

pytestmark = [
    pytest.mark.skipif(
        sys.platform != "linux" or not RUN.exists(), reason="the fake Juju runs on Linux only"
    ),
    pytest.mark.heavy,
]


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


def _run_benchmark(
    tmp_path: Path, scenario: str = "leader", variants: str = "bare,pgsql"
) -> Dict[str, Any]:
    out = tmp_path / "bench.json"
    cmd = [
        sys.executable,
        str(RUN),
        "--python",
        sys.executable,
        "--variants",
        variants,
        "--scenario",
        scenario,
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


MODERN_URI = "postgresql://relation-3:{}@10.1.0.{}:5432/mydbname"
MODERN_PASSWORD = "Hq7vT2nB9xK4mW6pR3cY8dL5"  # benchmarks/harness.py's test vectors
ROTATED_PASSWORD = "Pf4sN8wJ2kV6hT9bM3xQ7rZ5"


def test_modern_leader_lifecycle_smoke(tmp_path: Path) -> None:
    """postgresql_client: request, credentials from a Juju secret, rotation, a replica added."""
    report = _run_benchmark(tmp_path, "modern-leader", "bare,pgsql,pgsql-1x")
    variants = cast(Dict[str, Any], report["variants"])
    if _client_available():
        assert "pgsql" in variants, report["notes"]
        assert "pgsql-1x" in variants, report["notes"]
    scenarios = cast(List[Dict[str, Any]], report["scenarios"])
    assert [s["scenario"] for s in scenarios] == ["modern-leader"]
    modern = scenarios[0]
    assert "error" not in modern, modern.get("error")
    assert modern["variants"] == [n for n in ("bare", "pgsql", "pgsql-1x") if n in variants]
    totals = cast(Dict[str, Any], modern["totals"])
    if "pgsql" in totals:
        # the recommended style (a declarative request) shares nothing through leadership
        # settings; the 1.x setters still do, once (1.x charms' non-leaders read it)
        assert "leader-set" not in totals["pgsql"]["calls"]
        assert totals["pgsql-1x"]["calls"].get("leader-set") == 1
        # every charm reports its status, each the way it would (collect-status)
        assert totals["pgsql"]["calls"]["status-set"] == totals["pgsql"]["hooks"]
        assert totals["bare"]["calls"]["status-set"] == totals["bare"]["hooks"]
    steps = {cast(str, s["step"]): cast(Dict[str, Any], s["by_variant"]) for s in modern["steps"]}
    for name in modern["variants"]:
        calls = cast(Dict[str, int], modern["totals"][name]["calls"])
        assert calls["secret-get"] > 0
        assert steps["changed: not answered"][name]["state"] == [None, []]
        assert steps["changed: answered"][name]["state"] == [
            MODERN_URI.format(MODERN_PASSWORD, 1),
            [MODERN_URI.format(MODERN_PASSWORD, 2)],
        ]
        # the rotation reaches the charm through secret-changed only
        assert steps["password rotated"][name]["hooks"] == 1
        assert steps["password rotated"][name]["state"] == [
            MODERN_URI.format(ROTATED_PASSWORD, 1),
            [MODERN_URI.format(ROTATED_PASSWORD, 2)],
        ]
        assert steps["standby added"][name]["state"][1] == [
            MODERN_URI.format(ROTATED_PASSWORD, 2),
            MODERN_URI.format(ROTATED_PASSWORD, 3),
        ]
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


SECRET = "d0mb2e1g6l7u5p9b0n10"
SECRET_URI = f"secret://2f7cd2d1-4c5e-4b8d-9d3a-6a0f0f0b2b11/{SECRET}"


def _put_secret(tmp_path: Path, revisions: Dict[str, Dict[str, str]], grants: List[str]) -> None:
    folder = tmp_path / "model" / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{SECRET}.json"
    old: Dict[str, Any] = {"tracked": {}, "labels": {}}
    if path.exists():
        old = cast(Dict[str, Any], json.loads(path.read_text()))
    latest = max(int(r) for r in revisions)
    path.write_text(
        json.dumps(dict(old, owner="postgresql", revisions=revisions, latest=latest, grants=grants))
    )


def test_fake_juju_secrets(tmp_path: Path) -> None:
    # not granted: Juju's "permission denied", which ops turns into a ModelError
    _tool(tmp_path, "relation-list", "-r", "3", unit="myapp/0")  # writes the model's meta.json
    _put_secret(tmp_path, {"1": {"password": "one"}}, grants=[])
    denied = _tool(tmp_path, "secret-get", SECRET_URI, "--format=json", unit="myapp/0")
    assert denied.returncode != 0
    assert "permission denied" in denied.stderr
    # granted on the relation: the first read tracks the latest revision
    _put_secret(tmp_path, {"1": {"password": "one"}}, grants=["3"])
    first = _tool(tmp_path, "secret-get", SECRET_URI, "--format=json", unit="myapp/0")
    assert json.loads(first.stdout) == {"password": "one"}, first.stderr
    _put_secret(tmp_path, {"1": {"password": "one"}, "2": {"password": "two"}}, grants=["3"])
    tracked = _tool(tmp_path, "secret-get", f"secret:{SECRET}", "--format=json", unit="myapp/0")
    assert json.loads(tracked.stdout) == {"password": "one"}
    peek = _tool(tmp_path, "secret-get", SECRET_URI, "--peek", "--format=json", unit="myapp/0")
    assert json.loads(peek.stdout) == {"password": "two"}
    again = _tool(tmp_path, "secret-get", SECRET_URI, "--format=json", unit="myapp/0")
    assert json.loads(again.stdout) == {"password": "one"}  # --peek does not move the tracking
    refresh = _tool(tmp_path, "secret-get", SECRET_URI, "--refresh", "--label", "db",
                    "--format=json", unit="myapp/0")  # fmt: skip
    assert json.loads(refresh.stdout) == {"password": "two"}
    by_label = _tool(tmp_path, "secret-get", "--label", "db", "--format=json", unit="myapp/0")
    assert json.loads(by_label.stdout) == {"password": "two"}
    # another unit of the application starts at the latest revision
    other = _tool(tmp_path, "secret-get", SECRET_URI, "--format=json", unit="myapp/1")
    assert json.loads(other.stdout) == {"password": "two"}
    # only the owner may read a secret's metadata; a missing secret is "not found"
    info = _tool(tmp_path, "secret-info-get", SECRET_URI, "--format=json", unit="myapp/0")
    assert info.returncode != 0
    assert "not found" in info.stderr
    missing = _tool(tmp_path, "secret-get", "secret:d0mb2e1g6l7u5p9b0n99", unit="myapp/0")
    assert missing.returncode != 0
    assert "not found" in missing.stderr
    calls = (tmp_path / "model" / "calls").read_text().split()
    assert calls.count("secret-get") == 9
