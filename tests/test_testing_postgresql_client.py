"""pgsql.testing's postgresql_client provider: every described state judged by evaluate_client.

The states :class:`pgsql.testing.Provider` describes are checked against the one readiness rule
(:func:`pgsql.protocol.evaluate_client`, which :class:`pgsql.PostgreSQLClient` applies), and the
Scenario and Harness helpers against what a charm reading the relation and its secrets sees.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Tuple, Type

import ops
import ops.testing
import pytest
from fix_no_scenario import run_without_scenario
from needs import needs_scenario

import pgsql
from pgsql import ConnectionString, Request, protocol
from pgsql import testing as pgt
from pgsql.protocol import Readiness

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")


MYDB = Request.build(database="mydb")
CLIENT = pgt.Client(request=MYDB)
REQUESTED = list(protocol.REQUESTED_SECRETS)


def judge(
    provider: pgt.Provider,
    client: pgt.Client = CLIENT,
    *,
    external: bool = False,
    request: Optional[Request] = None,
) -> Tuple[Readiness, pgt.ProviderBags]:
    """The described provider judged the way PostgreSQLClient does (evaluate_client)."""
    bags = provider.databags(client, external=external)
    verdict = protocol.evaluate_client(
        client.request if request is None else request,
        bags.app,
        bags.units,
        bags.readable(),
        remote_app=provider.app,
    )
    return verdict, bags


def codes(r: Readiness, blocking: Optional[bool] = None) -> List[str]:
    return [x.code for x in r.reasons if blocking is None or x.blocking == blocking]


def cs(host: str, port: str, db: str, user: str = "relation_id_7", pw: str = pgt.PASSWORD) -> str:
    return str(ConnectionString(host=host, port=port, dbname=db, user=user, password=pw))


# ---- every kind answered, with and without secrets -------------------------------------------

K8S_PRIMARY = "postgresql-k8s-primary.testing.svc.cluster.local"
K8S_REPLICAS = "postgresql-k8s-replicas.testing.svc.cluster.local"
PGB_K8S = "pgbouncer-k8s.testing.svc.cluster.local"

EXPECTED = {
    # kind: (master, standbys) as a requirer must build them
    pgt.POSTGRESQL_VM: (
        cs("198.51.100.10", "5432", "mydb"),
        [cs("198.51.100.11", "5432", "mydb"), cs("198.51.100.12", "5432", "mydb")],
    ),
    pgt.POSTGRESQL_K8S: (
        cs(K8S_PRIMARY, "5432", "mydb"),
        [cs(K8S_REPLICAS, "5432", "mydb")],
    ),
    pgt.PGBOUNCER_VM: (
        cs("localhost", "6432", "mydb"),
        [cs("localhost", "6432", "mydb_readonly")],
    ),
    pgt.PGBOUNCER_K8S: (
        cs(PGB_K8S, "6432", "mydb"),
        [cs(PGB_K8S, "6432", "mydb_readonly")],
    ),
}


@pytest.mark.parametrize("secrets", [True, False], ids=["secrets", "plaintext"])
@pytest.mark.parametrize("kind", pgt.KINDS)
def test_answered_is_ready_with_the_expected_connection_strings(kind: str, secrets: bool) -> None:
    units = 3 if kind == pgt.POSTGRESQL_VM else 1
    provider = pgt.Provider(kind=kind, units=units, secrets=secrets)
    r, bags = judge(provider)
    assert r.ready, r.why
    master, standbys = EXPECTED[kind]
    assert str(r.master) == master
    assert [str(s) for s in r.standbys] == standbys
    # the helper's own expectation is the same
    assert r.master == provider.master(CLIENT)
    assert list(r.standbys) == provider.standby_list(CLIENT)
    assert (r.version, r.database, r.source) == ("16.14", "mydb", provider.app)
    assert r.tls is False
    assert r.tls_ca is None
    assert protocol.TLS_ENABLED not in codes(r)
    assert codes(r, blocking=True) == []
    if secrets:
        assert set(protocol.secret_fields(bags.app)) == {"user", "tls"}
        assert not {"username", "password", "uris", "read-only-uris", "tls"} & set(bags.app)
    else:
        assert protocol.secret_fields(bags.app) == {}
        assert bags.app["password"] == pgt.PASSWORD
        assert bags.app["tls"] == "False"
        assert "tls-ca" not in bags.app  # in clear, no CA is no key
        assert bags.secrets == {}


def test_postgresql_vm_bags_are_the_documented_ones() -> None:
    provider = pgt.Provider(units=3, primary=1)
    bags = provider.databags(CLIENT)
    user_uri = provider.secret_uri("user")
    tls_uri = provider.secret_uri("tls")
    assert bags.app == {
        "database": "mydb",
        "endpoints": "198.51.100.11:5432",
        "read-only-endpoints": "198.51.100.10:5432,198.51.100.12:5432",
        "version": "16.14",
        "data": json.dumps({"database": "mydb", "requested-secrets": json.dumps(REQUESTED)}),
        "secret-user": user_uri,
        "secret-tls": tls_uri,
    }
    assert user_uri.startswith(f"secret://{pgt.MODEL_UUID}/")
    assert len(user_uri.rpartition("/")[2]) == 20
    pw = pgt.PASSWORD
    assert bags.secrets == {
        user_uri: {
            "username": "relation_id_7",
            "password": pw,
            "uris": f"postgresql://relation_id_7:{pw}@198.51.100.11:5432/mydb",
            "read-only-uris": f"postgresql://relation_id_7:{pw}@198.51.100.10:5432,"
            "198.51.100.12:5432/mydb",
        },
        tls_uri: {"tls": "False", "tls-ca": ""},
    }
    # the provider's unit bags hold Juju's keys only
    assert bags.units == {f"postgresql/{n}": pgt.juju_keys(f"198.51.100.1{n}") for n in range(3)}
    assert bags.granted
    assert bags.readable() == bags.secrets


def test_postgresql_vm_without_replica_publishes_the_primary_as_read_only() -> None:
    r, bags = judge(pgt.Provider())
    assert bags.app["read-only-endpoints"] == bags.app["endpoints"] == "198.51.100.10:5432"
    assert [str(s) for s in r.standbys] == [cs("198.51.100.10", "5432", "mydb")]


def test_postgresql_vm_failover_moves_endpoints() -> None:
    before, _ = judge(pgt.Provider(units=2))
    after, _ = judge(pgt.Provider(units=2, primary=1))
    assert before.master is not None
    assert after.master is not None
    assert (before.master.host, after.master.host) == ("198.51.100.10", "198.51.100.11")
    assert [s.host for s in after.standbys] == ["198.51.100.10"]


def test_postgresql_16_k8s_doubles_the_port_in_read_only_uris() -> None:
    provider = pgt.Provider(kind=pgt.POSTGRESQL_K8S)
    r, bags = judge(provider)
    content = bags.secrets[provider.secret_uri("user")]
    assert content["read-only-uris"].endswith(f"@{K8S_REPLICAS}:5432:5432/mydb")
    # a note, not a blocker: standbys come from read-only-endpoints
    assert r.ready
    assert protocol.MALFORMED in codes(r, blocking=False)
    assert [s.port for s in r.standbys] == ["5432"]
    # PostgreSQL 14 K8s does not double it, and names its users relation-<id>
    r14, bags14 = judge(provider.evolve(version="14.12", secrets=False))
    assert bags14.app["read-only-uris"].endswith(f"@{K8S_REPLICAS}:5432/mydb")
    assert bags14.app["username"] == "relation-7"
    assert protocol.MALFORMED not in codes(r14)
    assert r14.master is not None
    assert r14.master.user == "relation-7"


def test_kubernetes_failover_changes_nothing() -> None:
    provider = pgt.Provider(kind=pgt.POSTGRESQL_K8S, units=3)
    assert provider.databags(CLIENT) == provider.evolve(primary=2).databags(CLIENT)


# ---- PgBouncer ------------------------------------------------------------------------------


def test_pgbouncer_vm_is_a_subordinate_ready_only_with_its_unit() -> None:
    provider = pgt.Provider(kind=pgt.PGBOUNCER_VM)
    r, bags = judge(provider)
    assert bags.app["subordinated"] == "true"
    assert bags.units["pgbouncer/0"]["state"] == "ready"
    assert r.ready
    waiting, bags = judge(provider.evolve(subordinate_ready=False))
    assert "state" not in bags.units["pgbouncer/0"]
    assert not waiting.ready
    assert codes(waiting, blocking=True) == [protocol.SUBORDINATE_NOT_READY]


def test_pgbouncer_vm_external_publishes_its_address() -> None:
    client = pgt.Client(request=MYDB)
    provider = pgt.Provider(kind=pgt.PGBOUNCER_VM)
    r, bags = judge(provider, client, external=True)
    assert json.loads(bags.app["data"])["external-node-connectivity"] == "true"
    assert bags.app["endpoints"] == "198.51.100.10:6432"
    assert r.master == provider.master(client, external=True)
    assert r.master is not None
    assert r.master.host == "198.51.100.10"


def test_pgbouncer_k8s_read_only_database() -> None:
    r, _ = judge(pgt.Provider(kind=pgt.PGBOUNCER_K8S, secrets=False))
    assert [s.dbname for s in r.standbys] == ["mydb_readonly"]
    assert r.master is not None
    assert r.master.dbname == "mydb"


# ---- the states -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", pgt.KINDS)
@pytest.mark.parametrize("state", [pgt.NOT_ANSWERED, pgt.GONE])
def test_not_answered_and_gone_publish_nothing(kind: str, state: str) -> None:
    provider = pgt.Provider(kind=kind, state=state)
    r, bags = judge(provider)
    assert bags.app == {}
    assert bags.secrets == {}
    assert not r.ready
    assert codes(r, blocking=True) == [protocol.NOT_ANSWERED]
    assert (r.master, r.standbys) == (None, ())


@pytest.mark.parametrize("kind", pgt.KINDS)
def test_secret_not_granted(kind: str) -> None:
    provider = pgt.Provider(kind=kind, state=pgt.SECRET_NOT_GRANTED)
    r, bags = judge(provider)
    # the same bag as answered: only the grant differs
    answered = provider.evolve(state=pgt.ANSWERED).databags(CLIENT)
    assert bags.app == answered.app
    assert bags.secrets == answered.secrets
    assert not bags.granted
    assert set(bags.readable().values()) == {None}
    assert not r.ready
    # the user secret blocks; the tls secret (a flag and a CA) is only a note
    assert codes(r, blocking=True) == [protocol.SECRET_NOT_GRANTED]
    assert pgt.PASSWORD not in repr(r)


def test_a_provider_without_secrets_has_nothing_to_grant() -> None:
    with pytest.raises(ValueError, match="none to grant"):
        pgt.Provider(state=pgt.SECRET_NOT_GRANTED, secrets=False)


def test_rotation_is_a_new_revision_of_the_same_secret() -> None:
    provider = pgt.Provider(units=2)
    before, old = judge(provider)
    after, new = judge(provider.rotated())
    assert new.app == old.app  # the bag does not change: Juju runs no relation-changed
    uri = provider.secret_uri("user")
    assert list(new.secrets) == list(old.secrets)
    assert new.secrets[uri]["password"] == f"{pgt.PASSWORD}-1" != old.secrets[uri]["password"]
    assert before.master is not None
    assert after.master is not None
    assert (before.master.password, after.master.password) == (pgt.PASSWORD, f"{pgt.PASSWORD}-1")
    assert after.master == provider.rotated().master(CLIENT)
    assert before.snapshot() != after.snapshot()  # what makes it a master_changed
    assert judge(provider.rotated().rotated())[0].master != after.master


def test_rotation_in_clear_changes_the_bag() -> None:
    provider = pgt.Provider(secrets=False)
    old = provider.databags(CLIENT)
    new = provider.rotated().databags(CLIENT)
    changed = {k for k in new.app if new.app[k] != old.app.get(k)}
    assert changed == {"password", "uris", "read-only-uris"}


@pytest.mark.parametrize("secrets", [True, False], ids=["secrets", "plaintext"])
def test_tls_on_with_a_ca(secrets: bool) -> None:
    provider = pgt.Provider(tls=True, secrets=secrets)
    r, bags = judge(provider)
    assert r.ready
    assert protocol.TLS_ENABLED in codes(r, blocking=False)
    assert r.tls is True
    assert r.tls_ca == pgt.TLS_CA
    if secrets:
        assert bags.secrets[provider.secret_uri("tls")] == {"tls": "True", "tls-ca": pgt.TLS_CA}
    else:
        assert (bags.app["tls"], bags.app["tls-ca"]) == ("True", pgt.TLS_CA)
    # a new CA is a changed master (TLS settings count in the snapshot)
    other, _ = judge(provider.evolve(tls_ca=pgt.TLS_CA.replace("MIIB", "MIIC")))
    assert other.snapshot() != r.snapshot()
    off, _ = judge(provider.evolve(tls=False))
    assert (off.tls, off.tls_ca) == (False, None)


def test_database_echo_and_request_snapshot() -> None:
    r, bags = judge(pgt.Provider(database="otherdb"))
    assert bags.app["database"] == "otherdb"
    assert not r.ready
    assert protocol.DATABASE_MISMATCH in codes(r, blocking=True)
    # the provider answered mydb; the request changed since
    changed, _ = judge(pgt.Provider(), request=Request.build(database="newdb"))
    assert not changed.ready
    assert protocol.REQUEST_CHANGED in codes(changed, blocking=True)


def test_roles_are_echoed_in_the_snapshot_only() -> None:
    client = pgt.Client(request=Request.build(database="mydb", roles=["charmed_read"]))
    r, bags = judge(pgt.Provider(), client)
    assert json.loads(bags.app["data"])["extra-user-roles"] == "charmed_read"
    assert r.ready
    assert protocol.REQUEST_CHANGED not in codes(r)


def test_a_provider_answers_only_a_named_database() -> None:
    provider = pgt.Provider()
    bags = provider.databags(pgt.Client())  # the default request names no database
    assert bags.app == {}
    assert provider.databags(CLIENT, asked={}).app == {}
    assert provider.secret_contents({}) == {}


def test_fields_not_requested_in_secrets_are_published_in_clear() -> None:
    asked = {"database": "mydb", "requested-secrets": json.dumps(["username", "password"])}
    provider = pgt.Provider()
    bags = provider.databags(CLIENT, asked=asked)
    assert protocol.secret_fields(bags.app) == {"user": provider.secret_uri("user")}
    assert bags.secrets[provider.secret_uri("user")] == {
        "username": "relation_id_7",
        "password": pgt.PASSWORD,
    }
    assert bags.app["uris"].startswith("postgresql://relation_id_7:")  # the pitfall, in clear
    r = protocol.evaluate_client(MYDB, bags.app, bags.units, bags.readable())
    assert r.ready


def test_relation_id_in_user_name_and_secret_uris() -> None:
    provider = pgt.Provider()
    a = provider.databags(CLIENT, relation_id=3)
    b = provider.databags(CLIENT, relation_id=4)
    assert a.app["secret-user"] != b.app["secret-user"]
    assert a.secrets[a.app["secret-user"]]["username"] == "relation_id_3"
    assert provider.master(CLIENT, relation_id=3).user == "relation_id_3"
    assert pgt.Provider(user="svc").master(CLIENT).user == "svc"
    # another application, other secrets
    assert provider.evolve(app="pg2").secret_uri("user") != provider.secret_uri("user")


def test_reprs_hold_no_password() -> None:
    for provider in (pgt.Provider(), pgt.Provider(secrets=False, rotations=2)):
        bags = provider.databags(CLIENT)
        assert provider.password not in repr(bags)
        assert provider.password not in repr(provider)
        assert "password" in repr(bags)  # the key names are shown


@pytest.mark.parametrize(
    "kwargs",
    [{"kind": "postgresql"}, {"state": "ready"}, {"units": 0}, {"primary": 1}, {"rotations": -1}],
)
def test_provider_misuse(kwargs: Dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"must be|needs at least"):
        pgt.Provider(**kwargs)


def test_default_app_names_and_evolve() -> None:
    assert [pgt.Provider(kind=k).app for k in pgt.KINDS] == [
        "postgresql",
        "postgresql-k8s",
        "pgbouncer",
        "pgbouncer-k8s",
    ]
    provider = pgt.Provider(app="db")
    assert provider.evolve(state=pgt.GONE) == pgt.Provider(app="db", state=pgt.GONE)
    assert provider.rotated().rotated().rotations == 2
    assert pgt.Provider().evolve(kind=pgt.PGBOUNCER_VM).app == "pgbouncer"
    assert provider.evolve(kind=pgt.PGBOUNCER_VM).app == "db"
    assert pgt.PROVIDER_STATES == ("not-answered", "secret-not-granted", "answered", "gone")


# ---- what the requirer published ------------------------------------------------------------


def test_provider_request_reads_the_requirer_bag() -> None:
    request = Request.build(database="mydb", roles=["charmed_read", "charmed_dml"])
    got = pgt.ProviderRequest.of(request, external=True)
    assert got == pgt.ProviderRequest(
        database="mydb",
        extra_user_roles=("charmed_dml", "charmed_read"),  # Request sorts them
        requested_secrets=tuple(REQUESTED),
        external=True,
    )
    assert got.as_request() == request
    assert pgt.ProviderRequest.from_bag({}) == pgt.ProviderRequest()
    odd = pgt.ProviderRequest.from_bag({"requested-secrets": "{", "database": "a\x00b"})
    assert odd.requested_secrets == ()
    assert odd.as_request() == Request()
    assert pgt.ProviderRequest.from_bag({"requested-secrets": '["a", 1]'}).requested_secrets == (
        "a",
    )


def test_imports_without_scenario() -> None:
    run_without_scenario(
        """
        from pgsql import Request
        from pgsql import testing as pgt
        client = pgt.Client(request=Request.build(database="mydb"))
        assert "endpoints" in pgt.Provider().databags(client).app
        try:
            pgt.scenario_provider_relation(pgt.Provider(), client)
        except RuntimeError as e:
            assert "ops[testing]" in str(e), e
        else:
            raise AssertionError("scenario_provider_relation worked without Scenario")
        """
    )


# ---- the helpers, seen by a charm that reads the relation itself ----------------------------

PROBE_META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client"}},
}
PROBE_META_YAML = """
name: myapp
requires:
  database: {interface: postgresql_client}
