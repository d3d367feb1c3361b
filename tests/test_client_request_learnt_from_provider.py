"""A non-leader learns the request (database, roles) from the provider's ``data``
snapshot and echo; a malformed or different snapshot never raises nor serves the
wrong database (``postgresql_client``).
"""

from __future__ import annotations

import dataclasses
from typing import List, Optional

import pytest
from fix_client_postgresql_client import (
    ANSWER,
    JUJU_4,
    JUJU_36,
    META,
    LearningSetter,
    answered_non_leader,
    everything,
    kinds,
    no_password,
    provide,
    setter_changed,
    setter_run,
    setter_started,
    testing,
    with_data,
)

from pgsql import protocol


@pytest.mark.parametrize("juju", [JUJU_36, JUJU_4])
def test_non_leader_learns_database_and_roles_from_the_answered_snapshot(juju: str) -> None:
    ctx = testing.Context(LearningSetter, meta=META, juju_version=juju, unit_id=1)
    writes: List[str] = []
    state, rel_id, c = setter_started(ctx, leader=False, writes=writes)
    assert kinds(c) == ["DatabaseRelationJoinedEvent"]
    assert not c.seen[0][2]  # not answered: the database is not known yet
    assert len(state.deferred) == 1
    state, c = setter_changed(ctx, provide(state, rel_id, ANSWER), rel_id, writes)
    # the deferred joined re-runs and now knows the database: nothing deferred any more
    assert state.deferred == []
    available = [s for s in c.seen if s[0] == "MasterAvailableEvent"]
    assert available
    assert available[0][1] is not None
    assert available[0][2] == "mydbname"
    assert available[0][3] == ["charmed_read"]
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    assert protocol.REQUEST_UNKNOWN not in {x.code for x in r.reasons}
    assert writes == []  # a non-leader writes nothing on postgresql_client
    no_password(everything(ctx, state, c))


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        "[1, 2]",
        '{"database": 5}',
        '{"database": ""}',
        '{"extra-user-roles": "charmed_read"}',
        "",
        None,
    ],
)
def test_non_leader_with_a_malformed_snapshot_trusts_the_echo_and_never_raises(
    data: Optional[str],
) -> None:
    ctx = testing.Context(LearningSetter, meta=META, juju_version=JUJU_4, unit_id=1)
    state, rel_id, _ = setter_started(ctx, leader=False)
    state, c = setter_changed(ctx, with_data(state, rel_id, ANSWER, data), rel_id)
    available = [s for s in c.seen if s[0] == "MasterAvailableEvent"]
    assert available, kinds(c)
    assert available[0][2] == "mydbname"  # the echo
    r = c.db.readiness()
    assert r is not None
    assert r.ready
    no_password(everything(ctx, state, c) + r.why)


def test_non_leader_whose_snapshot_names_another_database_is_not_ready_without_a_password() -> None:
    """The leader changed its request to otherdb after the provider created mydbname: the
    provider's snapshot says otherdb, its echo mydbname. Nobody connects to a database that
    is not the one requested."""
    ctx = testing.Context(LearningSetter, meta=META, juju_version=JUJU_4, unit_id=1)
    state, rel_id, _ = setter_started(ctx, leader=False)
    other = ANSWER.evolve(request={"database": "otherdb"})
    state, c = setter_changed(ctx, provide(state, rel_id, other), rel_id)
    assert "MasterAvailableEvent" not in kinds(c)
    r = c.db.readiness()
    assert r is not None
    assert not r.ready
    assert r.master is None
    no_password(everything(ctx, state, c) + r.why + repr(r))


def test_non_leader_broken_event_carries_the_database_learnt_from_the_snapshot() -> None:
    """1.x charms compare ``event.database`` in every event, relation-broken included."""
    ctx = testing.Context(LearningSetter, meta=META, juju_version=JUJU_4, unit_id=1)
    state, rel_id = answered_non_leader(ctx)
    rel = dataclasses.replace(state.get_relation(rel_id), remote_units_data={})
    state = dataclasses.replace(state, relations={rel})
    state, c = setter_run(ctx, ctx.on.relation_broken(rel), state)
    gone = [s for s in c.seen if s[0] in ("MasterGoneEvent", "DatabaseRelationBrokenEvent")]
    assert gone, kinds(c)
    assert all(s[2] == "mydbname" for s in gone), gone
    no_password(everything(ctx, state, c))
