"""What a declarative ``postgresql_client`` charm pays in hook tools, and the 1.x path's logs.

Every ``leader-set`` is a hook-tool call that also fires ``leader-settings-changed`` on every
other unit, and every log record is a ``juju-log`` call (ops forwards DEBUG too). A declarative
request (``PostgreSQLClient(self, "db", database=...)``) is computed by every unit, so no copy of
it goes into 1.x leadership settings; the 1.x setters still make one (1.x charms rely on it). The
library logs a changed request once per handler, not once per setter, and does not repeat in
every hook that no database is requested yet (``readiness()`` says so).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any, Dict, List

import ops
import ops.charm
import ops.framework
import pytest
from needs import requires_scenario
from test_client_support import seed_charm

import pgsql

testing: Any = requires_scenario()

META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"db": {"interface": "postgresql_client", "limit": 1}},
}
DEPRECATED = "ignore:ops.lib is deprecated:DeprecationWarning"


class Declarative(ops.charm.CharmBase):
    """The recommended style: a declarative request, no state of its own."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database="mydbname")


def _library_lines(ctx: Any) -> List[str]:
    """The library's own log lines (ops' are about dispatch, storage and events)."""
    return [
        str(line.message)
        for line in ctx.juju_log
        if "relation" in str(line.message) and "Emitting" not in str(line.message)
    ]


@pytest.fixture
def leader_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``leader-get`` (nothing set) and ``leader-set`` on PATH; every call is logged in a file."""
    calls = tmp_path / "calls"
    calls.write_text("")
    for tool, out in (("leader-get", "echo '{}'"), ("leader-set", "true")):
        exe = tmp_path / tool
        exe.write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n{out}\n')
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    return calls


def _lifecycle(ctx: Any, leader: bool) -> None:
    rel = testing.Relation("db", interface="postgresql_client", remote_app_name="postgresql")
    state = testing.State(leader=leader, relations={rel})
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state)
    ctx.run(ctx.on.relation_changed(state.get_relation(rel.id), remote_unit=0), state)


@pytest.mark.parametrize("leader", [True, False])
def test_declarative_request_is_never_copied_to_leadership_settings(
    leader: bool, leader_tools: Path
) -> None:
    ctx = testing.Context(Declarative, meta=META, juju_version="3.6.4")
    _lifecycle(ctx, leader)
    assert leader_tools.read_text() == ""  # neither leader-set nor even leader-get


@pytest.mark.filterwarnings(DEPRECATED)
def test_1x_setters_still_share_through_leadership_settings_and_log_once(
    leader_tools: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pgsql")
    ctx = testing.Context(seed_charm(), meta=META, juju_version="3.6.4")
    _lifecycle(ctx, leader=True)
    calls = leader_tools.read_text()  # a leader-set argument is a multi-line YAML dump
    # the 1.x copy non-leaders of a 1.x charm read, written once
    assert calls.count("leader-set ") == 1, calls
    assert "leader-set interface.pgsql=" in calls
    assert "database: mydbname" in calls
    # the records themselves (Scenario for ops 2 repeats its juju-log capture in later runs)
    changes = [r.getMessage() for r in caplog.records if "request on relation" in r.getMessage()]
    # event.database and event.extensions in one joined handler: one line, the final request
    assert len(changes) == 1, changes
    assert "citext" in changes[0]


def test_no_line_repeated_in_each_hook_while_no_database_is_requested() -> None:
    class Undecided(ops.charm.CharmBase):
        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "db")

    ctx = testing.Context(Undecided, meta=META, juju_version="3.6.4")
    _lifecycle(ctx, leader=True)
    assert [m for m in _library_lines(ctx) if "nothing published" in m] == []