"""


class ProbeCharm(ops.charm.CharmBase):
    """Reads the provider's bag and its user secret the way a requirer must, and records it."""

    def __init__(self, framework: ops.framework.Framework):
        super().__init__(framework)
        self.seen: List[Tuple[str, str]] = []
        on = self.on["database"]
        framework.observe(on.relation_created, self._on_created)
        for event in (on.relation_joined, on.relation_changed, on.relation_departed):
            framework.observe(event, self._record)
        framework.observe(self.on.update_status, self._record)
        if hasattr(self.on, "secret_changed"):
            framework.observe(self.on.secret_changed, self._record)

    def _on_created(self, event: ops.charm.RelationCreatedEvent) -> None:
        if self.unit.is_leader():
            event.relation.data[self.app].update(protocol.requirer_databag(MYDB))

    def _record(self, event: ops.framework.EventBase) -> None:
        self.seen.append((event.handle.kind, self._password()))

    def _password(self) -> str:
        relation = self.model.get_relation("database")
        if relation is None:
            return "no relation"
        bag = relation.data[relation.app]
        uri = bag.get("secret-user")
        if not uri:
            return bag.get("password", "nothing")
        try:
            secret = self.model.get_secret(id=uri)
        except ops.model.ModelError as e:  # Juju: "permission denied"; here: not found
            return type(e).__name__
        return secret.get_content(refresh=True)["password"]


