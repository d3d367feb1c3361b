"""The provider charm against a real PostgreSQL (the ``postgres`` fixture), through ops.testing.

The client side is described with ``pgsql.testing`` and judged by a real
:class:`pgsql.PostgreSQLClient` charm run on the databags the provider wrote: what a client unit
concludes is what matters, not just which keys were written.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, Optional, Set

import ops
import ops.testing
import psycopg
import pytest
from psycopg import sql

import pgsql
from pgsql import ConnectionString, Request
from pgsql import testing as pgt
from pgsql._localpg import LocalPostgres
from pgsql.demo import load_charm

if getattr(ops.testing, "Context", None) is None:
    pytest.skip("ops.testing.Context needs ops >= 2.17", allow_module_level=True)

pytestmark = pytest.mark.postgres

CHARM = load_charm(Path(__file__).resolve().parents[1], "pgsql_example_provider_charm")
ProviderCharm: Any = CHARM.charm_type
testing: Any = ops.testing

SERVER_APP = "postgresql"
CLIENT_APP = "my-app"  # the login role becomes juju_my-app: it needs quoting
PEER = "provider-peers"
REL_ID = 11
PEER_ID = 12


class ClientCharm(ops.CharmBase):
    """A client asking for whatever ``request`` says (declarative PostgreSQLClient)."""

    request = Request()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        r = type(self).request
        self.db = pgsql.PostgreSQLClient(
            self, "db", database=r.database, roles=r.roles, extensions=r.extensions
        )


CLIENT_META = {"name": CLIENT_APP, "requires": {"db": {"interface": "pgsql", "limit": 1}}}


def _config(postgres: LocalPostgres, **changes: Any) -> Dict[str, Any]:
    config: Dict[str, Any] = {
        "admin-dsn": postgres.conninfo,
        "host": postgres.host,
        "port": postgres.port,
    }
    config.update(changes)
    return config


def _db(client: pgt.Client, relation_id: int = REL_ID) -> Any:
    """The db relation as the provider sees it: the client's request in every client bag."""
    want = client.request.databag()
    return testing.Relation(
        "db",
        interface="pgsql",
        id=relation_id,
        remote_app_name=client.app,
        remote_app_data=dict(want),
        remote_units_data={
            n: {**client.unit_bag(name), **want} for n, name in enumerate(client.unit_names)
        },
    )


def _run(
    postgres: LocalPostgres,
    client: pgt.Client,
    *,
    leader: bool = True,
    peer_app: Optional[Dict[str, str]] = None,
    stored: Any = (),
    config: Optional[Dict[str, Any]] = None,
    unit_id: int = 0,
    secrets: Any = (),
) -> Any:
    ctx = testing.Context(
        ProviderCharm,
        meta=CHARM.meta,
        config=CHARM.config,
        actions=CHARM.actions,
        app_name=SERVER_APP,
        unit_id=unit_id,
    )
    db = _db(client)
    peer = testing.PeerRelation(PEER, id=PEER_ID, local_app_data=dict(peer_app or {}))
    state = testing.State(
        leader=leader,
        config=config if config is not None else _config(postgres),
        relations={db, peer},
        stored_states=stored,
        secrets=secrets,
    )
    return ctx.run(ctx.on.relation_changed(db, remote_unit=0), state)


def _client_readiness(provider_out: Any, client: pgt.Client) -> pgsql.Readiness:
    """What the client's unit concludes from what the provider published."""
    rel = provider_out.get_relation(REL_ID)
    ClientCharm.request = client.request
    ctx = testing.Context(ClientCharm, meta=CLIENT_META, app_name=client.app, unit_id=client.unit)
    unit_bag = {**client.unit_bag(client.unit_name), **client.request.databag()}
    db = testing.Relation(
        "db",
        interface="pgsql",
        id=REL_ID,
        remote_app_name=SERVER_APP,
        local_app_data=client.request.databag(),
        local_unit_data=unit_bag,
        remote_app_data=dict(rel.local_app_data),
        remote_units_data={0: {**pgt.juju_keys("198.51.100.10"), **rel.local_unit_data}},
    )
    state = testing.State(leader=client.unit == 0, relations={db})
    with ctx(ctx.on.relation_changed(db, remote_unit=0), state) as manager:
        manager.run()
        readiness = manager.charm.db.readiness()
    assert readiness is not None
    return readiness


