"""A user name chosen by the charm on ``postgresql_client`` (PostgreSQL 16's requested entity).

Under Scenario (``ops.testing``): the leader's helper secret (content, label, grant, URI in the
app bag), readiness on the provider's answer (the requested user, another one, none yet), the
helper's removal, and the requests refused loudly.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Dict, List, Tuple

import ops
import ops.charm
import ops.framework
import pytest
from needs import needs_scenario

import pgsql
from pgsql import protocol

pytestmark = needs_scenario

testing: Any = pytest.importorskip("ops.testing")

META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client", "limit": 1}},
}
PASSWORD = "Us3r-Pa55"  # a test vector


class UserCharm(ops.charm.CharmBase):
    """Declares ``mydb`` with the user ``app_user``."""

    KW: ClassVar[Dict[str, Any]] = {"database": "mydb", "username": "app_user"}

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", **self.KW)
        self.seen: List[str] = []
        framework.observe(self.db.on.master_available, self._record)

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        self.seen.append(type(event).__name__)


class PlainCharm(UserCharm):
    KW: ClassVar[Dict[str, Any]] = {"database": "mydb"}


def answer(user: str = "app_user", version: str = "16.9") -> Dict[str, str]:
    """PostgreSQL's answer, credentials in clear (fields not in requested-secrets)."""
    return {
        "database": "mydb",
        "endpoints": "10.0.0.5:5432",
        "username": user,
        "password": PASSWORD,
        "uris": f"postgresql://{user}:{PASSWORD}@10.0.0.5:5432/mydb",
        "version": version,
        "data": '{"database": "mydb"}',
    }


def relation() -> Any:
    return testing.Relation("database", interface="postgresql_client", remote_app_name="postgresql")


def created(
    charm: type = UserCharm, leader: bool = True, juju: str = "3.6.4"
) -> Tuple[Any, Any, Any]:
    ctx = testing.Context(charm, meta=META, juju_version=juju)
    rel = relation()
    state = ctx.run(ctx.on.relation_created(rel), testing.State(leader=leader, relations={rel}))
    return ctx, rel, state


def changed(ctx: Any, rel: Any, state: Any, bag: Dict[str, str]) -> Tuple[Any, Any]:
    new = dataclasses.replace(state.get_relation(rel.id), remote_app_data=bag)
    state = dataclasses.replace(state, relations={new})
    with ctx(ctx.on.relation_changed(new, remote_unit=0), state) as mgr:
        out = mgr.run()
        return mgr.charm, out


def helper_secrets(state: Any) -> List[Any]:
    return [s for s in state.secrets if (s.label or "").endswith("-requested-entity")]


# -- the request -------------------------------------------------------------------------------


def test_leader_publishes_the_user_in_a_granted_helper_secret_labelled_like_data_interfaces() -> (
    None
):
    _, rel, state = created()
    [secret] = helper_secrets(state)
    assert secret.tracked_content == {"entity-name": "app_user"}
    assert secret.owner == "app"
    assert secret.label == f"{state.model.uuid}-{rel.id}-requested-entity"
    assert secret.remote_grants == {rel.id: {"postgresql"}}
    bag = dict(state.get_relation(rel.id).local_app_data)
    assert bag["database"] == "mydb"
    assert protocol.secret_id(bag["requested-entity-secret"]) == protocol.secret_id(secret.id)
    assert "app_user" not in bag.values()  # the name travels in the secret only


def test_a_charm_without_username_creates_no_secret_and_writes_no_entity_key() -> None:
    _, rel, state = created(PlainCharm)
    assert not state.secrets
    assert "requested-entity-secret" not in state.get_relation(rel.id).local_app_data


def test_a_non_leader_creates_no_helper_secret() -> None:
    _, rel, state = created(leader=False)
    assert not helper_secrets(state)
    assert "requested-entity-secret" not in state.get_relation(rel.id).local_app_data


def test_request_method_with_username_publishes_the_helper_secret_too() -> None:
    class Later(ops.charm.CharmBase):
        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "database")
            framework.observe(self.on.database_relation_created, self._ask)

        def _ask(self, _: ops.RelationCreatedEvent) -> None:
            self.db.request(database="mydb", username="app_user")

    _, rel, state = created(Later)
    [secret] = helper_secrets(state)
    assert secret.tracked_content == {"entity-name": "app_user"}
    assert "requested-entity-secret" in state.get_relation(rel.id).local_app_data


# -- readiness ---------------------------------------------------------------------------------


def test_the_requested_user_answered_is_ready_and_the_master_carries_it() -> None:
    ctx, rel, state = created()
    charm, _ = changed(ctx, rel, state, answer())
    r = charm.db.readiness()
    assert r.ready, r.why
    assert r.master.user == "app_user"
    assert charm.seen == ["MasterAvailableEvent"]


