"""A charm author's probes of the verdict kept between hooks (``postgresql_client``).

What a charm gets from ``readiness()``, ``is_ready()`` and ``master()`` in hooks that bring no
provider data, when it copies or edits the verdict, while it migrates endpoints, and across a
whole model's life (leadership moves, the provider scaled to zero and back, the relation removed
and added again, StoredState lost, deferred events re-run before the client's handlers): the same
as a verdict judged live, and never a password kept.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import pickle
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
import pytest
import test_model_secrets as model_secrets
from fix_client_postgresql_client import (
    JUJU_36,
    META,
    META_BOTH,
    Looking,
    answered,
    changed,
    count_reads,
    pgsql_relation,
    provide,
    relation,
    secrets_of,
    started,
    testing,
    with_secret_content,
)
from provider_double import PASSWORD, USER_SECRET, Provider

import pgsql
import pgsql.client._remembered as remembered
from pgsql import protocol
from pgsql import testing as pgt

# -- endpoint migration ------------------------------------------------------------------------


class BothLooking(Looking):
    ENDPOINTS = ("db", "database")


def test_a_kept_verdict_of_the_relation_not_served_says_endpoint_conflict_once() -> None:
    ctx = testing.Context(BothLooking, meta=META_BOTH, juju_version=JUJU_36)
    provider = Provider()
    new = relation(provider, endpoint="database", id=9)
    state = testing.State(
        leader=True, relations={pgsql_relation(id=3), new}, secrets=secrets_of(provider)
    )
    state = ctx.run(ctx.on.relation_created(new), state)
    state = ctx.run(ctx.on.relation_changed(state.get_relation(3), remote_unit=0), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(9), remote_unit=0), state)
    state = ctx.run(ctx.on.relation_changed(state.get_relation(9), remote_unit=0), state)
    seen: List[Any] = []

    def look(c: Looking) -> None:
        seen.append(c.db.readiness(c.model.get_relation("database")))

    count_reads(ctx, ctx.on.relation_changed(state.get_relation(9), remote_unit=0), state, look)
    count_reads(ctx, ctx.on.update_status(), state, look)
    live, kept = seen
    assert [r.code for r in kept.reasons] == [pgsql.client.ENDPOINT_CONFLICT]
    assert kept == live


# -- what a charm may do with a verdict --------------------------------------------------------


def test_copies_pickles_and_replace_of_a_kept_verdict_are_plain_verdicts() -> None:
    ctx = testing.Context(Looking, meta=META, juju_version=JUJU_36)
    state, _rel_id, _charm = answered(ctx)
    got: Dict[str, Any] = {}

    def look(c: Looking) -> None:
        r = c.db.readiness()
        assert r is not None
        got["kept"] = r
        got["replaced"] = dataclasses.replace(r, version="17")
        got["pickled"] = pickle.loads(pickle.dumps(r))
        got["copied"] = copy.copy(r)
        got["deep"] = copy.deepcopy(r)

    count_reads(ctx, ctx.on.update_status(), state, look)
    kept = got["kept"]
    assert type(kept) is not protocol.Readiness  # a kept verdict indeed
    for name in ("pickled", "copied", "deep"):
        assert type(got[name]) is protocol.Readiness
        assert got[name] == kept
        assert got[name].master == kept.master
    replaced = got["replaced"]
    assert type(replaced) is protocol.Readiness
    assert replaced.version == "17"
    assert replaced.ready
    assert replaced.master == kept.master
    assert replaced.tls_ca == kept.tls_ca


# -- a provider that changed its data, its relation-changed not run yet ------------------------

_CONFIG: Dict[str, Any] = {
    "options": {
        "password": {"type": "string", "default": "pw-1"},
        "withdraw": {"type": "boolean", "default": False},
        "dbname": {"type": "string", "default": ""},
    }
}


class _Provider(model_secrets.Provider):
    """The test provider, which can also withdraw its endpoints or serve another database."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on.config_changed, self._reconfigure)

    def _reconfigure(self, _: ops.ConfigChangedEvent) -> None:
        if not self.unit.is_leader():
            return
        for rel in self.model.relations["database"]:
            bag = rel.data[self.app]
            if "secret-user" not in bag:
                continue
            if self.config.get("withdraw"):
                bag.pop("endpoints", None)
            else:
                bag["endpoints"] = "10.0.0.5:5432"
            if self.config.get("dbname"):
                bag["database"] = str(self.config["dbname"])


