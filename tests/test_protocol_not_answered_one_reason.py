"""A provider that has not answered: one reason on every unit, leader or not.

The leader knows its request; a non-leader may not (``request=None``). Both see the same
provider bag, so both are blocked by the same reason; what the leader alone knows (no database
requested yet) is a note, as the non-leader notes that it cannot know the request.
"""

from __future__ import annotations

from typing import Optional

import pytest

from pgsql import Request, protocol
from pgsql.protocol import Readiness

NOTHING_YET = Request()  # the leader before its charm set a database
MYDB = Request.build(database="mydb")


def _verdict(request: Optional[Request]) -> Readiness:
    return protocol.evaluate_client(request, {}, {}, {}, remote_app="postgresql")


@pytest.mark.parametrize("leader_request", [NOTHING_YET, MYDB], ids=["no-database", "mydb"])
def test_leader_and_non_leader_give_the_same_blocking_reason_before_the_answer(
    leader_request: Request,
) -> None:
    leader, non_leader = _verdict(leader_request), _verdict(None)
    for verdict in (leader, non_leader):
        assert not verdict.ready
        assert [r.code for r in verdict.reasons if r.blocking] == [protocol.NOT_ANSWERED]
    assert leader.why == non_leader.why == "the provider has not answered the request yet"


def test_a_request_known_to_name_no_database_is_noted_with_its_advice() -> None:
    notes = [r for r in _verdict(NOTHING_YET).reasons if not r.blocking]
    assert [r.code for r in notes] == [protocol.DATABASE_PENDING]
    assert notes[0].advice == "set event.database, or pass database=... to PostgreSQLClient"
    assert protocol.DATABASE_PENDING not in {r.code for r in _verdict(MYDB).reasons}


def test_no_provider_unit_and_no_answer_is_one_reason_no_remote_units() -> None:
    """Nobody can answer: the reason says so rather than "not answered yet"."""
    r = protocol.evaluate_client(
        protocol.Request("mydb"), {}, {}, {}, remote_app="postgresql", units_present=False
    )
    assert not r.ready
    assert [x.code for x in r.reasons if x.blocking] == [protocol.NO_REMOTE]
