"""DatabaseProvider (the ``postgresql_client`` provides side) under Scenario and Harness.

Scenario (``ops.testing``, ops >= 2.17) models Juju secrets: their owner, content revisions and
grants, so the tests check what a requirer would be handed: the secret created, granted to the
relation, referenced by ``secret-user``, no password in any bag. The Harness tests run on every
ops from 2.0.0. The last test hands the provider's output to a real
``pgsql.PostgreSQLClient(self, "database")`` charm.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
import ops.testing
import pytest
from needs import needs_scenario
from ops.testing import Harness

import pgsql
from pgsql import ConnectionString, protocol
from pgsql.protocol import REQUESTED_SECRETS, DatabaseRequest, Request, requirer_databag
from pgsql.server_postgresql_client import (
    DatabaseProvider,
    DatabaseRequestChangedEvent,
    RequirerRelationBrokenEvent,
    secret_label,
)

# ops 2.17+ marks Harness as pending deprecation; it is still what ops 2.0-2.16 charms use.
pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")

testing: Any = ops.testing

META: Dict[str, Any] = {
    "name": "pg",
    "provides": {
        "database": {"interface": "postgresql_client"},
        "db": {"interface": "pgsql"},
    },
    "requires": {"backend": {"interface": "postgresql_client"}},
}
META_YAML = json.dumps(META)  # JSON is YAML: Harness takes it as a string
JUJU_36 = "3.6.4"
JUJU_29 = "2.9.50"
PASSWORD = "Sup3rSecretPassw0rd"
NEW_PASSWORD = "r0tated-Passw0rd"
USER = "relation_id_7"
CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----"
PRIMARY = "10.0.0.5:5432"
REPLICA = "10.0.0.6:5432"
MYDB = Request.build(database="mydb", roles=["charmed_dml"])


class ProviderCharm(ops.charm.CharmBase):
    """Answers every request with the class's connection details; records the events."""

    password: ClassVar[str] = PASSWORD
    tls: ClassVar[Optional[bool]] = None
    auto: ClassVar[bool] = True

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.database = DatabaseProvider(self, "database")
        self.seen: List[Tuple[str, int, Optional[DatabaseRequest], Tuple[str, ...]]] = []
        self.changed: Optional[bool] = None
        framework.observe(self.database.on.request_changed, self._on_request_changed)
        framework.observe(self.database.on.relation_broken, self._on_broken)

    def _on_request_changed(self, event: DatabaseRequestChangedEvent) -> None:
        self.seen.append(("changed", event.relation.id, event.request, event.problems))
        if self.auto and event.request is not None:
            self.answer(event.relation)

    def answer(self, relation: ops.model.Relation) -> bool:
        cls = type(self)
        self.changed = self.database.publish(
            relation,
            endpoints=[PRIMARY],
            read_only_endpoints=[REPLICA],
            username=USER,
            password=cls.password,
            version="16.4",
            tls=cls.tls,
            tls_ca=CA if cls.tls else None,
        )
        return self.changed

    def _on_broken(self, event: RequirerRelationBrokenEvent) -> None:
        self.seen.append(("broken", event.relation.id, event.request, event.problems))


@pytest.fixture(autouse=True)
def _reset_charm_class() -> Any:
    yield
    ProviderCharm.password = PASSWORD
    ProviderCharm.tls = None
    ProviderCharm.auto = True


def requirer_bag(
    request: Request = MYDB, changes: Optional[Dict[str, str]] = None
) -> Dict[str, str]:
    bag = requirer_databag(request)
    bag.update(changes or {})
    return {k: v for k, v in bag.items() if v}


MASTER = ConnectionString(host="10.0.0.5", port="5432", dbname="mydb", user=USER, password=PASSWORD)
STANDBY = MASTER.replace(host="10.0.0.6")


# ---------------------------------------------------------------------------------------------
# Scenario
# ---------------------------------------------------------------------------------------------


def _relation(bag: Optional[Dict[str, str]] = None, **kw: Any) -> Any:
    return testing.Relation(
        "database",
        interface="postgresql_client",
        remote_app_name="myapp",
        remote_app_data=requirer_bag() if bag is None else bag,
        **kw,
    )


