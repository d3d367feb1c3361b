"""Upgrade from ops-lib-pgsql 1.x: a unit whose state 1.4 wrote keeps working and migrates.

1.4 kept, under the ``PostgreSQLClient[db]`` handle, ``_state.rels = {relation_id: {"master":
raw conn str or None, "standbys": [raw, ...] or None}}`` and shared the leader's request through
the ``interface.pgsql`` leadership setting (a YAML dump of ``{relation_id: {"database": ...,
"roles": ..., "extensions": ...}}``). The upgraded unit must emit no spurious event for what the
charm was already told, see real changes exactly once, and non-leaders must still know the
request. ``leader-get``/``leader-set`` are real executables on ``PATH`` here (a file-backed fake),
so the library's own hook-tool path runs, as on Juju 2.9/3.x.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import ops
import pytest
import yaml
from chaos_support import PASSWORD_MARK, chaos_settings
from conftest import scaled
from hypothesis import given
from hypothesis import strategies as st
from needs import requires_scenario

import pgsql
from pgsql import protocol

testing = requires_scenario()

pytestmark = pytest.mark.scenario

META: Dict[str, Any] = {"name": "myapp", "requires": {"db": {"interface": "pgsql"}}}
RELID = 5
PW = f"{PASSWORD_MARK}1"
MASTER = f"dbname=mydb host=10.0.1.0 password={PW} port=5432 user=juju_myapp"
STANDBY = f"dbname=mydb host=10.0.1.1 password={PW} port=5432 user=juju_myapp"
STANDBY2 = f"dbname=mydb host=10.0.1.2 password={PW} port=5432 user=juju_myapp"
CLIENT = {
    "egress-subnets": "10.0.0.10/32",
    "ingress-address": "10.0.0.10",
    "private-address": "10.0.0.10",
}
EVENTS = set(protocol.EVENT_NAMES) | {"database_relation_joined", "database_relation_broken"}


class SeedCharm(ops.CharmBase):
    """The 1.x README charm, unchanged (its handle names are what 1.4 stored state under)."""

    _state = ops.StoredState()

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self._state.set_default(db_conn_str=None, db_uri=None, db_ro_uris=[])
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        framework.observe(self.db.on.master_changed, self._on_master_changed)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "mydb"
            event.extensions = ["citext"]
        elif event.database != "mydb":
            event.defer()

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        if event.database != "mydb":
            return
        self._state.db_conn_str = None if event.master is None else event.master.conn_str


@pytest.fixture
def hook_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``leader-get``/``leader-set`` executables backed by a YAML file of settings."""
    store = tmp_path / "leader-settings.yaml"
    store.write_text("{}")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    py = sys.executable  # the venv's own interpreter (its realpath would lose the venv and yaml)
    get = bindir / "leader-get"
    get.write_text(
        f"#!{py}\nimport sys, yaml\n"
        f"d = yaml.safe_load(open({str(store)!r})) or {{}}\n"
        "print(yaml.safe_dump(d.get(sys.argv[-1])))\n"
    )
    put = bindir / "leader-set"
    put.write_text(
        f"#!{py}\nimport sys, yaml\n"
        f"d = yaml.safe_load(open({str(store)!r})) or {{}}\n"
        "for a in sys.argv[1:]:\n    k, _, v = a.partition('=')\n    d[k] = v\n"
        f"open({str(store)!r}, 'w').write(yaml.safe_dump(d))\n"
    )
    for f in (get, put):
        f.chmod(f.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return store


def _leader_settings(store: Path, request: Dict[int, Dict[str, str]]) -> None:
    store.write_text(yaml.safe_dump({"interface.pgsql": yaml.dump(request)}))


def _server_bag(
    master: Optional[str], standbys: List[str], database: str = "mydb"
) -> Dict[str, str]:
    bag = {
        "allowed-subnets": "10.0.0.10/32,10.0.0.11/32",
        "allowed-units": "myapp/0 myapp/1",
        "database": database,
        "extensions": "citext",
        "version": "12",
        "egress-subnets": "10.0.1.0/32",
        "ingress-address": "10.0.1.0",
        "private-address": "10.0.1.0",
    }
    if master:
        bag["master"] = master
    if standbys:
        bag["standbys"] = "\n".join(standbys)
    return bag


def _state_1x(
    *,
    leader: bool,
    rels: Dict[int, Dict[str, Any]],
    server: Dict[str, str],
    app_bag: Optional[Dict[str, str]] = None,
) -> Any:
    relation = testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name="postgresql",
        id=RELID,
        local_app_data=dict(
            app_bag if app_bag is not None else {"database": "mydb", "extensions": "citext"}
        ),
        local_unit_data={**CLIENT, "database": "mydb", "extensions": "citext", "roles": ""},
        remote_units_data={0: server},
    )
    stored = testing.StoredState(
        name="_state", owner_path="SeedCharm/PostgreSQLClient[db]", content={"rels": rels}
    )
    return testing.State(leader=leader, relations={relation}, stored_states={stored})


