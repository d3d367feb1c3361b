"""The example provider charm's provisioning (``examples/pgsql-provider/src/provision.py``).

Against the real server of the ``postgres`` fixture, with names that need quoting.

The module is loaded from its file, not imported from ``sys.path``: a charm's ``src/`` is the
charm's own import root (``charm.py`` imports its siblings as top-level modules), it is not an
installed package, and putting it on ``sys.path`` would let a generic top-level name such as
``provision`` shadow or be shadowed by other example charms. Loading it under a unique module
name keeps the test suite's namespace clean. The price: pyright sees the module as a plain
``ModuleType`` (its attributes typed ``Any``); ``provision.py`` itself is type-checked on its own.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgsql._localpg import LocalPostgres

pytestmark = pytest.mark.postgres

SOURCE = (
    Path(__file__).resolve().parents[1] / "examples" / "pgsql-provider" / "src" / "provision.py"
)


def _load(name: str, path: Path) -> ModuleType:
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    loader.exec_module(module)
    return module


prov = _load("pgsql_example_provider_provision", SOURCE)

DATABASE = 'my-db "quoted"'
USER = "app-user"
ROLE = "Role With Spaces"
SCHEMA = 'Ext "Schema"'


def _request(**changes: object) -> Any:
    fields: dict[str, object] = {
        "database": DATABASE,
        "roles": [ROLE, "reader"],
        "extensions": [f"citext:{SCHEMA}"],
        "user": USER,
        "password": "s3cret pass 'with' quotes",
    }
    fields.update(changes)
    return prov.Request(**fields)


# ----------------------------------------------------------------------------- parsing (no server)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("citext", ("citext", None)),
        ("citext:ext", ("citext", "ext")),
        ("citext(ext)", ("citext", "ext")),
        (" uuid-ossp ( My Schema ) ", ("uuid-ossp", "My Schema")),
        ('pg_trgm:we "quote"', ("pg_trgm", 'we "quote"')),
    ],
)
def test_parse_extension(item: str, expected: tuple[str, str | None]) -> None:
    assert prov.parse_extension(item) == expected


@pytest.mark.parametrize(
    "item",
    [
        "",
        "  ",
        ":ext",
        "citext:",
        "citext()",
        "citext(ext",
        "citext)ext(",
        "a:b:c",
        "a(b)c",
        "a(b):c",
        "a\x00b",
        "x" * 64,
        "citext:" + "s" * 64,
        "tab\tname",
    ],
)
def test_parse_extension_rejects_junk(item: str) -> None:
    with pytest.raises(prov.ProvisioningError, match=r"extension|schema"):
        prov.parse_extension(item)


# ----------------------------------------------------------------------------- against the server


def _as_user(postgres: LocalPostgres, creds: Any) -> psycopg.Connection[tuple[object, ...]]:
    conninfo: str = creds.conninfo(postgres.host, postgres.port)
    return psycopg.connect(conninfo)


def test_provision_with_names_that_need_quoting(
    postgres: LocalPostgres,
    pg_conn: psycopg.Connection[tuple[object, ...]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    request = _request()
    caplog.set_level(logging.DEBUG)
    creds = prov.provision(postgres.conninfo, request)
    assert (creds.database, creds.user) == (DATABASE, USER)
    assert creds.password == request.password
    assert request.password not in caplog.text
    assert request.password not in repr(creds)

    # The password is stored hashed, never in clear.
    stored = pg_conn.execute(
        "SELECT rolpassword, rolcanlogin FROM pg_authid WHERE rolname = %s", (USER,)
    ).fetchone()
    assert stored is not None
    assert str(stored[0]).startswith("SCRAM-SHA-256$")
    assert stored[1] is True

    for role in (ROLE, "reader"):
        row = pg_conn.execute(
            "SELECT pg_has_role(%s, %s, 'MEMBER'), rolcanlogin FROM pg_roles WHERE rolname = %s",
            (USER, role, role),
        ).fetchone()
        assert row == (True, False)

    # The new user, with its password, over TCP, to its database, sees and uses the extension.
    with _as_user(postgres, creds) as conn:
        row = conn.execute("SELECT current_user, current_database()").fetchone()
        assert row == (USER, DATABASE)
        row = conn.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'citext'"
        ).fetchone()
        assert row == (SCHEMA,)
        # The schema must be on the search path for citext's own = operator to be picked.
        conn.execute(sql.SQL("SET search_path = public, {}").format(sql.Identifier(SCHEMA)))
        row = conn.execute("SELECT %s::citext = %s::citext", ("MiXeD", "mixed")).fetchone()
        assert row == (True,)
        owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
        assert owner == (USER,)


def test_provision_is_idempotent(postgres: LocalPostgres) -> None:
    request = _request(database="idem db", user="idem-user")
    first = prov.provision(postgres.conninfo, request)
    second = prov.provision(postgres.conninfo, request)
    assert first == second
    with _as_user(postgres, second) as conn:
        row = conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'citext'").fetchone()
        assert row == (1,)


def test_provision_generates_credentials_and_rotates_the_password(
    postgres: LocalPostgres,
) -> None:
    request = prov.Request(database="generated", extensions=["citext"])
    first = prov.provision(postgres.conninfo, request)
    assert first.user.startswith("app_")
    assert len(first.password) >= 32
    with _as_user(postgres, first) as conn:
        row = conn.execute("SELECT extname FROM pg_extension WHERE extname = 'citext'").fetchone()
        assert row == ("citext",)
    # Same user, no password given: a new one replaces the old.
    again = prov.provision(postgres.conninfo, prov.Request(database="generated", user=first.user))
    assert again.password != first.password
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _as_user(postgres, first)
    _as_user(postgres, again).close()


def test_database_is_private_to_its_users(postgres: LocalPostgres) -> None:
    mine = prov.provision(postgres.conninfo, prov.Request(database="private-a", user="priv-a"))
    other = prov.provision(postgres.conninfo, prov.Request(database="private-b", user="priv-b"))
    conninfo: str = other.conninfo(postgres.host, postgres.port)
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(make_conninfo(conninfo, dbname=mine.database))


def test_unknown_extension_is_refused_before_any_change(
    postgres: LocalPostgres, pg_conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    request = _request(
        database="never created", user="never-user", extensions=["citext", "no_such_ext"]
    )
    with pytest.raises(prov.ProvisioningError, match="'no_such_ext'") as info:
        prov.provision(postgres.conninfo, request)
    assert "citext" not in str(info.value)
    assert pg_conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'never-user'").fetchone() is None
    db = pg_conn.execute("SELECT 1 FROM pg_database WHERE datname = 'never created'").fetchone()
    assert db is None


def test_ensure_extensions_alone_names_the_unknown_one(postgres: LocalPostgres) -> None:
    with pytest.raises(prov.ProvisioningError, match=r"not available.*'no_such_ext'"):
        prov.ensure_extensions(postgres.conninfo, ["no_such_ext(public)"])


def test_malformed_extension_request_is_refused(postgres: LocalPostgres) -> None:
    with pytest.raises(prov.ProvisioningError, match="invalid extension request 'citext:a:b'"):
        prov.provision(postgres.conninfo, _request(extensions=["citext:a:b"]))


def test_extension_already_in_another_schema(postgres: LocalPostgres) -> None:
    prov.provision(postgres.conninfo, _request(database="moved", user="moved-user"))
    with pytest.raises(prov.ProvisioningError, match="already installed in schema"):
        prov.provision(
            postgres.conninfo,
            _request(database="moved", user="moved-user", extensions=["citext:public"]),
        )
    # Without a schema, wherever it is will do.
    prov.provision(
        postgres.conninfo, _request(database="moved", user="moved-user", extensions=["citext"])
    )


def test_superusers_are_never_touched(
    postgres: LocalPostgres, pg_conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    with pytest.raises(prov.ProvisioningError, match="superuser role 'postgres'"):
        prov.provision(postgres.conninfo, prov.Request(database="x", user=postgres.superuser))
    with pytest.raises(prov.ProvisioningError, match="superuser role 'postgres'"):
        prov.ensure_roles(pg_conn, "someone", [postgres.superuser])
    psycopg.connect(postgres.conninfo).close()  # its password is unchanged


def test_ensure_database_needs_autocommit(postgres: LocalPostgres) -> None:
    with psycopg.connect(postgres.conninfo) as conn:
        with pytest.raises(ValueError, match="autocommit"):
            prov.ensure_database(conn, "nope", "nobody")


def test_identifiers_longer_than_postgres_allows(postgres: LocalPostgres) -> None:
    with pytest.raises(prov.ProvisioningError, match="longer than 63 bytes"):
        prov.provision(postgres.conninfo, prov.Request(database="é" * 32))