def _run(
    event: str = "relation_changed",
    *,
    bag: Optional[Dict[str, str]] = None,
    state: Any = None,
    leader: bool = True,
    juju: str = JUJU_36,
) -> Tuple[Any, ProviderCharm, Any]:
    """Run one hook; returns the output state, the charm, and the relation's id."""
    ctx = testing.Context(ProviderCharm, meta=META, juju_version=juju, app_name="pg")
    if state is None:
        state = testing.State(leader=leader, relations={_relation(bag)})
    rel = next(iter(r for r in state.relations if r.endpoint == "database"))
    if bag is not None and state.relations:
        rel = dataclasses.replace(rel, remote_app_data=bag)
        state = dataclasses.replace(
            state, relations={r for r in state.relations if r.id != rel.id} | {rel}
        )
    trigger = getattr(ctx.on, event)
    hook = trigger() if event == "leader_elected" else trigger(rel)
    with ctx(hook, state) as mgr:
        out = mgr.run()
        charm: ProviderCharm = mgr.charm
    return out, charm, rel.id


def _everything(out: Any) -> str:
    """Every bag the provider wrote, and its stored state, as text."""
    parts: List[str] = []
    for rel in out.relations:
        parts += [json.dumps(dict(rel.local_app_data)), json.dumps(dict(rel.local_unit_data))]
    parts += [repr(s.content) for s in out.stored_states]
    return "\n".join(parts)


@needs_scenario
def test_credentials_go_in_a_secret_granted_to_the_relation() -> None:
    out, charm, rel_id = _run()
    assert [s[:3] for s in charm.seen] == [
        ("changed", rel_id, DatabaseRequest("mydb", ("charmed_dml",), REQUESTED_SECRETS))
    ]
    assert charm.changed is True
    user = out.get_secret(label=secret_label("database", rel_id, "user"))
    assert user.owner == "app"
    assert dict(user.remote_grants) == {rel_id: frozenset({"myapp"})}
    content = dict(user.latest_content)
    assert (content["username"], content["password"]) == (USER, PASSWORD)
    assert ConnectionString(content["uris"]) == MASTER
    assert ConnectionString(content["read-only-uris"]) == STANDBY
    bag = dict(out.get_relation(rel_id).local_app_data)
    assert bag == {
        "database": "mydb",
        "endpoints": PRIMARY,
        "read-only-endpoints": REPLICA,
        "version": "16.4",
        "secret-user": user.id,
        "data": json.dumps(
            {
                "database": "mydb",
                "extra-user-roles": "charmed_dml",
                "requested-secrets": json.dumps(list(REQUESTED_SECRETS)),
            },
            sort_keys=True,
        ),
    }
    assert dict(out.get_relation(rel_id).local_unit_data) == dict(
        _relation().local_unit_data
    )  # unit bags stay as Juju wrote them
    assert PASSWORD not in _everything(out)
    with pytest.raises(KeyError):
        out.get_secret(label=secret_label("database", rel_id, "tls"))


@needs_scenario
def test_tls_goes_in_its_own_secret() -> None:
    ProviderCharm.tls = True
    out, _, rel_id = _run()
    tls = out.get_secret(label=secret_label("database", rel_id, "tls"))
    assert dict(tls.latest_content) == {"tls": "True", "tls-ca": CA}
    assert dict(tls.remote_grants) == {rel_id: frozenset({"myapp"})}
    assert out.get_relation(rel_id).local_app_data["secret-tls"] == tls.id
    # TLS turned off later: the tls secret's content changes, the bag does not
    ProviderCharm.tls = False
    again, charm, _ = _publish_again(out)
    assert charm.changed is True
    tls = again.get_secret(label=secret_label("database", rel_id, "tls"))
    assert dict(tls.latest_content) == {"tls": "False"}
    assert dict(again.get_relation(rel_id).local_app_data) == dict(
        out.get_relation(rel_id).local_app_data
    )


def _publish_again(state: Any, juju: str = JUJU_36) -> Tuple[Any, ProviderCharm, int]:
    """A later hook (update-status) in which the charm publishes again on every relation."""
    ctx = testing.Context(ProviderCharm, meta=META, juju_version=juju, app_name="pg")
    with ctx(ctx.on.update_status(), state) as mgr:
        charm: ProviderCharm = mgr.charm
        rel = charm.database.relations[0]
        charm.answer(rel)
        out = mgr.run()
    return out, charm, rel.id


