r"""Provision what a ``pgsql`` client asks for: a login role, its database, roles, extensions.

Used by the example provider charm. Every step is idempotent, so the charm can simply call
:func:`provision` again on each relation change. Requires psycopg 3 and a superuser (or an
equivalently privileged) admin connection.

Safety rules kept throughout:

* identifiers and values reach SQL only through :mod:`psycopg.sql` (``Identifier``,
  ``Literal``) or bind parameters, never string formatting: names such as
  ``my-db "quoted"`` or ``Role With Spaces`` are fine;
* passwords are never logged, and never sent in clear text: the role's password is hashed
  client-side by libpq (``PQencryptPasswordConn``, as psql's ``\password`` does), so the
  statement, even if the server logs it, carries only the SCRAM verifier;
* a request is checked (names, extension syntax and availability) before anything changes;
* superuser roles are never altered nor granted.

Example:
    >>> creds = provision(admin_conninfo, Request(database="app", extensions=["citext"]))
    ... # doctest: +SKIP
    >>> creds.conninfo(host="10.0.0.5", port=5432)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Optional, Sequence, Tuple

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

__all__ = [
    "Credentials",
    "ProvisioningError",
    "Request",
    "check_identifier",
    "ensure_database",
    "ensure_extensions",
    "ensure_role",
    "ensure_roles",
    "parse_extension",
    "provision",
    "provision_prefix",
    "server_version",
    "set_password",
]

logger = logging.getLogger(__name__)

#: PostgreSQL truncates longer identifiers (NAMEDATALEN - 1); we refuse them instead.
MAX_IDENTIFIER_BYTES = 63

Connection = psycopg.Connection[Any]

# name, name:schema or name(schema). Names and schemas may hold anything but the separators
# and control characters; PostgreSQL quoting takes care of the rest.
_PART = r"[^:()\x00-\x1f]+"
_EXTENSION = re.compile(rf"(?P<name>{_PART})(?::(?P<colon>{_PART})|\((?P<paren>{_PART})\))?")


class ProvisioningError(Exception):
    """The request cannot be provisioned; the message says what and why, without secrets."""


@dataclass(frozen=True)
class Request:
    """What a client asks for.

    Attributes:
        database: database name.
        roles: NOLOGIN roles to create if missing and grant to the user.
        extensions: ``name``, ``name:schema`` or ``name(schema)`` items.
        user: login role name; generated when ``None``.
        password: its password; generated when ``None`` (which changes it on every call: pass
            the stored credentials back to keep them).
    """

    database: str
    roles: Sequence[str] = ()
    extensions: Sequence[str] = ()
    user: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)


@dataclass(frozen=True)
class Credentials:
    """What the client gets back. The password is left out of ``repr``."""

    database: str
    user: str
    password: str = field(repr=False)

    def conninfo(self, host: str, port: int = 5432) -> str:
        """A libpq keyword/value connection string for these credentials at ``host:port``."""
        return make_conninfo(
            host=host, port=port, dbname=self.database, user=self.user, password=self.password
        )


def check_identifier(name: str, what: str = "identifier") -> str:
    """Check that ``name`` is usable as a PostgreSQL identifier as is.

    Any character but NUL is fine (we always quote), but PostgreSQL would silently truncate
    names over 63 bytes, turning two requests into one role or database.

    Args:
        name: the identifier.
        what: what it names, for the error message ("database", "role"...).

    Returns:
        ``name`` unchanged.

    Raises:
        ProvisioningError: empty, contains NUL, or too long.
    """
    if not name or "\x00" in name:
        raise ProvisioningError(f"invalid {what} name {name!r}: empty or contains NUL")
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        raise ProvisioningError(f"{what} name {name!r} is longer than {MAX_IDENTIFIER_BYTES} bytes")
    return name


def parse_extension(item: str) -> Tuple[str, Optional[str]]:
    """Parse one requested extension: ``name``, ``name:schema`` or ``name(schema)``.

    Surrounding whitespace is ignored, around the name and the schema alike.

    Args:
        item: the request item.

    Returns:
        ``(name, schema)``, ``schema`` being ``None`` when not given.

    Raises:
        ProvisioningError: not one of the three forms, or a part is not a valid identifier.
    """
    match = _EXTENSION.fullmatch(item.strip())
    if match is None:
        raise ProvisioningError(
            f"invalid extension request {item!r}: expected 'name', 'name:schema' or 'name(schema)'"
        )
    name = match.group("name").strip()
    schema = match.group("colon") or match.group("paren")
    schema = schema.strip() if schema is not None else None
    if not name or schema == "":
        raise ProvisioningError(f"invalid extension request {item!r}: empty name or schema")
    check_identifier(name, "extension")
    if schema is not None:
        check_identifier(schema, "schema")
    return name, schema


def _role_info(conn: Connection, role: str) -> Optional[bool]:
    """``None`` if ``role`` does not exist, else whether it is a superuser."""
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    return None if row is None else bool(row[0])


def _password_verifier(conn: Connection, user: str, password: str) -> str:
    # Hash with the server's own password_encryption setting (md5 on old servers), asked here
    # rather than by libpq, which would query behind psycopg's back.
    row = conn.execute("SELECT current_setting('password_encryption')").fetchone()
    algorithm = "scram-sha-256" if row and row[0] == "scram-sha-256" else "md5"
    hashed = conn.pgconn.encrypt_password(
        password.encode("utf-8"), user.encode("utf-8"), algorithm.encode("ascii")
    )
    return hashed.decode("ascii")


def ensure_role(conn: Connection, user: str, password: str) -> bool:
    """Create the LOGIN role ``user`` with ``password``, or make an existing one match.

    Runs in the connection's current transaction mode (commit it yourself if not autocommit).

    Args:
        conn: an admin connection.
        user: role name.
        password: its password (sent only as a SCRAM/md5 verifier).

    Returns:
        Whether the role was created (``False``: it existed and was updated).

    Raises:
        ProvisioningError: bad name, or the role exists and is a superuser.
    """
    check_identifier(user, "role")
    if user.startswith("pg_"):
        raise ProvisioningError(f"role name {user!r} is reserved (pg_ prefix)")
    superuser = _role_info(conn, user)
    if superuser:
        raise ProvisioningError(f"refusing to manage superuser role {user!r}")
    verifier = sql.Literal(_password_verifier(conn, user, password))
    if superuser is None:
        try:
            conn.execute(
                sql.SQL("CREATE ROLE {} WITH LOGIN PASSWORD {}").format(
                    sql.Identifier(user), verifier
                )
            )
            logger.info("created login role %s", user)
            return True
        except psycopg.errors.DuplicateObject:
            if not conn.autocommit:  # the failed statement aborted the caller's transaction
                raise
            logger.debug("role %s was created concurrently", user)
    conn.execute(
        sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(sql.Identifier(user), verifier)
    )
    logger.info("updated login role %s", user)
    return False


def set_password(admin_conninfo: str, user: str, password: str) -> None:
    """Give the existing LOGIN role ``user`` a new password: ``ALTER ROLE ... PASSWORD``.

    The password travels only as a verifier, as in :func:`ensure_role`. Sessions already open
    keep running (PostgreSQL checks a password when a session starts); new ones need it.

    Args:
        admin_conninfo: libpq connection string of a superuser.
        user: the role, which must exist (a password rotation creates nothing).
        password: its new password.

    Raises:
        ProvisioningError: bad name, no such role, a superuser role, or the server refused
            (the message names no password).
    """
    check_identifier(user, "role")
    try:
        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            superuser = _role_info(conn, user)
            if superuser is None:
                raise ProvisioningError(f"role {user!r} does not exist")
            if superuser:
                raise ProvisioningError(f"refusing to manage superuser role {user!r}")
            verifier = sql.Literal(_password_verifier(conn, user, password))
            conn.execute(
                sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(sql.Identifier(user), verifier)
            )
    except psycopg.Error as exc:
        raise ProvisioningError(f"cannot set the password of role {user!r}: {exc}") from exc
    logger.info("password of role %s changed", user)


def ensure_database(conn: Connection, dbname: str, owner: str) -> bool:
    """Create database ``dbname`` owned by ``owner`` if missing; grant ``owner`` CONNECT.

    A database we create is private: CONNECT and TEMPORARY are revoked from PUBLIC, so other
    clients' users cannot reach it. An existing database keeps its owner; ``owner`` is only
    granted CONNECT on it.

    Args:
        conn: an admin connection in autocommit mode (CREATE DATABASE cannot run in a
            transaction block).
        dbname: database name.
        owner: an existing role.

    Returns:
        Whether the database was created.

    Raises:
        ValueError: ``conn`` is not in autocommit mode.
        ProvisioningError: bad name.
    """
    if not conn.autocommit:
        raise ValueError("ensure_database needs an autocommit connection (CREATE DATABASE)")
    check_identifier(dbname, "database")
    check_identifier(owner, "role")
    db = sql.Identifier(dbname)
    created = False
    exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
    if exists is None:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db, sql.Identifier(owner)))
            conn.execute(sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(db))
            created = True
            logger.info("created database %s owned by %s", dbname, owner)
        except psycopg.errors.DuplicateDatabase:
            logger.debug("database %s was created concurrently", dbname)
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, sql.Identifier(owner)))
    return created


def ensure_roles(conn: Connection, user: str, roles: Iterable[str]) -> List[str]:
    """Create each of ``roles`` as a NOLOGIN role if missing, and grant it to ``user``.

    Existing roles are granted as they are (PostgreSQL's predefined ``pg_*`` roles included),
    except superuser roles: membership would let ``user`` become superuser with SET ROLE.

    Args:
        conn: an admin connection.
        user: the grantee, an existing role.
        roles: role names; duplicates are ignored.

    Returns:
        The roles that were created.

    Raises:
        ProvisioningError: a bad or reserved name, a superuser role, or ``user`` itself.
    """
    created: List[str] = []
    for role in dict.fromkeys(roles):  # de-duplicated, order kept
        check_identifier(role, "role")
        if role == user:
            raise ProvisioningError(f"cannot grant role {role!r} to itself")
        superuser = _role_info(conn, role)
        if superuser:
            raise ProvisioningError(f"refusing to grant superuser role {role!r}")
        if superuser is None:
            if role.startswith("pg_"):
                raise ProvisioningError(f"role name {role!r} is reserved (pg_ prefix)")
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
            created.append(role)
            logger.info("created role %s", role)
        member = conn.execute(
            "SELECT 1 FROM pg_auth_members m"
            " JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member"
            " WHERE r.rolname = %s AND u.rolname = %s",
            (role, user),
        ).fetchone()
        if member is None:
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(user))
            )
            logger.info("granted role %s to %s", role, user)
    return created


def check_extensions_available(conn: Connection, names: Iterable[str]) -> None:
    """Check that the server can install every extension in ``names``.

    Args:
        conn: any connection to the server (availability is server-wide).
        names: extension names.

    Raises:
        ProvisioningError: naming every unavailable extension.
    """
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    rows = conn.execute(
        "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", (wanted,)
    ).fetchall()
    available = {row[0] for row in rows}
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ProvisioningError(
            f"extension{'s' if len(missing) > 1 else ''} not available on this server: "
            + ", ".join(repr(name) for name in missing)
        )


def ensure_extensions(
    dsn_for_db: str, extensions: Iterable[str], *, grant_usage_to: Optional[str] = None
) -> List[Tuple[str, Optional[str]]]:
    """Install the requested extensions in a database, all or none.

    Runs ``CREATE EXTENSION IF NOT EXISTS name [SCHEMA schema] CASCADE`` for each item, in
    one transaction. A requested schema is created if missing and, with ``grant_usage_to``,
    that role gets USAGE on it (to use the extension's types and functions).

    Args:
        dsn_for_db: admin connection string to the target database.
        extensions: ``name``, ``name:schema`` or ``name(schema)`` items.
        grant_usage_to: role to grant USAGE on requested schemas to.

    Returns:
        The parsed ``(name, schema)`` pairs, in request order.

    Raises:
        ProvisioningError: a malformed item, an extension the server does not have, or one
            already installed in another schema than requested.
    """
    parsed = list(dict.fromkeys(parse_extension(item) for item in extensions))
    if not parsed:
        return []
    with psycopg.connect(dsn_for_db) as conn:
        check_extensions_available(conn, (name for name, _ in parsed))
        with conn.transaction():
            for name, schema in parsed:
                _ensure_extension(conn, name, schema, grant_usage_to)
    return parsed


def _ensure_extension(
    conn: Connection, name: str, schema: Optional[str], grant_usage_to: Optional[str]
) -> None:
    ext = sql.Identifier(name)
    if schema is None:
        conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {} CASCADE").format(ext))
        logger.info("extension %s installed", name)
        return
    installed = conn.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = %s",
        (name,),
    ).fetchone()
    if installed is not None and installed[0] != schema:
        # IF NOT EXISTS would succeed silently, leaving the client looking in the wrong place.
        raise ProvisioningError(
            f"extension {name!r} is already installed in schema {installed[0]!r}, not {schema!r}"
        )
    nsp = sql.Identifier(schema)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(nsp))
    if grant_usage_to is not None:
        conn.execute(
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(nsp, sql.Identifier(grant_usage_to))
        )
    conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {} SCHEMA {} CASCADE").format(ext, nsp))
    logger.info("extension %s installed in schema %s", name, schema)


def server_version(conninfo: str) -> str:
    """The server's PostgreSQL version, ``"16.4"`` (``"9.6.24"`` before PostgreSQL 10).

    Args:
        conninfo: libpq connection string of any role that can connect.

    Raises:
        ProvisioningError: the server cannot be reached (the message names no password).
    """
    try:
        with psycopg.connect(conninfo) as conn:
            number = conn.info.server_version
    except psycopg.Error as exc:
        raise ProvisioningError(f"cannot reach the server: {exc}") from exc
    if number >= 100000:
        return f"{number // 10000}.{number % 10000}"
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}"


def generate_user(prefix: str = "app") -> str:
    """A fresh, unambiguous login role name, e.g. ``app_3f9c0a1b2d4e``."""
    return f"{prefix}_{secrets.token_hex(6)}"


def generate_password() -> str:
    """A random password (256 bits, URL-safe characters)."""
    return secrets.token_urlsafe(32)


def provision(admin_conninfo: str, request: Request) -> Credentials:
    """Provision ``request`` and return the client's credentials. Idempotent.

    Order: check the whole request (names, extension syntax, extension availability), then
    the login role, the database, the granted roles, and the extensions (in the new
    database). A request that fails the checks changes nothing.

    Args:
        admin_conninfo: libpq connection string of a superuser; its ``dbname`` is only used for
            the cluster-wide steps, extensions go into ``request.database``.
        request: what the client asked for.

    Returns:
        The credentials (user name and password generated when the request has none).

    Raises:
        ProvisioningError: the request is invalid or the server refused a step; the message
            names the culprit and never contains the password.
    """
    user = check_identifier(request.user or generate_user(), "role")
    password = request.password or generate_password()
    check_identifier(request.database, "database")
    for role in request.roles:
        check_identifier(role, "role")
    extensions = [parse_extension(item) for item in request.extensions]
    step = "connecting"
    try:
        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            check_extensions_available(conn, (name for name, _ in extensions))
            step = f"role {user!r}"
            ensure_role(conn, user, password)
            step = f"database {request.database!r}"
            ensure_database(conn, request.database, user)
            step = "roles"
            ensure_roles(conn, user, request.roles)
        step = "extensions"
        if extensions:
            dsn = make_conninfo(admin_conninfo, dbname=request.database)
            ensure_extensions(dsn, request.extensions, grant_usage_to=user)
    except psycopg.Error as exc:
        # Server messages name objects, not passwords (the password only travels hashed).
        raise ProvisioningError(f"provisioning failed at {step}: {exc}") from exc
    return Credentials(database=request.database, user=user, password=password)


def provision_prefix(
    admin_conninfo: str, prefix: str, user: str, password: str, roles: Sequence[str] = ()
) -> List[str]:
    """Serve a prefix request as PostgreSQL 16 does; the databases served, sorted. Idempotent.

    The login role (with ``roles``) and CONNECT on every existing database whose name starts
    with ``prefix``. No database is created: a prefix names databases that exist (PostgreSQL 16
    lists them in ``prefix-databases``, and provisions again as more appear).

    Raises:
        ProvisioningError: a bad name, or the server refused a step (no password in it).
    """
    check_identifier(user, "role")
    for role in roles:
        check_identifier(role, "role")
    step = "connecting"
    try:
        with psycopg.connect(admin_conninfo, autocommit=True) as conn:
            step = f"role {user!r}"
            ensure_role(conn, user, password)
            step = "roles"
            ensure_roles(conn, user, roles)
            step = f"databases starting with {prefix!r}"
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE NOT datistemplate"
                " AND substr(datname, 1, char_length(%s)) = %s ORDER BY datname",
                (prefix, prefix),
            ).fetchall()
            databases = sorted(str(row[0]) for row in rows)
            for name in databases:
                conn.execute(
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                        sql.Identifier(name), sql.Identifier(user)
                    )
                )
    except psycopg.Error as exc:
        raise ProvisioningError(f"provisioning failed at {step}: {exc}") from exc
    return databases
