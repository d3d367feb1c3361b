"""PostgreSQL 16's requests, provider side: prefix requests and a user name the requirer chose.

Read from Charmed PostgreSQL 16 (``src/relations/postgresql_provider.py``, ``16/edge``):

- **Prefix requests.** ``database: mydb_*`` asks for every database whose name starts with
  ``mydb_``. PostgreSQL 16 echoes ``database: mydb_*``, lists the matching databases, sorted and
  comma-joined, in ``prefix-databases`` (absent while none matches), and its ``uris`` name the
  first one (no ``uris`` while none matches).
- **A user name.** The requirer's application bag names, as ``requested-entity-secret``, a Juju
  secret it owns and granted to the relation, holding ``{"entity-name": <user>}`` (optionally
  ``"password"``). PostgreSQL 16 creates that user; it blocks, never answering, when it cannot
  read the secret.

Pure functions, used by the provider side (``_provider_request``, ``_postgresql_client_provider``);
they never raise on remote data.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from ._client_rules import check_request, is_prefix
from ._request import Request, RequestError
from ._username import REQUESTED_ENTITY_SECRET, check_username

__all__ = ["prefix_problem", "prefix_databases", "requested_user", "check_answer_user"]


def prefix_problem(database: str) -> Optional[str]:
    """Why the prefix request ``database`` cannot be served (None when it can).

    >>> prefix_problem("mydb_*") is None, "at least 3 characters" in str(prefix_problem("ab*"))
    (True, True)
    """
    try:
        check_request(Request.build(database=database), "postgresql_client")
    except RequestError as e:
        return f"prefix request {database!r} ignored: {e}"
    return None


def requested_user(
    bag: Mapping[str, str], entity: Optional[Mapping[str, str]], problems: List[str]
) -> Optional[Tuple[str, Optional[str]]]:
    """The user name (and password) the requirer asks for in its ``requested-entity-secret``.

    Args:
        bag: the requirer application bag.
        entity: the content of the secret it names; None while it cannot be read.
        problems: where to say why the request cannot be acted upon yet.

    Returns:
        None when the request must wait (the secret is not readable, or it names a user
        PostgreSQL 16 refuses), else ``(username, password)``: ``username`` is ``""`` when no
        user is requested (or the content has no ``entity-name``: PostgreSQL 16 then answers
        with its own user); ``password`` is None unless the secret gives one.
    """
    uri = (bag.get(REQUESTED_ENTITY_SECRET) or "").strip()
    if not uri:
        return "", None
    if entity is None:
        problems.append(
            f"{REQUESTED_ENTITY_SECRET} is not readable yet (not granted to this relation, or "
            "removed): waiting for it before answering (PostgreSQL 16 blocks here too)"
        )
        return None
    name = str(entity.get("entity-name") or "").strip()
    password = entity.get("password")
    try:
        check_username(name, "postgresql_client")
    except RequestError as e:
        problems.append(f"ignored the requested user: {e}")
        return None
    return name, (password if isinstance(password, str) and password else None)


def prefix_databases(
    requested: str, prefix: str, databases: Optional[Iterable[str]], database: Optional[str]
) -> Tuple[str, ...]:
    """The databases answering the request ``requested``, checked; ``()`` for a plain request.

    >>> prefix_databases("mydb_*", "mydb_", ["mydb_b", "mydb_a", "mydb_a"], None)
    ('mydb_a', 'mydb_b')

    Raises:
        ValueError: ``databases`` missing for a prefix request or given for another,
            ``database`` given for a prefix request (the echo is the request), or a name that
            does not start with the prefix.
        TypeError: a name is not a str.
    """
    if not prefix:
        if databases is not None:
            raise ValueError(
                f"databases= answers a prefix request only; {requested!r} is not one "
                "(use database= to serve another database)"
            )
        return ()
    if database is not None:
        raise ValueError(
            "database= cannot be given for a prefix request: the requirer reads the echo "
            "of its request and connects to the first of databases="
        )
    if databases is None:
        raise ValueError(
            f"the requirer asked for every database starting with {prefix!r} (a prefix "
            "request): pass databases=[...] (the matching databases; [] while none exists)"
        )
    names = [databases] if isinstance(databases, str) else list(databases)
    out: List[str] = []
    for name in names:
        if not isinstance(name, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"databases items must be str, not {type(name).__name__}")
        if not name.startswith(prefix) or is_prefix(name):
            raise ValueError(
                f"databases: {name[:60]!r} does not answer the prefix request {requested!r}"
            )
        if name not in out:
            out.append(name)
    return tuple(sorted(out))


def check_answer_user(requested: str, username: str) -> None:
    """Refuse an answer with another user than the one the requirer asked for.

    Raises:
        ValueError: ``requested`` is set and ``username`` differs (the requirer would never be
            ready: ``user-mismatch``).
    """
    if requested and username != requested:
        raise ValueError(
            f"the requirer asked for the user {requested!r} (requested-entity-secret): publish "
            f"username={requested!r}, not {username[:40]!r}"
        )


def prefix_fields(databases: Tuple[str, ...]) -> Dict[str, str]:
    """The ``prefix-databases`` key (none while no database matches)."""
    return {"prefix-databases": ",".join(databases)} if databases else {}