@needs_scenario
@pytest.mark.parametrize("juju", [JUJU_29, "3.0.2"])
def test_plaintext_where_juju_has_no_secrets(juju: str) -> None:
    out, charm, rel_id = _run(juju=juju)
    assert charm.changed is True
    bag = dict(out.get_relation(rel_id).local_app_data)
    assert (bag["username"], bag["password"]) == (USER, PASSWORD)
    assert ConnectionString(bag["uris"]) == MASTER
    assert not any(key.startswith("secret-") for key in bag)
    assert list(out.secrets) == []
    # the requirer (this library's client) is ready from the bag alone
    readiness = protocol.evaluate_client(MYDB, bag, {"pg/0": {}}, {})
    assert readiness.ready, readiness.why
    assert readiness.master == MASTER


@needs_scenario
def test_fields_not_requested_go_in_clear_but_the_password_holders_not_at_all() -> None:
    bag = requirer_bag(changes={"requested-secrets": '["username", "password"]'})
    out, _, rel_id = _run(bag=bag)
    published = dict(out.get_relation(rel_id).local_app_data)
    user = out.get_secret(label=secret_label("database", rel_id, "user"))
    assert dict(user.latest_content) == {"username": USER, "password": PASSWORD}
    assert "uris" not in published  # it holds the password: not requested, not published
    assert "password" not in published
    # a requirer that asked for no secret at all gets everything in clear
    out, _, rel_id = _run(bag=requirer_bag(changes={"requested-secrets": ""}))
    published = dict(out.get_relation(rel_id).local_app_data)
    assert published["password"] == PASSWORD
    assert list(out.secrets) == []


@needs_scenario
def test_rotation_updates_the_secret_content_not_the_bag() -> None:
    first, _, rel_id = _run()
    user = first.get_secret(label=secret_label("database", rel_id, "user"))
    ProviderCharm.password = NEW_PASSWORD
    out, charm, _ = _publish_again(first)
    assert charm.changed is True
    rotated = out.get_secret(label=secret_label("database", rel_id, "user"))
    assert rotated.id == user.id
    assert rotated.latest_content["password"] == NEW_PASSWORD
    assert ConnectionString(rotated.latest_content["uris"]).password == NEW_PASSWORD
    assert dict(out.get_relation(rel_id).local_app_data) == dict(
        first.get_relation(rel_id).local_app_data
    )
    assert NEW_PASSWORD not in _everything(out)
    assert dict(rotated.remote_grants) == {rel_id: frozenset({"myapp"})}


@needs_scenario
def test_publishing_the_same_again_changes_nothing() -> None:
    first, _, rel_id = _run()
    out, charm, _ = _publish_again(first)
    assert charm.changed is False
    before = first.get_secret(label=secret_label("database", rel_id, "user"))
    after = out.get_secret(label=secret_label("database", rel_id, "user"))
    assert after.latest_content == before.latest_content
    assert after._latest_revision == before._latest_revision  # pyright: ignore[reportPrivateUsage]
    # a hook the requirer's bag did not change emits nothing
    _, charm, _ = _run(state=out)
    assert charm.seen == []


@needs_scenario
def test_juju_upgraded_to_secrets_moves_the_credentials_out_of_the_bag() -> None:
    plain, _, rel_id = _run(juju=JUJU_29)
    assert plain.get_relation(rel_id).local_app_data["password"] == PASSWORD
    out, charm, _ = _publish_again(plain, juju=JUJU_36)
    assert charm.changed is True
    bag = dict(out.get_relation(rel_id).local_app_data)
    assert "password" not in bag
    assert "username" not in bag
    assert bag["secret-user"] == out.get_secret(label=secret_label("database", rel_id, "user")).id


@needs_scenario
def test_non_leader_publish_raises_and_no_event_fires() -> None:
    out, charm, rel_id = _run(leader=False)
    assert charm.seen == []
    assert dict(out.get_relation(rel_id).local_app_data) == {}
    ctx = testing.Context(ProviderCharm, meta=META, juju_version=JUJU_36, app_name="pg")
    rel = _relation()
    state = testing.State(leader=False, relations={rel})
    with ctx(ctx.on.update_status(), state) as mgr:
        charm = mgr.charm
        relation = charm.database.relations[0]
        with pytest.raises(pgsql.NotLeaderError, match="only the leader can publish") as info:
            charm.answer(relation)
        assert PASSWORD not in str(info.value)
        with pytest.raises(pgsql.NotLeaderError, match="only the leader can revoke"):
            charm.database.revoke(relation)
        assert isinstance(info.value, ops.model.RelationDataError)
        mgr.run()