def _run(ctx: Any, event: Any, state: Any) -> Any:
    ctx.emitted_events.clear()
    ctx.juju_log.clear()
    out = ctx.run(event, state)
    for line in ctx.juju_log:
        assert PASSWORD_MARK not in line.message, line
    return out


def _emitted(ctx: Any) -> List[str]:
    return [e.handle.kind for e in ctx.emitted_events if e.handle.kind in EVENTS]


@pytest.mark.parametrize("leader", [True, False])
def test_upgrade_with_unchanged_server_emits_nothing(hook_tools: Path, leader: bool) -> None:
    _leader_settings(hook_tools, {RELID: {"database": "mydb", "roles": "", "extensions": "citext"}})
    state = _state_1x(
        leader=leader,
        rels={RELID: {"master": MASTER, "standbys": [STANDBY]}},
        server=_server_bag(MASTER, [STANDBY]),
    )
    ctx = testing.Context(SeedCharm, meta=META, unit_id=0 if leader else 1)
    out = _run(ctx, ctx.on.upgrade_charm(), state)
    assert _emitted(ctx) == []
    rel = out.get_relation(RELID)
    out = _run(ctx, ctx.on.relation_changed(rel, remote_unit=0), out)
    assert _emitted(ctx) == [], "nothing changed since 1.x told the charm"
    # a real change after the upgrade is seen exactly once
    rel = out.get_relation(RELID)
    moved = testing.Relation(
        "db",
        interface="pgsql",
        remote_app_name="postgresql",
        id=RELID,
        local_app_data=dict(rel.local_app_data),
        local_unit_data=dict(rel.local_unit_data),
        remote_units_data={0: _server_bag(MASTER.replace("10.0.1.0", "10.0.1.9"), [STANDBY])},
    )
    out = _run(ctx, ctx.on.relation_changed(moved, remote_unit=0), _replace_rel(out, moved))
    assert _emitted(ctx) == ["master_changed", "database_changed"]
    with ctx(ctx.on.update_status(), out) as mgr:
        mgr.run()
        charm: SeedCharm = mgr.charm  # type: ignore[assignment]
        master = charm.db.master()
        assert master is not None
        assert master.host == "10.0.1.9"


def _replace_rel(state: Any, rel: Any) -> Any:
    import dataclasses

    others = {r for r in state.relations if r.id != rel.id}
    return dataclasses.replace(state, relations={*others, rel})


def test_non_leader_still_knows_the_request_after_upgrade(hook_tools: Path) -> None:
    # 1.x non-leaders learnt the request from leadership settings only
    _leader_settings(hook_tools, {RELID: {"database": "mydb", "roles": "", "extensions": "citext"}})
    # the server serves another database: a non-leader that forgot the request would trust it
    state = _state_1x(
        leader=False,
        rels={RELID: {"master": None, "standbys": None}},
        server=_server_bag(MASTER.replace("dbname=mydb", "dbname=other"), [], database="other"),
    )
    ctx = testing.Context(SeedCharm, meta=META, unit_id=1)
    out = _run(ctx, ctx.on.upgrade_charm(), state)
    assert _emitted(ctx) == []
    with ctx(ctx.on.update_status(), out) as mgr:
        mgr.run()
        charm: SeedCharm = mgr.charm  # type: ignore[assignment]
        r = charm.db.readiness()
        assert r is not None
        assert not r.ready
        assert any(x.code == protocol.DATABASE_MISMATCH for x in r.reasons), r.reasons
        assert charm.db.requested(charm.model.relations["db"][0]) == protocol.Request.build(
            database="mydb", extensions=["citext"]
        )


