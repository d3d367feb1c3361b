"""PostgreSQL relation interface for the Operator Framework (``ops.lib.use`` entry point).

``ops.lib.use("pgsql", 1, "postgresql-charmers@lists.launchpad.net")`` finds this file by its
``LIB*`` constants (they must stay within its first 99 lines) and loads it as
``pgsql.opslib.pgsql``. It re-exports the one :mod:`pgsql` module tree, so both ways of importing
hand out the very same classes, and patching ``pgsql.opslib.pgsql.client.X`` patches
``pgsql.client.X``. Names other than the client's are looked up on first use, as in
:mod:`pgsql`, so a client charm never imports the server side.
"""

import sys
from typing import Any, List

import pgsql
from pgsql import client
from pgsql.client import *  # noqa: F403
from pgsql.connstr import ConnectionString as ConnectionString
from pgsql.connstr import ConnectionStringError as ConnectionStringError

LIBNAME = "pgsql"
LIBAUTHOR = "postgresql-charmers@lists.launchpad.net"
LIBAPI = 1
LIBPATCH = 5

__all__ = list(pgsql.__all__)  # pyright: ignore[reportUnsupportedDunderAll]

# ``import pgsql.opslib.pgsql.client`` must find the same module object as ``pgsql.client``.
sys.modules.setdefault(__name__ + ".client", client)


def __getattr__(name: str) -> Any:
    """Delegate every other public name to :mod:`pgsql` (same objects, loaded lazily)."""
    return getattr(pgsql, name)


def __dir__() -> List[str]:
    return sorted({*globals(), *__all__})
