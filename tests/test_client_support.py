"""Small local helpers shared by the ``test_client_*`` modules (and a check of the helpers).

Kept here rather than in :mod:`pgsql.testing` on purpose: these tests must not depend on the
helpers they could be used to validate.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

import ops
import ops.charm
import ops.framework
import ops.lib
from ops.testing import Harness

import pgsql
from pgsql import protocol

DATA = Path(__file__).resolve().parent / "data"
SEED = DATA / "seed-1.0.0-README.txt"

META = """
name: myapp
requires:
  db:
    interface: pgsql
    limit: 1
"""
META_PEER = (
    META
    + """
peers:
  replicas:
    interface: myapp-peers
"""
)
CONFIG = """
options:
  database:
    type: string
    default: mydb
"""

EGRESS0 = {"egress-subnets": "10.0.0.10/32", "ingress-address": "10.0.0.10"}
EGRESS1 = {"egress-subnets": "10.0.0.11/32", "ingress-address": "10.0.0.11"}
PASSWORD = "Sup3rS3cretPassw0rd"
MASTER = f"host=10.0.0.20 port=5432 dbname=mydbname user=juju_myapp password={PASSWORD}"
STANDBY = f"host=10.0.0.21 port=5432 dbname=mydbname user=juju_myapp password={PASSWORD}"


def seed_source() -> str:
    """The 1.x usage example, verbatim from the 1.0.0 README."""
    match = re.search(r"```python\n(.*?)```", SEED.read_text(), flags=re.DOTALL)
    assert match is not None
    return match.group(1)


_counter = [0]


def seed_charm(via: str = "ops.lib.use", replace: Optional[Tuple[str, str]] = None) -> Any:
    """Build the seed example's ``MyCharm`` class from its verbatim source.

    ``via="ops.lib.use"`` runs it as written (the caller filters ops' DeprecationWarning);
    ``via="import pgsql"`` replaces ``ops.lib.use`` by a function returning the top-level
    module, the way some charms' tests do. ``replace`` is ``(old, new)`` text to replace in it.
    """
    _counter[0] += 1
    name = f"seed_example_{_counter[0]}"
    module = types.ModuleType(name)
    module.__file__ = str(SEED)  # Harness looks for the charm's directory through it
    sys.modules[name] = module
    namespace: Dict[str, Any] = module.__dict__
    if via == "ops.lib.use":
        namespace["ops"] = ops
    else:
        fake_lib = types.SimpleNamespace(use=lambda *_args: pgsql)  # type: ignore[misc]
        namespace["ops"] = types.SimpleNamespace(
            lib=fake_lib, charm=ops.charm, framework=ops.framework
        )
    source = seed_source()
    if replace is not None:  # a documented one-line change
        assert replace[0] in source
        source = source.replace(*replace)
    exec(compile(source, str(SEED), "exec"), namespace)
    return namespace["MyCharm"]


def server_bag(
    database: str,
    master: Optional[str] = MASTER,
    standbys: Tuple[str, ...] = (),
    granted: Optional[Mapping[str, Mapping[str, str]]] = None,
    extensions: Tuple[str, ...] = ("citext",),
    state: str = "standalone",
) -> Dict[str, str]:
    """A well-behaved server unit bag (echo, grant, master)."""
    return protocol.server_databag(
        protocol.Request.build(database=database, extensions=list(extensions)),
        master=pgsql.ConnectionString(master) if master else None,
        standbys=[pgsql.ConnectionString(s) for s in standbys],
        version="16",
        granted_units=dict(granted if granted is not None else {"myapp/0": EGRESS0}),
        state=state,
    )


class CallSpy:
    """Counts the hook-tool-backed calls made through ops' model backend while events run.

    Only calls made while the framework dispatches an event count (the charm's and the
    library's), not the test harness's own writes and reads around it.
    """

    METHODS = (
        "relation_ids",
        "relation_list",
        "relation_get",
        "relation_set",
        "relation_remote_app_name",
        "is_leader",
        "juju_log",
        "config_get",
    )

    def __init__(self, backend: Any, framework: Any) -> None:
        self.calls: List[Tuple[str, Tuple[Any, ...]]] = []
        self._depth = 0
        for name in self.METHODS:
            original = getattr(backend, name, None)
            if original is not None:
                setattr(backend, name, self._wrap(name, original))
        emit = framework._emit

        def armed_emit(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            try:
                return emit(*args, **kwargs)
            finally:
                self._depth -= 1

        framework._emit = armed_emit

    def _wrap(self, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def spy(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                self.calls.append((name, args or tuple(kwargs.values())))
            return original(*args, **kwargs)

        return spy

    def reset(self) -> None:
        """Forget the calls so far."""
        self.calls.clear()

    def count(self, name: Optional[str] = None) -> int:
        """How many calls (of one kind) were made."""
        return sum(1 for n, _ in self.calls if name is None or n == name)

    def summary(self) -> Dict[str, int]:
        """Calls per kind (``is-leader`` at most once: ops caches it for 30 s in a hook)."""
        out: Dict[str, int] = {}
        for n, _ in self.calls:
            out[n] = out.get(n, 0) + 1
        if out.get("is_leader", 0) > 1:
            out["is_leader"] = 1
        return out


def fresh_model(harness: Harness[Any]) -> None:
    """Drop the model's relation caches, as a new hook process would start without them."""
    model = harness.model
    relations: Any = model.relations
    data: Dict[str, Any] = relations._data
    for name in list(data):
        data[name] = None


def harness_for(
    charm_cls: Any, meta: str = META, config: Optional[str] = None, leader: bool = True
) -> Harness[Any]:
    """A begun Harness with leadership set."""
    harness: Harness[Any] = Harness(charm_cls, meta=meta, config=config)
    harness.set_leader(leader)
    harness.begin()
    return harness


def events_of(records: List[str], prefix: str = "") -> Iterator[str]:
    """The recorded event names that start with ``prefix``."""
    return (r for r in records if r.startswith(prefix))


def test_seed_source_is_the_1x_example() -> None:
    source = seed_source()
    assert source.startswith('pgsql = ops.lib.use("pgsql", 1, "postgresql-charmers@')
    assert "event.database = 'mydbname'" in source
    assert callable(ops.lib.use)


def test_server_bag_echoes_and_grants() -> None:
    bag = server_bag("mydb")
    assert bag["database"] == "mydb"
    assert bag["allowed-subnets"] == "10.0.0.10/32"
    assert PASSWORD in bag["master"]
