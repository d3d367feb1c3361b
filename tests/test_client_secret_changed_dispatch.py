"""The secret-changed hook however the dispatch path spells it: deferred events re-run
in it see the rotation; other hooks and actions read the tracked revision.
"""

from __future__ import annotations

import dataclasses
from typing import List

import pytest
from fix_client_postgresql_client import (
    ANSWER,
    JUJU_36,
    META,
    TLS_ANSWER,
    LearningSetter,
    everything,
    kinds,
    no_password,
    provide,
    secrets_of,
    setter_changed,
    setter_class,
    setter_run,
    setter_started,
    testing,
)
from provider_double import (
    CA,
    NEW_CA,
    NEW_PASSWORD,
    PASSWORD,
    TLS_SECRET,
    USER_SECRET,
)


@pytest.mark.parametrize("dispatch", ["hooks/secret-changed", "hooks/secret_changed"])
def test_a_deferred_master_changed_rerun_in_secret_changed_sees_the_rotated_secrets(
    dispatch: str,
) -> None:
    ctx = testing.Context(
        setter_class(DEFER=("MasterChangedEvent",)), meta=META, juju_version=JUJU_36
    )
    state, rel_id, _ = setter_started(ctx, leader=True)
    state, c = setter_changed(ctx, provide(state, rel_id, TLS_ANSWER), rel_id)
    assert len(state.deferred) == 1
    new = TLS_ANSWER.evolve(ca=NEW_CA)
    state = dataclasses.replace(state, secrets=secrets_of(TLS_ANSWER, latest=new))
    spy: List[str] = []
    state, c = setter_run(
        ctx,
        ctx.on.secret_changed(state.get_secret(id=TLS_SECRET)),
        state,
        spy=spy,
        dispatch=dispatch,
    )
    cas = [s[4] for s in c.seen if s[0] == "MasterChangedEvent"]
    assert cas
    assert all(ca == NEW_CA for ca in cas), cas
    assert spy.count(TLS_SECRET) == 1, spy


@pytest.mark.parametrize("dispatch", ["hooks/secret-changed", "hooks/secret_changed"])
def test_a_password_rotation_is_one_master_changed_whatever_the_dispatch_spelling(
    dispatch: str,
) -> None:
    ctx = testing.Context(
        setter_class(DEFER=("MasterChangedEvent",)), meta=META, juju_version=JUJU_36
    )
    state, rel_id, _ = setter_started(ctx, leader=False)
    state, c = setter_changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    assert len(state.deferred) == 1
    new = ANSWER.evolve(password=NEW_PASSWORD)
    state = dataclasses.replace(state, secrets=secrets_of(ANSWER, latest=new))
    spy: List[str] = []
    state, c = setter_run(
        ctx,
        ctx.on.secret_changed(state.get_secret(id=USER_SECRET)),
        state,
        spy=spy,
        dispatch=dispatch,
    )
    masters = [s[1] for s in c.seen if s[0] == "MasterChangedEvent"]
    assert masters
    assert all(m is not None and m.password == NEW_PASSWORD for m in masters)
    assert spy.count(USER_SECRET) == 1, spy
    no_password(everything(ctx, state, c))


def test_an_action_whose_name_ends_in_secret_changed_refreshes_no_secret() -> None:
    """``actions/check-secret-changed`` is not the secret-changed hook (no JUJU_SECRET_ID)."""
    ctx = testing.Context(LearningSetter, meta=META, juju_version=JUJU_36)
    state, rel_id, _ = setter_started(ctx, leader=True)
    state, c = setter_changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    new = ANSWER.evolve(password=NEW_PASSWORD)
    state = dataclasses.replace(state, secrets=secrets_of(ANSWER, latest=new))
    state, c = setter_run(ctx, ctx.on.update_status(), state, dispatch="hooks/check-secret-changed")
    assert kinds(c) == []
    m = c.db.master()
    assert m is not None
    assert m.password == PASSWORD


def test_the_dispatch_spelling_is_what_makes_the_deferred_rerun_see_the_rotation() -> None:
    """Control for the two tests above: outside secret-changed the tracked revision is read."""
    ctx = testing.Context(
        setter_class(DEFER=("MasterChangedEvent",)), meta=META, juju_version=JUJU_36
    )
    state, rel_id, _ = setter_started(ctx, leader=True)
    state, c = setter_changed(ctx, provide(state, rel_id, TLS_ANSWER), rel_id)
    new = TLS_ANSWER.evolve(ca=NEW_CA)
    state = dataclasses.replace(state, secrets=secrets_of(TLS_ANSWER, latest=new))
    state, c = setter_run(ctx, ctx.on.update_status(), state)
    cas = [s[4] for s in c.seen if s[0] == "MasterChangedEvent"]
    assert cas == [CA]
