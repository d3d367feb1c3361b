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
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import (
    Any,
    Callable,
    Dict,
    Generator,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    Type,
)

__all__ = [
    "LocalPostgres",
    "PostgresNotFound",
    "PostgresStartError",
    "UNPRIVILEGED_CANDIDATES",
    "find_binaries",
]

logger = logging.getLogger(__name__)

#: Accounts tried, in order, to run the server when we are root.
UNPRIVILEGED_CANDIDATES: Tuple[str, ...] = ("nobody", "postgres", "daemon")

_DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"
_NEEDED = ("initdb", "pg_ctl", "postgres")
_START_ATTEMPTS = 3  # another process may grab the free port between our probe and the bind
_START_TIMEOUT = 30  # seconds; pg_ctl start -t
_STOP_TIMEOUT = 10  # seconds; pg_ctl stop -m fast -t (then -m immediate)
_KILL_TIMEOUT = 5  # seconds; pg_ctl stop -m immediate -t, then the wait after SIGKILL
_SLACK = 10  # seconds our own wait exceeds pg_ctl's -t by before we kill pg_ctl itself
_INITDB_TIMEOUT = 300  # seconds; initdb takes a few on a loaded machine
_POLL = 0.05  # seconds between checks while waiting for a child or a process to go
_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH nor in "
    f"{_DEBIAN_BINDIRS}. Install them: 'apt-get install postgresql' on Debian/Ubuntu, "
    "'dnf install postgresql-server' on Fedora/RHEL, 'brew install postgresql' on macOS, "
    "or put the directory holding initdb on PATH."
)


class PostgresNotFound(RuntimeError):  # noqa: N818 - public name the demo relies on
    """The PostgreSQL server binaries are not installed (the message says how to get them)."""


class PostgresStartError(RuntimeError):
    """``initdb`` or ``pg_ctl start`` failed; the message carries their output and the log."""


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


def _unprivileged_account() -> pwd.struct_passwd:
    for name in UNPRIVILEGED_CANDIDATES:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresStartError(
        "running as root, and PostgreSQL refuses to: none of the accounts "
        f"{', '.join(UNPRIVILEGED_CANDIDATES)} exists to run it as. Create one "
        "(e.g. 'useradd --system postgres') or run as a normal user."
    )


def _traversable_by(path: Path, uid: int, gids: Sequence[int]) -> bool:
    """Whether ``uid`` can reach (search) ``path`` through every ancestor directory."""
    for directory in [path, *path.parents]:
        st = directory.stat()
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid in gids:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    try:  # Linux: a zombie (never reaped by a container's init) is as dead as it gets
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        # No procfs (macOS...): kill() said it exists. With procfs: it went in between.
        return not Path("/proc/self").exists()
    return state != "Z"


def _proc_link(pid: str, name: str) -> str:
    """``/proc/<pid>/<name>`` (``cwd``, ``exe``) resolved, also once its target is deleted."""
    link = os.readlink(f"/proc/{pid}/{name}")
    return link[: -len(" (deleted)")] if link.endswith(" (deleted)") else link


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class _Deferred:
    """Signals that arrived while their Python handlers were deferred (see ``_deferring``)."""

    def __init__(self) -> None:
        self.pending: List[int] = []

    def record(self, signum: int, frame: Optional[FrameType]) -> None:
        if signum not in self.pending:
            self.pending.append(signum)


