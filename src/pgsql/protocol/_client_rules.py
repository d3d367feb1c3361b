"""What ``postgresql_client`` providers refuse or serve beyond a plain database request.

Facts read from Charmed PostgreSQL 16 (``canonical/postgresql-operator`` branch ``16/edge``,
``src/relations/postgresql_provider.py``, and ``postgresql-charms-single-kernel`` 16.3.5):

- A ``database`` ending in ``*`` asks for every database whose name starts with what comes
  before it (a *prefix request*). PostgreSQL 16 wants at least 3 characters before the ``*``;
  it answers with ``prefix-databases`` (the matching databases, sorted, comma-joined; the key
  is absent while none matches), echoes the request (``database: mydb_*``) and names the first
  listed database in ``uris``. Other providers (PostgreSQL 14, PgBouncer) create a database
  literally named ``mydb_*``.
- Refused silently (the provider blocks its own status and the requirer waits forever): a
  prefix too short; a database named ``databases``, ``postgres``, ``template0`` or
  ``template1``; a database name longer than 49 characters (its per-database roles
  ``charmed_<db>_owner`` must fit PostgreSQL's 63-byte identifiers).
- Roles (``extra-user-roles``, lower-cased, the access groups ``identity_access``,
  ``internal_access`` and ``relation_access`` dropped): at most one of ``charmed_stats``,
  ``charmed_read``, ``charmed_dml``, ``charmed_admin``, ``createdb``, ``superuser``, or exactly
  ``charmed_admin`` with ``createdb``. PostgreSQL 14 accepts ``createdb``, ``createrole``,
  ``superuser`` and any existing role name, and a refusing PostgreSQL 16 never answers (not
  even its ``version``): this rule is a note while no provider answered.

Every function here is pure and never raises on remote data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

from ..connstr import ConnectionString, ConnectionStringError
from ._common import Databag, split_list
from ._request import Request, RequestError, quoted_name
from ._username import check_username

if TYPE_CHECKING:  # pragma: no cover - imported where used: a requirer checks its request early
    from ._readiness import Reason

_POSTGRESQL_CLIENT = "postgresql_client"

#: Characters PostgreSQL 16 wants before the ``*`` of a prefix request.
PREFIX_MIN = 3
#: Database names PostgreSQL 16 refuses (``INVALID_DATABASE_NAMES``).
RESERVED_DATABASES = ("databases", "postgres", "template0", "template1")
#: The longest database name PostgreSQL 16 accepts, in characters.
MAX_DATABASE = 49
#: PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes: every server truncates beyond it.
MAX_IDENTIFIER_BYTES = 63

#: PostgreSQL 16's predefined roles a requirer may ask for, and the attributes it accepts.
PG16_ROLES = ("charmed_stats", "charmed_read", "charmed_dml", "charmed_admin")
PG16_ATTRIBUTES = ("createdb", "superuser")
#: The one pair PostgreSQL 16 accepts together.
PG16_PAIR = frozenset({"charmed_admin", "createdb"})
#: Groups providers strip from ``extra-user-roles`` (they grant them themselves).
ACCESS_GROUPS = frozenset({"identity_access", "internal_access", "relation_access"})

#: Reason codes.
PREFIX_NOT_SERVED = "prefix-not-served"
NO_PREFIX_DATABASES = "no-prefix-databases"
ROLES_REFUSED = "roles-refused"


def is_prefix(database: str) -> bool:
    """Whether ``database`` is a prefix request (ends with ``*``).

    >>> is_prefix("mydb_*"), is_prefix("mydb")
    (True, False)
    """
    return database.endswith("*")


def check_request(request: Request, interface: str) -> None:
    """Refuse, loudly, a request the relation's providers would refuse silently.

    On ``pgsql``, a prefix request does not exist. On ``postgresql_client``: a prefix needs at
    least 3 characters (``PREFIX_MIN``) before the ``*``; a database name is none of
    :data:`RESERVED_DATABASES` and at most 49 characters (``MAX_DATABASE``) (and 63 bytes).

    >>> check_request(Request.build("mydb_*"), "postgresql_client")
    >>> check_request(Request.build("postgres"), "postgresql_client")
    Traceback (most recent call last):
    ...
    pgsql.protocol._request.RequestError: database 'postgres' is reserved on PostgreSQL 16 ...

    A user name is checked by :func:`~pgsql.protocol._username.check_username`.

    Raises:
        RequestError: the request breaks one of those rules.
    """
    check_username(request.username, interface)
    database = request.database
    if interface != _POSTGRESQL_CLIENT:
        if is_prefix(database):
            raise RequestError(
                f"database {quoted_name(database)}: prefix requests (a name ending in '*') exist "
                "only on the postgresql_client interface; pgsql servers would create a database "
                "with that literal name"
            )
        return
    if not database:
        return
    if is_prefix(database):
        if len(database) - 1 < PREFIX_MIN:
            raise RequestError(
                f"database {quoted_name(database)}: a prefix request needs at least {PREFIX_MIN} "
                "characters before the '*' (PostgreSQL 16 refuses a shorter prefix)"
            )
        return
    if database in RESERVED_DATABASES:
        raise RequestError(
            f"database {quoted_name(database)} is reserved on PostgreSQL 16 (its providers refuse "
            f"{', '.join(RESERVED_DATABASES)}): choose the application's own database"
        )
    if len(database) > MAX_DATABASE or len(database.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        raise RequestError(
            f"database {quoted_name(database, 20)}... is too long: PostgreSQL 16 accepts at most "
            f"{MAX_DATABASE} characters (and PostgreSQL itself {MAX_IDENTIFIER_BYTES} bytes)"
        )


def pg16_roles_problem(roles: Sequence[str]) -> Optional[str]:
    """Why PostgreSQL 16 refuses these roles, or None when it accepts them.

    >>> pg16_roles_problem(["charmed_read"]) is None, pg16_roles_problem(["CREATEDB"]) is None
    (True, True)
    >>> pg16_roles_problem(["charmed_admin", "createdb"]) is None
    True
    >>> pg16_roles_problem(["charmed_read", "charmed_dml"])
    "PostgreSQL 16 accepts one role, or charmed_admin with createdb, not 'charmed_dml,charmed_read'"
    """
    wanted = frozenset(r.strip().lower() for r in roles) - ACCESS_GROUPS - {""}
    if len(wanted) > 1 and wanted != PG16_PAIR:
        return (
            "PostgreSQL 16 accepts one role, or charmed_admin with createdb, not "
            f"{quoted_name(','.join(sorted(wanted)))}"
        )
    unknown = sorted(wanted - set(PG16_ROLES) - set(PG16_ATTRIBUTES))
    if unknown:
        accepted = ", ".join(PG16_ROLES + PG16_ATTRIBUTES)
        refused = quoted_name(",".join(unknown))
        return f"PostgreSQL 16 refuses the role {refused} (it accepts {accepted})"
    return None


def major(version: Optional[str]) -> Optional[int]:
    """The major of a published ``version`` (``16.14`` -> 16), None when unreadable.

    >>> major("16.14"), major("9.6"), major(None), major("x")
    (16, 9, None, None)
    """
    head = (version or "").strip().split(".")[0]
    return int(head) if head.isascii() and head.isdigit() else None


def roles_reasons(request: Optional[Request], answered: bool, name: str) -> List[Reason]:
    """``roles-refused``: a note, while no provider answered, that PostgreSQL 16 refuses them.

    A PostgreSQL 16 provider that refuses the roles blocks its own status and never answers,
    not even with its ``version``: the requirer cannot know it is talking to one, and
    PostgreSQL 14 (same interface) accepts other roles. So the rule is a note while nothing is
    answered (a charm's status can say why it may wait forever); once a provider answered, it
    created the user with those roles, and nothing is said.
    """
    if answered or request is None or not request.roles:
        return []
    problem = pg16_roles_problem(request.roles)
    if problem is None:
        return []
    from ._readiness import Reason  # loaded with the relation's first evaluation

    return [
        Reason(
            ROLES_REFUSED,
            f"{problem}; a PostgreSQL 16 provider blocks without answering",
            name,
            blocking=False,
            advice="if the provider's status says 'invalid role(s) for extra user roles', "
            "request roles it accepts, then remove the relation and relate again",
        )
    ]


def served_databases(
    database: Optional[str], bag: Databag, uris: str, name: str
) -> Tuple[Optional[str], Tuple[str, ...], List[Reason]]:
    """The database the master uses, every database served, and why none can be used.

    A plain database is served alone. For a prefix request, the databases are those of
    ``prefix-databases``; the master uses the one ``uris`` names when listed (PostgreSQL 16
    names the first), else the first listed. Without ``prefix-databases`` nothing is served:
    no database matches yet (``no-prefix-databases``), or the provider does not serve prefix
    requests (``prefix-not-served``: a provider older than 16 created a database literally
    named like the request).
    """
    if not database:
        return None, (), []
    if not is_prefix(database):
        return database, (database,), []
    prefix = database[:-1]
    listed = tuple(dict.fromkeys(split_list(bag.get("prefix-databases"))))
    if listed:
        return _master_database(listed, uris), listed, []
    from ._readiness import Reason  # loaded with the relation's first evaluation

    release = major(bag.get("version"))
    if release is not None and release < 16:
        why = Reason(
            PREFIX_NOT_SERVED,
            f"the provider (version {release}) does not serve prefix requests: it lists no "
            f"prefix-databases for {prefix!r}",
            name,
            advice="relate to PostgreSQL 16 or newer, or request a database by its name",
        )
    else:
        why = Reason(
            NO_PREFIX_DATABASES,
            f"no database starting with {prefix!r} exists yet (prefix-databases is empty)",
            name,
            advice=f"create a database whose name starts with {prefix!r}",
        )
    return None, (), [why]


def _master_database(listed: Tuple[str, ...], uris: str) -> str:
    if uris:
        try:
            named = ConnectionString(uris).dbname
        except ConnectionStringError:
            named = None
        if named in listed:
            return str(named)
    return listed[0]
