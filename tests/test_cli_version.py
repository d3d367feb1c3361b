"""``pgsql --version``: the installed distribution's version, not an argument error."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import pytest

from pgsql import cli


def test_version_prints_the_installed_distributions_version_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out == f"pgsql (ops-lib-pgsql) {metadata.version('ops-lib-pgsql')}\n"


def test_version_of_the_console_command_is_not_an_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pgsql", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith("pgsql (ops-lib-pgsql) 2.")


def test_version_without_installed_metadata_says_so_and_gives_the_package_version(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pgsql

    def not_installed(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", not_installed)
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out == f"pgsql (ops-lib-pgsql, not installed) {pgsql.__version__}\n"