class ProbeScenario:
    """Runs the probe charm and keeps what it saw at each hook."""

    def __init__(self) -> None:
        self.seen: List[Tuple[str, str]] = []
        testing: Any = ops.testing
        probe = self

        class Charm(ProbeCharm):
            def _record(self, event: ops.framework.EventBase) -> None:
                super()._record(event)
                probe.seen.append(self.seen[-1])

        self.ctx = testing.Context(Charm, meta=PROBE_META)

    def take(self) -> List[Tuple[str, str]]:
        seen, self.seen = self.seen, []
        return seen


@needs_scenario
def test_scenario_relation_and_secrets_are_what_the_charm_reads() -> None:
    testing: Any = ops.testing
    probe = ProbeScenario()
    provider = pgt.Provider(units=2)
    db, secrets = pgt.scenario_provider_relation(provider, CLIENT)
    assert db.interface == "postgresql_client"
    assert db.remote_app_name == "postgresql"
    assert {s.id for s in secrets} == {
        provider.secret_uri("user", db.id),
        provider.secret_uri("tls", db.id),
    }
    assert db.local_app_data == protocol.requirer_databag(MYDB)
    assert db.local_unit_data["ingress-address"] == "192.0.2.10"
    state = testing.State(leader=True, relations={db}, secrets=secrets)
    out = probe.ctx.run(probe.ctx.on.relation_changed(db, remote_unit=0), state)
    assert probe.take() == [("database_relation_changed", pgt.PASSWORD)]
    assert pgt.provider_requested(out) == pgt.ProviderRequest.of(MYDB)
    assert pgt.provider_requested(out).as_request() == MYDB


