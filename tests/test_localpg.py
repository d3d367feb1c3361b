"""The throwaway PostgreSQL server of ``pgsql._localpg``, against the real binaries.

Run as root these exercise the hand-over to an unprivileged account; run as a normal user,
the direct path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
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


def test_ctrl_c_stops_and_removes_everything(tmp_path: Path) -> None:
    # A program like `pgsql demo`: started, then interrupted from the terminal. The terminal
    # signals the whole foreground process group, which we mimic with killpg.
    script = tmp_path / "serve.py"
    script.write_text(
        textwrap.dedent(
            """
            import signal, sys, time
            from pgsql._localpg import LocalPostgres
            # a shell starts background jobs with SIGINT ignored, and Python then installs no
            # KeyboardInterrupt handler: restore what a program run from a terminal has
            signal.signal(signal.SIGINT, signal.default_int_handler)
            with LocalPostgres() as pg:
                pid = open(pg.data_dir / "postmaster.pid").readline().strip()
                print(pg.directory, pid, flush=True)
                time.sleep(60)
            """
        )
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        directory, pid = proc.stdout.readline().split()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert "KeyboardInterrupt" in err
    assert not Path(directory).exists()
    assert _wait_dead(int(pid))