def test_leader_keeps_the_1x_leadership_copy_for_units_not_upgraded_yet(hook_tools: Path) -> None:
    _leader_settings(hook_tools, {RELID: {"database": "mydb", "roles": "", "extensions": "citext"}})
    state = _state_1x(
        leader=True,
        rels={RELID: {"master": MASTER, "standbys": []}},
        server=_server_bag(MASTER, []),
    )
    ctx = testing.Context(SeedCharm, meta=META, unit_id=0)
    _run(ctx, ctx.on.upgrade_charm(), state)
    settings = yaml.safe_load(hook_tools.read_text())
    shared = yaml.safe_load(settings["interface.pgsql"])
    assert shared[RELID]["database"] == "mydb"
    assert shared[RELID]["extensions"] == "citext"


MASTER_FORMS = st.sampled_from(
    [
        MASTER,
        # the same connection in other spellings 1.x may have stored (insertion order, quotes)
        f"host=10.0.1.0 dbname=mydb port=5432 user=juju_myapp password={PW}",
        f"dbname='mydb' host='10.0.1.0' password='{PW}' port='5432' user='juju_myapp'",
        MASTER.replace("10.0.1.0", "10.0.1.7"),  # an older master
        "not a connection string",  # whatever 1.x kept, it must not crash the upgrade
    ]
)


@chaos_settings(scaled(10, 40, 400))
@given(
    stored_master=st.none() | MASTER_FORMS,
    stored_standbys=st.none() | st.lists(st.sampled_from([STANDBY, STANDBY2]), unique=True),
    server_master=st.none() | st.just(MASTER),
    server_standbys=st.lists(st.sampled_from([STANDBY, STANDBY2]), unique=True),
    leader=st.booleans(),
)
def test_upgrade_emits_exactly_the_difference(
    stored_master: Optional[str],
    stored_standbys: Optional[List[str]],
    server_master: Optional[str],
    server_standbys: List[str],
    leader: bool,
) -> None:
    # 1.x stored raw strings; the first hook after the upgrade compares them (parsed) with now
    ctx = testing.Context(SeedCharm, meta=META, unit_id=0 if leader else 1)
    state = _state_1x(
        leader=leader,
        rels={RELID: {"master": stored_master, "standbys": stored_standbys}},
        server=_server_bag(server_master, server_standbys),
    )
    out = _run(ctx, ctx.on.upgrade_charm(), state)
    try:
        prev_master: Optional[pgsql.ConnectionString] = (
            pgsql.ConnectionString(stored_master) if stored_master else None
        )
    except pgsql.ConnectionStringError:
        prev_master = None
    prev = protocol.Readiness(
        ready=prev_master is not None,
        master=prev_master,
        standbys=tuple(pgsql.ConnectionString(s) for s in stored_standbys or []),
    ).snapshot()
    # the leader knows the request from its app bag; a non-leader (no leadership settings,
    # no peer relation here) trusts the echo: both see the server as ready
    cur = protocol.Readiness(
        ready=server_master is not None,
        master=pgsql.ConnectionString(server_master) if server_master else None,
        standbys=tuple(pgsql.ConnectionString(s) for s in server_standbys),
    ).snapshot()
    want = list(protocol.transitions(prev, cur))
    assert _emitted(ctx) == want
    # and the next hook with nothing new is silent
    rel = out.get_relation(RELID)
    _run(ctx, ctx.on.relation_changed(rel, remote_unit=0), out)
    assert _emitted(ctx) == []