@needs_scenario
def test_scenario_not_granted_then_granted_then_rotated_then_gone() -> None:
    testing: Any = ops.testing
    probe = ProbeScenario()
    ctx = probe.ctx
    provider = pgt.Provider(state=pgt.SECRET_NOT_GRANTED)
    db, secrets = pgt.scenario_provider_relation(provider, CLIENT)
    assert secrets == []  # not readable: absent from the State
    out = ctx.run(
        ctx.on.relation_changed(db, remote_unit=0), testing.State(leader=True, relations={db})
    )
    assert probe.take() == [("database_relation_changed", "SecretNotFoundError")]

    # the grant alone: the bags do not change, Juju runs no hook
    out = pgt.scenario_provider_apply(ctx, out, provider.evolve(state=pgt.ANSWERED), CLIENT)
    assert probe.take() == []
    provider_bag = pgt.relation_of(out, "database").remote_app_data
    assert {s.id for s in out.secrets} == {provider_bag["secret-user"], provider_bag["secret-tls"]}
    out = ctx.run(ctx.on.update_status(), out)
    assert probe.take() == [("update_status", pgt.PASSWORD)]

    # rotation: the same secret, a new revision; secret-changed only
    rotated = provider.evolve(state=pgt.ANSWERED).rotated()
    moved = pgt.scenario_provider_move(out, rotated, CLIENT)
    secret = next(
        s
        for s in moved.secrets
        if s.id.endswith(pgt.relation_of(moved, "database").remote_app_data["secret-user"])
    )
    assert secret.tracked_content["password"] == pgt.PASSWORD
    assert secret.latest_content["password"] == f"{pgt.PASSWORD}-1"
    out = pgt.scenario_provider_apply(ctx, out, rotated, CLIENT)
    assert probe.take() == [("secret_changed", f"{pgt.PASSWORD}-1")]
    # the charm refreshed: nothing more to apply
    assert pgt.scenario_provider_apply(ctx, out, rotated, CLIENT) == out
    assert probe.take() == []

    out = pgt.scenario_provider_apply(ctx, out, rotated.evolve(state=pgt.GONE), CLIENT)
    assert probe.take() == [("database_relation_changed", "nothing")]
    assert pgt.relation_of(out, "database").remote_app_data == {}
    assert out.secrets == frozenset() or list(out.secrets) == []


