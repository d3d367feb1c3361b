"""Whole lifecycles in pgsql.testing.Model: a declared request, a 1.x charm and two requirers of
DatabaseProvider through leader moves, StoredState loss, unit removal and scale-down."""

from __future__ import annotations

from typing import Any, Dict, Optional

import ops
import pytest
from needs import requires_data_interfaces, requires_scenario

import pgsql
from pgsql import testing as pgt

requires_data_interfaces()
requires_scenario()  # pgsql.testing.Model runs on ops.testing's Context

import fix_data_interfaces as di_fix  # noqa: E402 (after the skips: imports only on 3.10+)
from test_roundtrip import SERVER_CONFIG, SERVER_META, ServerCharm  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:ops.lib is deprecated:DeprecationWarning"),
]

PEER_META = {
    "name": "myapp",
    "requires": {"db": {"interface": "pgsql", "limit": 1}},
    "peers": {"replicas": {"interface": "myapp-peers"}},
}
CONFIG = {"options": {"database": {"type": "string", "default": "mydb"}}}


def build_model(charm: Any, units: int = 3, meta: Any = None, **kw: Any) -> pgt.Model:
    model = pgt.Model(max_hooks=600)
    model.add_app(
        "myapp", charm, units=units, meta=meta or PEER_META, address=pgt.Client.address, **kw
    )
    model.add_app(
        "postgresql",
        ServerCharm,
        units=2,
        meta=SERVER_META,
        config=SERVER_CONFIG,
        address=pgt.Server.address,
    )
    model.deploy()
    return model


class ConfigRequestCharm(ops.CharmBase):
    """Calls request() from its own config-changed handler and reads master() in collect-status."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        framework.observe(self.on.config_changed, self._on_config)
        framework.observe(self.on.collect_unit_status, self._on_collect)
        framework.observe(self.on.update_status, self._on_update)

    def _on_config(self, event: ops.EventBase) -> None:
        self.db.request(database=str(self.config["database"]))

    def _on_update(self, event: ops.EventBase) -> None:
        self.db.master()
        self.db.readiness()

    def _on_collect(self, event: ops.CollectStatusEvent) -> None:
        m = self.db.master()
        if m is None or not self.db.is_ready():
            r = self.db.readiness()
            event.add_status(ops.WaitingStatus(r.why if r else "no relation"))
        else:
            event.add_status(ops.ActiveStatus(f"{m.host}/{m.dbname}"))


def statuses(model: pgt.Model) -> Dict[str, str]:
    return {
        u.name: f"{u.status.name}:{u.status.message}" if u.status else "None"
        for u in model.app("myapp").units.values()
    }


def test_request_from_own_config_handler_reaches_every_unit_and_follows_config() -> None:
    model = build_model(ConfigRequestCharm, config=CONFIG, options={"database": "mydb"})
    model.relate("myapp:db", "postgresql:db")
    assert set(statuses(model).values()) == {"active:10.1.0.0/mydb"}, statuses(model)
    model.config("myapp", database="other")
    assert set(statuses(model).values()) == {"active:10.1.0.0/other"}, statuses(model)
    model.set_leader("myapp/2")
    model.queue("myapp/1", "update_status")
    model.settle()
    assert set(statuses(model).values()) == {"active:10.1.0.0/other"}, statuses(model)
    # StoredState lost on every unit (Kubernetes pod churn)
    for u in model.app("myapp").units.values():
        u.stored = ()
        model.queue(u.name, "update_status")
    model.settle()
    assert set(statuses(model).values()) == {"active:10.1.0.0/other"}, statuses(model)
    model.config("myapp", database="third")
    assert set(statuses(model).values()) == {"active:10.1.0.0/third"}, statuses(model)
    model.remove_unit("myapp/0")
    assert set(statuses(model).values()) == {"active:10.1.0.0/third"}, statuses(model)
    assert model.app("postgresql").bag("db")["allowed-units"] == "myapp/1 myapp/2"


class SeedLike(ops.CharmBase):
    """The README's 1.x charm, with a peer relation and a status."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db")
        self.uri: Optional[str] = None
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        framework.observe(self.db.on.master_changed, self._on_master_changed)
        framework.observe(self.on.collect_unit_status, self._on_collect)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.model.unit.is_leader():
            event.database = "mydbname"
            event.extensions = ["citext"]
        elif event.database != "mydbname":
            event.defer()

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        if event.database != "mydbname":
            return

    def _on_collect(self, event: ops.CollectStatusEvent) -> None:
        m = self.db.master()
        if m is None:
            event.add_status(ops.WaitingStatus("no master"))
        else:
            event.add_status(ops.ActiveStatus(f"{m.host}/{m.dbname}"))


