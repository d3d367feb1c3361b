"""The README's examples run verbatim: the 1.x seed charm, the declarative charm, the doctests."""

from __future__ import annotations

import doctest
import importlib
import re
import sys
import types
import warnings
from pathlib import Path
from typing import Any, Dict, List

import ops
import pytest
from ops.testing import Harness

import pgsql
from pgsql import protocol

README = Path(__file__).resolve().parents[1] / "README.md"
META = """
name: myapp
requires:
  db:
    interface: pgsql
    limit: 1
"""
CONFIG = """
options:
  database:
    type: string
    default: mydb
"""


def _python_blocks() -> List[str]:
    text = README.read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def _charm_class(source: str) -> Any:
    """Exec a README block as a module of its own and return its ``MyCharm``."""
    module = types.ModuleType("readme_example")
    module.__file__ = str(README)  # Harness looks the charm's module up by file
    sys.modules[module.__name__] = module
    namespace: Dict[str, Any] = module.__dict__
    for name in ("ops.charm", "ops.framework", "ops.lib"):  # what the example's names need
        importlib.import_module(name)
    namespace.update(ops=ops)
    with warnings.catch_warnings():
        # ops.lib.use is deprecated in ops >= 2.1; the 1.x example uses it on purpose
        warnings.filterwarnings("ignore", "ops.lib is deprecated", DeprecationWarning)
        exec(compile(source, str(README), "exec"), namespace)
    return namespace["MyCharm"]


def _server_bag(
    database: str, master: str, client_units: Dict[str, Dict[str, str]]
) -> Dict[str, str]:
    request = protocol.Request.build(database=database, extensions=["citext"])
    return protocol.server_databag(
        request,
        master=pgsql.ConnectionString(master),
        version="16",
        granted_units=client_units,
        state="standalone",
    )


EGRESS = {"egress-subnets": "10.0.0.10/32", "ingress-address": "10.0.0.10"}
MASTER = "host=10.0.0.20 port=5432 dbname=mydbname user=juju_myapp password=pw0"


def test_readme_has_the_seed_example_verbatim() -> None:
    seed = (Path(__file__).resolve().parent / "data/seed-1.0.0-README.txt").read_text()
    example = re.search(r"```python\n(.*?)```", seed, flags=re.DOTALL)
    assert example is not None
    assert example.group(1) in README.read_text()


def test_seed_example_runs_as_leader() -> None:
    charm_cls = _charm_class(_python_blocks()[0])
    harness: Harness[Any] = Harness(charm_cls, meta=META)
    harness.set_leader(True)
    harness.begin()
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, "myapp/0", EGRESS)
    harness.add_relation_unit(rel_id, "postgresql/0")
    assert harness.get_relation_data(rel_id, "myapp") == {
        "database": "mydbname",
        "extensions": "citext",
    }
    bag = _server_bag("mydbname", MASTER, {"myapp/0": EGRESS})
    harness.update_relation_data(rel_id, "postgresql/0", bag)
    state = harness.charm._state
    assert state.db_uri == "postgresql://juju_myapp:pw0@10.0.0.20:5432/mydbname"
    assert state.db_conn_str == str(pgsql.ConnectionString(MASTER))
    harness.cleanup()


def test_seed_example_non_leader_waits_for_the_leader() -> None:
    charm_cls = _charm_class(_python_blocks()[0])
    harness: Harness[Any] = Harness(charm_cls, meta=META)
    harness.set_leader(False)
    harness.begin()
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, "myapp/0", EGRESS)
    harness.add_relation_unit(rel_id, "postgresql/0")
    # nothing requested by this unit: it is not the leader
    assert harness.get_relation_data(rel_id, "myapp") == {}
    # the server echoes the leader's request; the non-leader trusts the echo and connects
    bag = _server_bag("mydbname", MASTER, {"myapp/0": EGRESS})
    harness.update_relation_data(rel_id, "postgresql/0", bag)
    assert harness.charm._state.db_uri == "postgresql://juju_myapp:pw0@10.0.0.20:5432/mydbname"
    harness.cleanup()


@pytest.mark.skipif(
    not hasattr(ops, "CollectStatusEvent"), reason="collect-status needs ops >= 2.5"
)
def test_declarative_example_sets_status_from_readiness() -> None:
    charm_cls = _charm_class(_python_blocks()[1])
    harness: Harness[Any] = Harness(charm_cls, meta=META, config=CONFIG)
    harness.set_leader(True)
    harness.begin_with_initial_hooks()
    harness.evaluate_status()
    assert harness.model.unit.status == ops.BlockedStatus("needs a database relation")
    rel_id = harness.add_relation("db", "postgresql")
    harness.update_relation_data(rel_id, "myapp/0", EGRESS)
    harness.add_relation_unit(rel_id, "postgresql/0")
    assert harness.get_relation_data(rel_id, "myapp") == {
        "database": "mydb",
        "extensions": "citext",
    }
    harness.evaluate_status()
    assert isinstance(harness.model.unit.status, ops.WaitingStatus)
    master = MASTER.replace("mydbname", "mydb")
    harness.update_relation_data(
        rel_id, "postgresql/0", _server_bag("mydb", master, {"myapp/0": EGRESS})
    )
    harness.evaluate_status()
    assert harness.model.unit.status == ops.ActiveStatus()
    harness.cleanup()


def test_readme_doctests() -> None:
    result = doctest.testfile(
        str(README), module_relative=False, globs={"pgsql": pgsql}, optionflags=doctest.ELLIPSIS
    )
    assert result.attempted > 0
    assert result.failed == 0
