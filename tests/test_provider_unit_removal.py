"""A provider unit being removed (issue #17, point 1): it touches nothing of the requirers'.

Juju runs relation-departed naming the removed unit itself as the departing unit, then
relation-broken, in two hook processes. Only a requirer really leaving (``juju remove-relation``,
the requirer application removed) removes that relation's secrets and is told to the charm. A
leader that finds a secret its answer references gone publishes the answer again.

Scenario names a remote unit as the departing one; the relation-departed naming this unit is
emitted the way ops' dispatch would, in a hook of its own (``_departed_self``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Tuple

import ops
import pytest
from needs import needs_scenario
from ops.testing import Harness
from test_server_postgresql_client import (
    JUJU_36,
    META,
    META_YAML,
    PASSWORD,
    ProviderCharm,
    _run,  # pyright: ignore[reportPrivateUsage]
    requirer_bag,
    testing,
)

import pgsql
from pgsql import protocol
from pgsql.server._endpoint import departing_name
from pgsql.server_postgresql_client import secret_label

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")


@pytest.fixture(autouse=True)
def _reset_charm_class() -> Any:
    yield
    ProviderCharm.tls = None


def _departed_self(state: Any, rel_id: int) -> Tuple[Any, ProviderCharm]:
    """relation-departed on ``pg/0`` naming ``pg/0`` itself as the departing unit."""
    ctx = testing.Context(ProviderCharm, meta=META, juju_version=JUJU_36, app_name="pg")
    with ctx(ctx.on.update_status(), state) as mgr:
        charm: ProviderCharm = mgr.charm
        relation = charm.model.get_relation("database", rel_id)
        assert relation is not None
        charm.on["database"].relation_departed.emit(
            relation, relation.app, next(iter(relation.units)), charm.unit.name
        )
        out = mgr.run()
    return out, charm


def _secret_ids(state: Any) -> List[str]:
    return sorted(s.id for s in state.secrets)


@needs_scenario
@pytest.mark.parametrize("leader", [True, False])
def test_a_removed_provider_unit_keeps_the_answer_and_the_requirers_user(leader: bool) -> None:
    ProviderCharm.tls = True
    published, _, rel_id = _run()
    bag = dict(published.get_relation(rel_id).local_app_data)
    secrets = _secret_ids(published)
    assert len(secrets) == 2  # user and tls
    state = dataclasses.replace(published, leader=leader)
    departed, charm = _departed_self(state, rel_id)
    assert charm.seen == []
    out, charm, _ = _run("relation_broken", state=departed)
    assert charm.seen == []  # no relation_broken: the charm must not drop the user
    assert _secret_ids(out) == secrets
    assert dict(out.get_relation(rel_id).local_app_data) == bag
    # what a requirer reads is still whole
    user = out.get_secret(label=secret_label("database", rel_id, "user"))
    assert user.latest_content["password"] == PASSWORD


@needs_scenario
def test_a_requirer_leaving_still_removes_its_secrets_and_tells_the_charm() -> None:
    published, _, rel_id = _run()
    # juju remove-relation: relation-departed names the requirer's unit, then relation-broken
    ctx = testing.Context(ProviderCharm, meta=META, juju_version=JUJU_36, app_name="pg")
    rel = published.get_relation(rel_id)
    departed = ctx.run(ctx.on.relation_departed(rel, remote_unit=0, departing_unit=0), published)
    out, charm, _ = _run("relation_broken", state=departed)
    assert [s[:2] for s in charm.seen] == [("broken", rel_id)]
    assert list(out.secrets) == []


@needs_scenario
def test_the_leaving_mark_is_per_relation() -> None:
    # this unit leaving relation 1 says nothing of another relation being removed
    first, _, rel_id = _run()
    other = dataclasses.replace(
        next(iter(first.relations)), id=rel_id + 10, local_app_data={}, remote_app_name="other"
    )
    ctx = testing.Context(ProviderCharm, meta=META, juju_version=JUJU_36, app_name="pg")
    state = dataclasses.replace(first, relations={*first.relations, other})
    with ctx(ctx.on.relation_changed(other, remote_unit=0), state) as mgr:
        both = mgr.run()
    assert len(list(both.secrets)) == 2
    departed, _ = _departed_self(both, rel_id)
    with ctx(ctx.on.relation_broken(both.get_relation(other.id)), departed) as mgr:
        out = mgr.run()
        charm: ProviderCharm = mgr.charm
    assert [s[:2] for s in charm.seen] == [("broken", other.id)]
    assert [s.label for s in out.secrets] == [secret_label("database", rel_id, "user")]


@needs_scenario
def test_a_new_leader_republishes_when_a_referenced_secret_is_gone() -> None:
    published, _, rel_id = _run()
    old_uri = published.get_relation(rel_id).local_app_data["secret-user"]
    # an earlier leader's removal deleted the secret (before this fix); the request is the same
    lost = dataclasses.replace(published, secrets=frozenset())
    out, charm, _ = _run("leader_elected", state=lost)
    assert [s[:2] for s in charm.seen] == [("changed", rel_id)]
    bag = dict(out.get_relation(rel_id).local_app_data)
    assert bag["secret-user"] != old_uri
    user = out.get_secret(id=bag["secret-user"])
    assert user.latest_content["password"] == PASSWORD
    assert dict(user.remote_grants) == {rel_id: frozenset({"myapp"})}
    readiness = protocol.evaluate_client(
        pgsql.Request.build(database="mydb", roles=["charmed_dml"]),
        bag,
        {"pg/0": {}},
        {bag["secret-user"]: dict(user.latest_content)},
    )
    assert readiness.ready, readiness.why
    # once answered again, the next election emits nothing
    _, charm, _ = _run("leader_elected", state=out)
    assert charm.seen == []


@needs_scenario
def test_a_leader_seeing_the_secret_gone_in_relation_changed_republishes() -> None:
    published, _, rel_id = _run()
    lost = dataclasses.replace(published, secrets=frozenset())
    out, charm, _ = _run(bag=requirer_bag(), state=lost)
    assert [s[:2] for s in charm.seen] == [("changed", rel_id)]
    assert len(list(out.secrets)) == 1


# ---------------------------------------------------------------------------------------------
# Harness (every ops from 2.0), and how the departing unit is known
# ---------------------------------------------------------------------------------------------


def test_harness_removed_provider_unit_keeps_the_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUJU_VERSION", JUJU_36)
    harness: Any = Harness(ProviderCharm, meta=META_YAML)
    try:
        harness.set_leader(True)
        harness.begin()
        charm: ProviderCharm = harness.charm
        rel_id = harness.add_relation("database", "myapp")
        harness.add_relation_unit(rel_id, "myapp/0")
        harness.update_relation_data(rel_id, "myapp", requirer_bag())
        bag: Dict[str, str] = dict(harness.get_relation_data(rel_id, "pg"))
        assert "secret-user" in bag, f"ops {ops.__version__}: {sorted(bag)}"
        relation = harness.model.get_relation("database", rel_id)
        charm.on["database"].relation_departed.emit(
            relation, relation.app, harness.model.get_unit("myapp/0"), "pg/0"
        )
        charm.seen.clear()
        harness.remove_relation(rel_id)
        assert charm.seen == []
        assert harness.model.get_secret(id=bag["secret-user"]).peek_content()["password"] == (
            PASSWORD
        )
    finally:
        harness.cleanup()


class _NoDepartingUnit:
    """An event of an ops without ``RelationDepartedEvent.departing_unit``."""


def test_departing_unit_falls_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    event: Any = _NoDepartingUnit()
    monkeypatch.delenv("JUJU_DEPARTING_UNIT", raising=False)
    assert departing_name(event) is None
    monkeypatch.setenv("JUJU_DEPARTING_UNIT", "pg/3")
    assert departing_name(event) == "pg/3"
