"""``pgsql.testing.Provider`` answers PostgreSQL 16's prefix and user-name requests.

In Scenario and Harness, the way Charmed PostgreSQL 16 does: ``prefix-databases`` from the
server's databases, the user named in the requirer's ``requested-entity-secret``; older
providers ignore both.
"""

from __future__ import annotations

from typing import Any

import ops
import ops.charm
import ops.framework
import pytest
from needs import needs_scenario

import pgsql
from pgsql import Request, protocol
from pgsql import testing as pgt

testing: Any = pytest.importorskip("ops.testing")

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")

META = {"name": "myapp", "requires": {"database": {"interface": "postgresql_client"}}}
DATABASES = ("mydb_b", "other", "mydb_a")


class PrefixCharm(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb_*")


class UserCharm(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework):
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb", username="app_user")


def _scenario(charm: type, provider: pgt.Provider) -> Any:
    ctx = testing.Context(charm, meta=META)
    rel = testing.Relation("database", interface="postgresql_client", remote_app_name="postgresql")
    state = ctx.run(ctx.on.relation_created(rel), testing.State(leader=True, relations={rel}))
    state = pgt.scenario_provider_apply(ctx, state, provider)
    with ctx(ctx.on.update_status(), state) as mgr:
        out = mgr.run()
        return mgr.charm, out


# -- the provider alone ------------------------------------------------------------------------


def test_provider_lists_matching_databases_sorted_and_names_the_first_in_uris() -> None:
    provider = pgt.Provider(existing_databases=DATABASES)
    client = pgt.Client(request=Request.build("mydb_*"))
    bags = provider.databags(client)
    assert bags.app["database"] == "mydb_*"
    assert bags.app["prefix-databases"] == "mydb_a,mydb_b"
    assert provider.master(client).dbname == "mydb_a"
    r = protocol.evaluate_client(client.request, bags.app, {}, bags.readable())
    assert r.ready
    assert r.databases == ("mydb_a", "mydb_b")


def test_provider_without_a_matching_database_publishes_no_uris_and_is_not_ready() -> None:
    client = pgt.Client(request=Request.build("mydb_*"))
    bags = pgt.Provider(existing_databases=("other",)).databags(client)
    assert "prefix-databases" not in bags.app
    r = protocol.evaluate_client(client.request, bags.app, {}, bags.readable())
    assert [x.code for x in r.reasons if x.blocking] == [protocol.NO_PREFIX_DATABASES]


def test_postgresql_14_does_not_serve_prefix_requests() -> None:
    client = pgt.Client(request=Request.build("mydb_*"))
    bags = pgt.Provider(version="14.12", existing_databases=DATABASES).databags(client)
    r = protocol.evaluate_client(client.request, bags.app, {}, bags.readable())
    assert protocol.PREFIX_NOT_SERVED in [x.code for x in r.reasons]


def test_provider_answers_the_requested_user_and_postgresql_14_its_own() -> None:
    client = pgt.Client(request=Request.build("mydb", username="app_user"))
    assert pgt.Provider().master(client).user == "app_user"
    bags = pgt.Provider(version="14.12").databags(client)
    r = protocol.evaluate_client(client.request, bags.app, {}, bags.readable())
    assert protocol.USER_MISMATCH in [x.code for x in r.reasons if x.blocking]


# -- Scenario ----------------------------------------------------------------------------------


@needs_scenario
def test_scenario_prefix_request_is_answered_from_the_existing_databases() -> None:
    charm, _ = _scenario(PrefixCharm, pgt.Provider(existing_databases=DATABASES))
    r = charm.db.readiness()
    assert r.ready, r.why
    assert r.databases == ("mydb_a", "mydb_b")
    assert r.master.dbname == "mydb_a"


@needs_scenario
def test_scenario_user_request_is_answered_with_the_user_of_the_helper_secret() -> None:
    charm, out = _scenario(UserCharm, pgt.Provider())
    r = charm.db.readiness()
    assert r.ready, r.why
    assert r.master.user == "app_user"
    # the charm removed its helper secret once answered; a later move keeps the user
    assert not [s for s in out.secrets if (s.label or "").endswith("-requested-entity")]
    ctx = testing.Context(UserCharm, meta=META)
    again = pgt.scenario_provider_apply(ctx, out, pgt.Provider().rotated())
    with ctx(ctx.on.update_status(), again) as mgr:
        mgr.run()
        assert mgr.charm.db.readiness().master.user == "app_user"


@needs_scenario
def test_scenario_postgresql_14_ignoring_the_user_is_user_mismatch() -> None:
    charm, _ = _scenario(UserCharm, pgt.Provider(version="14.12"))
    assert protocol.USER_MISMATCH in [x.code for x in charm.db.readiness().reasons]


@needs_scenario
def test_scenario_provider_relation_answers_the_client_request_user() -> None:
    client = pgt.Client(request=Request.build("mydb", username="app_user"))
    rel, secrets = pgt.scenario_provider_relation(pgt.Provider(), client)
    ctx = testing.Context(UserCharm, meta=META)
    state = testing.State(leader=True, relations={rel}, secrets=secrets)
    with ctx(ctx.on.update_status(), state) as mgr:
        mgr.run()
        assert mgr.charm.db.readiness().master.user == "app_user"


# -- Harness -----------------------------------------------------------------------------------


def test_harness_user_and_prefix_requests_are_answered() -> None:
    harness = testing.Harness(UserCharm, meta=_yaml(META))
    harness.set_leader(True)
    harness.begin()
    rel = pgt.harness_provider_relation(harness, pgt.Provider())
    assert harness.charm.db.readiness().master.user == "app_user"
    harness.cleanup()

    harness = testing.Harness(PrefixCharm, meta=_yaml(META))
    harness.set_leader(True)
    harness.begin()
    rel = pgt.harness_provider_relation(harness, pgt.Provider(existing_databases=DATABASES))
    r = harness.charm.db.readiness(harness.model.get_relation("database", rel))
    assert r.databases == ("mydb_a", "mydb_b")
    harness.cleanup()


def _yaml(meta: Any) -> str:
    import json

    return json.dumps(meta)  # YAML is a superset of JSON
