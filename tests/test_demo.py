"""``pgsql demo``: the README's main job, in-process and as a command, against a real PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import ops.testing
import pytest

from pgsql import cli, demo

pytestmark = [
    pytest.mark.postgres,
    # The demo simulates Juju with ops.testing's Context (ops >= 2.17, the demo's floor).
    pytest.mark.skipif(
        getattr(ops.testing, "Context", None) is None, reason="the demo needs ops >= 2.17"
    ),
]

ROOT = Path(__file__).resolve().parents[1]


def _no_password(text: str) -> None:
    # Every connection string shown has its password masked, and no generated secret (long
    # URL-safe tokens) appears anywhere.
    for value in re.findall(r"password=(\S+)", text):
        assert value.strip("'\",") == "******", value
    for token in re.findall(r"[A-Za-z0-9_-]{32,}", text):
        # hook names such as provider-peers-relation-created are long too, but lowercase words
        assert re.fullmatch(r"[a-z_-]+", token), token


def test_demo_json_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    # --examples DIR: the checkout's copy, whatever the install provides
    assert cli.main(["demo", "--json", "--examples", str(ROOT / "examples")]) == 0
    out, err = capsys.readouterr()
    doc: Dict[str, Any] = json.loads(out)
    assert doc["ok"] is True, doc.get("error")
    assert "simulated with ops.testing" in doc["simulated"]
    result = doc["result"]
    assert (result["database"], result["user"]) == ("mydbname", "juju_myapp")
    assert result["citext_version"]
    assert result["citext_equal"] == "t"
    # Both client units ended ready, after having been not ready with reasons on the way.
    assert {n: r["ready"] for n, r in doc["readiness"].items()} == {
        "myapp/0": True,
        "myapp/1": True,
    }
    codes = {
        reason["code"]
        for step in doc["steps"]
        if "readiness" in step
        for reason in step["readiness"]["reasons"]
    }
    assert {"no-remote-units", "waiting-for-server", "egress-not-allowed"} <= codes
    hooks = {(s["unit"], s["hook"]) for s in doc["steps"]}
    assert ("postgresql/0", "db-relation-joined") in hooks
    assert ("myapp/1", "replicas-relation-changed") in hooks
    assert any("request_changed" in s["events"] for s in doc["steps"])
    assert doc["databags"]["postgresql/0"]["allowed-units"] == "myapp/0 myapp/1"
    assert doc["status"]["postgresql/0"] == "active"
    _no_password(out + err)
    assert doc["cleaned_up"] is True
    assert not Path(doc["postgresql"]["directory"]).exists()
    assert doc["seconds"] < 30


def test_demo_command_runs_from_any_directory(tmp_path: Path) -> None:
    # No --examples, and not from the checkout: the installed package (nox installs the wheel)
    # or the editable install's checkout provides the example charms.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    proc = subprocess.run(
        [sys.executable, "-m", "pgsql", "demo"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Juju is simulated with ops.testing" in out
    assert "readiness: not ready" in out
    assert "readiness: READY" in out
    assert "mydbname | juju_myapp |" in out
    assert re.search(r"^\s+t$", out, flags=re.MULTILINE)
    _no_password(out + proc.stderr)
    removed = re.search(r"PostgreSQL stopped and (\S+) removed", out)
    assert removed is not None
    assert not Path(removed.group(1)).exists()


def test_demo_without_the_examples_says_how_to_get_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", "--examples", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "example charms are not in" in err
    assert "tasks.py demo" in err


def test_demo_without_installed_examples_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = tmp_path / "share" / "ops-lib-pgsql" / "examples"
    monkeypatch.setattr(demo, "example_dirs", lambda: [nowhere])
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert f"the example charms are not installed with this pgsql (looked in {nowhere})" in err
    assert "tasks.py demo" in err
    assert "--examples DIR" in err


def test_demo_finds_the_example_charms_without_examples_option() -> None:
    # An installed wheel's copy comes first; a source tree (editable install) has the checkout's.
    dirs = demo.example_dirs()
    if Path(demo.__file__).resolve().parent == ROOT / "src" / "pgsql":
        assert dirs == [ROOT / "examples"]
    else:
        assert dirs[0].parts[-3:] == ("share", "ops-lib-pgsql", "examples")
    for name in demo.EXAMPLES:
        assert (dirs[0] / name / "src" / "charm.py").is_file()
