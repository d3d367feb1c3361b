"""PostgreSQL relation interface for the Operator Framework (``ops.lib.use`` entry point).

``ops.lib.use("pgsql", 1, "postgresql-charmers@lists.launchpad.net")`` finds this file by its
``LIB*`` constants (they must stay within its first 99 lines) and loads it as
``pgsql.opslib.pgsql``. It re-exports the one :mod:`pgsql` module tree, so both ways of importing
hand out the very same classes, and patching ``pgsql.opslib.pgsql.client.X`` patches
``pgsql.client.X``.
"""

import sys

import pgsql
from pgsql import *  # noqa: F403
from pgsql import client

LIBNAME = "pgsql"
LIBAUTHOR = "postgresql-charmers@lists.launchpad.net"
LIBAPI = 1
LIBPATCH = 5

__all__ = [*pgsql.__all__, "client"]  # pyright: ignore[reportUnsupportedDunderAll]

# ``import pgsql.opslib.pgsql.client`` must find the same module object as ``pgsql.client``.
sys.modules.setdefault(__name__ + ".client", client)