@contextlib.contextmanager
def _deferring() -> Generator[_Deferred, None, None]:
    """Hold SIGINT and SIGTERM while the body runs; then run their handlers for what arrived.

    Only Python-level handlers are replaced (``default_int_handler``, a program's own): they
    are the ones that raise (KeyboardInterrupt, SystemExit) at an arbitrary bytecode and would
    cut a cleanup step in half. ``SIG_DFL``/``SIG_IGN`` are left alone, and so is everything
    outside the main thread, where Python runs no signal handler anyway. The handler of a held
    signal is called synchronously when the body is done, so its exception is raised there.
    """
    deferred = _Deferred()
    previous: Dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in _DEFERRED_SIGNALS:
            handler = signal.getsignal(signum)
            if callable(handler):
                previous[signum] = signal.signal(signum, deferred.record)
    try:
        yield deferred
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in deferred.pending:
            handler = previous.get(signum)
            if callable(handler):
                handler(signum, None)


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
        self._account = _unprivileged_account() if os.geteuid() == 0 else None
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
            with _deferring():
                # The directory and its clean-up at exit come into being together, or not at all.
                self.directory = self._make_directory()
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
        with _deferring():
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

    def _make_directory(self) -> Path:
        base = self._base_dir or Path(tempfile.gettempdir())
        account = self._account
        if account is not None:
            gids = [account.pw_gid]
            if not _traversable_by(base.resolve(), account.pw_uid, gids):
                fallback = Path("/tmp")  # noqa: S108 - world-traversable by convention; checked
                if not _traversable_by(fallback, account.pw_uid, gids):
                    raise PostgresStartError(
                        f"account {account.pw_name!r} cannot traverse {base} nor {fallback}; "
                        "pass base_dir= a directory it can reach"
                    )
                logger.debug("%s not traversable by %s, using %s", base, account.pw_name, fallback)
                base = fallback
        # mkdtemp makes it 0700: only the server's account (and root) can reach the socket.
        directory = Path(tempfile.mkdtemp(prefix="pgsql-localpg-", dir=str(base)))
        if account is not None:
            os.chown(directory, account.pw_uid, account.pw_gid)
        return directory

    def _demote(self) -> Optional[Callable[[], None]]:
        account = self._account
        if account is None:
            return None

        def demote() -> None:  # pragma: no cover - runs in the child between fork and exec
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)

        return demote

    def _env(self) -> Dict[str, str]:
        # PG* variables (PGDATA, PGPORT, PGOPTIONS...) from the caller must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        if self._account is not None:
            env["HOME"] = str(self.socket_dir)
            env["USER"] = env["LOGNAME"] = self._account.pw_name
        return env

    def _run(
        self, cmd: List[str], *, timeout: float, finish_on_interrupt: bool = False
    ) -> Tuple[int, str]:
        """Run ``cmd`` as the server's account in a session of its own; its status and output.

        Its own session: a Ctrl-C aimed at our process group does not reach it (nor the
        processes it starts). SIGINT/SIGTERM for us are held while it runs (``_deferring``);
        when one arrives the command is killed (its whole process group), or, with
        ``finish_on_interrupt``, waited for, and then the signal's handler raises. Past
        ``timeout`` the command is killed. Output goes to a file, not a pipe: waiting never
        depends on some grandchild closing its end.
        """
        logger.debug("running %s", " ".join(cmd))
        with _deferring() as deferred, tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self._env(),
                cwd=str(self.socket_dir),  # our cwd may be unreachable for the account
                # not user=/group=: those need Python 3.9 (the demotion calls only setgroups/
                # setgid/setuid, which take no lock a thread could hold across the fork)
                preexec_fn=self._demote(),  # noqa: PLW1509
                start_new_session=True,
            )
            deadline = time.monotonic() + timeout
            try:
                while True:
                    try:
                        returncode = proc.wait(timeout=_POLL)
                        break
                    except subprocess.TimeoutExpired:
                        pass
                    interrupted = bool(deferred.pending) and not finish_on_interrupt
                    if interrupted or time.monotonic() > deadline:
                        logger.log(
                            logging.DEBUG if interrupted else logging.WARNING,
                            "killing %s: %s",
                            os.path.basename(cmd[0]),
                            "interrupted" if interrupted else f"still running after {timeout}s",
                        )
                        _killpg(proc.pid)
                        returncode = proc.wait()
                        break
            except BaseException:  # whatever a handler we do not hold raises: leave nothing
                _killpg(proc.pid)
                proc.wait()
                raise
            out.seek(0)
            output = out.read().decode(errors="replace")
        return returncode, output

    def _shutdown(self, data: Path) -> None:
        """Stop the server of ``data``: fast, then immediate, then SIGKILL what is left."""
        for mode, wait in (("fast", _STOP_TIMEOUT), ("immediate", _KILL_TIMEOUT)):
            pid = self._postmaster_pid(data)
            if pid is None or not _alive(pid):
                break
            cmd = [self._pg_ctl, "stop", "-D", str(data), "-m", mode, "-w", "-t", str(wait)]
            returncode, output = self._run(cmd, timeout=wait + _SLACK, finish_on_interrupt=True)
            if returncode == 0:
                break
            logger.warning("pg_ctl stop -m %s failed: %s", mode, output.strip())
        left = self._server_pids(data)
        if not left:
            return
        logger.warning("killing PostgreSQL processes left in %s: %s", data, sorted(left))
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + _KILL_TIMEOUT
        while any(_alive(pid) for pid in left) and time.monotonic() < deadline:
            time.sleep(_POLL)

    @staticmethod
    def _postmaster_pid(data: Path) -> Optional[int]:
        """The postmaster's pid from ``postmaster.pid`` (``None`` for a single-user backend's)."""
        try:
            pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if pid > 0 else None  # negative: a standalone backend (initdb's), no pg_ctl

    def _server_pids(self, data: Path) -> Set[int]:
        """Live processes of this cluster.

        With procfs (Linux), every process running our ``postgres`` binary with ``data`` as its
        working directory: the postmaster and all its children, and initdb's bootstrap and
        single-user backends, chdir there. Without, the pid in ``postmaster.pid``.
        """
        try:
            entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
        except OSError:  # no procfs
            try:
                pid = abs(int((data / "postmaster.pid").read_text().split("\n", 1)[0]))
            except (OSError, ValueError):
                return set()
            return {pid} if pid and _alive(pid) else set()
        pids: Set[int] = set()
        target = os.path.realpath(data)
        binary = os.path.realpath(self.bindir / "postgres")
        for name in entries:
            try:
                cwd = _proc_link(name, "cwd")
                exe = _proc_link(name, "exe")
            except OSError:  # gone, a zombie, or not ours to look at
                continue
            if cwd == target and exe == binary and _alive(int(name)):
                pids.add(int(name))
        return pids

    def _remove(self, directory: Path) -> None:
        for _attempt in range(3):
            shutil.rmtree(directory, ignore_errors=True)
            if not directory.exists():
                return
            time.sleep(_POLL)
        logger.warning("could not remove %s", directory)

    def _chown(self, path: Path) -> None:
        if self._account is not None:
            os.chown(path, self._account.pw_uid, self._account.pw_gid)

    def _initdb(self) -> None:
        pwfile = self.socket_dir / "pwfile"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.superuser_password + "\n")
        self._chown(pwfile)
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
        self._chown(path)

    def _start_server(self) -> None:
        failures: List[str] = []
        for _attempt in range(_START_ATTEMPTS):
            self.port = _free_port(self.host)
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
            # pg_ctl detaches the postmaster into its own session already; pg_ctl runs in one
            # of its own too, and is let finish when interrupted (it is bounded by -t): killed
            # half-way it would leave a postmaster we might not know of yet.
            returncode, output = self._run(
                cmd, timeout=_START_TIMEOUT + _SLACK, finish_on_interrupt=True
            )
            if returncode == 0:
                self._running = True
                return
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            failures.append(f"port {self.port}: {output.strip()}\n{log.strip()}")
            if "already in use" not in log and "could not bind" not in log:
                break
            logger.debug("port %s was taken, retrying", self.port)
        raise PostgresStartError("pg_ctl start failed:\n" + "\n---\n".join(failures))
