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


MANGLED_SECRET = "M4ngledPw"


@pytest.mark.parametrize("sep", ["|", ";"])
@pytest.mark.parametrize("fmt", [[], ["--uri"], ["--json"]])
def test_connstr_masks_password_inside_mangled_value(
    capsys: pytest.CaptureFixture[str], sep: str, fmt: List[str]
):
    # libpq reads it as one dbname holding the password: that value is masked from "password="
    text = sep.join(["dbname=mydb", "host=10.0.0.20", f"password={MANGLED_SECRET}", "user=u"])
    rc, out, err = run(capsys, [*fmt, text])
    assert (rc, err) == (0, "")
    assert MANGLED_SECRET not in out
    assert "10.0.0.20" in out
    if fmt == ["--json"]:
        assert json.loads(out) == {"dbname": f"mydb{sep}host=10.0.0.20{sep}password=********"}
    elif not fmt:
        assert out == f"dbname=mydb{sep}host=10.0.0.20{sep}password=********\n"
    # --show-password shows what was given
    _, out, _ = run(capsys, [*fmt, "--show-password", text])
    assert MANGLED_SECRET in out


def test_connstr_masks_a_password_holding_separators(capsys: pytest.CaptureFixture[str]):
    text = f"dbname='mydb|PASSWORD={MANGLED_SECRET}|x;y, z|user=u' host=h"
    for fmt in ([], ["--uri"], ["--json"]):
        rc, out, _ = run(capsys, [*fmt, text])
        assert rc == 0
        for part in (MANGLED_SECRET, "x;y", "user=u", "user%3Du"):
            assert part not in out
        assert "mydb|PASSWORD=" in out or "mydb%7CPASSWORD%3D" in out


def test_connstr_masks_uri_userinfo_inside_a_value(capsys: pytest.CaptureFixture[str]):
    text = f"host=h application_name='postgresql://u:{MANGLED_SECRET}@db/x'"
    rc, out, _ = run(capsys, [text])
    assert rc == 0
    assert out == "application_name=postgresql://u:********@db/x host=h\n"
    _, out, _ = run(capsys, ["--json", text])
    assert json.loads(out)["application_name"] == "postgresql://u:********@db/x"


def test_connstr_error_does_not_echo_what_follows_a_password_inside_a_value(
    capsys: pytest.CaptureFixture[str],
):
    rc, out, err = run(capsys, [f"dbname=mydb|password={MANGLED_SECRET} tail"])
    assert (rc, out) == (2, "")
    assert MANGLED_SECRET not in err
    assert "tail" not in err
