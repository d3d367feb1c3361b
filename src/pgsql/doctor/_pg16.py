"""Findings about PostgreSQL 16's requests on a ``postgresql_client`` relation.

What a requirer asked beyond a plain database (a prefix, a user of its own) and the names
PostgreSQL 16 refuses silently (it blocks without answering), from the requirer's application
bag as ``juju show-unit`` shows it. Roles PostgreSQL 16 refuses are the ``roles-refused`` note
of each unit's verdict (:func:`pgsql.protocol.evaluate_client`). Never blocking: the unit
verdicts say whether the relation is ready.
"""

from __future__ import annotations

from typing import List, Mapping, Optional

from ..protocol import (
    REQUESTED_ENTITY_SECRET,
    Reason,
    Request,
    RequestError,
    check_request,
    is_prefix,
    split_list,
)

#: Finding codes.
PREFIX_REQUEST = "prefix-request"
USERNAME_REQUESTED = "username-requested"
NAME_REFUSED = "name-refused"

_SHOWN = 60


def _short(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def pg16_findings(
    client: str, requirer_bag: Mapping[str, str], provider_bag: Optional[Mapping[str, str]]
) -> List[Reason]:
    """Prefix requests, a requested user, names PostgreSQL 16 refuses (notes)."""
    out: List[Reason] = []
    database = requirer_bag.get("database", "").strip()
    answer = provider_bag or {}
    if database:
        out += _name_refused(client, database)
    if database and is_prefix(database):
        listed = split_list(answer.get("prefix-databases"))
        found = ", ".join(listed) if listed else "none listed (prefix-databases is empty)"
        out.append(
            Reason(
                PREFIX_REQUEST,
                f"{client} asks for every database starting with {_short(database[:-1])} (a "
                f"prefix request, PostgreSQL 16 and newer); served: {found}",
                client,
                blocking=False,
            )
        )
    uri = requirer_bag.get(REQUESTED_ENTITY_SECRET, "").strip()
    if uri:
        user = answer.get("username", "").strip()
        answered = (
            f"; the provider answered with the user {_short(user)}"
            if user
            else "; the user the provider answered with is in its user secret"
            if answer.get("secret-user")
            else ""
        )
        out.append(
            Reason(
                USERNAME_REQUESTED,
                f"{client} asks for a user of its choice (requested-entity-secret; the name is "
                f"inside that secret, which show-unit does not show){answered}",
                client,
                blocking=False,
                advice="PostgreSQL 16 refuses its own users and any existing user, blocking "
                "with 'Requesting an existing username'; older providers ignore the request",
            )
        )
    return out


def _name_refused(client: str, database: str) -> List[Reason]:
    try:
        check_request(Request.build(database), "postgresql_client")
    except RequestError as e:
        return [
            Reason(
                NAME_REFUSED,
                f"{client}'s request: {e}",
                client,
                blocking=False,
                advice="PostgreSQL 16 blocks without answering: request another database "
                "name, then remove the relation and relate again",
            )
        ]
    return []
