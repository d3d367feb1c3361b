"""Whether this unit is itself leaving a relation: shared by the provides-side classes.

A unit being removed runs relation-departed naming itself as the departing unit, then
relation-broken, in another hook process. Its relation-broken is not the remote application
leaving: the relation goes on for the provider's other units, so nothing the application
published for the requirer (bag keys, secrets, the requirer's database user) may be touched.
relation-broken itself cannot tell the two apart, so relation-departed records it.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from ops.charm import RelationDepartedEvent
from ops.model import Unit


def departing_name(event: RelationDepartedEvent) -> Optional[str]:
    """The name of the unit relation-departed says is leaving; None if Juju names none."""
    # RelationDepartedEvent.departing_unit since ops 1.2; else what Juju puts in the environment
    departing: Optional[Unit] = getattr(event, "departing_unit", None)
    if departing is not None:
        return departing.name
    return os.environ.get("JUJU_DEPARTING_UNIT") or None


def note_departed(stored: Any, event: RelationDepartedEvent, own_unit: Unit) -> bool:
    """Record that this unit is leaving ``event.relation`` if it is the departing one.

    Args:
        stored: the caller's StoredState, with a ``leaving`` list (relation ids as strings).
        event: the relation-departed event.
        own_unit: this unit.

    Returns:
        True when this unit is itself leaving the relation.
    """
    if departing_name(event) != own_unit.name:
        return False
    key = str(event.relation.id)
    if key not in stored.leaving:
        stored.leaving.append(key)
    return True


def take_leaving(stored: Any, relation_id: int) -> bool:
    """Whether this unit departed ``relation_id`` itself (forgotten once asked: it is broken)."""
    key = str(relation_id)
    if key not in stored.leaving:
        return False
    stored.leaving.remove(key)
    return True
