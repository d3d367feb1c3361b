"""Start and stop a throwaway PostgreSQL server in a temporary directory.

Used by the test suite (``tests/pgfixture.py``) and by ``pgsql demo``. Standard library only:
the server is driven through ``initdb`` and ``pg_ctl``; clients (psycopg) are the caller's
business.

Example:
    >>> with LocalPostgres() as pg:  # doctest: +SKIP
    ...     psycopg.connect(pg.conninfo)

What you get:

* a fresh cluster in a private temporary directory (mode 0700), removed on exit, also when the
  body raises or the user presses Ctrl-C (the server runs in its own session, so the terminal's
  SIGINT does not reach it; we shut it down in order);
* a bounded shutdown: ``pg_ctl stop`` in fast mode, then immediate mode, then SIGKILL for any
  server process left in the data directory, and only then the directory is removed. A Ctrl-C
  (or another signal whose Python handler raises) that arrives while we stop, or while
  ``pg_ctl start`` runs, is held until that step is done and then raised, so it can neither
  leave a server running nor remove the directory under a live one. A Ctrl-C during ``initdb``
  kills it at once;
* TCP on ``127.0.0.1`` only, at a free port, with ``scram-sha-256`` password authentication, so a
  wrong password really fails;
* a unix socket in the temporary directory with ``trust`` authentication (nobody else can reach
  it: the directory is private);
* durability switched off (``fsync``, ``full_page_writes``, ``synchronous_commit``): it starts
  in about a second and nothing in it is worth keeping.

``initdb``, ``pg_ctl`` and ``postgres`` refuse to run as root. When we are root (containers,
CI), they run as an unprivileged account (``nobody`` or the first existing of
:data:`UNPRIVILEGED_CANDIDATES`) and the temporary directory is handed over to it.

Where things are: :class:`LocalPostgres` (here) is the cluster's lifecycle: finding the
binaries, ``initdb``, its settings, start and stop, the connection strings. Running a command
and finding, holding off and killing processes is ``_process``'s; the unprivileged account
(directory, demotion, environment) ``_account``'s; the errors ``_errors``'.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Dict, List, Optional, Tuple, Type

from ._account import (
    UNPRIVILEGED_CANDIDATES,
    chown,
    command_env,
    demoter,
    make_directory,
    unprivileged_account,
)
from ._errors import PostgresNotFound, PostgresStartError
from ._process import POLL, alive, deferring, kill_left, postmaster_pid, run

__all__ = [
    "LocalPostgres",
    "PostgresNotFound",
    "PostgresStartError",
    "UNPRIVILEGED_CANDIDATES",
    "find_binaries",
]

logger = logging.getLogger(__name__)

_DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"
_NEEDED = ("initdb", "pg_ctl", "postgres")
_START_ATTEMPTS = 3  # another process may grab the free port between our probe and the bind
_START_TIMEOUT = 30  # seconds; pg_ctl start -t
_STOP_TIMEOUT = 10  # seconds; pg_ctl stop -m fast -t (then -m immediate)
_KILL_TIMEOUT = 5  # seconds; pg_ctl stop -m immediate -t, then the wait after SIGKILL
_SLACK = 10  # seconds our own wait exceeds pg_ctl's -t by before we kill pg_ctl itself
_INITDB_TIMEOUT = 300  # seconds; initdb takes a few on a loaded machine
_INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH nor in "
    f"{_DEBIAN_BINDIRS}. Install them: 'apt-get install postgresql' on Debian/Ubuntu, "
    "'dnf install postgresql-server' on Fedora/RHEL, 'brew install postgresql' on macOS, "
    "or put the directory holding initdb on PATH."
)


def _has_binaries(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in _NEEDED)


def _version_key(directory: Path) -> Tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin: sort "9.6" < "15" numerically, not as strings.
    parts = re.findall(r"\d+", directory.parent.name)
    return tuple(int(p) for p in parts)


def find_binaries() -> Path:
    """Find the directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    ``initdb`` on ``PATH`` wins (symlinks are resolved, so ``/usr/local/bin/initdb`` pointing
    into ``/usr/lib/postgresql/15/bin`` yields the latter, where ``postgres`` lives too);
    otherwise the newest Debian-style ``/usr/lib/postgresql/<version>/bin``.

    Returns:
        The directory, absolute and resolved.

    Raises:
        PostgresNotFound: none found; the message tells how to install them.
    """
    on_path = shutil.which("initdb")
    if on_path:
        directory = Path(on_path).resolve().parent
        if _has_binaries(directory):
            return directory
    candidates = [Path(p) for p in sorted(Path("/").glob(_DEBIAN_BINDIRS.lstrip("/")))]
    candidates = [d for d in candidates if _has_binaries(d)]
    if candidates:
        return max(candidates, key=_version_key)
    raise PostgresNotFound(_INSTALL_HINT)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _conf_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _conninfo_quote(value: str) -> str:
    # libpq keyword/value syntax: bare when safe, else single quotes with \ and ' escaped.
    if value and re.fullmatch(r"[A-Za-z0-9_.,:/@+-]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class LocalPostgres:
    """A throwaway PostgreSQL server; a context manager (``start()`` on enter, ``stop()`` on exit).

    Attributes:
        host: TCP address the server listens on (``127.0.0.1`` only).
        port: TCP port, free when started (0 before ``start()``); the unix socket uses it too.
        superuser: bootstrap superuser name.
        superuser_password: its password (generated unless given); needed over TCP only.
        bindir: directory of the server binaries in use.
        run_as: account the server runs as when we are root, else ``None`` (our own user).
        directory: the temporary directory (``None`` when not started); holds ``data/``,
            the unix socket and ``postgres.log``.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        superuser: str = "postgres",
        superuser_password: Optional[str] = None,
        bindir: Optional[Path] = None,
        settings: Optional[Dict[str, str]] = None,
        base_dir: Optional[Path] = None,
    ) -> None:
        """Prepare, without starting anything.

        Args:
            superuser: name of the bootstrap superuser.
            superuser_password: its password; a random one by default.
            bindir: directory of ``initdb``/``pg_ctl``/``postgres``; :func:`find_binaries` by
                default (called here, so a missing install fails early with a clear message).
            settings: extra ``postgresql.conf`` settings (name to value, unquoted).
            base_dir: where to create the temporary directory; the system's by default
                (falls back to ``/tmp`` when the unprivileged account cannot traverse it).

        Raises:
            PostgresNotFound: no server binaries.
        """
        self.superuser = superuser
        self.superuser_password = superuser_password or secrets.token_urlsafe(24)
        self.bindir = bindir or find_binaries()
        self.port = 0
        self.directory: Optional[Path] = None
        self._settings = dict(settings or {})
        self._base_dir = base_dir
        self._account = unprivileged_account() if os.geteuid() == 0 else None
        self.run_as = self._account.pw_name if self._account else None
        self._running = False
        self._version: Optional[str] = None

    # ----------------------------------------------------------------------------- properties

    @property
    def socket_dir(self) -> Path:
        """Directory of the unix socket (pass it as ``host`` to libpq).

        Raises:
            RuntimeError: not started.
        """
        if self.directory is None:
            raise RuntimeError("LocalPostgres is not started")
        return self.directory

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.socket_dir / "data"

    @property
    def log_file(self) -> Path:
        """The server log (``pg_ctl -l``)."""
        return self.socket_dir / "postgres.log"

    @property
    def running(self) -> bool:
        """Whether ``start()`` succeeded and ``stop()`` was not called since."""
        return self._running

    @property
    def version(self) -> str:
        """Server version from ``postgres --version``, e.g. ``"15.8"``."""
        if self._version is None:
            out = subprocess.run(
                [str(self.bindir / "postgres"), "--version"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            match = re.search(r"\d+(?:\.\d+)*", out)
            if not match:
                raise RuntimeError(f"cannot parse the output of postgres --version: {out!r}")
            self._version = match.group(0)
        return self._version

    @property
    def conninfo(self) -> str:
        """``dsn()`` with no overrides: the superuser over TCP to database ``postgres``."""
        return self.dsn()

    def dsn(self, **overrides: Optional[str | int]) -> str:
        """A libpq keyword/value connection string (what ``psycopg.connect`` takes).

        The default is the superuser over TCP with its password to database ``postgres``.

        Args:
            **overrides: libpq keywords replacing or adding to the defaults, e.g.
                ``dbname="app"``, ``user="app"``, ``password="..."``; ``host=str(socket_dir)``
                for the unix socket. A value of ``None`` drops the keyword.

        Returns:
            The connection string, values quoted as libpq requires.
        """
        params: Dict[str, Optional[str | int]] = {
            "host": self.host,
            "port": self.port,
            "user": self.superuser,
            "password": self.superuser_password,
            "dbname": "postgres",
        }
        params.update(overrides)
        return " ".join(
            f"{key}={_conninfo_quote(str(value))}"
            for key, value in params.items()
            if value is not None
        )

    # ----------------------------------------------------------------------------- lifecycle

    def start(self) -> LocalPostgres:
        """Create the directory, ``initdb``, start the server and wait until it accepts connections.

        A Ctrl-C while this runs stops whatever was started, removes the directory and raises
        KeyboardInterrupt (``initdb`` is killed at once; ``pg_ctl start``, bounded by its own
        timeout, is let finish first, so no server is left half-started behind our back).

        Returns:
            ``self``, started.

        Raises:
            RuntimeError: already started.
            PostgresStartError: ``initdb`` or ``pg_ctl start`` failed.
        """
        if self.directory is not None:
            raise RuntimeError("LocalPostgres is already started")
        began = time.monotonic()
        try:
            with deferring():
                # The directory and its clean-up at exit come into being together, or not at all.
                self.directory = make_directory(self._base_dir, self._account)
                atexit.register(self.stop)
            self._initdb()
            self._start_server()
            logger.info(
                "PostgreSQL %s started on %s:%s (socket in %s) in %.1fs",
                self.version,
                self.host,
                self.port,
                self.directory,
                time.monotonic() - began,
            )
        except BaseException:
            # Includes KeyboardInterrupt during start-up.
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and remove the directory. Idempotent, and bounded in time.

        ``pg_ctl stop -m fast`` (``-t 10``); if the server is still up, ``-m immediate``
        (``-t 5``); then SIGKILL for any server process still running in the data directory.
        The directory is removed once none is left. SIGINT and SIGTERM arriving meanwhile are
        held and raised when this is done.
        """
        directory = self.directory
        if directory is None:
            return
        with deferring():
            try:
                self._shutdown(directory / "data")
            finally:
                self._running = False
                self._remove(directory)
                self.directory = None
                self.port = 0
                atexit.unregister(self.stop)
                logger.info("PostgreSQL stopped, %s removed", directory)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"{self.host}:{self.port}" if self._running else "stopped"
        return f"<LocalPostgres {state} {self.directory or ''}>".replace(" >", ">")

    # ----------------------------------------------------------------------------- internals

    @property
    def _pg_ctl(self) -> str:
        return str(self.bindir / "pg_ctl")

    def _run(
        self, cmd: List[str], *, timeout: float, finish_on_interrupt: bool = False
    ) -> Tuple[int, str]:
        """Run ``cmd`` as the server's account, in the directory (see ``_process.run``)."""
        return run(
            cmd,
            env=command_env(self._account, self.socket_dir),
            cwd=self.socket_dir,  # our cwd may be unreachable for the account
            demote=demoter(self._account),
            timeout=timeout,
            finish_on_interrupt=finish_on_interrupt,
        )

    def _shutdown(self, data: Path) -> None:
        """Stop the server of ``data``: fast, then immediate, then SIGKILL what is left."""
        for mode, wait in (("fast", _STOP_TIMEOUT), ("immediate", _KILL_TIMEOUT)):
            pid = postmaster_pid(data)
            if pid is None or not alive(pid):
                break
            cmd = [self._pg_ctl, "stop", "-D", str(data), "-m", mode, "-w", "-t", str(wait)]
            returncode, output = self._run(cmd, timeout=wait + _SLACK, finish_on_interrupt=True)
            if returncode == 0:
                break
            logger.warning("pg_ctl stop -m %s failed: %s", mode, output.strip())
        kill_left(data, self.bindir / "postgres", _KILL_TIMEOUT)

    def _remove(self, directory: Path) -> None:
        for _attempt in range(3):
            shutil.rmtree(directory, ignore_errors=True)
            if not directory.exists():
                return
            time.sleep(POLL)
        logger.warning("could not remove %s", directory)

    def _write_pwfile(self) -> Path:
        """The superuser's password in a file for ``initdb --pwfile``, readable by its account."""
        pwfile = self.socket_dir / "pwfile"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.superuser_password + "\n")
        chown(pwfile, self._account)
        return pwfile

    def _initdb(self) -> None:
        pwfile = self._write_pwfile()
        cmd = [
            str(self.bindir / "initdb"),
            "--pgdata",
            str(self.data_dir),
            "--username",
            self.superuser,
            "--pwfile",
            str(pwfile),
            "--auth-local",
            "trust",
            "--auth-host",
            "scram-sha-256",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",  # a throwaway cluster: skip the fsync of every file (seconds saved)
        ]
        try:
            returncode, output = self._run(cmd, timeout=_INITDB_TIMEOUT)
        finally:
            pwfile.unlink()
        if returncode != 0:
            raise PostgresStartError(f"initdb failed ({returncode}):\n{output}")
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write("\n# pgsql._localpg: settings in localpg.conf, rewritten on each start\n")
            fh.write("include 'localpg.conf'\n")

    def _write_settings(self) -> None:
        settings = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "password_encryption": "scram-sha-256",
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "off",
            "max_connections": "50",
            "shared_buffers": "16MB",
            **self._settings,
        }
        path = self.data_dir / "localpg.conf"
        path.write_text("".join(f"{k} = {_conf_quote(v)}\n" for k, v in settings.items()))
        chown(path, self._account)

    def _start_server(self) -> None:
        failures: List[str] = []
        for _attempt in range(_START_ATTEMPTS):
            returncode, output = self._pg_ctl_start(_free_port(self.host))
            if returncode == 0:
                self._running = True
                return
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            failures.append(f"port {self.port}: {output.strip()}\n{log.strip()}")
            if "already in use" not in log and "could not bind" not in log:
                break
            logger.debug("port %s was taken, retrying", self.port)
        raise PostgresStartError("pg_ctl start failed:\n" + "\n---\n".join(failures))

    def _pg_ctl_start(self, port: int) -> Tuple[int, str]:
        """``pg_ctl start`` on ``port``: its status and output (the server's log is its own)."""
        self.port = port
        self._write_settings()
        if self.log_file.exists():
            self.log_file.unlink()  # judge this attempt by its own log only
        cmd = [
            self._pg_ctl,
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(_START_TIMEOUT),
        ]
        # pg_ctl detaches the postmaster into its own session already; pg_ctl runs in one of
        # its own too, and is let finish when interrupted (it is bounded by -t): killed half-way
        # it would leave a postmaster we might not know of yet.
        return self._run(cmd, timeout=_START_TIMEOUT + _SLACK, finish_on_interrupt=True)
