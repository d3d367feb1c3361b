"""A fresh-eyes review of the ``postgresql_client`` house: provider, testing helpers, doctor.

Written as three users would meet the library: the author of a PostgreSQL / PgBouncer provider
charm (``pgsql.DatabaseProvider``, ``pgsql.protocol.provider_answer``), the author of a requirer
charm testing it with ``pgsql.testing.Provider`` and the ``scenario_provider_*`` helpers, and an
operator running ``pgsql doctor`` on ``juju show-unit`` output. Only public APIs are used. Tests
named for the behaviour expected; those that fail show a defect the review found, the others
keep what held.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
import ops.testing
import pytest
import yaml
from test_doctor_support import doctor_json, run_doctor

import pgsql
import pgsql.testing as pgt
from pgsql import protocol
from pgsql.protocol import (
    DatabaseRequest,
    Request,
    provider_answer,
    read_database_request,
    requirer_databag,
)
from pgsql.server_postgresql_client import secret_label

testing: Any = ops.testing
needs_scenario = pytest.mark.skipif(
    getattr(testing, "Context", None) is None,
    reason="ops.testing.Context needs ops >= 2.17 (ops[testing])",
)

PASSWORD = "Hv5qTz8LmW2rNc4K"
NEW_PASSWORD = "Rt7yUi9OpA3sDf6G"
CA = "-----BEGIN CERTIFICATE-----\nMIIBreviewCA\n-----END CERTIFICATE-----\n"
REQUEST = Request.build(database="mydb")
VECTORS = Path(__file__).parent / "data" / "show-unit-postgresql-client"
REQUESTED = '["username", "password", "tls", "tls-ca", "uris", "read-only-uris"]'


# ---------------------------------------------------------------------------------------------
# The provider side: pgsql.protocol.provider_answer
# ---------------------------------------------------------------------------------------------


def _answer(requested: Tuple[str, ...], **kw: Any) -> Any:
    request = DatabaseRequest("mydb", requested_secrets=requested)
    args: Dict[str, Any] = {
        "endpoints": ["10.0.0.5:5432"],
        "username": "relation_id_7",
        "password": PASSWORD,
        "read_only_endpoints": ["10.0.0.6:5432"],
        "version": "16.4",
    }
    args.update(kw)
    return provider_answer(request, **args)


@pytest.mark.parametrize("requested", [(), ("password",), protocol.REQUESTED_SECRETS])
def test_provider_answer_repr_hides_the_password(requested: Tuple[str, ...]) -> None:
    """ProviderAnswer is what a provider charm holds and logs; its repr is shown by pytest."""
    answer = _answer(requested)
    assert PASSWORD not in repr(answer)
    assert PASSWORD not in str(answer)


def _ready_codes(answer: Any, units: Dict[str, Dict[str, str]]) -> Tuple[bool, List[str]]:
    uris = {group: f"secret:review{group}" for group in answer.secrets}
    bag = answer.databag(uris)
    secrets = {uris[group]: dict(content) for group, content in answer.secrets.items()}
    readiness = protocol.evaluate_client(REQUEST, bag, units, secrets)
    return readiness.ready, sorted(r.code for r in readiness.reasons if r.blocking)


def test_an_answer_to_a_requirer_listing_endpoints_in_requested_secrets_is_judged_ready() -> None:
    """data_interfaces' DatabaseRequires(additional_secret_fields=[...]) may list any field.

    provider_answer then moves ``endpoints`` into ``secret-extra`` (as data_interfaces' provider
    does), and the library's own requirer rule no longer sees an answer: docs/protocol.md says
    whatever provider_answer renders is judged ready by evaluate_client.
    """
    answer = _answer(("username", "password", "endpoints"))
    assert _ready_codes(answer, {"postgresql/0": {}}) == (True, [])


def test_a_subordinate_answer_stays_not_ready_when_subordinated_is_listed_in_secrets() -> None:
    """``subordinated`` moved into ``secret-extra`` hides it from the readiness rule.

    The PgBouncer unit has not said ``state: ready``: the requirer must wait, whichever bag
    the provider put ``subordinated`` in.
    """
    answer = _answer(
        ("username", "password", "subordinated"),
        endpoints=["localhost:6432"],
        read_only_endpoints=["localhost:6432"],
        read_only_database="mydb_readonly",
        subordinated=True,
    )
    assert _ready_codes(answer, {"pgbouncer/0": {}}) == (False, ["subordinate-not-ready"])


def test_a_pgbouncer_answer_waits_for_the_unit_state_then_serves_the_readonly_database() -> None:
    answer = _answer(
        protocol.REQUESTED_SECRETS,
        endpoints=["localhost:6432"],
        read_only_endpoints=["localhost:6432"],
        read_only_database="mydb_readonly",
        subordinated=True,
    )
    assert _ready_codes(answer, {"pgbouncer/0": {}}) == (False, ["subordinate-not-ready"])
    assert _ready_codes(answer, {"pgbouncer/0": {"state": "ready"}}) == (True, [])
    uris = {group: f"secret:review{group}" for group in answer.secrets}
    secrets = {uris[g]: dict(c) for g, c in answer.secrets.items()}
    readiness = protocol.evaluate_client(
        REQUEST, answer.databag(uris), {"pgbouncer/0": {"state": "ready"}}, secrets
    )
    assert [s.dbname for s in readiness.standbys] == ["mydb_readonly"]
    assert readiness.master is not None
    assert readiness.master.dbname == "mydb"


def test_read_database_request_normalises_roles_and_the_client_sees_no_request_change() -> None:
    # a data_interfaces requirer writes its roles as the charm gave them: unsorted, spaced
    bag = {
        "database": "mydb",
        "extra-user-roles": "charmed_read, charmed_dml,charmed_read",
        "requested-secrets": '["username","password"]',
    }
    request, problems = read_database_request(bag)
    assert problems == ()
    assert request is not None
    assert request.roles == ("charmed_dml", "charmed_read")
    answer = provider_answer(request, endpoints="10.0.0.5:5432", username="u", password=PASSWORD)
    readiness = protocol.evaluate_client(
        protocol.requirer_request(bag),
        answer.databag({"user": "secret:x"}),
        {"postgresql/0": {}},
        {"secret:x": answer.secrets["user"]},
    )
    assert readiness.ready
    assert "request-changed" not in [r.code for r in readiness.reasons]


# ---------------------------------------------------------------------------------------------
# The provider side: pgsql.DatabaseProvider under Scenario
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# pgsql.testing.Provider and its helpers, with the library's own client
# ---------------------------------------------------------------------------------------------

CLIENT_META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client"}},
}


class Requirer(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb")


@needs_scenario
@pytest.mark.parametrize("kind", pgt.KINDS)
@pytest.mark.parametrize("secrets", [True, False])
def test_every_kind_moved_through_its_states_ends_with_what_the_provider_says(
    kind: str, secrets: bool
) -> None:
    ctx = testing.Context(Requirer, meta=CLIENT_META, juju_version="3.6.4" if secrets else "2.9.50")
    client = pgt.Client(request=REQUEST)
    start = pgt.Provider(kind=kind, state=pgt.NOT_ANSWERED, secrets=secrets)
    db, granted = pgt.scenario_provider_relation(start, client)
    state = ctx.run(
        ctx.on.relation_created(db), testing.State(leader=True, relations={db}, secrets=granted)
    )
    answered = start.evolve(state=pgt.ANSWERED)
    steps = [answered, answered.rotated(), answered.rotated().evolve(tls=True)]
    steps += [answered.evolve(state=pgt.GONE), answered.rotated().rotated()]
    for step in steps:
        state = pgt.scenario_provider_apply(ctx, state, step, client)
    state = ctx.run(ctx.on.update_status(), state)
    rel_id = next(iter(state.relations)).id
    last = steps[-1]
    with ctx(ctx.on.update_status(), state) as mgr:
        mgr.run()
        charm: Requirer = mgr.charm
        assert charm.db.master() == last.master(client, relation_id=rel_id)
        assert list(charm.db.standbys()) == last.standby_list(client, relation_id=rel_id)


# ---------------------------------------------------------------------------------------------
# pgsql doctor
# ---------------------------------------------------------------------------------------------

JUJU_KEYS = {"egress-subnets": "10.0.0.10/32", "ingress-address": "10.0.0.10"}
PROVIDER_KEYS = {"egress-subnets": "10.0.0.5/32", "ingress-address": "10.0.0.5"}


def _show_unit(
    name: str, charm: str, app_data: Dict[str, str], units: Dict[str, Dict[str, str]]
) -> Dict[str, Any]:
    return {
        name: {
            "opened-ports": [],
            "charm": charm,
            "leader": True,
            "relation-info": [
                {
                    "relation-id": 7,
                    "endpoint": "database",
                    "related-endpoint": "database",
                    "application-data": app_data,
                    "related-units": {u: {"in-scope": True, "data": d} for u, d in units.items()},
                }
            ],
        }
    }


def test_doctor_recognises_the_provider_side_of_an_old_requirer_and_flags_its_snapshot(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`juju show-unit postgresql/0` alone, from the project's own Juju 2.9 vector.

    The requirer (data_interfaces on Juju 2.9) wrote only ``database``; its unit bag holds the
    ``data`` snapshot data_interfaces keeps, with the provider's password in clear. The doctor
    says there is no relation at all (exit 2) and does not flag the password.
    """
    whole = yaml.safe_load((VECTORS / "pg14-vm-plaintext.yaml").read_text())
    text = yaml.safe_dump({"postgresql/0": whole["postgresql/0"]})
    code, out, err = run_doctor(capsys, monkeypatch, text)
    assert "Kp7vQ2xLmN9rT4wZ" not in out + err
    assert code == 1, err
    assert "[postgresql_client]" in out
    assert "plaintext-password" in out


