"""The import path of :class:`DatabaseProvider`, the provides side of ``postgresql_client``.

The class and its usage live in :mod:`pgsql.server` (``server/_postgresql_client.py``); this
module keeps every name that was importable from it, the very same objects.
"""

from .server._postgresql_client import (
    DatabaseProvider,
    DatabaseProviderEvents,
    DatabaseRelationEvent,
    DatabaseRequestChangedEvent,
    RequirerRelationBrokenEvent,
    secret_label,
)

__all__ = [
    "DatabaseProvider",
    "DatabaseProviderEvents",
    "DatabaseRelationEvent",
    "DatabaseRequestChangedEvent",
    "RequirerRelationBrokenEvent",
    "secret_label",
]

# ``doctest.testmod`` on this module runs the examples of the names it stands for.
__test__ = {"secret_label": secret_label}