@needs_scenario
def test_scenario_apply_units_and_subordinate_state() -> None:
    probe = ProbeScenario()
    ctx = probe.ctx
    testing: Any = ops.testing
    provider = pgt.Provider(kind=pgt.PGBOUNCER_VM, subordinate_ready=False, secrets=False)
    db, _ = pgt.scenario_provider_relation(provider, CLIENT)
    out = ctx.run(
        ctx.on.relation_changed(db, remote_unit=0), testing.State(leader=True, relations={db})
    )
    probe.take()
    out = pgt.scenario_provider_apply(ctx, out, provider.evolve(subordinate_ready=True), CLIENT)
    assert probe.take() == [("database_relation_changed", pgt.PASSWORD)]
    assert pgt.relation_of(out, "database").remote_units_data[0]["state"] == "ready"

    pg = pgt.Provider(units=1, secrets=False)
    db, _ = pgt.scenario_provider_relation(pg, CLIENT)
    out = ctx.run(
        ctx.on.relation_changed(db, remote_unit=0), testing.State(leader=True, relations={db})
    )
    probe.take()
    out = pgt.scenario_provider_apply(ctx, out, pg.evolve(units=3), CLIENT)
    # two units join (and change), then the app bag's new read-only-endpoints
    assert [k for k, _ in probe.take()] == [
        "database_relation_joined",
        "database_relation_changed",
        "database_relation_joined",
        "database_relation_changed",
        "database_relation_changed",
    ]
    out = pgt.scenario_provider_apply(ctx, out, pg.evolve(units=2), CLIENT)
    assert [k for k, _ in probe.take()] == [
        "database_relation_departed",
        "database_relation_changed",
    ]
    assert sorted(pgt.relation_of(out, "database").remote_units_data) == [0, 1]


@needs_scenario
def test_scenario_unpublished_request_and_keeps_other_secrets() -> None:
    testing: Any = ops.testing
    probe = ProbeScenario()
    ctx = probe.ctx
    db, secrets = pgt.scenario_provider_relation(
        pgt.Provider(state=pgt.NOT_ANSWERED), CLIENT, published=False, relation_id=9
    )
    assert db.id == 9
    assert (dict(db.local_app_data), dict(db.remote_app_data), secrets) == ({}, {}, [])
    other = testing.Secret({"token": "x"}, owner="app")
    out = ctx.run(
        ctx.on.relation_created(db), testing.State(leader=True, relations={db}, secrets={other})
    )
    assert pgt.provider_requested(out) == pgt.ProviderRequest.of(MYDB)
    out = pgt.scenario_provider_apply(ctx, out, pgt.Provider(), CLIENT)
    assert probe.take() == [("database_relation_changed", pgt.PASSWORD)]
    assert other.id in {s.id for s in out.secrets}
    assert len(out.secrets) == 3
    assert pgt.relation_of(out, "database").remote_app_data[
        "secret-user"
    ] == pgt.Provider().secret_uri("user", 9)


# ---- Harness --------------------------------------------------------------------------------


@pytest.fixture
def probe_harness() -> Any:
    h = ops.testing.Harness(ProbeCharm, meta=PROBE_META_YAML)
    h.set_leader(True)
    h.begin()
    yield h
    h.cleanup()


def test_harness_relation_secrets_rotation_and_gone(probe_harness: Any) -> None:
    harness = probe_harness
    charm: ProbeCharm = harness.charm
    provider = pgt.Provider(units=2)
    rel_id = pgt.harness_provider_relation(harness, provider)
    assert pgt.harness_provider_requested(harness, rel_id) == pgt.ProviderRequest.of(MYDB)
    # joined per unit, then changed for the application bag and for each unit's (Juju's keys)
    assert charm.seen == [
        ("database_relation_joined", "nothing"),
        ("database_relation_joined", "nothing"),
        *[("database_relation_changed", pgt.PASSWORD)] * 3,
    ]
    bag = harness.get_relation_data(rel_id, "postgresql")
    uri = bag["secret-user"]
    assert harness.get_secret_grants(uri, rel_id) == {"myapp"}
    assert bag["endpoints"] == "198.51.100.10:5432"

    charm.seen.clear()
    pgt.harness_provider_move(harness, rel_id, provider.rotated())
    assert charm.seen == [("secret_changed", f"{pgt.PASSWORD}-1")]
    assert harness.get_relation_data(rel_id, "postgresql")["secret-user"] == uri
    assert harness.get_secret_revisions(uri) == [1, 2]
    charm.seen.clear()
    pgt.harness_provider_move(harness, rel_id, provider.rotated())  # nothing changes
    assert charm.seen == []

    pgt.harness_provider_move(harness, rel_id, provider.evolve(state=pgt.GONE, units=1))
    # the unit departs first (the answer is still there), then the bag is withdrawn
    assert charm.seen == [
        ("database_relation_departed", f"{pgt.PASSWORD}-1"),
        ("database_relation_changed", "nothing"),
    ]
    assert harness.get_secret_grants(uri, rel_id) == set()


