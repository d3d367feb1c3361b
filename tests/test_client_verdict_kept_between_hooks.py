"""The verdict a unit was told is kept between hooks (``postgresql_client``), without a password.

Between two hooks that can bring new provider data (the relation's relation-changed, a
secret-changed), ``readiness()`` in collect-status or update-status reads nothing: not the
provider's bag, not its secrets. The connection strings of such a verdict are read when first
used. Hooks that can bring new data, a changed request and the provider's units all gone judge
the relation again.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Dict, List

import ops
import ops.framework
import pytest
from fix_client_postgresql_client import (
    JUJU_36,
    META,
    ROTATED_CA,
    TLS_PROVIDER,
    Looking,
    answered,
    count_reads,
    everything,
    no_password,
    provide,
    rotate,
    testing,
)
from provider_double import NEW_CA, TLS_SECRET, Provider

from pgsql import protocol


def _ctx(charm: Any = None) -> Any:
    return testing.Context(charm or Looking, meta=META, juju_version=JUJU_36)


def _with_units(state: Any, rel_id: int, units: Dict[int, Dict[str, str]]) -> Any:
    rel = state.get_relation(rel_id)
    rels = {r for r in state.relations if r.id != rel_id} | {
        dataclasses.replace(rel, remote_units_data=units)
    }
    return dataclasses.replace(state, relations=rels)


@pytest.mark.parametrize("hook", ["update-status", "config-changed", "joined", "departed"])
def test_a_hook_that_brings_no_provider_data_shows_the_told_verdict_reading_nothing(
    hook: str,
) -> None:
    ctx = _ctx()
    state, rel_id, _ = answered(ctx)
    rel = state.get_relation(rel_id)
    if hook == "joined":  # a new replica
        state = _with_units(state, rel_id, {0: {}, 1: {}})
        event = ctx.on.relation_joined(state.get_relation(rel_id), remote_unit=1)
    elif hook == "departed":  # a replica left, one unit stays
        state = _with_units(state, rel_id, {0: {}})
        event = ctx.on.relation_departed(rel, remote_unit=1, departing_unit=1)
    else:
        event = ctx.on.update_status() if hook == "update-status" else ctx.on.config_changed()
    seen: List[Any] = []
    state, _charm, calls = count_reads(ctx, event, state, lambda c: seen.append(c.db.readiness()))
    assert seen[0].ready
    assert seen[0].why == "ready"
    assert seen[0].database == "mydbname"
    assert seen[0].tls is True
    assert calls == {"relation-get": 0, "secret-get": 0}


def test_the_connection_strings_of_a_kept_verdict_are_read_on_first_use() -> None:
    ctx = _ctx()
    state, _rel_id, charm = answered(ctx)
    told = [s[1] for s in charm.seen if s[0] == "MasterChangedEvent"][-1]
    got: List[Any] = []

    def look(c: Looking) -> None:
        r = c.db.readiness()
        assert r is not None
        got.extend([r.master, r.master, c.db.master(), r.standbys])

    _state, _charm, calls = count_reads(ctx, ctx.on.update_status(), state, look)
    assert got[0] == told
    assert got[1] == told
    assert got[2] == told
    assert len(got[3]) == 2
    assert calls == {"relation-get": 1, "secret-get": 1}  # once, for all of them


def test_a_kept_verdict_equals_the_one_judged_live() -> None:
    ctx = _ctx()
    state, rel_id, _ = answered(ctx)
    live: List[Any] = []
    kept: List[Any] = []
    count_reads(
        ctx,
        ctx.on.relation_changed(state.get_relation(rel_id), remote_unit=0),
        state,
        lambda c: live.append(c.db.readiness()),
    )
    count_reads(ctx, ctx.on.update_status(), state, lambda c: kept.append(c.db.readiness()))
    assert type(live[0]) is protocol.Readiness
    assert type(kept[0]) is not protocol.Readiness
    assert kept[0] == live[0]
    assert live[0] == kept[0]
    assert hash(kept[0]) == hash(live[0])
    assert isinstance(kept[0], protocol.Readiness)


def test_the_kept_verdict_holds_no_password() -> None:
    ctx = _ctx()
    state, _rel_id, charm = answered(ctx)
    stored = [s for s in state.stored_states if "rels" in s.content]
    assert any("verdict" in dict(rec) for s in stored for rec in s.content["rels"].values())
    no_password(everything(ctx, state, charm))


class OwnHandlersFirst(Looking):
    """Observes relation-changed and secret-changed itself, before it builds the client."""

    OWN: ClassVar[List[Any]] = []

    def _before_client(self, framework: ops.framework.Framework) -> None:
        super()._before_client(framework)
        framework.observe(self.on["database"].relation_changed, self._on_own)
        framework.observe(self.on.secret_changed, self._on_own)

    def _on_own(self, event: ops.EventBase) -> None:
        r = self.db.readiness()
        assert r is not None
        type(self).OWN.append((r.ready, r.tls_ca))


def test_the_relations_own_changed_hook_judges_live_even_before_the_clients_handler() -> None:
    OwnHandlersFirst.OWN = []
    ctx = _ctx(OwnHandlersFirst)
    state, rel_id, _ = answered(ctx)
    other = provide(state, rel_id, TLS_PROVIDER.evolve(database="otherdb"))  # now serves another
    ctx.run(ctx.on.relation_changed(other.get_relation(rel_id), remote_unit=0), other)
    assert OwnHandlersFirst.OWN[-1][0] is False


def test_a_secret_changed_hook_judges_live_even_before_the_clients_handler() -> None:
    OwnHandlersFirst.OWN = []
    ctx = _ctx(OwnHandlersFirst)
    state, _rel_id, _ = answered(ctx)
    state = rotate(state, TLS_PROVIDER, ROTATED_CA)
    _, charm, _calls = count_reads(
        ctx, ctx.on.secret_changed(state.get_secret(id=TLS_SECRET)), state
    )
    assert OwnHandlersFirst.OWN[-1] == (True, NEW_CA)
    no_password(everything(ctx, state, charm))


def test_a_changed_request_is_judged_live() -> None:
    ctx = _ctx()
    state, _rel_id, _ = answered(ctx)
    other = _ctx(type("OtherDb", (Looking,), {"KW": {"database": "otherdb"}}))
    seen: List[Any] = []
    _, _charm, calls = count_reads(
        other, other.on.update_status(), state, lambda c: seen.append(c.db.readiness())
    )
    assert not seen[0].ready
    assert calls["relation-get"] >= 1


def test_the_provider_units_all_gone_is_judged_live() -> None:
    ctx = _ctx()
    state, rel_id, _ = answered(ctx)
    state = _with_units(state, rel_id, {})
    seen: List[Any] = []
    count_reads(ctx, ctx.on.update_status(), state, lambda c: seen.append(c.db.readiness()))
    assert not seen[0].ready
    assert [r.code for r in seen[0].reasons if r.blocking] == [protocol.NO_REMOTE]


def test_upgrade_charm_judges_live() -> None:
    ctx = _ctx()
    state, _rel_id, _ = answered(ctx)
    _, _charm, calls = count_reads(ctx, ctx.on.upgrade_charm(), state, lambda c: c.db.readiness())
    assert calls["relation-get"] >= 1
    assert calls["secret-get"] >= 1


def test_a_verdict_kept_by_another_version_is_judged_live() -> None:
    ctx = _ctx()
    state, _rel_id, _ = answered(ctx)
    stored: List[Any] = []
    for s in state.stored_states:
        content = dict(s.content)
        if "rels" in content:
            content["rels"] = {
                k: {**dict(v), "verdict": {"ready": True, "reasons": "??"}}
                for k, v in content["rels"].items()
            }
        stored.append(dataclasses.replace(s, content=content))
    state = dataclasses.replace(state, stored_states=stored)
    seen: List[Any] = []
    _, _charm, calls = count_reads(
        ctx, ctx.on.update_status(), state, lambda c: seen.append(c.db.readiness())
    )
    assert seen[0].ready
    assert seen[0].master is not None
    assert calls["relation-get"] >= 1


def test_a_provider_that_is_not_ready_is_kept_too() -> None:
    ctx = _ctx()
    state, rel_id, _ = answered(ctx, Provider(database="otherdb"))  # serves another database
    seen: List[Any] = []
    _, _charm, calls = count_reads(
        ctx, ctx.on.update_status(), state, lambda c: seen.append(c.db.readiness())
    )
    assert not seen[0].ready
    assert seen[0].master is None
    assert protocol.DATABASE_MISMATCH in {r.code for r in seen[0].reasons}
    assert calls == {"relation-get": 0, "secret-get": 0}  # not ready: no master to read
    del rel_id
