"""Which endpoints each provides-side class accepts, by the interface the charm declares.

``DatabaseProvider`` refuses an endpoint speaking ``pgsql`` and names the class that serves it;
``PostgreSQLServer`` serves whatever ``provides`` endpoint it is given; both refuse an endpoint
that is not a ``provides`` one. The check lives in ``server/_endpoint.py`` (``check_provides``),
fed by each interface's declaration, not in the facades.
"""

from __future__ import annotations

from typing import Callable

import ops
import ops.charm
import ops.framework
import pytest
from ops.testing import Harness

import pgsql

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")

META = """
name: server
provides:
  db:
    interface: pgsql
  database:
    interface: postgresql_client
requires:
  backend:
    interface: postgresql_client
"""

Serve = Callable[[ops.charm.CharmBase, str], object]


def _begin(serve: Serve, endpoint: str) -> None:
    class Server(ops.charm.CharmBase):
        def __init__(self, framework: ops.framework.Framework):
            super().__init__(framework)
            self.served = serve(self, endpoint)

    harness = Harness(Server, meta=META)
    try:
        harness.begin()
    finally:
        harness.cleanup()


def test_database_provider_on_a_pgsql_endpoint_is_refused_naming_postgresql_server() -> None:
    with pytest.raises(ValueError, match="speaks pgsql") as caught:
        _begin(pgsql.DatabaseProvider, "db")
    assert str(caught.value) == (
        "'db' speaks pgsql: serve it with PostgreSQLServer; DatabaseProvider speaks "
        "postgresql_client"
    )


@pytest.mark.parametrize("endpoint", ["db", "database"])
def test_postgresql_server_serves_any_provides_endpoint(endpoint: str) -> None:
    _begin(pgsql.PostgreSQLServer, endpoint)


def test_database_provider_serves_its_postgresql_client_endpoint() -> None:
    _begin(pgsql.DatabaseProvider, "database")


@pytest.mark.parametrize("serve", [pgsql.PostgreSQLServer, pgsql.DatabaseProvider])
def test_a_requires_endpoint_is_refused_by_both_sides(serve: Serve) -> None:
    with pytest.raises(ValueError, match="'backend' is a requires endpoint of server"):
        _begin(serve, "backend")
