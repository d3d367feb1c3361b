"""The provides side of both interfaces: ops adapters for PostgreSQL and PgBouncer charms.

- :class:`PostgreSQLServer` serves a ``pgsql`` endpoint (``server/_pgsql.py``, where its usage is
  documented); its names are importable from here, as they were from the 1.x-era module
  ``pgsql.server``.
- :class:`~pgsql.server_postgresql_client.DatabaseProvider` serves a ``postgresql_client``
  endpoint (``server/_postgresql_client.py``), importable from :mod:`pgsql` and
  :mod:`pgsql.server_postgresql_client`.

Both are built the same way: what the two interfaces share (the endpoint check, observing the
relation, emitting ``request_changed`` once per change and ``relation_broken``, writing only the
keys that differ) lives in ``server/_endpoint.py``; each interface's module says how to read its
requests and render its answer, with :mod:`pgsql.protocol`, in a small class handed to the
endpoint (``_PgsqlInterface``, ``_PostgresqlClientInterface``). The Juju secrets a
``postgresql_client`` answer travels in are ``server/_provider_secrets.py``'s.
"""

from ._pgsql import (
    PUBLISHED_KEYS,
    ClientRelationBrokenEvent,
    ClientRelationEvent,
    ClientRequestChangedEvent,
    PostgreSQLServer,
    PostgreSQLServerEvents,
)

__all__ = [
    "PUBLISHED_KEYS",
    "ClientRelationBrokenEvent",
    "ClientRelationEvent",
    "ClientRequestChangedEvent",
    "PostgreSQLServer",
    "PostgreSQLServerEvents",
]
