"""``DatabaseProvider`` serves PostgreSQL 16's requests: prefix requests and a chosen user name.

Whole applications in :class:`pgsql.testing.Model` (ops.testing underneath, Juju 3.6: secrets),
this library's ``PostgreSQLClient`` (and data_interfaces' ``DatabaseRequires``) against this
library's ``DatabaseProvider``, plus the pure rules (:func:`pgsql.protocol.read_database_request`,
:func:`pgsql.protocol.provider_answer`).
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List

import ops
import pytest
from needs import requires_scenario

import pgsql
from pgsql import protocol
from pgsql import testing as pgt
from pgsql.protocol import DatabaseRequest, provider_answer, read_database_request

requires_scenario()

JUJU = "3.6.4"
PASSWORD = "Fr3sh-Pa55word-one"
ENTITY_PASSWORD = "Ch0sen-by-the-Requirer"
PROVIDER_META: Dict[str, Any] = {
    "name": "postgresql",
    "provides": {"database": {"interface": "postgresql_client"}},
}
PROVIDER_CONFIG: Dict[str, Any] = {
    "options": {"databases": {"type": "string", "default": "mydb_b,other,mydb_a"}}
}
REQUIRER_META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client", "limit": 1}},
}
REL = "myapp:database", "postgresql:database"


class PG16Provider(ops.CharmBase):
    """A PostgreSQL 16 charm on DatabaseProvider: the existing databases come from config."""

    def __init__(self, framework: ops.Framework) -> None:
        super().__init__(framework)
        self.database = pgsql.DatabaseProvider(self, "database")
        framework.observe(self.database.on.request_changed, self._on_request_changed)
        framework.observe(self.on.config_changed, self._publish_all)

    def _on_request_changed(self, event: pgsql.DatabaseRequestChangedEvent) -> None:
        self._publish(event.relation)

    def _publish_all(self, _: ops.EventBase) -> None:
        if self.unit.is_leader():
            for relation in self.database.relations:
                self._publish(relation)

    def _publish(self, relation: ops.Relation) -> None:
        request = self.database.request(relation)
        if request is None:
            return
        existing = [d for d in str(self.config["databases"]).split(",") if d]
        self.database.publish(
            relation,
            endpoints=["10.0.0.5:5432"],
            read_only_endpoints=["10.0.0.6:5432"],
            username=request.username or f"relation_id_{relation.id}",
            password=request.password or PASSWORD,
            version="16.9",
            databases=[d for d in existing if d.startswith(request.prefix)]
            if request.prefix
            else None,
        )


def client_charm(**kwargs: Any) -> Any:
    class Client(ops.CharmBase):
        def __init__(self, framework: ops.Framework) -> None:
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "database", **kwargs)

    return Client


def client_view(charm: Any) -> Dict[str, Any]:
    r = charm.db.readiness()
    if r is None:
        return {"ready": False, "why": "no relation"}
    return {
        "ready": r.ready,
        "why": r.why,
        "codes": [reason.code for reason in r.reasons],
        "master": r.master,
        "databases": r.databases,
    }


def provider_view(charm: PG16Provider) -> List[Any]:
    """The request of each relation as the provider reads it now (a hook of its own)."""
    return [charm.database.request(r) for r in charm.database.relations]


def model_of(requirer: Any, view: Any = client_view) -> pgt.Model:
    model = pgt.Model(juju_version=JUJU)
    model.add_app("myapp", requirer, units=2, meta=REQUIRER_META, inspect=view)
    model.add_app(
        "postgresql",
        PG16Provider,
        units=2,
        meta=PROVIDER_META,
        config=PROVIDER_CONFIG,
        inspect=provider_view,
    )
    model.deploy()
    model.relate(*REL)
    return model


def provider_bag(model: pgt.Model) -> Dict[str, str]:
    return dict(model.relations[0].databags()["postgresql"])


def read(model: pgt.Model, unit: str) -> Any:
    return model.run(unit, "update_status").seen


# ---- prefix requests ------------------------------------------------------------------------


def test_our_prefix_client_is_ready_on_every_unit_with_the_matching_databases() -> None:
    model = model_of(client_charm(database="mydb_*"))
    bag = provider_bag(model)
    assert bag["database"] == "mydb_*"
    assert bag["prefix-databases"] == "mydb_a,mydb_b"
    for unit in ("myapp/0", "myapp/1"):
        seen = read(model, unit)
        assert seen["ready"], (unit, seen["why"])
        assert seen["master"].dbname == "mydb_a"
        assert seen["databases"] == ("mydb_a", "mydb_b")


def test_a_prefix_request_reaches_the_provider_charm_with_its_prefix() -> None:
    model = model_of(client_charm(database="mydb_*"))
    requests = read(model, "postgresql/0")  # the leader
    assert requests
    assert requests[-1].prefix == "mydb_"
    assert requests[-1].database == "mydb_*"


def test_no_matching_database_publishes_no_prefix_databases_and_the_client_waits() -> None:
    model = model_of(client_charm(database="mydb_*"))
    model.config("postgresql", databases="other")
    bag = provider_bag(model)
    assert "prefix-databases" not in bag
    assert "secret-user" in bag
    seen = read(model, "myapp/0")
    assert not seen["ready"]
    assert "no-prefix-databases" in seen["codes"], seen["why"]
    model.config("postgresql", databases="mydb_c")  # a database appears: answered again
    assert provider_bag(model)["prefix-databases"] == "mydb_c"
    assert read(model, "myapp/1")["master"].dbname == "mydb_c"


def test_publish_without_databases_for_a_prefix_request_is_a_clear_value_error() -> None:
    request = DatabaseRequest("mydb_*")
    with pytest.raises(ValueError, match=r"pass databases="):
        provider_answer(request, endpoints="10.0.0.5:5432", username="u", password=PASSWORD)
    with pytest.raises(ValueError, match=r"does not answer the prefix request 'mydb_\*'"):
        provider_answer(
            request, endpoints="h:5432", username="u", password=PASSWORD, databases=["other"]
        )
    with pytest.raises(ValueError, match=r"prefix request only"):
        provider_answer(
            DatabaseRequest("mydb"), endpoints="h:5432", username="u", password=PASSWORD,
            databases=["mydb"],
        )  # fmt: skip


def test_a_prefix_shorter_than_postgresql_16_accepts_is_no_request_with_a_problem() -> None:
    request, problems = read_database_request({"database": "ab*"})
    assert request is None
    assert any("at least 3 characters" in p for p in problems), problems


# ---- a user name chosen by the requirer -----------------------------------------------------


def test_our_client_gets_the_user_it_requested_from_our_provider() -> None:
    model = model_of(client_charm(database="mydb", username="app_user"))
    for unit in ("myapp/0", "myapp/1"):
        seen = read(model, unit)
        assert seen["ready"], (unit, seen["why"])
        assert seen["master"].user == "app_user"
    requests = read(model, "postgresql/0")
    assert requests[-1].username == "app_user"
    assert requests[-1].password is None


def test_the_user_is_kept_after_the_requirer_removes_its_helper_secret() -> None:
    model = model_of(client_charm(database="mydb", username="app_user"))
    # the client removed the helper secret once answered; a later hook on the provider still
    # reads the same request (the user it created) and answers with it
    helper = model.relations[0].databags()["myapp"][protocol.REQUESTED_ENTITY_SECRET]
    assert protocol.secret_id(helper) not in {protocol.secret_id(k) for k in model.secrets}
    model.config("postgresql", databases="mydb_x")
    assert read(model, "postgresql/0")[-1].username == "app_user"
    assert read(model, "myapp/0")["master"].user == "app_user"


def test_publish_with_another_user_than_the_requested_one_is_a_clear_value_error() -> None:
    request = DatabaseRequest("mydb", username="app_user")
    with pytest.raises(ValueError, match=r"asked for the user 'app_user'.*username='app_user'"):
        provider_answer(
            request, endpoints="10.0.0.5:5432", username="relation_id_7", password=PASSWORD
        )


def test_an_unreadable_requested_entity_secret_is_no_request_with_a_reason() -> None:
    bag = {"database": "mydb", protocol.REQUESTED_ENTITY_SECRET: "secret:d7f1qk8mp25c77bn3k0g"}
    request, problems = read_database_request(bag, None)
    assert request is None
    assert any("not readable yet" in p for p in problems), problems


def test_the_requested_password_is_exposed_but_never_in_repr_or_problems() -> None:
    bag = {"database": "mydb", protocol.REQUESTED_ENTITY_SECRET: "secret:d7f1qk8mp25c77bn3k0g"}
    entity = {"entity-name": "app_user", "password": ENTITY_PASSWORD}
    request, problems = read_database_request(bag, entity)
    assert request is not None
    assert request.password == ENTITY_PASSWORD
    assert request.username == "app_user"
    assert ENTITY_PASSWORD not in repr(request) + repr(problems) + str(request.snapshot())


def test_a_requested_user_postgresql_refuses_is_no_request_with_a_problem() -> None:
    bag = {"database": "mydb", protocol.REQUESTED_ENTITY_SECRET: "secret:d7f1qk8mp25c77bn3k0g"}
    request, problems = read_database_request(bag, {"entity-name": "operator"})
    assert request is None
    assert any("operator" in p for p in problems), problems


# ---- data_interfaces' DatabaseRequires asking a prefix --------------------------------------

if sys.version_info >= (3, 10):

    @pytest.mark.filterwarnings(
        "ignore:JujuVersion.from_environ\\(\\) is deprecated:DeprecationWarning"
    )
    def test_data_interfaces_prefix_request_gets_prefix_databases_from_our_provider() -> None:
        from single_kernel_postgresql.lib.charms.data_platform_libs.v0 import (  # pyright: ignore[reportMissingTypeStubs]
            data_interfaces as di,
        )

        class DIPrefixRequirer(ops.CharmBase):
            def __init__(self, framework: ops.Framework) -> None:
                super().__init__(framework)
                self.database = di.DatabaseRequires(self, "database", "mydb_*")

        def di_view(charm: Any) -> Dict[int, Dict[str, str]]:
            return {k: dict(v) for k, v in charm.database.fetch_relation_data().items()}

        model = model_of(DIPrefixRequirer, di_view)
        for unit in ("myapp/0", "myapp/1"):
            (data,) = read(model, unit).values()
            assert data["prefix-databases"] == "mydb_a,mydb_b"
            assert data["database"] == "mydb_*"
            assert data["password"] == PASSWORD
            assert data["uris"].endswith("@10.0.0.5:5432/mydb_a")
