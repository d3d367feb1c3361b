"""The provides side kept its import paths, its laziness and its loggers when it became a package.

``PostgreSQLServer`` and ``DatabaseProvider`` live in ``pgsql/server/``; charms still import them
from ``pgsql.server``, ``pgsql.server_postgresql_client``, ``pgsql`` and ``ops.lib.use``, a
requirer charm still never loads them, and operators still find their decisions under the
logger names they configured.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from typing import Any, Iterator, List

import ops
import ops.charm
import ops.framework
import ops.lib
import pytest
from ops.testing import Harness

import pgsql
import pgsql.server
import pgsql.server_postgresql_client
from pgsql.server._endpoint import Answer

pytestmark = pytest.mark.filterwarnings(
    "ignore:Harness is deprecated:PendingDeprecationWarning",
    "ignore:ops.lib is deprecated:DeprecationWarning",
)

# What each module exported before the move, spelt out: a name dropped by the package fails here.
SERVER_NAMES = [
    "PUBLISHED_KEYS",
    "ClientRelationBrokenEvent",
    "ClientRelationEvent",
    "ClientRequestChangedEvent",
    "PostgreSQLServer",
    "PostgreSQLServerEvents",
]
PROVIDER_NAMES = [
    "DatabaseProvider",
    "DatabaseProviderEvents",
    "DatabaseRelationEvent",
    "DatabaseRequestChangedEvent",
    "RequirerRelationBrokenEvent",
    "secret_label",
]
PASSWORD = "Sup3rSecretPassw0rd"


@pytest.mark.parametrize(
    ("module", "names"),
    [(pgsql.server, SERVER_NAMES), (pgsql.server_postgresql_client, PROVIDER_NAMES)],
)
def test_every_name_of_the_old_modules_is_still_importable_from_them(
    module: Any, names: List[str]
) -> None:
    assert sorted(module.__all__) == sorted(names)
    for name in names:
        value = getattr(module, name)
        if name in pgsql.__all__:
            assert getattr(pgsql, name) is value


def test_ops_lib_use_hands_out_the_same_provider_classes() -> None:
    lib = ops.lib.use("pgsql", 1, "postgresql-charmers@lists.launchpad.net")
    assert lib.PostgreSQLServer is pgsql.server.PostgreSQLServer
    assert lib.DatabaseProvider is pgsql.server_postgresql_client.DatabaseProvider
    assert lib.RequirerRelationBrokenEvent is pgsql.RequirerRelationBrokenEvent


def test_a_requirer_charm_never_imports_the_provides_side() -> None:
    code = (
        "import sys, ops, pgsql\n"
        "pgsql.PostgreSQLClient, pgsql.MasterChangedEvent, pgsql.Request\n"
        "print(sorted(m for m in sys.modules if m.startswith('pgsql.server')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


class _Server(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLServer(self, "db")
        self.database = pgsql.DatabaseProvider(self, "database")


META = """
name: pg
provides:
  db: {interface: pgsql}
  database: {interface: postgresql_client}
"""


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("JUJU_VERSION", "3.6.0")
    h = Harness(_Server, meta=META)
    h.set_leader(True)
    h.begin()
    yield h
    h.cleanup()


def test_decisions_are_logged_under_the_names_charms_configure(
    harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pgsql")
    # app data set after add_relation: ops 2.0's Harness has no app_data= argument
    rel_id = harness.add_relation("db", "myapp")
    harness.update_relation_data(rel_id, "myapp", {"database": "mydb"})
    harness.add_relation_unit(rel_id, "myapp/0")
    other = harness.add_relation("database", "other")
    harness.update_relation_data(other, "other", {"database": "otherdb"})
    by_logger = {r.name for r in caplog.records if "changed" in r.getMessage()}
    assert by_logger == {"pgsql.server", "pgsql.server_postgresql_client"}


def test_an_answer_repr_names_keys_never_values() -> None:
    master = pgsql.ConnectionString(host="10.0.0.20", dbname="mydb", password=PASSWORD)
    answer = Answer(unit={"master": str(master)}, app={"password": PASSWORD})
    text = repr(answer)
    assert PASSWORD not in text
    assert text == "Answer(unit keys=['master'], app keys=['password'])"