def test_harness_not_granted_then_granted(probe_harness: Any) -> None:
    harness = probe_harness
    charm: ProbeCharm = harness.charm
    provider = pgt.Provider(state=pgt.SECRET_NOT_GRANTED)
    rel_id = pgt.harness_provider_relation(harness, provider)
    assert charm.seen[-1] == ("database_relation_changed", "SecretNotFoundError")
    uri = harness.get_relation_data(rel_id, "postgresql")["secret-user"]
    assert harness.get_secret_grants(uri, rel_id) == set()
    charm.seen.clear()
    pgt.harness_provider_move(harness, rel_id, provider.evolve(state=pgt.ANSWERED))
    assert charm.seen == []  # a grant runs no hook
    harness.charm.on.update_status.emit()
    assert charm.seen == [("update_status", pgt.PASSWORD)]


def test_harness_plaintext_and_pgbouncer(probe_harness: Any) -> None:
    harness = probe_harness
    charm: ProbeCharm = harness.charm
    provider = pgt.Provider(kind=pgt.PGBOUNCER_VM, secrets=False, subordinate_ready=False)
    rel_id = pgt.harness_provider_relation(harness, provider)
    assert harness.get_relation_data(rel_id, "pgbouncer")["subordinated"] == "true"
    assert "state" not in harness.get_relation_data(rel_id, "pgbouncer/0")
    charm.seen.clear()
    pgt.harness_provider_move(harness, rel_id, provider.evolve(subordinate_ready=True))
    assert charm.seen == [("database_relation_changed", pgt.PASSWORD)]
    charm.seen.clear()
    pgt.harness_provider_move(harness, rel_id, provider.evolve(subordinate_ready=True).rotated())
    assert charm.seen == [("database_relation_changed", f"{pgt.PASSWORD}-1")]


# ---- the helpers with the real client -------------------------------------------------------

DB_EVENTS = (*protocol.EVENT_NAMES, "database_relation_joined", "database_relation_broken")
Seen = Tuple[str, Optional[ConnectionString], List[ConnectionString], Optional[str]]


