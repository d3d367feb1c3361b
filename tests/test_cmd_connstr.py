"""Tests for the ``pgsql connstr`` command."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from typing import List

import pytest

from pgsql.cli import main

CONN = "host=10.0.0.20 port=5432 dbname=mydb user=u password='hunter 2'"


def run(capsys: pytest.CaptureFixture[str], argv: List[str]) -> tuple[int, str, str]:
    rc = main(["connstr", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_keyword_value_hides_password(capsys: pytest.CaptureFixture[str]):
    rc, out, err = run(capsys, [CONN])
    assert (rc, err) == (0, "")
    assert out == "dbname=mydb host=10.0.0.20 password=******** port=5432 user=u\n"


def test_show_password(capsys: pytest.CaptureFixture[str]):
    rc, out, _ = run(capsys, ["--show-password", CONN])
    assert rc == 0
    assert out == "dbname=mydb host=10.0.0.20 password='hunter 2' port=5432 user=u\n"


def test_uri(capsys: pytest.CaptureFixture[str]):
    rc, out, _ = run(capsys, ["--uri", CONN])
    assert rc == 0
    assert out == "postgresql://u:********@10.0.0.20:5432/mydb\n"
    rc, out, _ = run(capsys, ["--uri", "--show-password", CONN])
    assert out == "postgresql://u:hunter%202@10.0.0.20:5432/mydb\n"


def test_json(capsys: pytest.CaptureFixture[str]):
    rc, out, _ = run(capsys, ["--json", "postgresql://u:pw@h/db?sslmode=require"])
    assert rc == 0
    assert json.loads(out) == {
        "dbname": "db",
        "host": "h",
        "password": "********",
        "sslmode": "require",
        "user": "u",
    }
    _, out, _ = run(capsys, ["--json", "--show-password", "postgresql://u:pw@h"])
    assert json.loads(out)["password"] == "pw"


@pytest.mark.parametrize("argv", [[], ["-"]])
def test_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: List[str]
):
    # The line end a shell pipe adds is not part of the URI's database name.
    monkeypatch.setattr(sys, "stdin", io.StringIO("postgresql://h/db\n"))
    rc, out, _ = run(capsys, argv)
    assert (rc, out) == (0, "dbname=db host=h\n")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("host=h password='hunter2", 'unterminated quoted string for keyword "password"'),
        ("host=h foo=bar", 'unknown keyword "foo" at position 8'),
        ("postgresql://u:hunter2@h/%zz", "invalid percent-encoding"),
        ("password=hunter2 x", 'missing "="'),
    ],
)
def test_bad_input(capsys: pytest.CaptureFixture[str], bad: str, message: str):
    rc, out, err = run(capsys, [bad])
    assert rc == 2
    assert out == ""
    assert err.startswith("pgsql connstr: error: ")
    assert message in err
    assert err.count("\n") == 1
    assert "hunter2" not in err


def test_conflicting_formats(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as info:
        main(["connstr", "--uri", "--json", "host=h"])
    assert info.value.code == 2


def test_subprocess_never_imports_ops():
    code = (
        "import sys\n"
        "from pgsql.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "assert 'ops' not in sys.modules, 'ops was imported'\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "connstr", "--uri", CONN],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == "postgresql://u:********@10.0.0.20:5432/mydb\n"


def test_python_dash_m():
    proc = subprocess.run(
        [sys.executable, "-m", "pgsql", "connstr", "--json"],
        input="host=h password=secret\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {"host": "h", "password": "********"}
    proc = subprocess.run(
        [sys.executable, "-m", "pgsql", "connstr", "password=secret nonsense"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("pgsql connstr: error: ")
    assert proc.stderr.count("\n") == 1
    assert "secret" not in proc.stderr
