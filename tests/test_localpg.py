"""The throwaway PostgreSQL server of ``pgsql._localpg``, against the real binaries.

Run as root these exercise the hand-over to an unprivileged account; run as a normal user,
the direct path.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from pgsql import _localpg
from pgsql._localpg import LocalPostgres, PostgresNotFound, PostgresStartError, find_binaries

pytestmark = pytest.mark.postgres


def _postmaster_pid(pg: LocalPostgres) -> int:
    return int((pg.data_dir / "postmaster.pid").read_text().splitlines()[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (we are not root)
        return True
    # A container's init may never reap it: a zombie is as dead as it gets.
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _wait_dead(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_find_binaries() -> None:
    bindir = find_binaries()
    for name in ("initdb", "pg_ctl", "postgres"):
        assert os.access(bindir / name, os.X_OK)


def test_find_binaries_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(_localpg, "_DEBIAN_BINDIRS", "/nonexistent/postgresql/*/bin")
    with pytest.raises(PostgresNotFound, match="apt-get install postgresql"):
        find_binaries()
    with pytest.raises(PostgresNotFound):
        LocalPostgres()  # fails early, before creating anything


def test_tcp_with_password(postgres: LocalPostgres) -> None:
    assert postgres.running
    with psycopg.connect(postgres.conninfo) as conn:
        row = conn.execute("SELECT current_user, inet_server_addr()::text").fetchone()
    assert row == (postgres.superuser, "127.0.0.1/32")


def test_tcp_wrong_password_is_refused(postgres: LocalPostgres) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres.dsn(password="not-the-password"))
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(postgres.dsn(password=None))  # scram on TCP: no password, no entry


def test_unix_socket(postgres: LocalPostgres) -> None:
    assert (postgres.socket_dir / f".s.PGSQL.{postgres.port}").is_socket()
    with psycopg.connect(postgres.dsn(host=str(postgres.socket_dir), password=None)) as conn:
        row = conn.execute("SELECT current_user, inet_server_addr()").fetchone()
    assert row == (postgres.superuser, None)


def test_version(postgres: LocalPostgres, pg_conn: psycopg.Connection[tuple[object, ...]]) -> None:
    row = pg_conn.execute("SHOW server_version").fetchone()
    assert row is not None
    assert str(row[0]).startswith(postgres.version)
    assert int(postgres.version.split(".")[0]) >= 10


def test_listens_on_loopback_only(pg_conn: psycopg.Connection[tuple[object, ...]]) -> None:
    row = pg_conn.execute("SHOW listen_addresses").fetchone()
    assert row == ("127.0.0.1",)


def test_private_directory(postgres: LocalPostgres) -> None:
    st = postgres.socket_dir.stat()
    assert st.st_mode & 0o077 == 0
    assert not (postgres.socket_dir / "pwfile").exists()
    if os.geteuid() == 0:
        assert postgres.run_as is not None
        assert st.st_uid != 0
        assert (postgres.data_dir / "PG_VERSION").stat().st_uid == st.st_uid
    else:
        assert postgres.run_as is None
        assert st.st_uid == os.geteuid()


def test_dsn_quotes_values(postgres: LocalPostgres) -> None:
    dsn = postgres.dsn(dbname="my db", password="it's a \\ pass", application_name=None)
    parsed = conninfo_to_dict(dsn)
    assert parsed["dbname"] == "my db"
    assert parsed["password"] == "it's a \\ pass"
    assert parsed["port"] == str(postgres.port)


def test_stop_removes_directory_and_process() -> None:
    pg = LocalPostgres().start()
    directory, pid = pg.directory, _postmaster_pid(pg)
    assert directory is not None
    assert _alive(pid)
    pg.stop()
    assert not directory.exists()
    assert _wait_dead(pid)
    assert not pg.running
    assert pg.directory is None


def test_stop_kills_a_server_deaf_to_pg_ctl(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A stopped postmaster ignores pg_ctl stop, fast and immediate alike: stop() gives each its
    # bounded wait, then kills what is left in the data directory, and only then removes it.
    monkeypatch.setattr(_localpg, "_STOP_TIMEOUT", 1)
    monkeypatch.setattr(_localpg, "_KILL_TIMEOUT", 1)
    pg = LocalPostgres().start()
    directory, pid = pg.directory, _postmaster_pid(pg)
    assert directory is not None
    os.kill(pid, signal.SIGSTOP)
    began = time.monotonic()
    try:
        pg.stop()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    slack: int = _localpg._SLACK  # pyright: ignore[reportPrivateUsage]
    assert time.monotonic() - began < 2 * (1 + slack) + 1  # both pg_ctl runs, then 1 s
    assert "pg_ctl stop -m immediate failed" in caplog.text
    assert "killing PostgreSQL processes left" in caplog.text
    assert not directory.exists()
    assert _wait_dead(pid)
    assert _processes_in(directory) == []


def test_stop_is_idempotent() -> None:
    LocalPostgres().stop()  # never started
    pg = LocalPostgres().start()
    pg.stop()
    pg.stop()
    with pytest.raises(RuntimeError, match="not started"):
        _ = pg.socket_dir


def test_second_server_gets_another_port(postgres: LocalPostgres) -> None:
    with LocalPostgres() as other:
        assert other.port != postgres.port
        assert other.directory != postgres.directory
        for server in (postgres, other):
            with psycopg.connect(server.conninfo) as conn:
                row = conn.execute("SELECT current_setting('port')").fetchone()
            assert row == (str(server.port),)


def test_cleanup_when_the_body_raises() -> None:
    seen: list[tuple[Path, int]] = []

    def body() -> None:
        with LocalPostgres() as pg:
            assert pg.directory is not None
            seen.append((pg.directory, _postmaster_pid(pg)))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        body()
    [(directory, pid)] = seen
    assert not directory.exists()
    assert _wait_dead(pid)


def test_failed_start_cleans_up_and_reports_the_log() -> None:
    pg = LocalPostgres(settings={"shared_buffers": "lots"})
    with pytest.raises(PostgresStartError, match="shared_buffers"):
        pg.start()
    assert pg.directory is None
    assert not pg.running


# The child of the Ctrl-C tests: a program like `pgsql demo`, started and then interrupted from
# the terminal. It prints "READY <phase> <directory>" when a phase is under way -- "body": the
# server is up and the `with` body runs; "initdb", "start", "stop": that command was just spawned
# -- and, for the phases named in its argument, waits there until the SIGINT has arrived. The
# test sends SIGINT on those lines only: an explicit handshake, no sleep, and the interrupt lands
# in the phase it is meant for.
_CTRL_C_CHILD = """
import os, select, signal, subprocess, sys

