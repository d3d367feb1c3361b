"""The processes of a throwaway cluster: running its commands, finding and killing what is left.

- :func:`deferring` holds SIGINT and SIGTERM while a step that must not be cut in half runs
  (a Ctrl-C then comes when the step is done);
- :func:`run` runs one command (``initdb``, ``pg_ctl``) in a session of its own, bounded in
  time, killed at once on Ctrl-C or let finish, as the caller says;
- :func:`postmaster_pid`, :func:`alive` and :func:`kill_left` find the server of a data
  directory and SIGKILL whatever of it is still running.

Standard library only, and nothing here knows PostgreSQL's options: those are
:class:`~pgsql._localpg.LocalPostgres`'s.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any, Callable, Dict, Generator, List, Optional, Set, Tuple

__all__ = ["POLL", "alive", "deferring", "kill_left", "postmaster_pid", "run"]

# The package's logger: charms and tests know this name.
logger = logging.getLogger("pgsql._localpg")

POLL = 0.05  # seconds between checks while waiting for a child or a process to go
_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Deferred:
    """Signals that arrived while their Python handlers were deferred (see ``deferring``)."""

    def __init__(self) -> None:
        self.pending: List[int] = []

    def record(self, signum: int, frame: Optional[FrameType]) -> None:
        if signum not in self.pending:
            self.pending.append(signum)


@contextlib.contextmanager
def deferring() -> Generator[_Deferred, None, None]:
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


def alive(pid: int) -> bool:
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


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run(
    cmd: List[str],
    *,
    env: Dict[str, str],
    cwd: Path,
    demote: Optional[Callable[[], None]],
    timeout: float,
    finish_on_interrupt: bool = False,
) -> Tuple[int, str]:
    """Run ``cmd`` in a session of its own, as ``demote`` makes it; its status and output.

    Its own session: a Ctrl-C aimed at our process group does not reach it (nor the
    processes it starts). SIGINT/SIGTERM for us are held while it runs (:func:`deferring`);
    when one arrives the command is killed (its whole process group), or, with
    ``finish_on_interrupt``, waited for, and then the signal's handler raises. Past
    ``timeout`` the command is killed. Output goes to a file, not a pipe: waiting never
    depends on some grandchild closing its end.
    """
    logger.debug("running %s", " ".join(cmd))
    with deferring() as deferred, tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(cwd),  # our cwd may be unreachable for the account
            # not user=/group=: those need Python 3.9 (the demotion calls only setgroups/
            # setgid/setuid, which take no lock a thread could hold across the fork)
            preexec_fn=demote,  # noqa: PLW1509
            start_new_session=True,
        )
        try:
            returncode = _wait(
                proc, os.path.basename(cmd[0]), deferred, timeout, finish_on_interrupt
            )
        except BaseException:  # whatever a handler we do not hold raises: leave nothing
            _killpg(proc.pid)
            proc.wait()
            raise
        out.seek(0)
        output = out.read().decode(errors="replace")
    return returncode, output


def _wait(
    proc: subprocess.Popen[bytes],
    name: str,
    deferred: _Deferred,
    timeout: float,
    finish_on_interrupt: bool,
) -> int:
    """``proc``'s status once it ends, or once it is killed: interrupted, or past ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return proc.wait(timeout=POLL)
        except subprocess.TimeoutExpired:
            pass
        interrupted = bool(deferred.pending) and not finish_on_interrupt
        if interrupted or time.monotonic() > deadline:
            logger.log(
                logging.DEBUG if interrupted else logging.WARNING,
                "killing %s: %s",
                name,
                "interrupted" if interrupted else f"still running after {timeout}s",
            )
            _killpg(proc.pid)
            return proc.wait()


def postmaster_pid(data: Path) -> Optional[int]:
    """The postmaster's pid from ``postmaster.pid`` (``None`` for a single-user backend's)."""
    try:
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if pid > 0 else None  # negative: a standalone backend (initdb's), no pg_ctl


def _proc_link(pid: str, name: str) -> str:
    """``/proc/<pid>/<name>`` (``cwd``, ``exe``) resolved, also once its target is deleted."""
    link = os.readlink(f"/proc/{pid}/{name}")
    return link[: -len(" (deleted)")] if link.endswith(" (deleted)") else link


def _server_pids(data: Path, binary: Path) -> Set[int]:
    """Live processes of the cluster in ``data``.

    With procfs (Linux), every process running ``binary`` (our ``postgres``) with ``data`` as
    its working directory: the postmaster and all its children, and initdb's bootstrap and
    single-user backends, chdir there. Without, the pid in ``postmaster.pid``.
    """
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:  # no procfs
        try:
            pid = abs(int((data / "postmaster.pid").read_text().split("\n", 1)[0]))
        except (OSError, ValueError):
            return set()
        return {pid} if pid and alive(pid) else set()
    pids: Set[int] = set()
    target = os.path.realpath(data)
    executable = os.path.realpath(binary)
    for name in entries:
        try:
            cwd = _proc_link(name, "cwd")
            exe = _proc_link(name, "exe")
        except OSError:  # gone, a zombie, or not ours to look at
            continue
        if cwd == target and exe == executable and alive(int(name)):
            pids.add(int(name))
    return pids


def kill_left(data: Path, binary: Path, timeout: float) -> None:
    """SIGKILL every process of the cluster in ``data`` still running; wait up to ``timeout``."""
    left = _server_pids(data, binary)
    if not left:
        return
    logger.warning("killing PostgreSQL processes left in %s: %s", data, sorted(left))
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in left) and time.monotonic() < deadline:
        time.sleep(POLL)
