"""pgsql.testing.Model carries Juju secrets between applications, as Juju does, and runs actions.

A provider written with plain ops from the interface facts (credentials in a secret granted to
the relation; rotation by a new revision, from config or from an action) and the library's client
on ``postgresql_client``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import ops
import ops.charm
import ops.framework
import pytest
from needs import requires_scenario

import pgsql
from pgsql import testing as pgt

testing: Any = requires_scenario()

PROVIDER_META: Dict[str, Any] = {
    "name": "postgresql",
    "provides": {"database": {"interface": "postgresql_client"}},
}
PROVIDER_CONFIG: Dict[str, Any] = {"options": {"password": {"type": "string", "default": "pw-1"}}}
PROVIDER_ACTIONS: Dict[str, Any] = {
    "rotate": {
        "params": {
            "password": {"type": "string"},
            "note": {"type": "string", "default": "by-action"},
        },
        "required": ["password"],
    },
}
CLIENT_META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client", "limit": 1}},
}


class Provider(ops.charm.CharmBase):
    """Answers with the user secret granted to the relation; config-changed rotates it."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on.database_relation_changed, self._answer)
        framework.observe(self.on.config_changed, self._rotate)
        framework.observe(self.on.rotate_action, self._on_rotate_action)

    def _content(self, relation: ops.model.Relation, password: str = "") -> Dict[str, str]:
        password = password or str(self.config["password"])
        return {"username": f"relation-{relation.id}", "password": password}

    def _on_rotate_action(self, event: ops.charm.ActionEvent) -> None:
        password = str(event.params["password"])
        if not self.unit.is_leader():
            event.fail("run it on the leader")
            return
        for relation in self.model.relations["database"]:
            secret = self.model.get_secret(label=f"user-{relation.id}")
            secret.set_content(self._content(relation, password))
            # a trace in the bag too: what a failed action wrote must stay, as in Juju
            relation.data[self.app]["rotated-by"] = str(event.params["note"])
        event.log("rotated")
        event.set_results({"relations": str(len(self.model.relations["database"]))})
        if password == "refused":
            event.fail("the server refused it")

    def _answer(self, event: ops.charm.RelationChangedEvent) -> None:
        if not self.unit.is_leader():
            return
        database = event.relation.data[event.app].get("database")
        bag = event.relation.data[self.app]
        if not database or "secret-user" in bag:
            return
        secret = self.app.add_secret(
            self._content(event.relation), label=f"user-{event.relation.id}"
        )
        secret.grant(event.relation)
        bag.update(
            {
                "database": database,
                "endpoints": "10.0.0.5:5432",
                "version": "16.14",
                "secret-user": str(secret.id),
            }
        )

    def _rotate(self, _: ops.charm.ConfigChangedEvent) -> None:
        if not self.unit.is_leader():
            return
        for relation in self.model.relations["database"]:
            try:
                secret = self.model.get_secret(label=f"user-{relation.id}")
            except ops.model.SecretNotFoundError:
                continue
            if secret.get_content(refresh=True) != self._content(relation):
                secret.set_content(self._content(relation))