def test_seed_like_charm_every_unit_ready_through_leader_moves_and_state_loss() -> None:
    model = build_model(SeedLike)
    model.relate("myapp:db", "postgresql:db")
    assert set(statuses(model).values()) == {"active:10.1.0.0/mydbname"}, statuses(model)
    model.set_leader("myapp/1")
    model.config("postgresql", primary=1)
    assert set(statuses(model).values()) == {"active:10.1.0.1/mydbname"}, statuses(model)
    for u in model.app("myapp").units.values():
        u.stored = ()
        u.deferred = ()
    model.config("postgresql", primary=0)
    assert set(statuses(model).values()) == {"active:10.1.0.0/mydbname"}, statuses(model)
    assert model.app("myapp").bag("db") == {"database": "mydbname", "extensions": "citext"}
    model.add_unit("myapp")
    assert set(statuses(model).values()) == {"active:10.1.0.0/mydbname"}, statuses(model)


# ---- provides side: two requirer applications on one provider ----------------------------


def two_requirers(juju: str, providers: int = 3) -> pgt.Model:
    model = pgt.Model(juju_version=juju, max_hooks=2000)
    model.add_app(
        "myapp", di_fix.DIRequirer, units=2, meta=di_fix.REQUIRER_META, inspect=di_fix.di_view
    )
    model.add_app(
        "other",
        di_fix.OurClient,
        units=2,
        meta={**di_fix.REQUIRER_META, "name": "other"},
        inspect=di_fix.client_view,
    )
    model.add_app(
        "postgresql",
        di_fix.OurProvider,
        units=providers,
        meta=di_fix.PROVIDER_META,
        config=di_fix.PROVIDER_CONFIG,
    )
    model.deploy()
    model.relate("myapp:database", "postgresql:database")
    model.relate("other:database", "postgresql:database")
    return model


def views(model: pgt.Model) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for app in ("myapp", "other"):
        for u in model.app(app).units.values():
            seen = model.run(u.name, "update_status").seen
            if app == "myapp":
                out[u.name] = sorted(
                    (d.get("username"), d.get("password"), d.get("endpoints"))
                    for d in seen.values()
                )
            else:
                out[u.name] = (seen["ready"], seen["why"], str(seen.get("master")))
    return out


def assert_all_ready(model: pgt.Model, password: str = di_fix.PASSWORD) -> None:
    v = views(model)
    for name, seen in v.items():
        if name.startswith("myapp"):
            assert seen, name
            assert all(p == password and e for _, p, e in seen), (name, seen)
        elif name.startswith("other"):
            assert seen[0], (name, seen)
            assert password in seen[2], (name, seen)


@pytest.mark.filterwarnings(
    "ignore:JujuVersion.from_environ\\(\\) is deprecated:DeprecationWarning"
)
@pytest.mark.parametrize("juju", ["3.6.4", "2.9.50"])
def test_provider_two_requirers_survive_scale_down_leader_change_and_one_leaving(juju: str) -> None:
    model = two_requirers(juju)
    assert_all_ready(model)
    model.remove_unit("postgresql/0")  # the leader goes
    model.set_leader("postgresql/2")
    assert_all_ready(model)
    model.config("postgresql", password=di_fix.NEW_PASSWORD)
    assert_all_ready(model, di_fix.NEW_PASSWORD)
    model.remove_unit("myapp/1")
    model.remove_unit("other/0")
    assert_all_ready(model, di_fix.NEW_PASSWORD)
    other_rel = model.relation_of("other", "database")
    myapp_rel = model.relation_of("myapp", "database")
    model.remove_relation(other_rel)
    if juju.startswith("3"):
        owned = [s for s in model.secrets.values() if s.owner == "postgresql"]
        assert all(other_rel.id not in s.grants for s in owned), owned
        assert any(myapp_rel.id in s.grants for s in owned), owned
    v = views(model)
    assert all(p == di_fix.NEW_PASSWORD for _, p, _e in v["myapp/0"]), v
    for u in model.app("postgresql").units.values():
        u.stored = ()
    model.set_leader("postgresql/1")
    model.config("postgresql", primary="10.0.0.9")
    v = views(model)
    assert v["myapp/0"], v
    assert all(p == di_fix.NEW_PASSWORD and e == "10.0.0.9:5432" for _, p, e in v["myapp/0"]), v
    model.add_unit("postgresql")
    model.remove_unit("postgresql/1")
    model.remove_unit("postgresql/2")
    v = views(model)
    assert v["myapp/0"], v
    assert all(p == di_fix.NEW_PASSWORD for _, p, _e in v["myapp/0"]), v
