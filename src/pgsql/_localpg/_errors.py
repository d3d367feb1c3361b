"""What :class:`~pgsql._localpg.LocalPostgres` raises when it cannot give a server."""

from __future__ import annotations

__all__ = ["PostgresNotFound", "PostgresStartError"]


class PostgresNotFound(RuntimeError):  # noqa: N818 - public name the demo relies on
    """The PostgreSQL server binaries are not installed (the message says how to get them)."""


class PostgresStartError(RuntimeError):
    """``initdb`` or ``pg_ctl start`` failed; the message carries their output and the log."""