class DbCharm(ops.charm.CharmBase):
    """``pgsql.PostgreSQLClient(self, "database")`` on ``interface: postgresql_client``.

    Asks for ``mydb`` the 1.x way (the leader sets ``event.database`` in
    database_relation_joined); records every client event and what it carried.
    """

    def __init__(self, framework: ops.framework.Framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database")
        self.seen: List[Seen] = []
        for name in DB_EVENTS:
            framework.observe(getattr(self.db.on, name), self._record)
        framework.observe(self.db.on.database_relation_joined, self._on_joined)
        if hasattr(self.on, "collect_unit_status"):
            framework.observe(self.on.collect_unit_status, self._on_collect)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "mydb"

    def _record(self, event: ops.framework.EventBase) -> None:
        if isinstance(event, pgsql.PostgreSQLRelationEvent):
            self.seen.append(
                (type(event).__name__, event.master, list(event.standbys), event.tls_ca)
            )
        else:
            self.seen.append((type(event).__name__, None, [], None))

    def _on_collect(self, event: Any) -> None:
        r = self.db.readiness()
        if r is None:
            event.add_status(ops.model.BlockedStatus("no database"))
        elif r.ready:
            event.add_status(ops.model.ActiveStatus())
        else:
            event.add_status(ops.model.WaitingStatus(r.why))


class DeclaredDbCharm(DbCharm):
    """The same charm, requesting declaratively: ``PostgreSQLClient(..., database="mydb")``."""

    def __init__(self, framework: ops.framework.Framework):
        ops.charm.CharmBase.__init__(self, framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb")
        self.seen = []
        for name in DB_EVENTS:
            framework.observe(getattr(self.db.on, name), self._record)
        if hasattr(self.on, "collect_unit_status"):
            framework.observe(self.on.collect_unit_status, self._on_collect)


class DbScenario:
    """A Context for ``charm`` that keeps every client event its runs emitted."""

    def __init__(self, charm: Type[DbCharm] = DbCharm, **kw: Any) -> None:
        self.seen: List[Seen] = []
        testing: Any = ops.testing
        outer = self

        class Charm(charm):
            def _record(self, event: ops.framework.EventBase) -> None:
                super()._record(event)
                outer.seen.append(self.seen[-1])

        self.ctx = testing.Context(Charm, meta=PROBE_META, **kw)

    def take(self, joined: bool = False) -> List[Seen]:
        """What was emitted since the last call (``database_relation_joined`` only if asked:
        the client emits it at the first relation event it sees, once per relation)."""
        seen, self.seen = self.seen, []
        return [s for s in seen if joined or s[0] != "DatabaseRelationJoinedEvent"]

    def names(self) -> List[str]:
        return [s[0] for s in self.take()]


def reasons_of(status: Any) -> str:
    return f"{status.name}: {status.message}"


@needs_scenario
@pytest.mark.parametrize("charm", [DbCharm, DeclaredDbCharm], ids=["setter", "declared"])
def test_client_answered_rotated_tls_gone_scenario(charm: Type[DbCharm]) -> None:
    testing: Any = ops.testing
    run = DbScenario(charm)
    ctx = run.ctx
    client = pgt.Client(request=MYDB)
    provider = pgt.Provider(units=3)
    db, _ = pgt.scenario_provider_relation(
        provider.evolve(state=pgt.NOT_ANSWERED), client, published=False
    )
    out = ctx.run(ctx.on.relation_created(db), testing.State(leader=True, relations={db}))
    out = ctx.run(ctx.on.relation_joined(pgt.relation_of(out, "database"), remote_unit=0), out)
    assert pgt.provider_requested(out) == pgt.ProviderRequest.of(MYDB)
    assert [s[0] for s in run.take(joined=True)] == ["DatabaseRelationJoinedEvent"]
    assert out.unit_status.name == "waiting"

    # answered: the app bag changes (relation-changed), the secrets are granted
    out = pgt.scenario_provider_apply(ctx, out, provider, client)
    seen = run.take()
    assert [s[0] for s in seen][:2] == ["MasterAvailableEvent", "MasterChangedEvent"]
    master = provider.master(client, relation_id=db.id)
    assert seen[0][1] == master
    assert seen[0][1] is not None
    assert seen[0][1].password == pgt.PASSWORD
    assert seen[0][2] == provider.standby_list(client, relation_id=db.id)
    assert [s.host for s in seen[0][2]] == ["198.51.100.11", "198.51.100.12"]
    assert out.unit_status == testing.ActiveStatus()

    # a rotated password: secret-changed only, master_changed with the new password
    rotated = provider.rotated()
    out = pgt.scenario_provider_apply(ctx, out, rotated, client)
    seen = run.take()
    assert seen[0][0] == "MasterChangedEvent"
    assert seen[0][1] == rotated.master(client, relation_id=db.id)
    assert seen[0][1] is not None
    assert seen[0][1].password == f"{pgt.PASSWORD}-1"
    assert out.unit_status == testing.ActiveStatus()

    # TLS on with a CA: the tls secret gets a new revision; the CA rides on the events
    tls = rotated.evolve(tls=True)
    out = pgt.scenario_provider_apply(ctx, out, tls, client)
    seen = run.take()
    assert seen[0][0] == "MasterChangedEvent"
    assert seen[0][3] == pgt.TLS_CA

    # withdrawn: master_gone
    out = pgt.scenario_provider_apply(ctx, out, tls.evolve(state=pgt.GONE), client)
    assert "MasterGoneEvent" in run.names()
    assert out.unit_status.name == "waiting"
    logged = "\n".join(str(line) for line in ctx.juju_log)
    assert pgt.PASSWORD not in logged


@needs_scenario
def test_client_secret_not_granted_then_granted_scenario() -> None:
    testing: Any = ops.testing
    run = DbScenario(DeclaredDbCharm)
    ctx = run.ctx
    client = pgt.Client(request=MYDB)
    provider = pgt.Provider(kind=pgt.POSTGRESQL_K8S, state=pgt.SECRET_NOT_GRANTED)
    db, secrets = pgt.scenario_provider_relation(provider, client)
    out = ctx.run(
        ctx.on.relation_changed(db, remote_unit=0),
        testing.State(leader=True, relations={db}, secrets=secrets),
    )
    assert run.names() == []
    assert out.unit_status.name == "waiting"
    assert "not granted" in out.unit_status.message

    # the grant runs no hook; the next hook's readiness is ready
    out = pgt.scenario_provider_apply(ctx, out, provider.evolve(state=pgt.ANSWERED), client)
    assert run.names() == []
    with ctx(ctx.on.update_status(), out) as mgr:
        out = mgr.run()
        r = mgr.charm.db.readiness()
    assert r is not None
    assert r.ready
    assert r.master == provider.master(client, relation_id=db.id)
    assert out.unit_status == testing.ActiveStatus()
    # the next relation event tells the charm
    out = pgt.scenario_provider_apply(
        ctx, out, provider.evolve(state=pgt.ANSWERED, units=2), client
    )
    assert "MasterAvailableEvent" in run.names()


@needs_scenario
def test_client_pgbouncer_subordinate_scenario() -> None:
    testing: Any = ops.testing
    run = DbScenario(DeclaredDbCharm)
    ctx = run.ctx
    client = pgt.Client(request=MYDB)
    provider = pgt.Provider(kind=pgt.PGBOUNCER_VM, subordinate_ready=False)
    db, secrets = pgt.scenario_provider_relation(provider, client)
    with ctx(
        ctx.on.relation_changed(db, remote_unit=0),
        testing.State(leader=True, relations={db}, secrets=secrets),
    ) as mgr:
        out = mgr.run()
        r = mgr.charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert [x.code for x in r.reasons if x.blocking] == [protocol.SUBORDINATE_NOT_READY]
    assert run.names() == []
    out = pgt.scenario_provider_apply(ctx, out, provider.evolve(subordinate_ready=True), client)
    seen = run.take()
    assert seen[0][0] == "MasterAvailableEvent"
    assert seen[0][1] == provider.master(client, relation_id=db.id)
    assert seen[0][1] is not None
    assert (seen[0][1].host, seen[0][1].port) == ("localhost", "6432")
    assert [s.dbname for s in seen[0][2]] == ["mydb_readonly"]


@needs_scenario
def test_client_plaintext_juju_29_and_non_leader_scenario() -> None:
    testing: Any = ops.testing
    run = DbScenario(DeclaredDbCharm, juju_version="2.9.50", unit_id=1)
    ctx = run.ctx
    client = pgt.Client(units=2, unit=1, request=MYDB)
    provider = pgt.Provider(kind=pgt.PGBOUNCER_K8S, secrets=False, version="14.12")
    db, secrets = pgt.scenario_provider_relation(provider, client)
    assert secrets == []
    out = ctx.run(ctx.on.relation_changed(db, remote_unit=0), testing.State(relations={db}))
    seen = run.take()
    assert seen[0][0] == "MasterAvailableEvent"
    assert seen[0][1] == provider.master(client, relation_id=db.id)
    assert seen[0][1] is not None
    assert seen[0][1].user == f"relation-{db.id}"
    assert out.unit_status == testing.ActiveStatus()
    # rotation in clear is a bag change: relation-changed
    out = pgt.scenario_provider_apply(ctx, out, provider.rotated(), client)
    seen = run.take()
    assert seen[0][0] == "MasterChangedEvent"
    assert seen[0][1] is not None
    assert seen[0][1].password == f"{pgt.PASSWORD}-1"


# ---- Harness with the real client -----------------------------------------------------------

DB_META_YAML = """
name: myapp
requires:
  database: {interface: postgresql_client}
"""


@pytest.fixture(params=[DbCharm, DeclaredDbCharm], ids=["setter", "declared"])
def db_harness(request: Any) -> Any:
    h = ops.testing.Harness(request.param, meta=DB_META_YAML)
    h.set_leader(True)
    h.begin()
    yield h
    h.cleanup()


def test_client_harness_answered_rotated_gone(db_harness: Any) -> None:
    harness = db_harness
    charm: DbCharm = harness.charm
    provider = pgt.Provider(units=2)
    rel_id = pgt.harness_provider_relation(harness, provider)
    assert pgt.harness_provider_requested(harness, rel_id) == pgt.ProviderRequest.of(MYDB)
    master = provider.master(CLIENT, relation_id=rel_id)
    assert charm.db.is_ready()
    assert charm.db.master() == master
    assert charm.db.standbys() == provider.standby_list(CLIENT, relation_id=rel_id)
    available = [s for s in charm.seen if s[0] == "MasterAvailableEvent"]
    assert len(available) == 1
    assert available[0][1] == master

    charm.seen.clear()
    pgt.harness_provider_move(harness, rel_id, provider.rotated())
    assert charm.seen[0][0] == "MasterChangedEvent"
    assert charm.seen[0][1] == provider.rotated().master(CLIENT, relation_id=rel_id)
    assert charm.db.master() == provider.rotated().master(CLIENT, relation_id=rel_id)

    charm.seen.clear()
    pgt.harness_provider_move(harness, rel_id, provider.rotated().evolve(tls=True))
    assert charm.seen[0][0] == "MasterChangedEvent"
    assert charm.seen[0][3] == pgt.TLS_CA
    assert charm.db.tls_ca() == pgt.TLS_CA

    charm.seen.clear()
    pgt.harness_provider_move(harness, rel_id, provider.evolve(state=pgt.GONE))
    assert "MasterGoneEvent" in [s[0] for s in charm.seen]
    assert not charm.db.is_ready()


def test_client_harness_secret_not_granted(db_harness: Any) -> None:
    harness = db_harness
    charm: DbCharm = harness.charm
    provider = pgt.Provider(state=pgt.SECRET_NOT_GRANTED)
    rel_id = pgt.harness_provider_relation(harness, provider)
    r = charm.db.readiness()
    assert r is not None
    assert not r.ready
    assert {x.code for x in r.reasons if x.blocking} == {protocol.SECRET_NOT_GRANTED}
    assert "MasterAvailableEvent" not in [s[0] for s in charm.seen]
    charm.seen.clear()
    pgt.harness_provider_move(harness, rel_id, provider.evolve(state=pgt.ANSWERED))
    assert charm.seen == []  # a grant runs no hook
    # the next relation event (a second provider unit) tells the charm
    answered = provider.evolve(state=pgt.ANSWERED, units=2)
    pgt.harness_provider_move(harness, rel_id, answered)
    assert "MasterAvailableEvent" in [s[0] for s in charm.seen]
    assert charm.db.master() == answered.master(CLIENT, relation_id=rel_id)


def test_client_harness_pgbouncer_subordinate(db_harness: Any) -> None:
    harness = db_harness
    charm: DbCharm = harness.charm
    provider = pgt.Provider(kind=pgt.PGBOUNCER_VM, subordinate_ready=False)
    rel_id = pgt.harness_provider_relation(harness, provider)
    r = charm.db.readiness()
    assert r is not None
    assert [x.code for x in r.reasons if x.blocking] == [protocol.SUBORDINATE_NOT_READY]
    pgt.harness_provider_move(harness, rel_id, provider.evolve(subordinate_ready=True))
    assert charm.db.is_ready()
    assert [s.dbname for s in charm.db.standbys()] == ["mydb_readonly"]
    assert "MasterAvailableEvent" in [s[0] for s in charm.seen]


# ---- docs/testing.md's postgresql_client examples -------------------------------------------


def _doc_examples() -> List[str]:
    text = (Path(__file__).resolve().parents[1] / "docs" / "testing.md").read_text()
    section = text.split("\n## The `postgresql_client` interface: `pgt.Provider`\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


def test_docs_examples_are_there() -> None:
    scenario, harness = _doc_examples()
    assert "scenario_provider_relation" in scenario
    assert "harness_provider_relation" in harness


@needs_scenario
def test_docs_scenario_example_runs() -> None:
    testing: Any = ops.testing

    def context(charm: Any, **kw: Any) -> Any:
        # the docs' charm reads its metadata from charmcraft.yaml; this one has none
        return testing.Context(charm, meta=PROBE_META, **kw)

    doc_testing = SimpleNamespace(
        Context=context, State=testing.State, ActiveStatus=testing.ActiveStatus
    )
    namespace: Dict[str, Any] = {"pgt": pgt, "Request": Request, "MyCharm": DeclaredDbCharm}
    exec(_doc_examples()[0], namespace)
    namespace["testing"] = doc_testing  # after the example's own "from ops import testing"
    namespace["test_postgresql_client"]()
    namespace["test_postgresql_client_secret_not_granted"]()


def test_docs_harness_example_runs() -> None:
    def harness_of(charm: Any) -> Any:
        return ops.testing.Harness(charm, meta=DB_META_YAML)

    namespace: Dict[str, Any] = {
        "pgt": pgt,
        "Request": Request,
        "MyCharm": DeclaredDbCharm,
        "Harness": harness_of,
    }
    exec(_doc_examples()[1], namespace)
    namespace["harness"].cleanup()