def _published(out: Any) -> Dict[str, str]:
    return dict(out.get_relation(REL_ID).local_unit_data)


QUOTED = pgt.Client(
    app=CLIENT_APP,
    units=2,
    request=Request.build(
        database='charm-db "quoted"',
        roles=["Role With Spaces"],
        extensions=["uuid-ossp", 'citext:ext"schema'],
    ),
)


def test_provisions_names_that_need_quoting(postgres: LocalPostgres) -> None:
    out = _run(postgres, QUOTED)
    assert out.unit_status == testing.ActiveStatus()
    bag = _published(out)
    master = ConnectionString(bag["master"])
    assert (master.dbname, master.user) == ('charm-db "quoted"', "juju_my-app")
    assert (master.host, master.port) == (postgres.host, str(postgres.port))
    assert bag["allowed-units"] == "my-app/0 my-app/1"
    assert bag["version"] == postgres.version
    assert dict(out.get_relation(REL_ID).local_app_data)["master"] == bag["master"]

    # Both client units are ready with the published master...
    for unit in (0, 1):
        client = dataclasses.replace(QUOTED, unit=unit)
        readiness = _client_readiness(out, client)
        assert readiness.ready, readiness.why
        assert readiness.master == master

    # ...and it really works: the database, the role, both extensions (one in its schema).
    with psycopg.connect(master.conn_str) as conn:
        row = conn.execute(
            "SELECT current_database(), current_user, pg_has_role('Role With Spaces', 'MEMBER')"
        ).fetchone()
        assert row == ('charm-db "quoted"', "juju_my-app", True)
        rows = conn.execute(
            "SELECT e.extname, n.nspname FROM pg_extension e"
            " JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1"
        ).fetchall()
        assert ("citext", 'ext"schema') in rows
        assert ("uuid-ossp", "public") in rows
        conn.execute(sql.SQL("SET search_path = public, {}").format(sql.Identifier('ext"schema')))
        assert conn.execute("SELECT 'A'::citext = 'a'::citext").fetchone() == (True,)
        assert conn.execute("SELECT uuid_generate_v4() IS NOT NULL").fetchone() == (True,)