class Client(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb")
        self.passwords: List[Optional[str]] = []
        framework.observe(self.db.on.master_changed, self._on_master_changed)

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        self.passwords.append(event.master.password if event.master else None)


def _model() -> pgt.Model:
    model = pgt.Model()
    model.add_app(
        "postgresql",
        Provider,
        meta=PROVIDER_META,
        config=PROVIDER_CONFIG,
        actions=PROVIDER_ACTIONS,
        units=2,
    )
    model.add_app(
        "myapp", Client, units=2, meta=CLIENT_META, inspect=lambda charm: list(charm.passwords)
    )
    model.deploy()
    return model


def test_a_granted_secret_reaches_every_requirer_unit_and_a_new_revision_is_followed() -> None:
    model = _model()
    first: List[pgt.HookRun] = []
    model.on_hook = first.append
    model.relate("myapp:database", "postgresql:database")
    assert model.app("myapp").bag("database")["database"] == "mydb"
    told = {r.unit: r.seen for r in first if "master_changed" in r.events}
    assert told == {"myapp/0": ["pw-1"], "myapp/1": ["pw-1"]}
    (record,) = model.secrets.values()
    assert record.owner == "postgresql"
    assert "pw-1" not in repr(record)
    runs: List[pgt.HookRun] = []
    model.on_hook = runs.append
    model.config("postgresql", password="pw-2")
    changed = [r for r in runs if r.hook == "secret-changed"]
    assert sorted(r.unit for r in changed) == ["myapp/0", "myapp/1"]
    for run in changed:
        assert "master_changed" in run.events
        assert run.seen[-1] == "pw-2"
    assert len(record.revisions) == 2
    assert set(record.tracked.values()) == {1}  # both units refreshed to the new revision


def test_removing_the_relation_revokes_the_grant() -> None:
    model = _model()
    rel = model.relate("myapp:database", "postgresql:database")
    (record,) = model.secrets.values()
    model.remove_relation(rel)
    runs: List[pgt.HookRun] = []
    model.on_hook = runs.append
    model.config("postgresql", password="pw-2")
    assert [r for r in runs if r.hook == "secret-changed"] == []
    assert record.grants  # the owner's grant record stays; the relation is gone


def test_an_action_runs_on_the_unit_and_its_new_revision_reaches_the_requirers() -> None:
    model = _model()
    model.relate("myapp:database", "postgresql:database")
    (record,) = model.secrets.values()
    runs: List[pgt.HookRun] = []
    model.on_hook = runs.append
    run = model.run_action("postgresql/0", "rotate", {"password": "pw-2"})
    assert run is runs[0]
    assert (run.unit, run.hook, run.remote_unit) == ("postgresql/0", "rotate-action", None)
    assert run.events[0] == "rotate_action"
    outcome = run.action
    assert outcome is not None
    assert outcome.ok
    assert outcome.name == "rotate"
    assert outcome.params == {"password": "pw-2", "note": "by-action"}  # the default filled in
    assert outcome.results == {"relations": "1"}
    assert outcome.logs == ["rotated"]
    assert "pw-2" not in repr(outcome)
    # the schema's default reached the charm; the bag write queued relation-changed
    assert model.app("postgresql").bag("database")["rotated-by"] == "by-action"
    assert len(record.revisions) == 2
    changed = [r for r in runs[1:] if r.hook == "secret-changed"]
    assert sorted(r.unit for r in changed) == ["myapp/0", "myapp/1"]
    assert all(r.seen[-1] == "pw-2" and "master_changed" in r.events for r in changed)
    assert all(r.action is None for r in runs[1:])


def test_a_failed_action_keeps_what_it_wrote_and_says_why() -> None:
    model = _model()
    model.relate("myapp:database", "postgresql:database")
    run = model.run_action("postgresql/0", "rotate", {"password": "refused", "note": "x"})
    assert run.action is not None
    assert not run.action.ok
    assert run.action.failure == "the server refused it"
    assert run.action.results == {"relations": "1"}
    assert model.app("postgresql").bag("database")["rotated-by"] == "x"
    (record,) = model.secrets.values()
    assert record.revisions[-1]["password"] == "refused"
    # on a non-leader it fails before writing anything
    before = model.hooks
    other = model.run_action("postgresql/1", "rotate", {"password": "pw-3"})
    assert other.action is not None
    assert other.action.failure == "run it on the leader"
    assert model.hooks == before + 1  # nothing written: no hook queued
    assert record.revisions[-1]["password"] == "refused"


def test_run_action_without_settling_and_unknown_actions() -> None:
    model = _model()
    model.relate("myapp:database", "postgresql:database")
    run = model.run_action("postgresql/0", "rotate", {"password": "pw-2"}, settle=False)
    assert run.action is not None
    assert run.action.ok
    queued = {u.name: list(u.queue) for u in model.units() if u.queue}
    assert sorted(queued) == ["myapp/0", "myapp/1"]
    assert model.settle() >= 2
    unknown = r"postgresql has no action 'nope' \(its actions: rotate\)"
    with pytest.raises(pgt.ModelError, match=unknown):
        model.run_action("postgresql/0", "nope")
    none = r"myapp has no action 'rotate' \(its actions: none\)"
    with pytest.raises(pgt.ModelError, match=none):
        model.run_action("myapp/0", "rotate", {"password": "x"})


class Bare(ops.charm.CharmBase):
    """No metadata given: ops.testing makes it up from the class name."""


def test_an_application_without_meta_reads_its_charm_spec_without_deprecated_api() -> None:
    # the metadata and actions come from ops.testing's charm spec, read without its deprecated
    # Context.charm_spec (a DeprecationWarning: warnings are errors in this suite)
    model = pgt.Model()
    app = model.add_app("bare", Bare, units=1, actions={"ping": {}})
    assert app.meta == {"name": "Bare"}
    model.deploy()
    run = model.run_action("bare/0", "ping")
    assert run.action is not None
    assert (run.action.ok, run.action.results, run.action.params) == (True, {}, {})
    assert run.events == ["ping_action"]
