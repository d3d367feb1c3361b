"""PostgreSQLServer through ops.testing.Harness (works on every ops 2.x and 3.x)."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Tuple, Type

import ops
import pytest
from ops.testing import Harness

import pgsql
from pgsql import ConnectionString, Request
from pgsql.server import ClientRelationBrokenEvent, ClientRequestChangedEvent, PostgreSQLServer

# ops 2.17+ marks Harness as pending deprecation; it is still what ops 2.0-2.16 charms use.
pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")

META = """
name: pg
provides:
  db: {interface: pgsql}
  db-admin: {interface: pgsql}
requires:
  backend: {interface: pgsql}
peers:
  replicas: {interface: pg-replicas}
"""

PASSWORD = "Sup3rSecretPassw0rd"
MASTER = ConnectionString(
    host="10.0.0.20", port="5432", dbname="mydb", user="juju_myapp", password=PASSWORD
)
STANDBY = MASTER.replace(host="10.0.0.21")


class ServerCharm(ops.charm.CharmBase):
    """Records the server events; publishes when ``auto`` is set."""

    def __init__(self, framework: ops.framework.Framework):
        super().__init__(framework)
        self.db = PostgreSQLServer(self, "db")
        self.seen: List[Tuple[str, int, str, Request]] = []
        self.auto = False
        self.defer_next = False
        framework.observe(self.db.on.request_changed, self._on_request_changed)
        framework.observe(self.db.on.relation_broken, self._on_broken)

    def _on_request_changed(self, event: ClientRequestChangedEvent) -> None:
        if self.defer_next:
            self.defer_next = False
            event.defer()
            return
        self.seen.append(("changed", event.relation.id, event.app.name, event.request))
        if self.auto:
            self.db.publish(event.relation, master=MASTER, standbys=[STANDBY], version="16")

    def _on_broken(self, event: ClientRelationBrokenEvent) -> None:
        self.seen.append(("broken", event.relation.id, event.app.name, event.request))


def juju_keys(address: str) -> Dict[str, str]:
    return {
        "egress-subnets": f"{address}/32",
        "ingress-address": address,
        "private-address": address,
    }


@pytest.fixture
def harness() -> Any:
    h = Harness(ServerCharm, meta=META)
    h.set_leader(True)
    h.begin()
    yield h
    h.cleanup()


def charm_of(h: Any) -> ServerCharm:
    charm: ServerCharm = h.charm
    return charm


def add_client(h: Any, units: int = 2, app_data: Optional[Dict[str, str]] = None) -> int:
    rel_id: int = h.add_relation("db", "myapp")
    for n in range(units):
        h.add_relation_unit(rel_id, f"myapp/{n}")
        h.update_relation_data(rel_id, f"myapp/{n}", juju_keys(f"10.0.0.{10 + n}"))
    if app_data:
        h.update_relation_data(rel_id, "myapp", app_data)
    return rel_id


def relation(h: Any, rel_id: int) -> ops.model.Relation:
    rel = h.model.get_relation("db", rel_id)
    assert rel is not None
    return rel


def local_bags(h: Any, rel_id: int) -> Tuple[Dict[str, str], Dict[str, str]]:
    return dict(h.get_relation_data(rel_id, "pg")), dict(h.get_relation_data(rel_id, "pg/0"))


# ---- events ---------------------------------------------------------------------------------


def test_request_from_client_app_bag_emits_and_publishes(harness: Any) -> None:
    charm = charm_of(harness)
    charm.auto = True
    rel_id = add_client(harness, app_data={"database": "mydb", "extensions": "citext"})
    assert charm.seen[-1] == ("changed", rel_id, "myapp", Request("mydb", (), ("citext",)))
    app_bag, unit_bag = local_bags(harness, rel_id)
    expected = {
        "database": "mydb",
        "extensions": "citext",
        "allowed-subnets": "10.0.0.10/32,10.0.0.11/32",
        "allowed-units": "myapp/0 myapp/1",
        "master": str(MASTER),
        "standbys": str(STANDBY),
        "version": "16",
    }
    assert app_bag == expected
    assert {k: v for k, v in unit_bag.items() if k in pgsql.server.PUBLISHED_KEYS} == expected


def test_request_from_lowest_unit_bag_with_paren_schema(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=0)
    harness.add_relation_unit(rel_id, "myapp/10")
    harness.update_relation_data(rel_id, "myapp/10", {"database": "ten"})
    harness.add_relation_unit(rel_id, "myapp/2")
    harness.update_relation_data(
        rel_id, "myapp/2", {"database": "two", "extensions": "hstore(s), citext:public"}
    )
    assert charm.db.request(relation(harness, rel_id)) == Request(
        "two", (), ("citext:public", "hstore(s)")
    )
    assert charm.seen[-1][3].extension_names == frozenset({"hstore", "citext"})


def test_no_event_when_nothing_changed(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=1, app_data={"database": "mydb"})
    count = len(charm.seen)
    harness.update_relation_data(rel_id, "myapp/0", {"unrelated": "x"})
    assert len(charm.seen) == count
    harness.update_relation_data(rel_id, "myapp", {"roles": "admin"})
    assert charm.seen[-1][3] == Request("mydb", ("admin",))
    assert len(charm.seen) == count + 1


def test_event_when_client_units_change(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=1, app_data={"database": "mydb"})
    count = len(charm.seen)
    harness.add_relation_unit(rel_id, "myapp/1")
    harness.update_relation_data(rel_id, "myapp/1", juju_keys("10.0.0.11"))
    assert len(charm.seen) > count
    count = len(charm.seen)
    harness.remove_relation_unit(rel_id, "myapp/1")
    assert len(charm.seen) == count + 1
    assert [u.name for u in charm.db.client_units(relation(harness, rel_id))] == ["myapp/0"]


def test_no_event_before_anything_to_act_on(harness: Any) -> None:
    charm = charm_of(harness)
    harness.add_relation("db", "myapp")
    assert charm.seen == []


def test_scale_down_updates_grant(harness: Any) -> None:
    charm = charm_of(harness)
    charm.auto = True
    rel_id = add_client(harness, units=3, app_data={"database": "mydb"})
    assert local_bags(harness, rel_id)[1]["allowed-units"] == "myapp/0 myapp/1 myapp/2"
    harness.remove_relation_unit(rel_id, "myapp/1")
    _, unit_bag = local_bags(harness, rel_id)
    assert unit_bag["allowed-units"] == "myapp/0 myapp/2"
    assert unit_bag["allowed-subnets"] == "10.0.0.10/32,10.0.0.12/32"


def test_broken_emits_and_forgets(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=1, app_data={"database": "mydb"})
    harness.remove_relation(rel_id)
    assert charm.seen[-1][:3] == ("broken", rel_id, "myapp")
    assert str(rel_id) not in charm.db._stored.digests  # pyright: ignore[reportPrivateUsage]


def test_deferred_event_sees_current_request(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=1)
    charm.seen.clear()
    charm.defer_next = True
    harness.update_relation_data(rel_id, "myapp", {"database": "first"})
    assert charm.seen == []
    harness.update_relation_data(rel_id, "myapp", {"database": "second"})
    # the new change was handled; the deferred one comes back with current data
    assert [s[3].database for s in charm.seen] == ["second"]
    harness.framework.reemit()
    assert [s[3].database for s in charm.seen] == ["second", "second"]
    assert charm.seen[-1][1:3] == (rel_id, "myapp")


def test_lost_stored_state_reemits(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=1, app_data={"database": "mydb"})
    count = len(charm.seen)
    charm.db._stored.digests.clear()  # pyright: ignore[reportPrivateUsage]
    harness.update_relation_data(rel_id, "myapp/0", {"unrelated": "y"})
    assert len(charm.seen) == count + 1


# ---- publish --------------------------------------------------------------------------------


def test_publish_non_leader_writes_only_unit_bag_with_state(harness: Any) -> None:
    harness.set_leader(False)
    charm = charm_of(harness)
    rel_id = add_client(harness, units=1, app_data={"database": "mydb"})
    rel = relation(harness, rel_id)
    assert charm.db.publish(rel, master=MASTER, state="hot standby")
    app_bag, unit_bag = local_bags(harness, rel_id)
    assert app_bag == {}
    assert unit_bag["state"] == "hot standby"
    assert "standbys" not in unit_bag
    assert "version" not in unit_bag


def test_state_stays_out_of_app_bag(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=1, app_data={"database": "mydb"})
    charm.db.publish(relation(harness, rel_id), master=MASTER, state="master")
    app_bag, unit_bag = local_bags(harness, rel_id)
    assert "state" not in app_bag
    assert unit_bag["state"] == "master"


def test_publish_is_idempotent_and_minimal(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=1, app_data={"database": "mydb"})
    rel = relation(harness, rel_id)
    assert charm.db.publish(rel, master=MASTER, standbys=[STANDBY], version="16")
    harness.update_relation_data(rel_id, "pg/0", {"host": "10.0.0.20"})  # the charm's own key
    assert not charm.db.publish(rel, master=MASTER, standbys=[STANDBY], version="16")
    # standby removed, version unknown: those keys go, the charm's own key stays
    assert charm.db.publish(rel, master=MASTER)
    app_bag, unit_bag = local_bags(harness, rel_id)
    assert "standbys" not in unit_bag
    assert "version" not in unit_bag
    assert "standbys" not in app_bag
    assert unit_bag["host"] == "10.0.0.20"
    assert ConnectionString(unit_bag["master"]) == MASTER


def test_publish_default_database_and_explicit_request(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=1)
    rel = relation(harness, rel_id)
    charm.db.publish(rel, master=MASTER, database="myapp")
    assert local_bags(harness, rel_id)[1]["database"] == "myapp"
    harness.update_relation_data(rel_id, "myapp", {"database": "mydb", "roles": "r1"})
    # the echo follows what was acted upon, not what was asked since
    charm.db.publish(rel, master=MASTER, database="ignored", request=Request("old"))
    unit_bag = local_bags(harness, rel_id)[1]
    assert unit_bag["database"] == "old"
    assert "roles" not in unit_bag
    charm.db.publish(rel, master=MASTER, database="ignored")
    unit_bag = local_bags(harness, rel_id)[1]
    assert (unit_bag["database"], unit_bag["roles"]) == ("mydb", "r1")


def test_granted_units_subset(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=3, app_data={"database": "mydb"})
    rel = relation(harness, rel_id)
    units = charm.db.client_units(rel)
    charm.db.publish(rel, master=MASTER, granted_units=[units[2], "myapp/0", "myapp/7"])
    unit_bag = local_bags(harness, rel_id)[1]
    assert unit_bag["allowed-units"] == "myapp/0 myapp/2"
    assert unit_bag["allowed-subnets"] == "10.0.0.10/32,10.0.0.12/32"
    charm.db.publish(rel, master=MASTER, granted_units=[])
    unit_bag = local_bags(harness, rel_id)[1]
    assert "allowed-units" not in unit_bag
    assert "allowed-subnets" not in unit_bag


def test_grant_falls_back_to_address(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = harness.add_relation("db", "myapp")
    harness.add_relation_unit(rel_id, "myapp/0")
    harness.update_relation_data(rel_id, "myapp/0", {"private-address": "10.9.9.9"})
    charm.db.publish(relation(harness, rel_id), master=MASTER)
    assert local_bags(harness, rel_id)[1]["allowed-subnets"] == "10.9.9.9/32"


def test_revoke_withdraws_everything_published(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=1, app_data={"database": "mydb"})
    rel = relation(harness, rel_id)
    charm.db.publish(rel, master=MASTER, standbys=[STANDBY], version="16", state="master")
    harness.update_relation_data(rel_id, "pg/0", {"host": "10.0.0.20"})
    assert charm.db.revoke(rel)
    app_bag, unit_bag = local_bags(harness, rel_id)
    assert app_bag == {}
    assert not set(unit_bag) & set(pgsql.server.PUBLISHED_KEYS)
    assert unit_bag["host"] == "10.0.0.20"
    assert not charm.db.revoke(rel)


def test_published_bag_makes_client_ready(harness: Any) -> None:
    """What publish writes is what protocol.evaluate (the client's rule) accepts."""
    charm = charm_of(harness)
    rel_id = add_client(harness, units=2, app_data={"database": "mydb", "extensions": "citext"})
    charm.db.publish(relation(harness, rel_id), master=MASTER, standbys=[STANDBY], version="16")
    app_bag, unit_bag = local_bags(harness, rel_id)
    for n in (0, 1):
        readiness = pgsql.protocol.evaluate(
            Request("mydb", (), ("citext",)),
            f"myapp/{n}",
            juju_keys(f"10.0.0.{10 + n}"),
            "pg",
            app_bag,
            {"pg/0": unit_bag},
        )
        assert readiness.ready, readiness.why
        assert readiness.master == MASTER
        assert readiness.standbys == (STANDBY,)
        assert readiness.version == "16"


# ---- bad input ------------------------------------------------------------------------------


def test_garbage_request_is_cleaned_not_raised(
    harness: Any, caplog: pytest.LogCaptureFixture
) -> None:
    charm = charm_of(harness)
    caplog.set_level(logging.DEBUG, logger="pgsql")
    rel_id = add_client(
        harness,
        units=1,
        app_data={"database": "bad\x00db", "roles": "ok, ", "extensions": "good,bad ext,x(y"},
    )
    rel = relation(harness, rel_id)
    request = charm.db.request(rel)
    assert request == Request("", ("ok",), ("good",))
    problems = charm.db.request_problems(rel)
    assert len(problems) == 3
    assert any("database" in p for p in problems)
    assert charm.seen[-1][3] == request
    assert any("ignoring parts of the request" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"master": str(MASTER)}, TypeError, "master must be a pgsql.ConnectionString"),
        ({"master": MASTER, "standbys": STANDBY}, TypeError, "not a single"),
        ({"master": MASTER, "standbys": str(STANDBY)}, TypeError, "not a single"),
        ({"master": MASTER, "standbys": [str(STANDBY)]}, TypeError, "standbys must hold"),
        ({"master": MASTER, "version": 16}, TypeError, "version must be a str"),
        ({"master": MASTER, "database": "a,b"}, ValueError, "comma"),
        ({"master": MASTER, "granted_units": ["other/0"]}, ValueError, "client application"),
        ({"master": MASTER, "granted_units": "myapp/0"}, TypeError, "iterable of units"),
        ({"master": MASTER, "request": {"database": "x"}}, TypeError, "pgsql.Request"),
    ],
)
def test_publish_misuse(
    harness: Any, kwargs: Dict[str, Any], error: Type[Exception], match: str
) -> None:
    charm = charm_of(harness)
    rel_id = add_client(harness, units=1)
    with pytest.raises(error, match=match) as info:
        charm.db.publish(relation(harness, rel_id), **kwargs)
    assert PASSWORD not in str(info.value)


