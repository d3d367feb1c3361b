"""``pgsql.DatabaseProvider`` under Scenario: a lifecycle publishes once, a rotation is one
new secret revision, a new leader republishes nothing, a non-leader is refused.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
import ops.testing
import pytest
from needs import needs_scenario

import pgsql
from pgsql import protocol
from pgsql.protocol import (
    Request,
    requirer_databag,
)
from pgsql.server_postgresql_client import secret_label

testing: Any = ops.testing
PASSWORD = "Hv5qTz8LmW2rNc4K"
NEW_PASSWORD = "Rt7yUi9OpA3sDf6G"
CA = "-----BEGIN CERTIFICATE-----\nMIIBreviewCA\n-----END CERTIFICATE-----\n"
REQUEST = Request.build(database="mydb")
META: Dict[str, Any] = {
    "name": "pg",
    "provides": {"database": {"interface": "postgresql_client"}},
}


class Provider(ops.charm.CharmBase):
    """Publishes from request_changed and, as many real charms do, from every update-status."""

    password: ClassVar[str] = PASSWORD
    tls: ClassVar[Optional[bool]] = None
    results: ClassVar[List[bool]] = []

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.database = pgsql.DatabaseProvider(self, "database")
        framework.observe(self.database.on.request_changed, self._on_request_changed)
        framework.observe(self.on.update_status, self._on_update_status)

    def _on_request_changed(self, event: pgsql.DatabaseRequestChangedEvent) -> None:
        if event.request is not None:
            self.answer(event.relation)

    def _on_update_status(self, _: ops.framework.EventBase) -> None:
        if self.unit.is_leader():
            for relation in self.database.relations:
                if self.database.request(relation) is not None:
                    self.answer(relation)

    def answer(self, relation: ops.model.Relation) -> None:
        cls = type(self)
        cls.results.append(
            self.database.publish(
                relation,
                endpoints=["10.0.0.5:5432"],
                read_only_endpoints=["10.0.0.6:5432"],
                username=f"relation_id_{relation.id}",
                password=cls.password,
                version="16.4",
                tls=cls.tls,
                tls_ca=CA if cls.tls else None,
            )
        )


@pytest.fixture(autouse=True)
def _reset_provider() -> Any:
    Provider.results = []
    yield
    Provider.password = PASSWORD
    Provider.tls = None
    Provider.results = []


def _requirer_relation() -> Any:
    return testing.Relation(
        "database",
        interface="postgresql_client",
        remote_app_name="myapp",
        remote_app_data=requirer_databag(REQUEST),
    )


def _revisions(state: Any) -> Dict[str, Tuple[int, Dict[str, str]]]:
    return {
        s.label: (s._latest_revision, dict(s.latest_content))  # pyright: ignore[reportPrivateUsage]
        for s in state.secrets
    }


def _everything(ctx: Any, state: Any) -> str:
    parts = [json.dumps(dict(r.local_app_data)) for r in state.relations]
    parts += [json.dumps(dict(r.local_unit_data)) for r in state.relations]
    parts += [repr(s.content) for s in state.stored_states]
    parts += [log.message for log in ctx.juju_log]
    return "\n".join(parts)


@needs_scenario
def test_a_provider_lifecycle_publishes_once_and_rotates_with_one_revision() -> None:
    ctx = testing.Context(Provider, meta=META, juju_version="3.6.4", app_name="pg")
    rel = _requirer_relation()
    state = testing.State(leader=True, relations={rel})
    # the request seen first in relation-changed (before any relation-joined)
    out = ctx.run(ctx.on.relation_changed(rel, remote_unit=0), state)
    assert Provider.results == [True]
    bag = dict(out.get_relation(rel.id).local_app_data)
    user = out.get_secret(label=secret_label("database", rel.id, "user"))
    assert bag["secret-user"] == user.id
    assert dict(user.remote_grants) == {rel.id: frozenset({"myapp"})}
    # joined afterwards, then update-status publishing again: nothing rewritten
    out = ctx.run(ctx.on.relation_joined(out.get_relation(rel.id), remote_unit=0), out)
    out = ctx.run(ctx.on.update_status(), out)
    assert Provider.results == [True, False]
    assert dict(out.get_relation(rel.id).local_app_data) == bag
    first = _revisions(out)
    # a rotation: one new revision of the same secret, the bag as it was
    Provider.password = NEW_PASSWORD
    out = ctx.run(ctx.on.update_status(), out)
    out = ctx.run(ctx.on.update_status(), out)
    assert Provider.results[-2:] == [True, False]
    rotated = _revisions(out)
    label = secret_label("database", rel.id, "user")
    assert rotated[label][0] == first[label][0] + 1
    assert rotated[label][1]["password"] == NEW_PASSWORD
    assert dict(out.get_relation(rel.id).local_app_data) == bag
    # TLS turned on later: a new tls secret granted to the relation, referenced in the bag
    Provider.tls = True
    out = ctx.run(ctx.on.update_status(), out)
    tls = out.get_secret(label=secret_label("database", rel.id, "tls"))
    assert dict(tls.latest_content) == {"tls": "True", "tls-ca": CA}
    assert dict(tls.remote_grants) == {rel.id: frozenset({"myapp"})}
    published = dict(out.get_relation(rel.id).local_app_data)
    assert published["secret-tls"] == tls.id
    # what it published is ready for this library's client, with the rotated password
    contents = {s.id: dict(s.latest_content) for s in out.secrets}
    readiness = protocol.evaluate_client(REQUEST, published, {"myapp/0": {}}, contents)
    assert readiness.ready, readiness.reasons
    assert readiness.master is not None
    assert readiness.master.password == NEW_PASSWORD
    assert readiness.tls is True
    for secret in (PASSWORD, NEW_PASSWORD):
        assert secret not in _everything(ctx, out)


@needs_scenario
def test_a_new_leader_without_stored_state_republishes_nothing_new() -> None:
    ctx0 = testing.Context(Provider, meta=META, juju_version="3.6.4", app_name="pg", unit_id=0)
    rel, rel2 = _requirer_relation(), _requirer_relation()
    out = ctx0.run(
        ctx0.on.relation_changed(rel, remote_unit=0),
        testing.State(leader=True, relations={rel, rel2}),
    )
    out = ctx0.run(ctx0.on.relation_changed(out.get_relation(rel2.id), remote_unit=0), out)
    before = _revisions(out)
    # each relation its own secrets, granted to that relation only
    for r in (rel, rel2):
        secret = out.get_secret(label=secret_label("database", r.id, "user"))
        assert dict(secret.remote_grants) == {r.id: frozenset({"myapp"})}
        assert secret.latest_content["username"] == f"relation_id_{r.id}"
    Provider.results = []
    ctx1 = testing.Context(Provider, meta=META, juju_version="3.6.4", app_name="pg", unit_id=1)
    moved = dataclasses.replace(out, leader=True, stored_states=set())
    after = ctx1.run(ctx1.on.leader_elected(), moved)
    assert Provider.results == [False, False]
    assert _revisions(after) == before
    # relation-broken removes that relation's secrets only
    broken = ctx1.run(ctx1.on.relation_broken(after.get_relation(rel.id)), after)
    assert {s.label for s in broken.secrets} == {secret_label("database", rel2.id, "user")}


@needs_scenario
def test_a_non_leader_publish_is_a_clear_not_leader_error_and_writes_nothing() -> None:
    ctx = testing.Context(Provider, meta=META, juju_version="3.6.4", app_name="pg")
    rel = _requirer_relation()
    state = testing.State(leader=False, relations={rel})
    out = ctx.run(ctx.on.relation_changed(rel, remote_unit=0), state)
    assert Provider.results == []
    with ctx(ctx.on.update_status(), out) as mgr:
        charm: Provider = mgr.charm
        with pytest.raises(pgsql.NotLeaderError, match="only the leader can publish"):
            charm.answer(charm.database.relations[0])
        final = mgr.run()
    assert dict(final.get_relation(rel.id).local_app_data) == {}
    assert list(final.secrets) == []
