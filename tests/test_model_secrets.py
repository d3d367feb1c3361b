"""pgsql.testing.Model carries Juju secrets between applications, as Juju does.

A provider written with plain ops from the interface facts (credentials in a secret granted to
the relation; rotation by a new revision) and the library's client on ``postgresql_client``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import ops
import ops.charm
import ops.framework
import pytest

import pgsql
from pgsql import testing as pgt

testing: Any = pytest.importorskip("ops.testing")
if getattr(testing, "Context", None) is None:
    pytest.skip("ops.testing.Context needs ops >= 2.17 (ops[testing])", allow_module_level=True)

PROVIDER_META: Dict[str, Any] = {
    "name": "postgresql",
    "provides": {"database": {"interface": "postgresql_client"}},
}
PROVIDER_CONFIG: Dict[str, Any] = {"options": {"password": {"type": "string", "default": "pw-1"}}}
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

    def _content(self, relation: ops.model.Relation) -> Dict[str, str]:
        password = str(self.config["password"])
        return {"username": f"relation-{relation.id}", "password": password}

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
    model.add_app("postgresql", Provider, meta=PROVIDER_META, config=PROVIDER_CONFIG)
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
