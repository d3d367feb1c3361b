"""A database user name chosen by the requirer (``postgresql_client``, PostgreSQL 16).

Facts read from Charmed PostgreSQL 16 (``canonical/postgresql-operator`` branch ``16/edge``,
``src/relations/postgresql_provider.py``, ``postgresql-charms-single-kernel`` 16.3.5) and
``data_interfaces`` v0 (LIBPATCH 58):

- The requirer leader creates an application-owned Juju secret labelled
  ``<model-uuid>-<relation-id>-requested-entity`` holding ``{"entity-name": <user>}``
  (optionally ``"password"``), grants it to the relation and writes its URI as
  ``requested-entity-secret`` in its application bag, with ``database``. Any other content
  (no ``entity-name``) and PostgreSQL 16 falls back to its own ``relation-<id>`` user.
- PostgreSQL 16 creates that user (a generated password when none is given) and answers as
  usual (``secret-user`` holds ``username`` and ``password``). It refuses, blocking its own
  status and never answering, a user of its own (:data:`SYSTEM_USERS`) or any user that
  already exists (``postgres`` always does): "Requesting an existing username"; and when it
  cannot read the secret: "Missing grant to requested entity secret".
- PostgreSQL 14 and PgBouncer ignore the secret and answer with their own user.
- ``data_interfaces`` removes the helper secret once the provider answered, and refuses a
  requested entity on a Juju without secrets (``SecretsUnavailableError``).

Every function here is pure and never raises on remote data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional

from ._request import Request, RequestError, quoted_name

if TYPE_CHECKING:  # pragma: no cover - imported where used: a requirer loads this module early
    from ._readiness import Reason

#: The application bag key naming the helper secret.
REQUESTED_ENTITY_SECRET = "requested-entity-secret"  # noqa: S105 (a key name)
#: PostgreSQL 16's own users (``SYSTEM_USERS``), and ``postgres``, which always exists.
SYSTEM_USERS = ("backup", "monitoring", "replication", "rewind", "operator", "postgres")
#: PostgreSQL reserves role names starting with this (``CREATE ROLE`` refuses them).
RESERVED_PREFIX = "pg_"
_MAX_IDENTIFIER_BYTES = 63

#: Reason codes.
USER_MISMATCH = "user-mismatch"
USERNAME_UNCONFIRMED = "username-unconfirmed"


def entity_label(model_uuid: str, relation_id: int) -> str:
    """The label of the helper secret (the one data_interfaces gives it).

    >>> entity_label("0f1e", 7)
    '0f1e-7-requested-entity'
    """
    return f"{model_uuid}-{relation_id}-requested-entity"


def entity_content(username: str) -> Dict[str, str]:
    """The helper secret's content: exactly what PostgreSQL 16 reads.

    >>> entity_content("app_user")
    {'entity-name': 'app_user'}
    """
    return {"entity-name": username}


def check_username(username: str, interface: str) -> None:
    """Refuse, loudly, a user name the relation's providers would refuse or ignore silently.

    >>> check_username("app_user", "postgresql_client")
    >>> check_username("operator", "postgresql_client")
    Traceback (most recent call last):
    ...
    pgsql.protocol._request.RequestError: username 'operator' is a user of PostgreSQL 16 ...

    Raises:
        RequestError: ``pgsql`` (which has no such request), one of :data:`SYSTEM_USERS`, a
            name starting with ``pg_``, or longer than 63 bytes.
    """
    if not username:
        return
    if interface != "postgresql_client":
        raise RequestError(
            f"username {quoted_name(username)}: a user name can be requested only on the "
            "postgresql_client interface (PostgreSQL 16); pgsql servers choose the user"
        )
    if username in SYSTEM_USERS:
        raise RequestError(
            f"username {quoted_name(username)} is a user of PostgreSQL 16 itself (it refuses "
            f"{', '.join(SYSTEM_USERS)} and any existing user): choose the application's own"
        )
    if username.startswith(RESERVED_PREFIX):
        raise RequestError(
            f"username {quoted_name(username)}: PostgreSQL reserves role names starting with "
            f"{RESERVED_PREFIX!r}"
        )
    if len(username.encode("utf-8")) > _MAX_IDENTIFIER_BYTES:
        raise RequestError(
            f"username {quoted_name(username, 20)}... is too long: PostgreSQL accepts at most "
            f"{_MAX_IDENTIFIER_BYTES} bytes"
        )


def username_reasons(
    request: Optional[Request], answered: bool, user: str, name: str
) -> List[Reason]:
    """Why the provider's user is not the requested one (blocking), or a note before it answers.

    Before an answer, a note: a PostgreSQL 16 provider that refuses the user never answers.
    Once it answered, a user other than the requested one (a provider that does not serve
    user names, or an answer to an earlier request) is ``user-mismatch``: never ready on it.
    """
    from ._readiness import Reason  # loaded with the relation's first evaluation

    wanted = request.username if request is not None else ""
    if not wanted:
        return []
    if not answered:
        return [
            Reason(
                USERNAME_UNCONFIRMED,
                f"user {wanted!r} requested: a PostgreSQL 16 provider that refuses it (an "
                "existing user, or an unreadable requested-entity secret) blocks without "
                "answering",
                name,
                blocking=False,
                advice="if the provider's status says 'Requesting an existing username', "
                "request another user name, then remove the relation and relate again",
            )
        ]
    if not user or user == wanted:
        return []  # no user yet: the credential rules say why
    return [
        Reason(
            USER_MISMATCH,
            f"the provider answered with the user {user[:40]!r}, not the requested {wanted!r} "
            "(providers older than PostgreSQL 16 ignore requested user names)",
            name,
            advice="relate to PostgreSQL 16 or newer, or drop username=; providers fix the "
            "user when the relation is created: remove the relation and relate again",
        )
    ]