def test_doctor_does_not_say_a_v1_request_will_get_its_password_in_clear(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A v1 request is never answered by a v0 provider: nothing will be published at all."""
    v1 = {"version": "v1", "requests": json.dumps([{"resource": "mydb", "salt": "ab12cd34"}])}
    doc = _show_unit("myapp/0", "local:myapp-0", {}, {"postgresql/0": PROVIDER_KEYS})
    doc.update(_show_unit("postgresql/0", "ch:amd64/noble/postgresql-843", v1, {}))
    code, report = doctor_json(capsys, monkeypatch, json.dumps(doc))
    assert code == 1
    (rel,) = report["relations"]
    found = [f["code"] for f in rel["findings"]]
    assert "likely-v1-request" in found
    assert "secrets-not-requested" not in found


PLAIN = "Pq4wEr7tYu1iOp3A"
SECRETS_BAG = {
    "database": "mydb",
    "endpoints": "10.0.0.5:5432",
    "read-only-endpoints": "10.0.0.6:5432",
    "secret-user": "secret:d7f1qk8mp25c77bn3k0g",
    "version": "16.4",
}
ODD_PROVIDER_BAGS: Dict[str, Dict[str, str]] = {
    "uri-in-endpoints": dict(SECRETS_BAG, endpoints=f"postgresql://u:{PLAIN}@10.0.0.5:5432/mydb"),
    "kv-in-read-only-endpoints": dict(
        SECRETS_BAG, **{"read-only-endpoints": f"host=10.0.0.6 password={PLAIN}"}
    ),
    "uri-in-database": dict(SECRETS_BAG, database=f"postgresql://u:{PLAIN}@h/mydb"),
    "uri-in-secret-user": dict(SECRETS_BAG, **{"secret-user": f"postgresql://u:{PLAIN}@h/db"}),
    "password-in-query": {
        "database": "mydb",
        "endpoints": "10.0.0.5:5432",
        "username": "u",
        "uris": f"postgresql://10.0.0.5:5432/mydb?user=u&password={PLAIN}",
    },
    "doubled-port-in-clear": {
        "database": "mydb",
        "endpoints": "h:5432",
        "read-only-endpoints": "r:5432",
        "username": "u",
        "password": PLAIN,
        "read-only-uris": f"postgresql://u:{PLAIN}@r:5432:5432/mydb",
    },
    "pgbouncer-shouting": {
        "database": "mydb",
        "endpoints": "localhost:6432",
        "subordinated": "TRUE",
        "username": "u",
        "password": PLAIN,
    },
    "data-not-json": dict(SECRETS_BAG, data="{not json"),
}


@pytest.mark.parametrize("case", sorted(ODD_PROVIDER_BAGS))
@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_doctor_on_odd_provider_bags_never_crashes_nor_prints_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, case: str, fmt: str
) -> None:
    request = {"database": "mydb", "requested-secrets": REQUESTED}
    doc = _show_unit("myapp/0", "local:myapp-0", ODD_PROVIDER_BAGS[case], {"pg/0": PROVIDER_KEYS})
    doc.update(_show_unit("pg/0", "ch:amd64/noble/postgresql-843", request, {"myapp/0": JUJU_KEYS}))
    text = json.dumps(doc) if fmt == "json" else yaml.safe_dump(doc)
    for args in ((), ("--json",)):
        code, out, err = run_doctor(capsys, monkeypatch, text, *args)
        assert code in (0, 1), err
        assert "Traceback" not in out + err
        assert PLAIN not in out + err
