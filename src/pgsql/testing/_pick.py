"""Which relation of a State the helpers mean when the test names no endpoint.

The PostgreSQL relation: the only one whose interface is ``pgsql`` or ``postgresql_client``
(what the helpers build say so), else, for a relation built by hand without ``interface=``, the
only one on the endpoint the helpers used to assume (``db``, ``database``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover - names for type checkers only; Scenario may be absent
    from ops.testing import Relation, State

PGSQL = "pgsql"
POSTGRESQL_CLIENT = "postgresql_client"
#: Both interfaces a PostgreSQL relation speaks.
POSTGRESQL_INTERFACES = (PGSQL, POSTGRESQL_CLIENT)


def _describe(relations: Sequence[Any]) -> str:
    return ", ".join(
        f"{r.endpoint} (id {r.id}, interface {r.interface or 'not given'})" for r in relations
    )


def pick_relation(
    state: State,
    endpoint: Optional[str],
    interfaces: Sequence[str],
    unnamed: Sequence[str],
    relation_type: Any,
) -> Relation:
    """The one ``relation_type`` relation of ``state`` the test means.

    Args:
        state: the State.
        endpoint: the endpoint the test named; None: the only relation of ``interfaces``.
        interfaces: the interfaces that make a relation a candidate.
        unnamed: without a candidate, the endpoints where a relation without ``interface``
            (built by hand) is taken, when there is exactly one.
        relation_type: ``ops.testing.Relation`` (peer and subordinate relations are not meant).

    Raises:
        ValueError: not exactly one; the message names the candidates, or every relation.
    """
    relations: List[Any] = [r for r in state.relations if isinstance(r, relation_type)]
    if endpoint is not None:
        found = [r for r in relations if r.endpoint == endpoint]
        if len(found) != 1:
            raise ValueError(f"expected one {endpoint!r} relation in the state, found {len(found)}")
        chosen: Relation = found[0]
        return chosen
    candidates = [r for r in relations if r.interface in interfaces]
    if not candidates:
        candidates = [r for r in relations if r.interface is None and r.endpoint in unnamed]
    if len(candidates) == 1:
        only: Relation = candidates[0]
        return only
    kind = " or ".join(interfaces)
    if candidates:
        raise ValueError(
            f"expected one {kind} relation in the state, found {len(candidates)}: "
            f"{_describe(candidates)}; pass endpoint= to say which"
        )
    present = _describe(relations) or "none"
    raise ValueError(
        f"expected one {kind} relation in the state, found none (its relations: {present}); "
        "build it with interface= set, or pass endpoint="
    )
