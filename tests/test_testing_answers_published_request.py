"""The ``postgresql_client`` helpers answer the request the charm published, or say none is known.

A ``pgt.Client`` without ``request=`` used to make an answering provider answer nothing: the
charm then said the provider had not answered, pointing the wrong way.
"""

from __future__ import annotations

from typing import Any

import ops
import pytest
from needs import requires_scenario

import pgsql
from pgsql import Request
from pgsql import testing as pgt

testing: Any = requires_scenario()

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")

META = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client"}},
    "peers": {"replicas": {"interface": "myapp-replicas"}},
}
MYDB = Request.build(database="mydb")
NO_REQUEST = pgt.Client()  # what a test that forgets request= passes


class MyCharm(ops.CharmBase):
    """Asks for ``mydb``; its status says whether the relation is ready, and why not."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb")
        framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        readiness = self.db.readiness()
        if readiness is not None and readiness.ready:
            event.add_status(ops.ActiveStatus())
        else:
            event.add_status(ops.WaitingStatus(readiness.why if readiness else "no relation"))


def _shared(relation_id: int) -> Any:
    """The peer relation holding the request the leader shared for ``relation_id``."""
    return testing.PeerRelation(
        "replicas", local_app_data=pgt.peer_share({relation_id: MYDB}, "database")
    )


# ---- Scenario ---------------------------------------------------------------------------------


def test_scenario_relation_answering_without_a_known_request_raises_naming_it() -> None:
    with pytest.raises(ValueError, match=r"none is known.*Client\(request=") as raised:
        pgt.scenario_provider_relation(pgt.Provider(), NO_REQUEST)
    assert "published no database" in str(raised.value)
    # a provider that has not answered needs no request
    db, _ = pgt.scenario_provider_relation(pgt.Provider(state=pgt.NOT_ANSWERED), NO_REQUEST)
    assert db.remote_app_data == {}


def test_scenario_apply_answers_what_the_leader_published() -> None:
    ctx = testing.Context(MyCharm, meta=META)
    db, _ = pgt.scenario_provider_relation(pgt.Provider(state=pgt.NOT_ANSWERED), NO_REQUEST)
    out = ctx.run(ctx.on.relation_created(db), testing.State(leader=True, relations={db}))
    assert pgt.provider_requested(out).database == "mydb"
    out = pgt.scenario_provider_apply(ctx, out, pgt.Provider(), NO_REQUEST)
    assert out.unit_status == testing.ActiveStatus()


def test_scenario_apply_on_a_non_leader_answers_the_request_its_leader_shared() -> None:
    ctx = testing.Context(MyCharm, meta=META)
    db, _ = pgt.scenario_provider_relation(pgt.Provider(state=pgt.NOT_ANSWERED), NO_REQUEST)
    state = testing.State(leader=False, relations={db, _shared(db.id)})
    out = pgt.scenario_provider_apply(ctx, state, pgt.Provider(), NO_REQUEST)
    assert out.unit_status == testing.ActiveStatus()
    assert pgt.relation_of(out).remote_app_data["database"] == "mydb"


def test_scenario_apply_on_a_non_leader_with_no_known_request_raises() -> None:
    ctx = testing.Context(MyCharm, meta=META)
    db, _ = pgt.scenario_provider_relation(pgt.Provider(state=pgt.NOT_ANSWERED), NO_REQUEST)
    state = testing.State(leader=False, relations={db})
    with pytest.raises(ValueError, match=f"none is known on relation {db.id}"):
        pgt.scenario_provider_apply(ctx, state, pgt.Provider(), NO_REQUEST)
    with pytest.raises(ValueError, match="none is known"):
        pgt.scenario_provider_move(state, pgt.Provider(state=pgt.SECRET_NOT_GRANTED), NO_REQUEST)
    # withdrawing needs no request
    pgt.scenario_provider_apply(ctx, state, pgt.Provider(state=pgt.GONE), NO_REQUEST)


# ---- Harness ----------------------------------------------------------------------------------


def _harness(leader: bool) -> Any:
    harness = testing.Harness(MyCharm, meta=_yaml())
    harness.set_leader(leader)
    harness.begin()
    return harness


def _yaml() -> str:
    import yaml

    return yaml.safe_dump(META)


def test_harness_relation_answers_what_the_leader_published() -> None:
    harness = _harness(leader=True)
    rel_id = pgt.harness_provider_relation(harness, pgt.Provider(), NO_REQUEST)
    assert harness.charm.db.is_ready()
    assert harness.charm.db.master().dbname == "mydb"
    assert pgt.harness_provider_requested(harness, rel_id).database == "mydb"
    harness.cleanup()


def test_harness_relation_on_a_non_leader_answers_the_request_its_leader_shared() -> None:
    harness = _harness(leader=False)
    peer_id = harness.add_relation("replicas", "myapp")
    # the relation id the next add_relation gives: the leader shared its request for it
    next_id = peer_id + 1
    harness.update_relation_data(peer_id, "myapp", pgt.peer_share({next_id: MYDB}, "database"))
    rel_id = pgt.harness_provider_relation(harness, pgt.Provider(), NO_REQUEST)
    assert rel_id == next_id
    assert harness.charm.db.is_ready()
    assert harness.charm.db.master().dbname == "mydb"
    harness.cleanup()


def test_harness_relation_on_a_non_leader_with_no_known_request_raises() -> None:
    harness = _harness(leader=False)
    with pytest.raises(ValueError, match=r"none is known on relation \d+ \('database'\)"):
        pgt.harness_provider_relation(harness, pgt.Provider(), NO_REQUEST)
    harness.cleanup()