@needs_scenario
@pytest.mark.parametrize(
    ("bag", "emitted", "problem"),
    [
        ({}, False, None),
        ({"database": ""}, False, None),
        ({"database": "a,b", "requested-secrets": "[]"}, False, "database"),
        ({"database": "bad\x00db"}, False, "database"),
        ({"database": "ab*"}, False, "prefix"),
        ({"database": "mydb", "requested-secrets": "{oops"}, True, "requested-secrets"),
        ({"database": "mydb", "requested-secrets": '[1, null, "password"]'}, True, "ignored"),
        ({"database": "mydb", "extra-user-roles": "ok,bad\nrole"}, True, "role"),
        ({"database": "mydb", "external-node-connectivity": "maybe"}, True, None),
        ({"database": "mydb", "entity-type": "USER"}, True, "entity"),
    ],
)
def test_malformed_requirer_data_never_raises(
    bag: Dict[str, str], emitted: bool, problem: Optional[str]
) -> None:
    out, charm, rel_id = _run(bag=bag)
    if not emitted:
        assert charm.seen == []
        assert dict(out.get_relation(rel_id).local_app_data) == {}
        return
    assert len(charm.seen) == 1
    _, _, request, problems = charm.seen[0]
    assert request is not None
    assert request.database == "mydb"
    if problem is not None:
        assert any(problem in p for p in problems), problems
    else:
        assert problems == ()
    published = dict(out.get_relation(rel_id).local_app_data)
    assert published["endpoints"] == PRIMARY
    if "password" not in request.requested_secrets:
        # unreadable requested-secrets: nothing was requested, so nothing goes in a secret
        assert published["password"] == PASSWORD


@needs_scenario
def test_the_request_appearing_later_and_changing_emits_each_time() -> None:
    out, charm, _ = _run(bag={})
    assert charm.seen == []
    out, charm, _ = _run(bag=requirer_bag(), state=out)
    assert [s[2] for s in charm.seen] == [
        DatabaseRequest("mydb", ("charmed_dml",), REQUESTED_SECRETS)
    ]
    # the requirer changes its roles: the event says so (real providers keep the first ones)
    changed = requirer_bag(Request.build(database="mydb", roles=["charmed_read"]))
    out, charm, _ = _run(bag=changed, state=out)
    assert [s[2].roles for s in charm.seen if s[2] is not None] == [("charmed_read",)]
    # withdrawn then back: emitted again
    out, charm, _ = _run(bag={}, state=out)
    assert charm.seen == []
    out, charm, _ = _run(bag=changed, state=out)
    assert len(charm.seen) == 1


@needs_scenario
def test_a_new_leader_is_told_of_every_request() -> None:
    ProviderCharm.auto = False
    out, charm, _ = _run(leader=False)
    assert charm.seen == []
    out, charm, rel_id = _run("leader_elected", state=dataclasses.replace(out, leader=True))
    assert [s[:2] for s in charm.seen] == [("changed", rel_id)]
    out, charm, _ = _run("leader_elected", state=out)
    assert charm.seen == []  # already told


@needs_scenario
def test_revoke_withdraws_the_bag_keys_and_removes_the_secrets() -> None:
    ProviderCharm.tls = True
    first, _, rel_id = _run()
    assert len(list(first.secrets)) == 2
    ctx = testing.Context(ProviderCharm, meta=META, juju_version=JUJU_36, app_name="pg")
    rel = first.get_relation(rel_id)
    other = {"mine": "kept"}
    state = dataclasses.replace(
        first,
        relations={dataclasses.replace(rel, local_app_data={**rel.local_app_data, **other})},
    )
    with ctx(ctx.on.update_status(), state) as mgr:
        charm = mgr.charm
        relation = charm.database.relations[0]
        assert charm.database.revoke(relation) is True
        assert charm.database.revoke(relation) is False
        out = mgr.run()
    assert dict(out.get_relation(rel_id).local_app_data) == other
    assert list(out.secrets) == []