def test_unknown_extension_blocks_and_publishes_nothing(
    postgres: LocalPostgres, pg_conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    client = pgt.Client(
        app="bad-app",
        request=Request.build(database="bad db", extensions=["citext", "no_such_ext"]),
    )
    out = _run(postgres, client)
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert "'no_such_ext'" in out.unit_status.message
    assert "citext" not in out.unit_status.message
    rel = out.get_relation(REL_ID)
    assert dict(rel.local_app_data) == {}
    assert set(rel.local_unit_data) <= {"egress-subnets", "ingress-address", "private-address"}
    assert dict(out.get_relation(PEER_ID).local_app_data) == {}
    # Nothing was created on the server.
    assert pg_conn.execute("SELECT 1 FROM pg_database WHERE datname = 'bad db'").fetchone() is None
    assert (
        pg_conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'juju_bad-app'").fetchone() is None
    )

    readiness = _client_readiness(out, client)
    assert not readiness.ready
    assert [r.code for r in readiness.reasons if r.blocking] == ["waiting-for-server"]

    # The client fixes its request: the provider provisions, unblocks and publishes.
    fixed = pgt.Client(
        app="bad-app", request=Request.build(database="bad db", extensions=["citext"])
    )
    again = _run(
        postgres,
        fixed,
        stored=out.stored_states,
        peer_app=dict(out.get_relation(PEER_ID).local_app_data),
    )
    assert again.unit_status == testing.ActiveStatus()
    assert _client_readiness(again, fixed).ready


def test_credentials_are_kept_across_requests_and_shared_with_other_units(
    postgres: LocalPostgres,
) -> None:
    client = pgt.Client(app="steady", request=Request.build(database="steady"))
    first = _run(postgres, client)
    peer_app = dict(first.get_relation(PEER_ID).local_app_data)
    entry = json.loads(peer_app["db-11"])
    master = ConnectionString(_published(first)["master"])
    # the password is kept in the application's secret, the peer bag naming it
    assert "password" not in entry
    kept = first.get_secret(label="provider-credentials-11")
    assert (kept.owner, entry["secret-id"]) == ("app", kept.id)
    assert kept.latest_content == {"password": master.password}

    # A second client unit joins: provisioned again, same password, both granted.
    grown = pgt.Client(app="steady", units=2, request=client.request)
    second = _run(
        postgres, grown, peer_app=peer_app, stored=first.stored_states, secrets=first.secrets
    )
    bag = _published(second)
    assert ConnectionString(bag["master"]) == master
    assert bag["allowed-units"] == "steady/0 steady/1"
    psycopg.connect(master.conn_str).close()  # the password still works

    # A non-leader unit publishes the leader's credentials in its own bag, not the app bag.
    other = _run(postgres, grown, leader=False, peer_app=peer_app, unit_id=1, secrets=first.secrets)
    assert ConnectionString(_published(other)["master"]) == master
    assert dict(other.get_relation(REL_ID).local_app_data) == {}


def test_without_admin_dsn_it_blocks(postgres: LocalPostgres) -> None:
    client = pgt.Client(app="early", request=Request.build(database="early"))
    out = _run(postgres, client, config=_config(postgres, **{"admin-dsn": ""}))
    assert out.unit_status == testing.BlockedStatus(
        "db:11 (early): set the 'admin-dsn' config option"
    )
    assert "master" not in _published(out)
    # The operator sets it: config-changed provisions what was waiting.
    ctx = testing.Context(
        ProviderCharm,
        meta=CHARM.meta,
        config=CHARM.config,
        actions=CHARM.actions,
        app_name=SERVER_APP,
    )
    state = testing.State(
        leader=True,
        config=_config(postgres),
        relations={_db(client), testing.PeerRelation(PEER, id=PEER_ID)},
        stored_states=out.stored_states,
    )
    fixed = ctx.run(ctx.on.config_changed(), state)
    assert fixed.unit_status == testing.ActiveStatus()
    assert "master" in _published(fixed)


# ---- the database endpoint (postgresql_client) -------------------------------------------------

DB_REL_ID = 21
JUJU_36 = "3.6.4"
JUJU_29 = "2.9.50"
MODERN_META = {
    "name": CLIENT_APP,
    "requires": {"database": {"interface": "postgresql_client", "limit": 1}},
}


class ModernClientCharm(ops.CharmBase):
    """A client on ``database`` (postgresql_client) asking for whatever ``request`` says."""

    request = Request()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        r = type(self).request
        self.db = pgsql.PostgreSQLClient(
            self, "database", database=r.database, roles=r.roles, extensions=r.extensions
        )


def _database(request: Request, relation_id: int = DB_REL_ID) -> Any:
    """The database relation as the provider sees it: the requirer leader's application bag."""
    return testing.Relation(
        "database",
        interface="postgresql_client",
        id=relation_id,
        remote_app_name=CLIENT_APP,
        remote_app_data=pgsql.protocol.requirer_databag(request),
        remote_units_data={0: pgt.juju_keys("10.1.2.10")},
    )


def _run_database(
    postgres: LocalPostgres,
    request: Request,
    *,
    juju: str = JUJU_36,
    leader: bool = True,
    state: Any = None,
    extra: Any = (),
) -> Any:
    ctx = testing.Context(
        ProviderCharm,
        meta=CHARM.meta,
        config=CHARM.config,
        actions=CHARM.actions,
        app_name=SERVER_APP,
        juju_version=juju,
    )
    rel = _database(request)
    if state is None:
        peer = testing.PeerRelation(PEER, id=PEER_ID)
        state = testing.State(
            leader=leader, config=_config(postgres), relations={rel, peer, *extra}
        )
    return ctx.run(ctx.on.relation_changed(state.get_relation(DB_REL_ID), remote_unit=0), state)


def _modern_readiness(provider_out: Any, request: Request) -> pgsql.Readiness:
    """What a PostgreSQLClient on ``database`` concludes from the provider's bag and secrets."""
    published = provider_out.get_relation(DB_REL_ID)
    ModernClientCharm.request = request
    ctx = testing.Context(
        ModernClientCharm, meta=MODERN_META, app_name=CLIENT_APP, juju_version=JUJU_36
    )
    rel = testing.Relation(
        "database",
        interface="postgresql_client",
        id=DB_REL_ID,
        remote_app_name=SERVER_APP,
        local_app_data=pgsql.protocol.requirer_databag(request),
        remote_app_data=dict(published.local_app_data),
        remote_units_data={0: {}},
    )
    granted = [
        testing.Secret(dict(s.latest_content), id=s.id)
        for s in provider_out.secrets
        if DB_REL_ID in s.remote_grants
    ]
    state = testing.State(leader=True, relations={rel}, secrets=granted)
    with ctx(ctx.on.relation_changed(rel, remote_unit=0), state) as manager:
        manager.run()
        readiness = manager.charm.db.readiness()
    assert readiness is not None
    return readiness


MODERN = Request.build(database='modern db "quoted"', roles=["Modern Role"])


def test_database_endpoint_answers_with_a_secret(postgres: LocalPostgres) -> None:
    out = _run_database(postgres, MODERN)
    assert out.unit_status == testing.ActiveStatus()
    bag = dict(out.get_relation(DB_REL_ID).local_app_data)
    assert bag["database"] == MODERN.database
    assert bag["endpoints"] == f"{postgres.host}:{postgres.port}"
    assert bag["version"] == postgres.version
    assert "password" not in bag
    secret = out.get_secret(id=bag["secret-user"])
    assert dict(secret.remote_grants) == {DB_REL_ID: frozenset({CLIENT_APP})}
    user = f"relation_id_{DB_REL_ID}"
    assert secret.latest_content["username"] == user
    password = secret.latest_content["password"]
    for value in [*bag.values(), *(str(s.content) for s in out.stored_states)]:
        assert password not in value

    # The real client is ready with it, and the connection really works.
    readiness = _modern_readiness(out, MODERN)
    assert readiness.ready, readiness.why
    master = readiness.master
    assert master is not None
    assert (master.dbname, master.user, master.password) == (MODERN.database, user, password)
    assert readiness.version == postgres.version
    with psycopg.connect(master.conn_str) as conn:
        row = conn.execute(
            "SELECT current_database(), current_user, pg_has_role('Modern Role', 'MEMBER')"
        ).fetchone()
        assert row == (MODERN.database, user, True)

    # A later hook publishes the same again: same secret, same content, same bag.
    again = _run_database(postgres, MODERN, state=out)
    assert dict(again.get_relation(DB_REL_ID).local_app_data) == bag
    assert again.get_secret(id=bag["secret-user"]).latest_content == secret.latest_content


def test_database_endpoint_in_clear_without_juju_secrets(postgres: LocalPostgres) -> None:
    request = Request.build(database="plain")
    out = _run_database(postgres, request, juju=JUJU_29)
    bag = dict(out.get_relation(DB_REL_ID).local_app_data)
    assert list(out.secrets) == []
    assert bag["username"] == f"relation_id_{DB_REL_ID}"
    master = ConnectionString(bag["uris"])
    assert master.password == bag["password"]
    psycopg.connect(master.conn_str).close()


def test_one_application_on_both_endpoints_gets_two_roles(postgres: LocalPostgres) -> None:
    client = pgt.Client(app=CLIENT_APP, request=Request.build(database="both"))
    out = _run_database(postgres, Request.build(database="both"), extra=[_db(client)])
    modern = out.get_secret(id=out.get_relation(DB_REL_ID).local_app_data["secret-user"])
    # then the db relation changes: provisioned with its own role, the first one untouched
    ctx = testing.Context(
        ProviderCharm,
        meta=CHARM.meta,
        config=CHARM.config,
        actions=CHARM.actions,
        app_name=SERVER_APP,
    )
    out = ctx.run(ctx.on.relation_changed(out.get_relation(REL_ID), remote_unit=0), out)
    legacy = ConnectionString(_published(out)["master"])
    assert legacy.user == f"juju_{CLIENT_APP}"
    assert modern.latest_content["username"] == f"relation_id_{DB_REL_ID}"
    for user, password in (
        (legacy.user, legacy.password),
        (modern.latest_content["username"], modern.latest_content["password"]),
    ):
        with psycopg.connect(legacy.replace(user=user, password=password).conn_str) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("both",)


def test_database_endpoint_non_leader_and_bad_requests(postgres: LocalPostgres) -> None:
    # a non-leader does not answer postgresql_client (the application bag is the leader's)
    out = _run_database(postgres, Request.build(database="quiet"), leader=False)
    assert dict(out.get_relation(DB_REL_ID).local_app_data) == {}
    assert list(out.secrets) == []
    # a role the library drops blocks the unit and publishes nothing
    ctx = testing.Context(
        ProviderCharm,
        meta=CHARM.meta,
        config=CHARM.config,
        actions=CHARM.actions,
        app_name=SERVER_APP,
        juju_version=JUJU_36,
    )
    rel = dataclasses.replace(
        _database(Request.build(database="strict")),
        remote_app_data={"database": "strict", "extra-user-roles": "ok,bad\x00role"},
    )
    state = testing.State(
        leader=True,
        config=_config(postgres),
        relations={rel, testing.PeerRelation(PEER, id=PEER_ID)},
    )
    out = ctx.run(ctx.on.relation_changed(rel, remote_unit=0), state)
    assert isinstance(out.unit_status, testing.BlockedStatus)
    assert out.unit_status.message.startswith(
        f"database:{DB_REL_ID} ({CLIENT_APP}): ignored a role"
    )
    assert dict(out.get_relation(DB_REL_ID).local_app_data) == {}
    assert list(out.secrets) == []


# ---- plugin-<name>-enable: extensions on database, by config -----------------------------------


def _extensions(postgres: LocalPostgres, database: str) -> Set[str]:
    """The extensions installed in ``database`` (asked as the superuser)."""
    with psycopg.connect(postgres.dsn(dbname=database)) as conn:
        return {str(row[0]) for row in conn.execute("SELECT extname FROM pg_extension")}


def _database_state(postgres: LocalPostgres, request: Request, **config: Any) -> Any:
    return testing.State(
        leader=True,
        config=_config(postgres, **config),
        relations={_database(request), testing.PeerRelation(PEER, id=PEER_ID)},
    )


def test_plugin_citext_enable_creates_citext_in_databases_served_on_database(
    postgres: LocalPostgres,
) -> None:
    request = Request.build(database="plugin on")
    state = _database_state(postgres, request, **{"plugin-citext-enable": True})
    out = _run_database(postgres, request, state=state)
    assert out.unit_status == testing.ActiveStatus()
    assert "citext" in _extensions(postgres, "plugin on")
    # the client's role can use it; its readiness still notes that the interface cannot ask
    citext = Request.build(database="plugin on", extensions=["citext"])
    readiness = _modern_readiness(out, citext)
    assert readiness.ready, readiness.why
    assert [r.code for r in readiness.reasons] == ["extensions-by-config"]
    assert readiness.master is not None
    with psycopg.connect(readiness.master.conn_str) as conn:
        assert conn.execute("SELECT 'A'::citext = 'a'::citext").fetchone() == (True,)


def test_plugin_citext_enable_off_then_on_reaches_existing_databases(
    postgres: LocalPostgres,
) -> None:
    request = Request.build(database="plugin later")
    out = _run_database(postgres, request, state=_database_state(postgres, request))
    assert "citext" not in _extensions(postgres, "plugin later")  # off by default
    # juju config postgresql plugin-citext-enable=true: config-changed provisions again
    ctx = testing.Context(
        ProviderCharm,
        meta=CHARM.meta,
        config=CHARM.config,
        actions=CHARM.actions,
        app_name=SERVER_APP,
        juju_version=JUJU_36,
    )
    on = dataclasses.replace(out, config=_config(postgres, **{"plugin-citext-enable": True}))
    after = ctx.run(ctx.on.config_changed(), on)
    assert after.unit_status == testing.ActiveStatus()
    assert "citext" in _extensions(postgres, "plugin later")
    # the same credentials: no new revision of the secret
    secret_id = out.get_relation(DB_REL_ID).local_app_data["secret-user"]
    assert (
        after.get_secret(id=secret_id).latest_content == out.get_secret(id=secret_id).latest_content
    )
    # turned off again, the extension stays (the data may use it)
    off = dataclasses.replace(after, config=_config(postgres, **{"plugin-citext-enable": False}))
    ctx.run(ctx.on.config_changed(), off)
    assert "citext" in _extensions(postgres, "plugin later")


def test_plugin_options_do_not_touch_db_clients(postgres: LocalPostgres) -> None:
    # on db (pgsql) the client requests its extensions itself
    client = pgt.Client(app="legacy-plain", request=Request.build(database="legacy plain"))
    out = _run(postgres, client, config=_config(postgres, **{"plugin-citext-enable": True}))
    assert out.unit_status == testing.ActiveStatus()
    assert "citext" not in _extensions(postgres, "legacy plain")


# ---- rotate-password: a new password on the server, published ----------------------------------


def _action_ctx(*, juju: str = JUJU_36, unit_id: int = 0) -> Any:
    return testing.Context(
        ProviderCharm,
        meta=CHARM.meta,
        config=CHARM.config,
        actions=CHARM.actions,
        app_name=SERVER_APP,
        unit_id=unit_id,
        juju_version=juju,
    )


def _rotate(ctx: Any, state: Any, relation_id: int) -> Any:
    return ctx.run(ctx.on.action("rotate-password", params={"relation-id": relation_id}), state)


def _refused(conn_str: str) -> str:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(conn_str, connect_timeout=10).close()
    return str(refused.value)


def test_rotate_password_on_database_updates_the_secret_and_the_server(
    postgres: LocalPostgres,
) -> None:
    request = Request.build(database="rotated")
    out = _run_database(postgres, request)
    bag = dict(out.get_relation(DB_REL_ID).local_app_data)
    before = dict(out.get_secret(id=bag["secret-user"]).latest_content)
    old = _modern_readiness(out, request).master
    assert old is not None

    ctx = _action_ctx()
    after = _rotate(ctx, out, DB_REL_ID)
    user = f"relation_id_{DB_REL_ID}"
    assert ctx.action_results == {
        "relation-id": str(DB_REL_ID),
        "endpoint": "database",
        "username": user,
    }
    assert ctx.action_logs == [
        f"password of {user} rotated; the client follows through secret-changed"
    ]
    content = dict(after.get_secret(id=bag["secret-user"]).latest_content)
    new_password = content["password"]
    assert new_password != before["password"]
    assert content["username"] == user
    assert new_password in content["uris"]
    assert before["password"] not in content["uris"]
    # the bag stays as it was: the client learns of it through secret-changed
    assert dict(after.get_relation(DB_REL_ID).local_app_data) == bag
    entry = json.loads(after.get_relation(PEER_ID).local_app_data[f"db-{DB_REL_ID}"])
    kept = after.get_secret(label=f"provider-credentials-{DB_REL_ID}")
    assert "password" not in entry
    assert kept.latest_content == {"password": new_password}
    shown = [str(ctx.action_results), *ctx.action_logs]
    assert not any(p in text for p in (new_password, before["password"]) for text in shown)

    # the client's new master works; the old password is refused by the server
    new = _modern_readiness(after, request).master
    assert new is not None
    assert new == old.replace(password=new_password)
    with psycopg.connect(new.conn_str) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (user,)
    assert "password authentication failed" in _refused(old.conn_str)

    # re-provisioning later keeps the rotated password
    again = _run_database(postgres, request, state=after)
    assert dict(again.get_secret(id=bag["secret-user"]).latest_content) == content
    psycopg.connect(new.conn_str).close()


def test_rotate_password_on_db_changes_the_published_master(postgres: LocalPostgres) -> None:
    client = pgt.Client(app="rotating", request=Request.build(database="rotating"))
    out = _run(postgres, client)
    old = ConnectionString(_published(out)["master"])
    ctx = _action_ctx()
    after = _rotate(ctx, out, REL_ID)
    assert ctx.action_results == {
        "relation-id": str(REL_ID),
        "endpoint": "db",
        "username": "juju_rotating",
    }
    new = ConnectionString(_published(after)["master"])
    assert new.password != old.password
    assert new == old.replace(password=new.password)
    assert dict(after.get_relation(REL_ID).local_app_data)["master"] == new.conn_str
    readiness = _client_readiness(after, client)
    assert readiness.ready, readiness.why
    assert readiness.master == new
    psycopg.connect(new.conn_str).close()
    assert "password authentication failed" in _refused(old.conn_str)


def test_rotate_password_refusals_change_nothing(postgres: LocalPostgres) -> None:
    request = Request.build(database="refusals")
    out = _run_database(postgres, request)
    secret_id = out.get_relation(DB_REL_ID).local_app_data["secret-user"]
    content = dict(out.get_secret(id=secret_id).latest_content)
    peer = dict(out.get_relation(PEER_ID).local_app_data)

    def refused(state: Any, relation_id: int = DB_REL_ID, **ctx_args: Any) -> str:
        ctx = _action_ctx(**ctx_args)
        with pytest.raises(testing.ActionFailed) as failed:
            _rotate(ctx, state, relation_id)
        left = failed.value.state
        assert dict(left.get_secret(id=secret_id).latest_content) == content
        assert dict(left.get_relation(PEER_ID).local_app_data) == peer
        message = failed.value.message
        assert content["password"] not in message
        return message

    assert refused(dataclasses.replace(out, leader=False), unit_id=1).startswith(
        "only the leader rotates passwords"
    )
    assert refused(out, 99) == (
        f"no provisioned client relation 99 on db or database (client relations: "
        f"database:{DB_REL_ID})"
    )
    no_admin = dataclasses.replace(out, config=_config(postgres, **{"admin-dsn": ""}))
    assert refused(no_admin) == "set the 'admin-dsn' config option"
    # a role that is not there any more, or a superuser someone wrote in: refused by provision
    for user, why in (
        ("gone_role", "role 'gone_role' does not exist"),
        (postgres.superuser, f"refusing to manage superuser role {postgres.superuser!r}"),
    ):
        entry = {**json.loads(peer[f"db-{DB_REL_ID}"]), "user": user}
        broken = dataclasses.replace(
            out,
            relations={
                out.get_relation(DB_REL_ID),
                dataclasses.replace(
                    out.get_relation(PEER_ID),
                    local_app_data={f"db-{DB_REL_ID}": json.dumps(entry, sort_keys=True)},
                ),
            },
        )
        ctx = _action_ctx()
        with pytest.raises(testing.ActionFailed) as failed:
            _rotate(ctx, broken, DB_REL_ID)
        assert failed.value.message == why
    # after all that, the credentials published still work
    master = _modern_readiness(out, request).master
    assert master is not None
    psycopg.connect(master.conn_str).close()
