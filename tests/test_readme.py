"""The README's examples run verbatim: the new charm and its test, the 1.x seed charm, the 2.0-style
charm on ``db``, the doctests; its links work on the package index."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys
import types
import warnings
from pathlib import Path
from typing import Any, Dict, List

import ops
import pytest
from needs import needs_scenario
from ops.testing import Harness

import pgsql
from pgsql import protocol

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NEW_CHARM = ROOT / "examples" / "postgresql-client-charm"
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


def _blocks(language: str) -> List[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def _block(language: str, needle: str) -> str:
    """The one README code block in ``language`` holding ``needle``."""
    (found,) = [b for b in _blocks(language) if needle in b]
    return found


SEED = 'pgsql = ops.lib.use("pgsql", 1'
DB_2_0 = 'self, "db", database=self.config'
NEW = 'pgsql.PostgreSQLClient(self, "database", database="mydb")'
NEW_TEST = "import charm\n"


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
    charm_cls = _charm_class(_block("python", SEED))
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
    charm_cls = _charm_class(_block("python", SEED))
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
    charm_cls = _charm_class(_block("python", DB_2_0))
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


# ---------------------------------------------------------------------------------------------
# The new charm on PostgreSQL 16, first in the README: the example charm, and it runs verbatim
# ---------------------------------------------------------------------------------------------


def test_readme_new_charm_is_the_example_charm() -> None:
    assert _block("yaml", "interface: postgresql_client\n    limit: 1\n") == (
        (NEW_CHARM / "charmcraft.yaml").read_text()
    )
    charm = _block("python", NEW)
    assert charm.startswith("from pathlib import Path\n")
    assert charm.endswith('if __name__ == "__main__":\n    ops.main(MyCharm)\n')
    assert charm in (NEW_CHARM / "src" / "charm.py").read_text()
    # the recommended style: nothing of 1.x
    for old in ("StoredState", "defer()", "ops.lib", "_state"):
        assert old not in charm


def test_readme_leads_with_the_new_charm_then_upgrading_from_1x() -> None:
    text = README.read_text()
    headings = re.findall(r"^## (.*)$", text, flags=re.MULTILINE)
    assert headings[:4] == [
        "Installing",
        "A new charm on PostgreSQL 16",
        "Try it: two commands",
        "Upgrading from 1.x",
    ]
    assert text.index(NEW) < text.index(SEED) < text.index(DB_2_0)
    assert text.index("## Upgrading from 1.x") < text.index(SEED)
    for name in ("pgsql.DatabaseProvider", "pgsql.PostgreSQLServer"):
        assert name in text
    commands = _block("sh", "tasks.py demo")
    assert "python3 tasks.py demo " in commands
    assert "python3 tasks.py test " in commands


def test_readme_says_how_to_install_2_0_before_it_is_on_the_package_index() -> None:
    text = README.read_text()
    tag = "git+https://github.com/canonical/ops-lib-pgsql@v2.0.0"
    assert f'pip install "ops-lib-pgsql @ {tag}"' in _block("sh", "pip install")
    assert "`pip install ops-lib-pgsql` installs 1.4" in text
    assert "`ops-lib-pgsql>=2`" in text
    version = re.search(r'^version = "(.*)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert version is not None
    assert f"@v{version.group(1)}" in tag
    assert f"ops_lib_pgsql-{version.group(1)}-py3-none-any.whl" in text


def test_readme_links_are_absolute_for_the_package_index() -> None:
    # PyPI renders the README away from the repository: a relative link would be a dead one
    links = re.findall(r"\]\(([^)\s]*)\)", README.read_text())
    assert len(links) > 10
    relative = [link for link in links if not link.startswith("https://")]
    assert relative == []
    base = "https://github.com/canonical/ops-lib-pgsql/"
    for link in links:
        if link.startswith(base):
            kind, branch, path = link[len(base) :].split("/", 2)
            assert (kind, branch) in {("blob", "main"), ("tree", "main")}, link
            target = ROOT / path
            assert target.is_file() if kind == "blob" else target.is_dir(), link


def _charm_dir(tmp_path: Path, charm: str) -> Path:
    """A charm's repository made of the README's blocks: what a reader would put together."""
    root = tmp_path / "myapp"
    (root / "src").mkdir(parents=True)
    (root / "tests" / "unit").mkdir(parents=True)
    (root / "charmcraft.yaml").write_text(_block("yaml", "interface: postgresql_client\n"))
    (root / "src" / "charm.py").write_text(charm)
    (root / "tests" / "unit" / "test_charm.py").write_text(_block("python", NEW_TEST))
    (root / "pytest.ini").write_text("[pytest]\n")  # this directory is the rootdir
    return root


def _run_readme_test(root: Path) -> subprocess.CompletedProcess[str]:
    # the README's command, `PYTHONPATH=src python3 -m pytest tests/unit`, warnings as errors
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = "src"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/unit",
            "-q",
            "-W",
            "error",
            "-p",
            "no:cacheprovider",
        ],
        cwd=str(root),
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.scenario
@needs_scenario
def test_readme_new_charm_passes_its_readme_test(tmp_path: Path) -> None:
    proc = _run_readme_test(_charm_dir(tmp_path, _block("python", NEW)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout


@pytest.mark.scenario
@needs_scenario
def test_readme_test_fails_for_a_charm_that_ignores_master_changed(tmp_path: Path) -> None:
    # the README's test checks something: without the handler the database is never written
    charm = _block("python", NEW)
    line = "        framework.observe(self.db.on.master_changed, self._on_master_changed)\n"
    assert line in charm
    proc = _run_readme_test(_charm_dir(tmp_path, charm.replace(line, "")))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 1 passed" in proc.stdout
