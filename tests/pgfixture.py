"""Pytest plugin: a real, throwaway PostgreSQL server for the session (``pgsql._localpg``).

Registered from ``conftest.py`` (``pytest_plugins``). Fixtures:

* ``postgres``: a started :class:`~pgsql._localpg.LocalPostgres`, shared by the whole session
  (starting one costs about a second and a half);
* ``pg_conn``: a psycopg connection to it as the superuser, autocommit, closed after the test.

Missing server binaries FAIL the tests that need them, with the install hint, instead of
skipping them: CI installs PostgreSQL, and a skip would hide a missing install step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import pytest

from pgsql._localpg import LocalPostgres, PostgresNotFound, PostgresStartError

if TYPE_CHECKING:
    import psycopg


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """A PostgreSQL server on 127.0.0.1 (password auth) and a unix socket, for the session."""
    try:
        server = LocalPostgres().start()
    except (PostgresNotFound, PostgresStartError) as exc:
        pytest.fail(f"cannot start a PostgreSQL server for the tests: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_conn(postgres: LocalPostgres) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """A superuser connection (TCP, password) to database ``postgres``, in autocommit mode."""
    # Imported here, not at module level: the plugin loads for every test module, and only
    # the PostgreSQL tests need psycopg.
    import psycopg

    with psycopg.connect(postgres.conninfo, autocommit=True) as conn:
        yield conn
