"""Running the server as an unprivileged account when we are root.

``initdb``, ``pg_ctl`` and ``postgres`` refuse to run as root. When we are root (containers,
CI), :class:`~pgsql._localpg.LocalPostgres` runs them as ``nobody`` or the first existing of
:data:`UNPRIVILEGED_CANDIDATES`: this module picks that account, makes a temporary directory it
can reach and owns, and gives what a command needs to run as it (the demotion between fork and
exec, the environment). Every function takes the account, ``None`` when we are not root, and
then does nothing special.
"""

from __future__ import annotations

import logging
import os
import pwd
import stat
import tempfile
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

from ._errors import PostgresStartError

__all__ = [
    "UNPRIVILEGED_CANDIDATES",
    "chown",
    "command_env",
    "demoter",
    "make_directory",
    "unprivileged_account",
]

# The package's logger: charms and tests know this name.
logger = logging.getLogger("pgsql._localpg")

#: Accounts tried, in order, to run the server when we are root.
UNPRIVILEGED_CANDIDATES: Tuple[str, ...] = ("nobody", "postgres", "daemon")


def unprivileged_account() -> pwd.struct_passwd:
    """The first existing account of :data:`UNPRIVILEGED_CANDIDATES`.

    Raises:
        PostgresStartError: none exists.
    """
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


def _reachable_base(base: Path, account: pwd.struct_passwd) -> Path:
    """``base``, or ``/tmp`` when ``account`` cannot traverse ``base``.

    Raises:
        PostgresStartError: it can traverse neither.
    """
    gids = [account.pw_gid]
    if _traversable_by(base.resolve(), account.pw_uid, gids):
        return base
    fallback = Path("/tmp")  # noqa: S108 - world-traversable by convention; checked
    if not _traversable_by(fallback, account.pw_uid, gids):
        raise PostgresStartError(
            f"account {account.pw_name!r} cannot traverse {base} nor {fallback}; "
            "pass base_dir= a directory it can reach"
        )
    logger.debug("%s not traversable by %s, using %s", base, account.pw_name, fallback)
    return fallback


def make_directory(base: Optional[Path], account: Optional[pwd.struct_passwd]) -> Path:
    """A new private temporary directory under ``base`` (the system's), owned by ``account``.

    Raises:
        PostgresStartError: ``account`` can reach neither ``base`` nor ``/tmp``.
    """
    base = base or Path(tempfile.gettempdir())
    if account is not None:
        base = _reachable_base(base, account)
    # mkdtemp makes it 0700: only the server's account (and root) can reach the socket.
    directory = Path(tempfile.mkdtemp(prefix="pgsql-localpg-", dir=str(base)))
    chown(directory, account)
    return directory


def chown(path: Path, account: Optional[pwd.struct_passwd]) -> None:
    """Hand ``path`` over to ``account`` (nothing to do when we are not root)."""
    if account is not None:
        os.chown(path, account.pw_uid, account.pw_gid)


def demoter(account: Optional[pwd.struct_passwd]) -> Optional[Callable[[], None]]:
    """What a child runs between fork and exec to become ``account`` (None: stay as we are)."""
    if account is None:
        return None

    def demote() -> None:  # pragma: no cover - runs in the child between fork and exec
        os.setgroups([])
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)

    return demote


def command_env(account: Optional[pwd.struct_passwd], home: Path) -> Dict[str, str]:
    """The environment of a server command: ours without ``PG*``, as ``account`` in ``home``."""
    # PG* variables (PGDATA, PGPORT, PGOPTIONS...) from the caller must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    if account is not None:
        env["HOME"] = str(home)
        env["USER"] = env["LOGNAME"] = account.pw_name
    return env
