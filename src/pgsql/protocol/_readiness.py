"""Readiness: the verdict a client unit reaches about one relation, and why.

:class:`Readiness` is what an interface's evaluation returns: the connection strings a unit may
use and the :class:`Reason` findings (blocking reasons and notes, by stable code) behind it, with
a :class:`BagVerdict` for every remote databag considered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from ..connstr import ConnectionString

# The reason codes live apart (no dataclasses), so naming one at import costs a requirer nothing
# more; the interfaces' modules import them from here.
from ._codes import (
    DATABASE_MISMATCH,
    DATABASE_PENDING,
    EGRESS_NOT_ALLOWED,
    EXTENSIONS_NOT_ECHOED,
    EXTENSIONS_PENDING,
    MALFORMED,
    MASTERS_DISAGREE,
    NAME_PREFIX_BUG,
    NO_REMOTE,
    REJECTED,
    REQUEST_UNKNOWN,
    ROLES_IGNORED,
    ROLES_PENDING,
    STALE_APP_BAG,
    UNIT_NOT_ALLOWED,
    WAITING,
)
from ._common import digest
from ._transitions import Snapshot

__all__ = [
    "Reason",
    "BagVerdict",
    "Readiness",
    "dedupe_reasons",
    "DATABASE_MISMATCH",
    "DATABASE_PENDING",
    "EGRESS_NOT_ALLOWED",
    "EXTENSIONS_NOT_ECHOED",
    "EXTENSIONS_PENDING",
    "MALFORMED",
    "MASTERS_DISAGREE",
    "NAME_PREFIX_BUG",
    "NO_REMOTE",
    "REJECTED",
    "REQUEST_UNKNOWN",
    "ROLES_IGNORED",
    "ROLES_PENDING",
    "STALE_APP_BAG",
    "UNIT_NOT_ALLOWED",
    "WAITING",
]


@dataclass(frozen=True)
class Reason:
    """One finding about the relation, safe to log or show (it never holds a password).

    Attributes:
        code: a stable identifier (``egress-not-allowed``, ``database-pending``, ...).
        message: a one-line human explanation with the values involved.
        bag: the server databag it is about (``postgresql/0``, or the application name), if any.
        blocking: True when it keeps that bag (or the relation) from being ready; False for notes.
        advice: what an operator can do about it, when there is a known fix.
    """

    code: str
    message: str
    bag: Optional[str] = None
    blocking: bool = True
    advice: Optional[str] = None

    def __str__(self) -> str:
        where = f"{self.bag}: " if self.bag else ""
        return f"{where}{self.message}"


@dataclass(frozen=True)
class BagVerdict:
    """The readiness verdict for one server databag."""

    bag: str
    is_app: bool
    publishes_master: bool
    publishes_standbys: bool
    ready: bool
    reasons: Tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Readiness:
    """Everything a client unit can tell about one relation, computed from databags alone.

    Attributes:
        ready: a master database is available to this unit (the server granted access and acted
            on the request). A client's verdict kept from an earlier hook (see
            :meth:`pgsql.PostgreSQLClient.readiness`) says what the charm was last told: its
            ``master`` is read when used, and is None if the server withdrew it since.
        master: the master connection string from the chosen bag, or None.
        standbys: the standby connection strings (possibly empty).
        version: the server's PostgreSQL version as published, or None.
        database: the database name the server echoed in the chosen bag, or None.
        databases: every database this unit may use, empty when not ready: ``(database,)``
            for a plain request, the provider's ``prefix-databases`` (the master's database
            among them) for a ``postgresql_client`` prefix request.
        source: the name of the bag the master (or standbys) came from.
        reasons: why not ready (blocking) and notes (non-blocking), most relevant first.
        bags: the verdict for every server bag that was considered.
        tls: whether the server requires TLS, when it says (``postgresql_client``'s ``tls``);
            None when it does not say (``pgsql`` servers never do).
        tls_ca: the CA certificate (PEM) to verify the server with, when published.
    """

    ready: bool
    master: Optional[ConnectionString] = None
    standbys: Tuple[ConnectionString, ...] = ()
    version: Optional[str] = None
    database: Optional[str] = None
    source: Optional[str] = None
    reasons: Tuple[Reason, ...] = ()
    bags: Tuple[BagVerdict, ...] = ()
    tls: Optional[bool] = None
    tls_ca: Optional[str] = None
    databases: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.ready and not self.databases and self.database:
            object.__setattr__(self, "databases", (self.database,))

    def __repr__(self) -> str:
        # the CA is public, but long: show whether there is one
        ca = "None" if self.tls_ca is None else "'<pem>'"
        return (
            f"Readiness(ready={self.ready!r}, master={self.master!r}, "
            f"standbys={self.standbys!r}, version={self.version!r}, "
            f"database={self.database!r}, source={self.source!r}, reasons={self.reasons!r}, "
            f"bags={self.bags!r}, tls={self.tls!r}, tls_ca={ca})"
        )

    @property
    def why(self) -> str:
        """A one-line explanation suitable for a unit status message."""
        if self.ready:
            return "ready"
        blocking = [r for r in self.reasons if r.blocking]
        if not blocking:
            return "not ready"
        first = blocking[0].message
        more = len({r.code for r in blocking}) - 1
        return f"{first} (+{more} more)" if more > 0 else first

    def snapshot(self) -> Snapshot:
        """The change-detection fingerprint of this state (digests, no secrets).

        TLS settings count as part of the master: a rotated CA is a changed master, and so is
        a changed list of databases (a prefix request).
        """
        master: Optional[str] = None
        if self.master is not None:
            master = str(self.master)
            if len(self.databases) > 1:  # a plain request keeps its digest across upgrades
                master += "\x00dbs=" + ",".join(self.databases)
            if self.tls is not None or self.tls_ca is not None:
                master += f"\x00tls={self.tls}\x00ca={self.tls_ca or ''}"
        return Snapshot(
            digest(master),
            tuple(digest(str(s)) or "" for s in self.standbys),
        )


def dedupe_reasons(reasons: Iterable[Reason]) -> List[Reason]:
    """The reasons in order, without repeats of a code with the same message."""
    seen: Dict[Tuple[str, str], None] = {}
    out: List[Reason] = []
    for r in reasons:
        key = (r.code, r.message)
        if key not in seen:
            seen[key] = None
            out.append(r)
    return out