class _Configures(ops.charm.CharmBase):
    """Writes its workload's configuration in update-status, the usual way."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb")
        framework.observe(self.on.update_status, self._configure)

    def _configure(self, _: ops.EventBase) -> None:
        if self.db.is_ready():  # the usual guard, then the master
            master = self.db.master()
            assert master is not None, "is_ready() but no master()"
            self.unit.status = ops.ActiveStatus(f"on {master.host}")
        else:
            self.unit.status = ops.WaitingStatus("database")


def _model(
    charm: type,
    meta: Dict[str, Any] = model_secrets.CLIENT_META,
    juju: Optional[str] = None,
    units: int = 1,
    relate: bool = True,
) -> pgt.Model:
    """The test provider (which can withdraw its answer) and ``charm`` as ``myapp``."""
    model = pgt.Model(juju_version=juju)
    model.add_app(
        "postgresql",
        _Provider,
        meta=model_secrets.PROVIDER_META,
        config=_CONFIG,
        actions=model_secrets.PROVIDER_ACTIONS,
        units=units,
    )
    model.add_app("myapp", charm, units=units, meta=meta)
    model.deploy()
    if relate:
        model.relate("myapp:database", "postgresql:database")
    return model


class _ReadsTheVerdict(ops.charm.CharmBase):
    """Looks at readiness() then its master in update-status, as charms do."""

    SEEN: ClassVar[List[Tuple[Any, ...]]] = []

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb")
        framework.observe(self.on.update_status, self._look)

    def _look(self, _: ops.EventBase) -> None:
        r = self.db.readiness()
        assert r is not None
        seen = (r.ready, r.master is not None, self.db.is_ready(), self.db.master())
        type(self).SEEN.append(seen)


def test_a_kept_ready_verdict_whose_provider_withdrew_has_no_master_until_changed_runs() -> None:
    """The documented window: told ready, the provider withdrew its answer, its relation-changed
    still queued. ``master`` is read live (None); ``is_ready()`` and ``master()`` agree."""
    _ReadsTheVerdict.SEEN = []
    model = _model(_ReadsTheVerdict)
    model.run("myapp/0", "update_status")
    assert _ReadsTheVerdict.SEEN[-1][:3] == (True, True, True)
    model.config("postgresql", withdraw=True, settle=False)
    model.run("postgresql/0", "config_changed")  # queues relation-changed on myapp/0
    model.run("myapp/0", "update_status")  # Juju may run it first
    assert _ReadsTheVerdict.SEEN[-1] == (True, False, False, None)
    model.settle()  # the queued relation-changed tells the charm
    model.run("myapp/0", "update_status")
    assert _ReadsTheVerdict.SEEN[-1] == (False, False, False, None)


def test_is_ready_and_master_agree_while_the_providers_relation_changed_is_queued() -> None:
    model = _model(_Configures)
    assert model.run("myapp/0", "update_status").status == ops.ActiveStatus("on 10.0.0.5")
    model.config("postgresql", withdraw=True, settle=False)
    model.run("postgresql/0", "config_changed")  # queues relation-changed on myapp/0
    run = model.run("myapp/0", "update_status")  # Juju may run it first
    assert run.status == ops.WaitingStatus("database")


# -- a whole model, kept verdicts against verdicts judged live ---------------------------------

_LOG: List[Tuple[Any, ...]] = []


def _digest(value: object) -> Optional[str]:
    return None if value is None else hashlib.sha256(str(value).encode()).hexdigest()[:12]


class _Recorder(ops.charm.CharmBase):
    """Records readiness in its own handlers (run before the client's) and in collect-status,
    and every event with what it carried; defers master_changed and database_changed forever
    (re-run at the start of every later hook, before the client's handlers)."""

    KW: ClassVar[Dict[str, Any]] = {"database": "mydb"}

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        on = self.on
        for bound in (
            on.update_status,
            on.config_changed,
            on.leader_elected,
            on.secret_changed,
            on["database"].relation_joined,
            on["database"].relation_changed,
            on["database"].relation_departed,
        ):
            framework.observe(bound, self._look)
        self.db = pgsql.PostgreSQLClient(self, "database", **self.KW)
        framework.observe(on.collect_unit_status, self._look)
        for name in ("database_relation_joined", "master_available", "master_changed"):
            framework.observe(getattr(self.db.on, name), self._on_event)
        framework.observe(self.db.on.database_changed, self._on_event)

    def _on_event(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        if isinstance(event, pgsql.DatabaseRelationJoinedEvent) and not self.KW:
            if self.unit.is_leader():
                event.database = "mydb"
            elif event.database != "mydb":
                event.defer()
                return
        kind = type(event).__name__
        standbys = tuple(_digest(s) for s in event.standbys)
        _LOG.append((self.unit.name, kind, _digest(event.master), event.database, standbys))
        if isinstance(event, (pgsql.MasterChangedEvent, pgsql.DatabaseChangedEvent)):
            event.defer()

    def _look(self, _: ops.EventBase) -> None:
        r = self.db.readiness()
        if r is None:
            _LOG.append((self.unit.name, None))
            return
        _LOG.append(
            (
                self.unit.name,
                r.ready,
                r.why,
                tuple(x.code for x in r.reasons),
                r.database,
                r.databases,
                r.version,
                r.source,
                _digest(r.master),
                tuple(_digest(s) for s in r.standbys),
                self.db.is_ready(),
                _digest(self.db.master()),
            )
        )


class _SetterRecorder(_Recorder):
    KW: ClassVar[Dict[str, Any]] = {}  # the 1.x setters in database_relation_joined


_META_PEER: Dict[str, Any] = {
    **model_secrets.CLIENT_META,
    "peers": {"replicas": {"interface": "myapp-peers"}},
}


def _life(charm: type, meta: Dict[str, Any], juju: Optional[str]) -> List[Tuple[Any, ...]]:
    _LOG.clear()
    model = _model(charm, meta, juju, units=2, relate=False)

    def update_status() -> None:
        for unit in ("myapp/0", "myapp/1"):
            model.run(unit, "update_status")

    rel = model.relate("myapp:database", "postgresql:database")
    update_status()
    model.config("postgresql", password="pw-2")  # secret-changed
    update_status()
    model.set_leader("myapp/1")
    update_status()
    model.remove_unit("postgresql/0")
    model.remove_unit("postgresql/1")  # scaled to zero
    update_status()
    model.add_unit("postgresql")
    model.set_leader("postgresql/2")
    update_status()
    model.config("postgresql", withdraw=True)
    update_status()
    model.config("postgresql", withdraw=False)
    update_status()
    model.config("postgresql", dbname="other")
    update_status()
    model.config("postgresql", dbname="mydb")
    update_status()
    model.unit("myapp/0").stored = ()  # a Kubernetes pod lost its StoredState
    update_status()
    model.remove_relation(rel)
    update_status()
    model.relate("myapp:database", "postgresql:database")  # a new relation id
    update_status()
    model.set_leader("myapp/0")
    model.config("postgresql", password="pw-3")
    update_status()
    return list(_LOG)


@pytest.mark.parametrize(
    ("charm", "meta", "juju"),
    [
        (_Recorder, model_secrets.CLIENT_META, None),
        (_SetterRecorder, _META_PEER, None),
        (_SetterRecorder, model_secrets.CLIENT_META, "4.0.0"),
    ],
    ids=["declared", "setters-with-peers", "setters-juju4-no-peers"],
)
# Heavy on ops 2's Scenario (events deferred forever: 25 s and 1 GB against 4.5 s on ops 3); the
# kept verdict's rules are the same on every ops, which the smaller tests check in the matrix
@pytest.mark.heavy
def test_through_a_models_life_kept_verdicts_read_as_verdicts_judged_live(
    charm: type, meta: Dict[str, Any], juju: Optional[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recalled: List[bool] = []
    real_recall = remembered.recall

    def counting(*args: Any, **kw: Any) -> Any:
        out = real_recall(*args, **kw)
        recalled.append(out is not None)
        return out

    monkeypatch.setattr(remembered, "recall", counting)
    kept = _life(charm, meta, juju)
    assert sum(recalled) > 20  # kept verdicts were served, in many hooks

    def never(*args: Any, **kw: Any) -> None:
        return None  # the verdict judged live in every hook, as before it was kept

    monkeypatch.setattr(remembered, "recall", never)
    live = _life(charm, meta, juju)
    assert kept == live


# -- passwords ---------------------------------------------------------------------------------


def test_a_malformed_uris_leaves_no_password_in_stored_state() -> None:
    ctx = testing.Context(Looking, meta=META, juju_version=JUJU_36)
    state, rel_id = started(ctx)
    state = provide(state, rel_id, Provider())
    broken_uris = {"uris": f"relation-7:{PASSWORD}@10.0.0.5:5432/mydbname"}
    state = with_secret_content(state, USER_SECRET, broken_uris)
    state, _charm = changed(ctx, state, rel_id)
    assert PASSWORD not in "".join(repr(s.content) for s in state.stored_states)