@needs_scenario
def test_relation_broken_removes_the_secrets_and_tells_the_charm() -> None:
    first, _, rel_id = _run()
    assert len(list(first.secrets)) == 1
    out, charm, _ = _run("relation_broken", state=first)
    assert [s[:2] for s in charm.seen] == [("broken", rel_id)]
    assert list(out.secrets) == []
    assert not any(s.content.get("digests") for s in out.stored_states if "digests" in s.content)


@needs_scenario
def test_an_old_revision_is_removed_when_juju_says_so() -> None:
    # After a rotation, Juju tells the owner when no requirer tracks an old revision any more.
    ctx = testing.Context(ProviderCharm, meta=META, juju_version=JUJU_36, app_name="pg")
    ours = testing.Secret(
        {"password": NEW_PASSWORD}, owner="app", label=secret_label("database", 3, "user")
    )
    other = testing.Secret({"key": "value"}, owner="app", label="someone-elses")
    state = testing.State(leader=True, secrets={ours, other})
    ctx.run(ctx.on.secret_remove(ours, revision=7), state)
    assert ctx.removed_secret_revisions == [7]
    ctx.run(ctx.on.secret_remove(other, revision=8), state)
    assert ctx.removed_secret_revisions == [7]  # not ours: left to its owner code


@needs_scenario
def test_misuse_is_refused_clearly() -> None:
    ctx = testing.Context(ProviderCharm, meta=META, juju_version=JUJU_36, app_name="pg")
    db = testing.Relation("db", interface="pgsql", remote_app_name="old")
    state = testing.State(leader=True, relations={_relation(), db})
    with ctx(ctx.on.update_status(), state) as mgr:
        charm = mgr.charm
        database = charm.database
        relation = database.relations[0]
        with pytest.raises(ValueError, match="belongs to endpoint 'db'"):
            database.publish(
                charm.model.get_relation("db"),  # type: ignore[arg-type]
                endpoints=PRIMARY,
                username=USER,
                password=PASSWORD,
            )
        with pytest.raises(ValueError, match="host:port") as info:
            database.publish(relation, endpoints="nope nope", username=USER, password=PASSWORD)
        assert PASSWORD not in str(info.value)
        with pytest.raises(ValueError, match="surrounding whitespace"):
            database.publish(relation, endpoints=PRIMARY, username=USER, password=" x")
        with pytest.raises(TypeError, match="DatabaseRequest"):
            database.publish(
                relation,
                endpoints=PRIMARY,
                username=USER,
                password=PASSWORD,
                request=Request("mydb"),  # type: ignore[arg-type]
            )
        with pytest.raises(TypeError, match=r"ops\.Relation"):
            database.request(7)  # type: ignore[arg-type]
        mgr.run()


@needs_scenario
def test_publish_before_any_request_is_refused() -> None:
    ctx = testing.Context(ProviderCharm, meta=META, juju_version=JUJU_36, app_name="pg")
    state = testing.State(leader=True, relations={_relation({})})
    with ctx(ctx.on.update_status(), state) as mgr:
        charm = mgr.charm
        relation = charm.database.relations[0]
        assert charm.database.request(relation) is None
        with pytest.raises(ValueError, match="has not requested a database"):
            charm.answer(relation)
        # a request acted upon may be given explicitly (e.g. kept in the charm's own state)
        acted = DatabaseRequest("mydb", requested_secrets=REQUESTED_SECRETS)
        assert charm.database.publish(
            relation, endpoints=PRIMARY, username=USER, password=PASSWORD, request=acted
        )
        out = mgr.run()
    bag = dict(out.get_relation(relation.id).local_app_data)
    assert bag["database"] == "mydb"
    assert "password" not in bag


# ---------------------------------------------------------------------------------------------
# Harness (every ops from 2.0.0)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("JUJU_VERSION", JUJU_36)
    h = Harness(ProviderCharm, meta=META_YAML)
    h.set_leader(True)
    h.begin()
    yield h
    h.cleanup()


def _harness_relation(h: Any, bag: Optional[Dict[str, str]] = None) -> int:
    rel_id: int = h.add_relation("database", "myapp")
    h.add_relation_unit(rel_id, "myapp/0")
    h.update_relation_data(rel_id, "myapp", requirer_bag() if bag is None else bag)
    return rel_id


