"""What a ``postgresql_client`` provider in the helpers answers: the request your charm made.

Read from your charm's own bags (its application bag on the relation, else the copy its leader
shares on the peer relation), else the test's ``Client.request``. A provider state that answers
with none of them known raises, naming what is missing, rather than answering nothing and
leaving your charm to say the provider has not answered.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterable, Mapping, Optional, cast

from .. import protocol
from ..protocol import Request


def shared_request(
    peer_app_bags: Iterable[Mapping[str, str]], endpoint: str, relation_id: int
) -> Optional[Request]:
    """The request your leader shared for ``relation_id`` on a peer relation (``pgsql-<ep>``)."""
    for bag in peer_app_bags:
        try:
            table: object = json.loads(bag.get(f"pgsql-{endpoint}", "") or "{}")
        except ValueError:
            continue
        if not isinstance(table, dict):
            continue
        entry = cast("Dict[str, Any]", table).get(str(relation_id))
        if isinstance(entry, dict):
            return Request.from_databag(
                {str(k): str(v) for k, v in cast("Dict[Any, Any]", entry).items()}
            )
    return None


def answered_request(
    published: Mapping[str, str],
    shared: Optional[Request],
    client_request: Request,
    *,
    external: bool,
    answers: bool,
    where: str,
) -> Dict[str, str]:
    """The requirer application bag the provider acts on.

    Args:
        published: your charm's application bag on the relation.
        shared: what your leader shared on the peer relation, if anything.
        client_request: the test's ``Client.request``.
        external: your charm asks for ``external-node-connectivity``.
        answers: the provider's state answers a request (a missing one is an error).
        where: the relation, for the error message.

    Raises:
        ValueError: ``answers`` and no database is known from any of them.
    """
    if published.get("database", "").strip():
        return dict(published)
    for request in (shared, client_request):
        if request is not None and request.database:
            return protocol.requirer_databag(request, external=external)
    if answers:
        raise ValueError(
            f"the provider's state answers a request, and none is known on {where}: your "
            "charm published no database (its application bag, or the copy its leader shares "
            "on the peer relation) and the Client has no request; run the hook in which your "
            "charm requests its database first, or pass "
            "pgt.Client(request=Request.build(database=...)) with what it asks for"
        )
    return {}
