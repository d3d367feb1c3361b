"""pgsql.testing.Model and the Juju features data_interfaces relies on.

The Juju version each unit runs on (``Model(juju_version=...)``; no secrets before 3.0), what an
``inspect`` callable sees of it, relation-changed naming a unit before its relation-joined, and
a secret granted to a relation being removed, still readable in relation-departed.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List

import ops
import ops.charm
import ops.framework
import pytest
from needs import requires_scenario

from pgsql import testing as pgt

testing: Any = requires_scenario()

SERVER_META: Dict[str, Any] = {"name": "srv", "provides": {"db": {"interface": "x"}}}
CLIENT_META: Dict[str, Any] = {"name": "cli", "requires": {"db": {"interface": "x"}}}


class Server(ops.charm.CharmBase):
    """Answers in its application bag; with secrets, the password goes in one granted."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on.db_relation_joined, self._answer)

    def _answer(self, event: ops.charm.RelationJoinedEvent) -> None:
        if not self.unit.is_leader():
            return
        bag = event.relation.data[self.app]
        bag["host"] = "10.0.0.5"
        if os.environ.get("WITH_SECRET") and "secret" not in bag:
            secret = self.app.add_secret({"password": "pw-in-secret"})
            if os.environ["WITH_SECRET"] != "no-grant":  # ops.testing refuses a grant on 2.9
                secret.grant(event.relation)
            bag["secret"] = str(secret.id)


class Client(ops.charm.CharmBase):
    """Reads the server's secret in every relation hook, departed included."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.read: List[str] = []
        for event in (self.on.db_relation_changed, self.on.db_relation_departed):
            framework.observe(event, self._read)

    def _read(self, event: ops.charm.RelationEvent) -> None:
        uri = event.relation.data[event.relation.app].get("secret") if event.relation.app else None
        if uri:
            self.read.append(self.model.get_secret(id=uri).get_content()["password"])


def version_seen(charm: ops.charm.CharmBase) -> str:
    return str(ops.JujuVersion(os.environ.get("JUJU_VERSION", "0.0.0")))


def model(juju: Any = None) -> pgt.Model:
    m = pgt.Model(juju_version=juju)
    m.add_app("cli", Client, meta=CLIENT_META, inspect=version_seen)
    m.add_app("srv", Server, units=2, meta=SERVER_META)
    m.deploy()
    return m


@pytest.mark.parametrize("juju", ["2.9.50", "3.6.4"])
def test_every_unit_runs_on_the_juju_version_the_model_was_given(juju: str) -> None:
    m = model(juju)
    assert m.unit("cli/0").seen == juju  # what inspect read from JUJU_VERSION
    runs: List[pgt.HookRun] = []
    m.on_hook = runs.append
    m.run("srv/1", "update_status", inspect=lambda c: str(c.model.juju_version))
    assert runs[-1].seen == juju


def test_inspect_reads_juju_version_as_the_hook_did_and_the_environment_is_restored() -> None:
    before = os.environ.get("JUJU_VERSION")
    m = model()
    assert m.unit("cli/0").seen == str(m.unit("cli/0").ctx.juju_version)
    assert os.environ.get("JUJU_VERSION") == before


def test_a_charm_creating_a_secret_on_juju_29_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WITH_SECRET", "no-grant")
    m = model("2.9.50")
    with pytest.raises(pgt.ModelError, match=r"Juju 2\.9\.50 has no secrets"):
        m.relate("cli:db", "srv:db")


def test_on_juju_36_the_secret_reaches_the_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WITH_SECRET", "1")
    m = model("3.6.4")
    m.relate("cli:db", "srv:db")
    (record,) = m.secrets.values()
    assert record.content == {"password": "pw-in-secret"}


def test_relation_changed_naming_a_unit_before_its_joined_runs_and_the_unit_is_not_listed() -> None:
    m = model()
    rel = m.relate("cli:db", "srv:db", settle=False)
    cli = m.unit("cli/0")
    cli.queue.clear()  # this unit's hooks are run by hand below
    m.run("cli/0", "relation_created", relation=rel)
    m.settle()  # the server answers
    done = m.run(
        "cli/0",
        "relation_changed",
        relation=rel,
        remote="srv/1",
        inspect=lambda c: len(c.model.get_relation("db").units),
    )
    assert (done.hook, done.remote_unit, done.seen) == ("db-relation-changed", "srv/1", 0)


def test_relation_changed_naming_a_removed_unit_is_refused() -> None:
    m = model()
    rel = m.relate("cli:db", "srv:db")
    m.remove_unit("srv/1")
    with pytest.raises(pgt.ModelError, match="does not see"):
        m.run("cli/0", "relation_changed", relation=rel, remote="srv/1")


def test_a_relation_being_removed_still_lets_its_units_read_the_grant_in_departed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WITH_SECRET", "1")
    reads: List[List[str]] = []

    def record(run: pgt.HookRun) -> None:
        if run.unit == "cli/0":
            reads.append(list(run.seen or []))

    def passwords(charm: Client) -> List[str]:
        return charm.read

    m = model("3.6.4")
    rel = m.relate("cli:db", "srv:db")
    m.on_hook = record
    m.app("cli").inspect = passwords
    m.remove_relation(rel)
    assert ["pw-in-secret"] in reads  # read in a relation-departed hook
    assert m.relations == [] or all(r.id != rel.id for r in m.relations)
