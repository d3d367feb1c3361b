"""PostgreSQL relations (``pgsql`` and ``postgresql_client``) for charms written with ``ops``.

A charm that needs PostgreSQL declares ``requires: db: {interface: pgsql}`` (or, for current
PostgreSQL, ``interface: postgresql_client``: the same code speaks it) and::

    import pgsql

    class MyCharm(ops.CharmBase):
        def __init__(self, framework):
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "db")
            self.framework.observe(self.db.on.master_changed, self._on_master_changed)

        def _on_master_changed(self, event: pgsql.MasterChangedEvent):
            if event.master is not None:
                self.connect(event.master.uri)

Names are loaded on first use: :class:`ConnectionString` needs only the standard library, the
charm-facing classes import ``ops``.

Modules, one concern each:

- :mod:`pgsql.connstr`: libpq connection strings and URIs (standard library only).
- :mod:`pgsql.protocol`: the wire protocol as pure functions over databags (no ``ops``).
- :mod:`pgsql.client`: :class:`PostgreSQLClient`, the requires side of both interfaces (1.x
  compatible).
- :mod:`pgsql.server`: :class:`PostgreSQLServer`, the provides side of ``pgsql``.
- :mod:`pgsql.server_postgresql_client`: :class:`DatabaseProvider`, the provides side of
  ``postgresql_client``.
- :mod:`pgsql.testing`: helpers for charm authors' unit tests.
- :mod:`pgsql.doctor`: explains a relation from ``juju show-unit`` output.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .connstr import ConnectionString, ConnectionStringError

if TYPE_CHECKING:  # pragma: no cover - the lazy imports below, spelt out for type checkers
    from . import client as client
    from . import protocol as protocol
    from . import server as server
    from . import server_postgresql_client as server_postgresql_client
    from .client import (
        LEADER_KEY,
        DatabaseAvailableEvent,
        DatabaseChangedEvent,
        DatabaseGoneEvent,
        DatabaseRelationBrokenEvent,
        DatabaseRelationJoinedEvent,
        MasterAvailableEvent,
        MasterChangedEvent,
        MasterGoneEvent,
        NotLeaderError,
        PostgreSQLClient,
        PostgreSQLClientEvents,
        PostgreSQLRelationEvent,
        StandbyAvailableEvent,
        StandbyChangedEvent,
        StandbyGoneEvent,
    )
    from .protocol import Readiness, Reason, Request, RequestError
    from .server import (
        ClientRelationBrokenEvent,
        ClientRequestChangedEvent,
        PostgreSQLServer,
        PostgreSQLServerEvents,
    )
    from .server_postgresql_client import (
        DatabaseProvider,
        DatabaseProviderEvents,
        DatabaseRequestChangedEvent,
        RequirerRelationBrokenEvent,
    )

__version__ = "2.0.0"

LIBNAME = "pgsql"
LIBAUTHOR = "postgresql-charmers@lists.launchpad.net"
LIBAPI = 1
LIBPATCH = 5

__all__ = [
    "ConnectionString",
    "ConnectionStringError",
    "DatabaseAvailableEvent",
    "DatabaseChangedEvent",
    "DatabaseGoneEvent",
    "DatabaseRelationBrokenEvent",
    "DatabaseRelationJoinedEvent",
    "LEADER_KEY",
    "MasterAvailableEvent",
    "MasterChangedEvent",
    "MasterGoneEvent",
    "NotLeaderError",
    "PostgreSQLClient",
    "PostgreSQLClientEvents",
    "PostgreSQLRelationEvent",
    "StandbyAvailableEvent",
    "StandbyChangedEvent",
    "StandbyGoneEvent",
    "Readiness",
    "Reason",
    "Request",
    "RequestError",
    "PostgreSQLServer",
    "PostgreSQLServerEvents",
    "ClientRequestChangedEvent",
    "ClientRelationBrokenEvent",
    "DatabaseProvider",
    "DatabaseProviderEvents",
    "DatabaseRequestChangedEvent",
    "RequirerRelationBrokenEvent",
]

_LAZY = {
    **{
        name: "client"
        for name in __all__
        if name.endswith("Event") and not name.startswith("Client")
    },
    "LEADER_KEY": "client",
    "NotLeaderError": "client",
    "PostgreSQLClient": "client",
    "PostgreSQLClientEvents": "client",
    "Readiness": "protocol",
    "Reason": "protocol",
    "Request": "protocol",
    "RequestError": "protocol",
    "PostgreSQLServer": "server",
    "PostgreSQLServerEvents": "server",
    "ClientRequestChangedEvent": "server",
    "ClientRelationBrokenEvent": "server",
    "DatabaseProvider": "server_postgresql_client",
    "DatabaseProviderEvents": "server_postgresql_client",
    "DatabaseRequestChangedEvent": "server_postgresql_client",
    "RequirerRelationBrokenEvent": "server_postgresql_client",
}
_SUBMODULES = {
    "client",
    "connstr",
    "protocol",
    "server",
    "server_postgresql_client",
    "testing",
    "doctor",
    "cli",
}


def __getattr__(name: str) -> Any:
    """Import ops-dependent names on first use (PEP 562)."""
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})
