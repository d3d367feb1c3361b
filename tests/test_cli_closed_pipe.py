"""``pgsql ... | head``: a closed standard output ends every command quietly, cleaned up."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Generator, List, Set, Tuple

import pytest
from needs import needs_scenario

from pgsql import cli


@pytest.fixture
def traversable_tmp() -> Generator[Path, None, None]:
    """A temporary directory the demo's server account can reach (pytest's own are 0700).

    The demo's server directory is made in ``$TMPDIR``; this one is empty at the start, so what
    is left in it afterwards is what the demo left behind.
    """
    path = Path(tempfile.mkdtemp(prefix="pgsql-pipe-test-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    for child in path.iterdir():  # pragma: no cover - only when the test failed
        subprocess.run(["rm", "-rf", str(child)], check=False)
    path.rmdir()


def _env(tmpdir: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["TMPDIR"] = str(tmpdir)
    return env


def _processes_under(directory: Path) -> List[str]:
    """The command lines of the processes naming ``directory`` (a server left running)."""
    found: List[str] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if str(directory) in cmdline:
            found.append(cmdline)
    return found


def _run_closing_stdout(command: List[str], tmpdir: Path, lines: int) -> Tuple[int, str]:
    """Run ``command``, read ``lines`` lines of its output, close the pipe; status and stderr."""
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(tmpdir),
        cwd=str(tmpdir),
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    for _ in range(lines):
        proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as head does
    try:
        err = proc.stderr.read().decode()
        status = proc.wait(timeout=120)
    finally:
        proc.stderr.close()
        if proc.poll() is None:  # pragma: no cover - only when the test failed
            proc.kill()
            proc.wait()
    return status, err


@pytest.mark.postgres
@needs_scenario  # the demo simulates Juju with ops.testing's Context
@pytest.mark.parametrize(
    ("options", "lines"),
    [
        # text: the pipe closes after the server started, the walk-through still going
        (["--interface", "pgsql"], 8),
        # --json prints once, at the end: the pipe is closed before anything was written
        (["--json", "--interface", "pgsql"], 0),
    ],
    ids=["text", "json"],
)
def test_demo_into_a_closed_pipe_exits_141_quietly_and_leaves_no_server_behind(
    options: List[str], lines: int, traversable_tmp: Path
) -> None:
    command = [sys.executable, "-m", "pgsql", "demo", *options]
    status, err = _run_closing_stdout(command, traversable_tmp, lines)
    assert status == cli.PIPE_CLOSED == 141, err
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
    assert err == ""
    assert list(traversable_tmp.iterdir()) == []  # the server's directory was removed
    assert _processes_under(traversable_tmp) == []  # and no postgres process is left


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["connstr", "host=db user=u password=secret"], {cli.PIPE_CLOSED}),
        # argparse's own printing ignores a failed write and exits 0 on Python >= 3.11; before,
        # its BrokenPipeError reaches our handler (141): quiet either way
        (["--help"], {0, cli.PIPE_CLOSED}),
        (["--version"], {0, cli.PIPE_CLOSED}),
    ],
    ids=["connstr", "help", "version"],
)
def test_any_command_into_a_closed_pipe_exits_quietly(
    args: List[str], expected: Set[int], traversable_tmp: Path
) -> None:
    status, err = _run_closing_stdout([sys.executable, "-m", "pgsql", *args], traversable_tmp, 0)
    assert status in expected, err
    assert err == ""