def test_harness_publishes_into_a_granted_secret(harness: Any) -> None:
    charm: ProviderCharm = harness.charm
    rel_id = _harness_relation(harness)
    assert [s[:2] for s in charm.seen] == [("changed", rel_id)]
    bag = dict(harness.get_relation_data(rel_id, "pg"))
    uri = bag["secret-user"]
    assert "password" not in bag
    assert harness.get_secret_grants(uri, rel_id) == {"myapp"}
    content = harness.model.get_secret(id=uri).peek_content()
    assert content["password"] == PASSWORD
    readiness = protocol.evaluate_client(MYDB, bag, {"pg/0": {}}, {uri: content})
    assert readiness.ready, readiness.why
    assert readiness.master == MASTER
    assert readiness.standbys == (STANDBY,)


def test_harness_rotation_and_revoke(harness: Any) -> None:
    charm: ProviderCharm = harness.charm
    rel_id = _harness_relation(harness)
    before = dict(harness.get_relation_data(rel_id, "pg"))
    relation = harness.model.get_relation("database", rel_id)
    ProviderCharm.password = NEW_PASSWORD
    assert charm.answer(relation) is True
    assert dict(harness.get_relation_data(rel_id, "pg")) == before
    content = harness.model.get_secret(id=before["secret-user"]).peek_content()
    assert content["password"] == NEW_PASSWORD
    assert charm.answer(relation) is False
    assert charm.database.revoke(relation) is True
    assert dict(harness.get_relation_data(rel_id, "pg")) == {}


def test_harness_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUJU_VERSION", JUJU_29)
    h = Harness(ProviderCharm, meta=META_YAML)
    try:
        h.set_leader(True)
        h.begin()
        rel_id = _harness_relation(h)
        bag = dict(h.get_relation_data(rel_id, "pg"))
        assert bag["password"] == PASSWORD
        assert not any(k.startswith("secret-") for k in bag)
    finally:
        h.cleanup()


def test_harness_non_leader(harness: Any) -> None:
    harness.set_leader(False)
    charm: ProviderCharm = harness.charm
    rel_id = _harness_relation(harness)
    assert charm.seen == []
    with pytest.raises(pgsql.NotLeaderError):
        charm.answer(harness.model.get_relation("database", rel_id))
    # becoming leader: told of the request, and answers it
    harness.set_leader(True)
    assert [s[:2] for s in charm.seen] == [("changed", rel_id)]
    assert "secret-user" in harness.get_relation_data(rel_id, "pg")


def test_harness_deferred_event_sees_the_current_request(harness: Any) -> None:
    charm: ProviderCharm = harness.charm
    ProviderCharm.auto = False
    rel_id = _harness_relation(harness, {})
    harness.update_relation_data(rel_id, "myapp", requirer_bag())
    assert len(charm.seen) == 1
    harness.update_relation_data(rel_id, "myapp", {"database": "other"})
    requests = [s[2] for s in charm.seen]
    assert [r.database for r in requests if r is not None] == ["mydb", "other"]


def test_harness_malformed_data_logs_without_raising(
    harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pgsql")
    charm: ProviderCharm = harness.charm
    _harness_relation(harness, {"database": "x,y", "requested-secrets": "[["})
    assert charm.seen == []
    assert any("no request to act on" in r.getMessage() for r in caplog.records)


def test_harness_broken(harness: Any) -> None:
    charm: ProviderCharm = harness.charm
    rel_id = _harness_relation(harness)
    uri = harness.get_relation_data(rel_id, "pg")["secret-user"]
    harness.remove_relation(rel_id)
    assert charm.seen[-1][:2] == ("broken", rel_id)
    with pytest.raises(ops.model.SecretNotFoundError):
        harness.model.get_secret(id=uri).peek_content()


@pytest.mark.parametrize(
    ("meta", "match"),
    [
        ({"name": "pg", "requires": {"database": {"interface": "postgresql_client"}}}, "provides"),
        ({"name": "pg", "provides": {"database": {"interface": "pgsql"}}}, "PostgreSQLServer"),
        ({"name": "pg"}, "not an endpoint"),
    ],
)
def test_constructor_needs_a_postgresql_client_provides_endpoint(
    meta: Dict[str, Any], match: str
) -> None:
    h = Harness(ProviderCharm, meta=json.dumps(meta))
    try:
        with pytest.raises(ValueError, match=match):
            h.begin()
    finally:
        h.cleanup()


# ---------------------------------------------------------------------------------------------
# The round trip: this provider, and a charm using pgsql.PostgreSQLClient(self, "database")
# ---------------------------------------------------------------------------------------------

CLIENT_META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client", "limit": 1}},
}