INTERRUPTED_IN = sys.argv[1].split(",")
# A shell starts background jobs with SIGINT ignored, and Python then installs no
# KeyboardInterrupt handler: restore what a program run from a terminal has.
signal.signal(signal.SIGINT, signal.default_int_handler)
# Wait for SIGINT without a lost wake-up. time.sleep(60) (what this test used to do) misses a
# signal whose handler runs after Python's last check and before the sleep's syscall -- a busy
# machine deschedules us there now and then -- and KeyboardInterrupt then comes when the sleep
# ends, 60 s later. The wake-up fd gets a byte whenever a signal comes, so select() returns at
# once, and a KeyboardInterrupt is raised right after it (or the library, holding the signal
# while it runs a command, has recorded it).
wake_r, wake_w = os.pipe()
os.set_blocking(wake_r, False)
os.set_blocking(wake_w, False)
signal.set_wakeup_fd(wake_w)


def ready(phase, where):
    print("READY", phase, where, flush=True)
    if phase in INTERRUPTED_IN:
        select.select([wake_r], [], [], 120)
        try:
            os.read(wake_r, 512)
        except BlockingIOError:
            sys.exit("no SIGINT came")


class Announcing(subprocess.Popen):
    def __init__(self, args, *rest, **kwargs):
        super().__init__(args, *rest, **kwargs)
        name = os.path.basename(args[0])
        if name in ("initdb", "pg_ctl"):
            ready("initdb" if name == "initdb" else args[1], kwargs["cwd"])


subprocess.Popen = Announcing
from pgsql._localpg import LocalPostgres

with LocalPostgres() as pg:
    ready("body", pg.directory)
"""
_READY_WITHIN = 180  # seconds for a server start (and initdb) on a loaded 2-core machine
_EXIT_WITHIN = 120  # seconds from the last SIGINT; stop() is bounded well below


def _read_line(fd: int, pending: bytearray, deadline: float) -> str:
    """The next line the child prints on ``fd`` (``""`` at end of file), until ``deadline``."""
    while b"\n" not in pending:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            pytest.fail("the child did not get ready in time")
        chunk = os.read(fd, 4096)
        if not chunk:
            return ""
        pending += chunk
    line, _, rest = bytes(pending).partition(b"\n")
    pending[:] = rest
    return line.decode()


def _processes_in(directory: Path) -> list[int]:
    """Live processes (procfs) whose working directory is ``directory`` or below: the servers,
    initdb and its backends all run there. Empty without procfs."""
    target = os.path.realpath(directory)
    found: list[int] = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone, a zombie, or not ours to look at
            continue
        cwd = cwd[: -len(" (deleted)")] if cwd.endswith(" (deleted)") else cwd
        if (cwd == target or cwd.startswith(target + os.sep)) and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    "interrupts",
    [["body"], ["initdb"], ["start"], ["body", "stop"]],
    ids=["while-serving", "during-initdb", "during-pg_ctl-start", "again-during-pg_ctl-stop"],
)
def test_ctrl_c_stops_and_removes_everything(tmp_path: Path, interrupts: list[str]) -> None:
    # The terminal signals the whole foreground process group, which we mimic with killpg.
    script = tmp_path / "serve.py"
    script.write_text(_CTRL_C_CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), ",".join(interrupts)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    directory: Path | None = None
    err = b""
    try:
        pending = bytearray()
        todo = list(interrupts)
        deadline = time.monotonic() + _READY_WITHIN
        while todo:
            line = _read_line(proc.stdout.fileno(), pending, deadline)
            assert line, f"the child exited before {todo[0]}"
            tag, phase, where = line.split(" ", 2)
            assert tag == "READY"
            directory = Path(where)
            if phase == todo[0]:
                os.killpg(proc.pid, signal.SIGINT)
                todo.pop(0)
        _, err = proc.communicate(timeout=_EXIT_WITHIN)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    stderr = err.decode(errors="replace")
    # Python 3.8+ ends an unhandled KeyboardInterrupt by dying of SIGINT.
    assert proc.returncode == -signal.SIGINT, stderr
    assert "KeyboardInterrupt" in stderr
    assert directory is not None
    assert not directory.exists(), stderr
    assert _processes_in(directory) == [], stderr