def test_another_user_answered_is_never_ready_with_user_mismatch() -> None:
    ctx, rel, state = created()
    charm, _ = changed(ctx, rel, state, answer(user="relation-4", version="14.12"))
    r = charm.db.readiness()
    assert not r.ready
    assert r.master is None
    assert protocol.USER_MISMATCH in [x.code for x in r.reasons if x.blocking]
    assert charm.seen == []


def test_a_non_leader_also_refuses_another_user() -> None:
    ctx, rel, state = created(leader=False)
    charm, _ = changed(ctx, rel, state, answer(user="relation-4"))
    assert protocol.USER_MISMATCH in [x.code for x in charm.db.readiness().reasons]


def test_before_the_answer_the_user_is_a_note_and_not_answered_blocks() -> None:
    ctx, rel, state = created()
    charm, _ = changed(ctx, rel, state, {})
    r = charm.db.readiness()
    assert [x.code for x in r.reasons if x.blocking] == [protocol.NOT_ANSWERED]
    assert protocol.USERNAME_UNCONFIRMED in [x.code for x in r.reasons if not x.blocking]


# -- the helper secret's life ------------------------------------------------------------------


def test_the_helper_secret_is_removed_once_the_provider_answered() -> None:
    ctx, rel, state = created()
    assert helper_secrets(state)
    _, out = changed(ctx, rel, state, answer())
    assert not helper_secrets(out)
    # the request stays as published: providers read it once
    assert "requested-entity-secret" in out.get_relation(rel.id).local_app_data


def test_the_helper_secret_is_removed_with_the_relation_when_never_answered() -> None:
    ctx, rel, state = created()
    assert helper_secrets(state)
    out = ctx.run(ctx.on.relation_broken(state.get_relation(rel.id)), state)
    assert not helper_secrets(out)


def test_a_new_leader_removes_the_helper_secret_it_did_not_create_once_answered() -> None:
    ctx, rel, state = created()
    # a new leader: this unit's StoredState knows nothing of the secret
    fresh = dataclasses.replace(state, stored_states=frozenset())
    _, out = changed(ctx, rel, fresh, answer())
    assert not helper_secrets(out)


def test_the_helper_secret_is_not_recreated_after_the_answer() -> None:
    ctx, rel, state = created()
    _, out = changed(ctx, rel, state, answer())
    again = dataclasses.replace(out, stored_states=frozenset())  # StoredState lost (K8s)
    _, final = changed(ctx, rel, again, answer())
    assert not helper_secrets(final)


# -- refused loudly ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["operator", "replication", "rewind", "postgres", "pg_app"])
def test_users_postgresql_16_refuses_are_a_request_error(name: str) -> None:
    with pytest.raises(protocol.RequestError, match=repr(name)):
        protocol.check_request(protocol.Request.build("mydb", username=name), "postgresql_client")


def test_username_on_pgsql_is_a_request_error() -> None:
    with pytest.raises(protocol.RequestError, match="only on the postgresql_client interface"):
        protocol.check_request(protocol.Request.build("mydb", username="app_user"), "pgsql")


def test_username_on_a_pgsql_endpoint_is_refused_at_construction() -> None:
    class OnPgsql(ops.charm.CharmBase):
        def __init__(self, framework: ops.framework.Framework) -> None:
            super().__init__(framework)
            pgsql.PostgreSQLClient(self, "db", database="mydb", username="app_user")

    ctx = testing.Context(
        OnPgsql, meta={"name": "myapp", "requires": {"db": {"interface": "pgsql"}}}
    )
    with pytest.raises(Exception, match="only on the postgresql_client interface") as info:
        ctx.run(ctx.on.install(), testing.State())
    assert isinstance(info.value.__cause__, protocol.RequestError)


def test_username_on_juju_without_secrets_is_refused_like_data_interfaces() -> None:
    ctx = testing.Context(UserCharm, meta=META, juju_version="2.9.44")
    with pytest.raises(Exception, match=r"Juju 2\.9\.44 has none") as info:
        ctx.run(ctx.on.install(), testing.State())
    assert isinstance(info.value.__cause__, protocol.RequestError)


def test_a_record_without_username_keeps_the_1x_form_and_loads() -> None:
    old = {"database": "mydb", "roles": "a"}
    assert protocol.Request.build("mydb", "a").record() == old
    assert protocol.Request.from_record(old) == protocol.Request.build("mydb", "a")
    with_user = protocol.Request.build("mydb", username="app_user")
    assert protocol.Request.from_record(with_user.record()) == with_user
    assert "username" not in with_user.databag()  # pgsql's wire form never carries it


def test_the_username_module_examples_hold() -> None:
    import doctest

    from pgsql.protocol import _username  # pyright: ignore[reportPrivateUsage]

    result = doctest.testmod(_username, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4
    assert result.failed == 0