class ClientCharm(ops.charm.CharmBase):
    """A declarative client on ``database``; records the masters it is told of."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb", roles=["charmed_dml"])
        self.masters: List[Optional[ConnectionString]] = []
        framework.observe(self.db.on.master_changed, self._on_master_changed)

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        self.masters.append(event.master)


def _client_sees(provider_out: Any, provider_rel_id: int, client_state: Any) -> Any:
    """The client's state once the provider's bag and secrets (granted) reached it."""
    published = provider_out.get_relation(provider_rel_id)
    rel = next(iter(client_state.relations))
    rel = dataclasses.replace(
        rel, remote_app_data=dict(published.local_app_data), remote_units_data={0: {}}
    )
    # what the requirer can read: the provider's secrets, granted (content as last seen)
    known = {s.id: s for s in client_state.secrets}
    secrets = {
        known.get(s.id)
        or testing.Secret(dict(s.latest_content), id=s.id, latest_content=dict(s.latest_content))
        for s in provider_out.secrets
    }
    return dataclasses.replace(client_state, relations={rel}, secrets=secrets)


@needs_scenario
def test_round_trip_with_the_real_client_including_a_rotation() -> None:
    client_ctx = testing.Context(ClientCharm, meta=CLIENT_META, juju_version=JUJU_36)
    client_rel = testing.Relation("database", interface="postgresql_client", remote_app_name="pg")
    client = client_ctx.run(
        client_ctx.on.relation_created(client_rel),
        testing.State(leader=True, relations={client_rel}),
    )
    request_bag = dict(client.get_relation(client_rel.id).local_app_data)
    assert request_bag["database"] == "mydb"

    # The provider reads what the client wrote and answers in a secret.
    ProviderCharm.tls = True
    provider, charm, rel_id = _run(bag=request_bag)
    assert [s[2] for s in charm.seen] == [
        DatabaseRequest("mydb", ("charmed_dml",), REQUESTED_SECRETS)
    ]
    assert PASSWORD not in _everything(provider)

    # The client is ready with the right connection strings.
    state = _client_sees(provider, rel_id, client)
    rel = next(iter(state.relations))
    with client_ctx(client_ctx.on.relation_changed(rel, remote_unit=0), state) as mgr:
        client = mgr.run()
        seen: ClientCharm = mgr.charm
        readiness = seen.db.readiness()
    assert readiness is not None
    assert readiness.ready, readiness.why
    assert readiness.master == MASTER
    assert readiness.standbys == (STANDBY,)
    assert (readiness.version, readiness.database, readiness.tls_ca) == ("16.4", "mydb", CA)
    assert seen.masters == [MASTER]

    # The provider rotates the password: the secret changes, the client follows it.
    ProviderCharm.password = NEW_PASSWORD
    rotated, _, _ = _publish_again(provider)
    assert dict(rotated.get_relation(rel_id).local_app_data) == dict(
        provider.get_relation(rel_id).local_app_data
    )
    user_id = rotated.get_relation(rel_id).local_app_data["secret-user"]
    new_content = dict(rotated.get_secret(id=user_id).latest_content)
    old = client.get_secret(id=user_id)
    state = dataclasses.replace(
        client,
        secrets={
            *(s for s in client.secrets if s.id != user_id),
            dataclasses.replace(old, latest_content=new_content),
        },
    )
    with client_ctx(client_ctx.on.secret_changed(state.get_secret(id=user_id)), state) as mgr:
        mgr.run()
        seen = mgr.charm
        readiness = seen.db.readiness()
    assert readiness is not None
    assert readiness.ready, readiness.why
    assert readiness.master == MASTER.replace(password=NEW_PASSWORD)
    assert seen.masters == [MASTER.replace(password=NEW_PASSWORD)]


def test_module_doctests_and_lazy_export() -> None:
    import doctest

    import pgsql.server_postgresql_client as module

    result = doctest.testmod(module)
    assert (result.failed, result.attempted) == (0, 1)
    assert pgsql.DatabaseProvider is DatabaseProvider
    assert pgsql.DatabaseRequestChangedEvent is DatabaseRequestChangedEvent
    assert pgsql.RequirerRelationBrokenEvent is RequirerRelationBrokenEvent
    assert "DatabaseProvider" in dir(pgsql)
