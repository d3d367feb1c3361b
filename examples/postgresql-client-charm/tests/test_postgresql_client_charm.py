"""Unit tests of the new-charm example, with ``pgsql.testing`` providers on ``database``.

The charm is loaded from ``src/charm.py`` by :func:`pgsql.demo.load_charm` (the example charms
share this test session, and each has a ``charm.py``); a charm's own repository puts ``src`` on
``sys.path`` and writes ``import charm``, as the README's test does.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path
from typing import Any

import ops.testing
import pytest

from pgsql import ConnectionString, Request
from pgsql import testing as pgt
from pgsql.demo import load_charm

# before the charm is loaded: it observes collect-status (ops >= 2.5)
if getattr(ops.testing, "Context", None) is None:  # ops < 2.17 has no Scenario
    pytest.skip("ops.testing has no Scenario Context in this ops", allow_module_level=True)

pytestmark = pytest.mark.scenario

CHARM = load_charm(Path(__file__).resolve().parents[1], "pgsql_example_postgresql_client_charm")
MyCharm: Any = CHARM.charm_type
APP = "myapp"
MYDB = Request.build(database="mydb")
CLIENT = pgt.Client(app=APP, request=MYDB)
testing: Any = ops.testing


@pytest.fixture
def env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the charm writes the application's database settings, for this test."""
    path = tmp_path / "etc" / "myapp" / "database.env"
    monkeypatch.setattr(sys.modules[MyCharm.__module__], "ENV_FILE", path)
    return path


def _ctx(unit_id: int = 0) -> Any:
    return testing.Context(MyCharm, meta=CHARM.meta, app_name=APP, unit_id=unit_id)


def _ready(provider: pgt.Provider, leader: bool = True, unit_id: int = 0) -> tuple[Any, Any, Any]:
    """Run relation-changed with ``provider`` answered; the context, output State and relation."""
    client = CLIENT if unit_id == 0 else pgt.Client(app=APP, units=2, unit=unit_id, request=MYDB)
    db, secrets = pgt.scenario_provider_relation(provider, client)
    ctx = _ctx(unit_id)
    state = testing.State(leader=leader, relations={db}, secrets=secrets)
    return ctx, ctx.run(ctx.on.relation_changed(db, remote_unit=0), state), db


def _written(path: Path) -> ConnectionString:
    key, _, uri = path.read_text().rstrip("\n").partition("=")
    assert key == "DATABASE_URL"
    return ConnectionString(uri)


def test_without_a_database_relation_the_unit_is_blocked(env_file: Path) -> None:
    ctx = _ctx()
    out = ctx.run(ctx.on.update_status(), testing.State(leader=True))
    assert out.unit_status == testing.BlockedStatus("needs a database relation")
    assert not env_file.exists()


def test_leader_asks_for_mydb_with_every_credential_in_secrets(env_file: Path) -> None:
    ctx = _ctx()
    db, _ = pgt.scenario_provider_relation(
        pgt.Provider(state=pgt.NOT_ANSWERED), CLIENT, published=False
    )
    out = ctx.run(ctx.on.relation_created(db), testing.State(leader=True, relations={db}))
    asked = pgt.provider_requested(out)
    assert asked == pgt.ProviderRequest.of(MYDB)
    assert {"username", "password", "uris"} <= set(asked.requested_secrets)
    assert out.unit_status.name == "waiting"
    assert not env_file.exists()


@pytest.mark.parametrize(
    ("state", "why"),
    [
        (pgt.NOT_ANSWERED, "has not answered"),
        (pgt.SECRET_NOT_GRANTED, "not granted"),
    ],
)
def test_readiness_reasons_are_the_waiting_status(env_file: Path, state: str, why: str) -> None:
    _, out, _ = _ready(pgt.Provider(state=state))
    assert out.unit_status.name == "waiting"
    assert out.unit_status.message.startswith("database: ")
    assert why in out.unit_status.message
    assert not env_file.exists()


@pytest.mark.parametrize("kind", [pgt.POSTGRESQL_VM, pgt.POSTGRESQL_K8S, pgt.PGBOUNCER_K8S])
def test_ready_database_is_written_for_the_application(env_file: Path, kind: str) -> None:
    provider = pgt.Provider(kind=kind, version="16.6")
    _, out, db = _ready(provider)
    assert out.unit_status == testing.ActiveStatus()
    assert _written(env_file) == provider.master(CLIENT, relation_id=db.id)
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600  # it holds the password


def test_a_settings_file_that_existed_world_readable_is_made_private(env_file: Path) -> None:
    env_file.parent.mkdir(parents=True)
    env_file.write_text("old\n")
    env_file.chmod(0o644)
    _ready(pgt.Provider())
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600  # it holds the password


def test_non_leader_is_given_the_database_too(env_file: Path) -> None:
    provider = pgt.Provider()
    client = pgt.Client(app=APP, units=2, unit=1, request=MYDB)
    _, out, db = _ready(provider, leader=False, unit_id=1)
    assert out.unit_status == testing.ActiveStatus()
    assert _written(env_file) == provider.master(client, relation_id=db.id)


def test_rotated_password_is_written_again(env_file: Path) -> None:
    provider = pgt.Provider()
    ctx, out, _ = _ready(provider)
    before = _written(env_file)
    rotated = provider.rotated()
    out = pgt.scenario_provider_apply(ctx, out, rotated, CLIENT)
    after = _written(env_file)
    assert after.password == rotated.password != before.password
    assert after == before.replace(password=after.password)
    assert out.unit_status == testing.ActiveStatus()


def test_provider_gone_removes_the_settings_and_waits(env_file: Path) -> None:
    provider = pgt.Provider()
    ctx, out, _ = _ready(provider)
    assert env_file.exists()
    out = pgt.scenario_provider_apply(ctx, out, provider.evolve(state=pgt.GONE), CLIENT)
    assert not env_file.exists()
    assert out.unit_status.name == "waiting"
    assert out.unit_status.message.startswith("database: ")


def test_removed_relation_removes_the_settings_and_blocks(env_file: Path) -> None:
    ctx, out, db = _ready(pgt.Provider())
    assert env_file.exists()
    out = ctx.run(ctx.on.relation_broken(out.get_relation(db.id)), out)
    assert not env_file.exists()
    assert out.unit_status == testing.BlockedStatus("needs a database relation")
