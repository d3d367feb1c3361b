"""What the helpers of both interfaces and :class:`~pgsql.testing.Model` share.

Interface-neutral: the keys Juju puts in every unit bag, unit numbers, the one import of
ops.testing (Scenario), the hooks Juju runs on a unit when remote bags change, and Harness bag
writes. The ``pgsql`` helpers (``_pgsql.py``), the ``postgresql_client`` ones
(``_postgresql_client.py``) and the engine (``_model.py``) import them from here.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, Tuple

from ._pick import POSTGRESQL_INTERFACES, pick_relation

if TYPE_CHECKING:  # pragma: no cover - names for type checkers only; Scenario may be absent
    from ops.testing import Harness, Relation, State

__all__ = [
    "endpoint_of",
    "juju_keys",
    "ops_testing",
    "relation_of",
    "run_bag_hooks",
    "set_bag",
    "unit_number",
]


def juju_keys(address: str) -> Dict[str, str]:
    """The keys Juju itself puts in every unit databag, for a unit at ``address``."""
    return {
        "egress-subnets": f"{address}/32",
        "ingress-address": address,
        "private-address": address,
    }


def unit_number(name: str) -> int:
    """The number of unit ``name`` (``app/3`` is 3)."""
    num = name.rpartition("/")[2]
    if not num.isdigit():
        raise ValueError(f"{name!r} is not a unit name like 'app/0'")
    return int(num)


def ops_testing() -> Any:
    """``ops.testing``, when it has the State API (Scenario); else a RuntimeError saying so."""
    try:
        import ops.testing
    except ImportError:  # pragma: no cover - ops is a dependency, but say what is missing
        testing = None
    else:
        testing = ops.testing
    if getattr(testing, "Relation", None) is None:
        raise RuntimeError(
            "pgsql.testing's scenario_* helpers need ops.testing's State API: "
            "ops >= 2.17 with ops[testing] installed"
        )
    return testing


def relation_of(state: State, endpoint: Optional[str] = None) -> Relation:
    """The one ``ops.testing.Relation`` on ``endpoint`` in ``state`` (e.g. an output State).

    Without ``endpoint``: the only one whose interface is ``pgsql`` or ``postgresql_client``
    (else the only one on ``db`` or ``database`` built without ``interface=``).

    Raises:
        ValueError: not exactly one such relation; the message names the candidates.
    """
    unnamed = ("db", "database")
    testing = ops_testing()
    return pick_relation(state, endpoint, POSTGRESQL_INTERFACES, unnamed, testing.Relation)


def run_bag_hooks(
    ctx: Any,
    state: State,
    endpoint: str,
    before: Any,
    target: Any,
    app_writer: Optional[int],
) -> Tuple[State, bool]:
    """The hooks Juju runs on your unit when the remote bags move from ``before`` to ``target``.

    ``relation-departed`` for each remote unit gone, ``relation-joined`` for each new one, then
    ``relation-changed`` for each remote unit whose bag changed, in unit order; an application
    bag change last, as a ``relation-changed`` from ``app_writer`` (else the first unit).

    Returns:
        The State after the last hook, and whether any hook ran.
    """
    old_units: Mapping[int, Mapping[str, str]] = before.remote_units_data
    new_units: Mapping[int, Mapping[str, str]] = target.remote_units_data
    current = state
    ran = False

    def run(event_factory: Any, units: Mapping[int, Mapping[str, str]], **kw: Any) -> None:
        nonlocal current, ran
        # the units seen so far, with the remote application's new bag
        rel = dataclasses.replace(
            relation_of(current, endpoint),
            remote_app_name=target.remote_app_name,
            remote_app_data=dict(target.remote_app_data),
            remote_units_data={k: dict(v) for k, v in units.items()},
        )
        others = [r for r in current.relations if r.id != rel.id]
        current = dataclasses.replace(current, relations=[*others, rel])
        current = ctx.run(event_factory(rel, **kw), current)
        ran = True

    remaining = {k: v for k, v in old_units.items() if k in new_units}
    for uid in sorted(set(old_units) - set(new_units)):
        run(ctx.on.relation_departed, remaining, remote_unit=uid, departing_unit=uid)
    delivered: Dict[int, Mapping[str, str]] = dict(remaining)
    for uid in sorted(new_units):
        if uid not in old_units:
            delivered[uid] = new_units[uid]
            run(ctx.on.relation_joined, delivered, remote_unit=uid)
        if uid not in old_units or old_units[uid] != new_units[uid]:
            delivered[uid] = new_units[uid]
            run(ctx.on.relation_changed, delivered, remote_unit=uid)
    if dict(before.remote_app_data) != dict(target.remote_app_data):
        if new_units:
            writer = app_writer if app_writer in new_units else min(new_units)
            run(ctx.on.relation_changed, new_units, remote_unit=writer)
        else:
            run(ctx.on.relation_changed, new_units)
    return current, ran


def set_bag(harness: Harness[Any], relation_id: int, name: str, want: Mapping[str, str]) -> None:
    """Make bag ``name`` on ``relation_id`` hold ``want``, writing only what differs."""
    current = dict(harness.get_relation_data(relation_id, name))
    changes = {k: v for k, v in want.items() if current.get(k) != v}
    changes.update({k: "" for k in current if k not in want})  # "" deletes
    if changes:
        harness.update_relation_data(relation_id, name, changes)


def endpoint_of(harness: Harness[Any], relation_id: int) -> str:
    """The endpoint of the Harness relation ``relation_id``."""
    for endpoint, relations in harness.model.relations.items():
        if any(r.id == relation_id for r in relations):
            return endpoint
    raise ValueError(f"no relation with id {relation_id}")