def test_relation_of_another_endpoint_is_refused(harness: Any) -> None:
    charm = charm_of(harness)
    rel_id: int = harness.add_relation("db-admin", "myapp")
    rel = harness.model.get_relation("db-admin", rel_id)
    with pytest.raises(ValueError, match="belongs to endpoint 'db-admin'"):
        charm.db.publish(rel, master=MASTER)
    with pytest.raises(ValueError, match="db-admin"):
        charm.db.request(rel)
    with pytest.raises(TypeError, match=r"ops\.Relation"):
        charm.db.revoke(rel_id)  # type: ignore[arg-type]


@pytest.mark.parametrize("endpoint", ["backend", "replicas", "nope"])
def test_constructor_needs_a_provides_endpoint(endpoint: str) -> None:
    class Bad(ops.charm.CharmBase):
        def __init__(self, framework: ops.framework.Framework):
            super().__init__(framework)
            self.db = PostgreSQLServer(self, endpoint)

    h = Harness(Bad, meta=META)
    try:
        with pytest.raises(ValueError, match="needs a 'provides' endpoint"):
            h.begin()
    finally:
        h.cleanup()


def test_two_endpoints_keep_separate_state(harness: Any) -> None:
    class Two(ops.charm.CharmBase):
        def __init__(self, framework: ops.framework.Framework):
            super().__init__(framework)
            self.db = PostgreSQLServer(self, "db")
            self.admin = PostgreSQLServer(self, "db-admin")
            self.kinds: List[str] = []
            framework.observe(self.db.on.request_changed, self._on_db)
            framework.observe(self.admin.on.request_changed, self._on_admin)

        def _on_db(self, event: ClientRequestChangedEvent) -> None:
            self.kinds.append("db")

        def _on_admin(self, event: ClientRequestChangedEvent) -> None:
            self.kinds.append("admin")

    h = Harness(Two, meta=META)
    try:
        h.begin()
        charm: Two = h.charm
        rel = h.add_relation("db-admin", "myapp")
        h.add_relation_unit(rel, "myapp/0")
        h.update_relation_data(rel, "myapp/0", juju_keys("10.0.0.10"))
        assert charm.kinds
        assert set(charm.kinds) == {"admin"}
    finally:
        h.cleanup()


def test_logs_never_hold_the_password(harness: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    charm = charm_of(harness)
    charm.auto = True
    rel_id = add_client(harness, units=2, app_data={"database": "mydb"})
    harness.remove_relation_unit(rel_id, "myapp/1")
    harness.remove_relation(rel_id)
    assert caplog.records  # the decisions were logged...
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)  # ...without secrets
    pgsql_records = [r for r in caplog.records if r.name.startswith("pgsql")]
    assert all(r.levelno <= logging.DEBUG for r in pgsql_records)
