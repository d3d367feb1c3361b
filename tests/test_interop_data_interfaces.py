"""Against the real thing: data_interfaces v0 (LIBPATCH 58) on the other end of the relation.

Both directions run as whole applications in :class:`pgsql.testing.Model` (leader and
non-leader units, hook by hook, bags and Juju secrets carried between them):

- this library's client (``PostgreSQLClient`` on a ``postgresql_client`` endpoint) against a
  provider charm written with data_interfaces' ``DatabaseProvides`` the way
  canonical/postgresql-operator 16/edge uses it;
- this library's ``DatabaseProvider`` against data_interfaces' ``DatabaseRequires``;

on Juju 3.6 (credentials in secrets) and Juju 2.9 (no secrets: plaintext), with password
rotation, a unit that sees relation-changed before relation-joined, and unit removal.

data_interfaces comes from PyPI's ``postgresql-charms-single-kernel`` (noxfile's TEST_DEPS),
which installs everywhere but imports only on Python >= 3.10.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest
from needs import requires_data_interfaces, requires_scenario

from pgsql import testing as pgt

requires_data_interfaces()
requires_scenario()  # pgsql.testing.Model runs on ops.testing's Context

from fix_data_interfaces import (  # noqa: E402 (after the skips: imports only on 3.10+)
    DATABASE,
    NEW_PASSWORD,
    PASSWORD,
    PORT,
    PROVIDER_CONFIG,
    PROVIDER_META,
    REQUIRER_META,
    VERSION,
    DIProvider,
    DIRequirer,
    OurClient,
    OurProvider,
    client_view,
    di,
    di_view,
)

# data_interfaces asks ops' deprecated JujuVersion.from_environ() whether secrets exist (ops 3
# warns); pytest turns warnings into errors, and that one is the library's, not ours
pytestmark = pytest.mark.filterwarnings(
    "ignore:JujuVersion.from_environ\\(\\) is deprecated:DeprecationWarning"
)
JUJU_36 = "3.6.4"
JUJU_29 = "2.9.50"
JUJUS = pytest.mark.parametrize("juju", [JUJU_36, JUJU_29], ids=["juju3.6", "juju2.9"])
REL = "myapp:database", "postgresql:database"


def test_the_data_interfaces_under_test_is_v0_libpatch_58() -> None:
    assert (di.LIBAPI, di.LIBPATCH) == (0, 58)


# ---- helpers ------------------------------------------------------------------------------


def model_of(requirer: Any, provider: Any, juju: str, runs: Optional[List[pgt.HookRun]] = None):
    """Two units of each side, deployed and related; every hook run is appended to ``runs``."""
    model = pgt.Model(juju_version=juju, on_hook=runs.append if runs is not None else None)
    view = client_view if requirer is OurClient else di_view
    model.add_app("myapp", requirer, units=2, meta=REQUIRER_META, inspect=view)
    model.add_app("postgresql", provider, units=2, meta=PROVIDER_META, config=PROVIDER_CONFIG)
    model.deploy()
    model.relate(*REL)
    return model


def read(model: pgt.Model, unit: str) -> Any:
    """What the requirer charm on ``unit`` reads now, in a hook of its own (update-status)."""
    return model.run(unit, "update_status").seen


def bags_holding(model: pgt.Model, *needles: str) -> List[str]:
    """Every bag key, in any relation, whose value holds one of ``needles`` in clear."""
    return [
        f"{rel.id} {owner} {key}"
        for rel in model.relations
        for owner, bag in rel.databags().items()
        for key, value in bag.items()
        if any(n in value for n in needles)
    ]


def events_by_hook(runs: List[pgt.HookRun], unit: str, event: str) -> List[str]:
    """The hooks of ``unit`` in which ``event`` was emitted."""
    return [r.hook for r in runs if r.unit == unit and event in r.events]


def requirer_units(model: pgt.Model) -> List[str]:
    return [u.name for u in model.app("myapp").units.values()]


# ---- our client against data_interfaces' DatabaseProvides ---------------------------------


@JUJUS
def test_our_client_on_every_unit_gets_master_and_standbys_from_data_interfaces(
    juju: str,
) -> None:
    model = model_of(OurClient, DIProvider, juju)
    for unit in requirer_units(model):
        seen = read(model, unit)
        assert seen["ready"], (unit, seen["why"])
        master = seen["master"]
        assert (master.host, master.port, master.dbname) == ("10.0.0.5", str(PORT), DATABASE)
        assert (master.user, master.password) == ("relation-1", PASSWORD)
        assert [s.host for s in seen["standbys"]] == ["10.0.0.6", "10.0.0.7"]
        assert {s.password for s in seen["standbys"]} == {PASSWORD}


@JUJUS
def test_our_client_request_is_what_data_interfaces_provider_reads(juju: str) -> None:
    seen: List[Dict[int, Dict[str, str]]] = []

    def provider_view(charm: DIProvider) -> None:
        seen.append(charm.provides.fetch_relation_data(None, ["database"]))

    model = pgt.Model(juju_version=juju)
    model.add_app("myapp", OurClient, units=1, meta=REQUIRER_META)
    model.add_app(
        "postgresql",
        DIProvider,
        meta=PROVIDER_META,
        config=PROVIDER_CONFIG,
        inspect=provider_view,
    )
    model.deploy()
    model.relate(*REL)
    assert seen[-1] == {1: {"database": DATABASE}}
    # the provider answered in the version data_interfaces speaks: our request echoed in 'data'
    assert model.app("postgresql").bag("database")["version"] == VERSION


def test_on_juju_36_data_interfaces_puts_the_password_only_in_a_secret_our_client_reads() -> None:
    model = model_of(OurClient, DIProvider, JUJU_36)
    assert bags_holding(model, PASSWORD) == []
    bag = model.app("postgresql").bag("database")
    assert bag["secret-user"] in model.secrets
    assert model.secrets[bag["secret-user"]].content["password"] == PASSWORD


def test_on_juju_29_data_interfaces_answers_in_clear_and_no_secret_exists() -> None:
    model = model_of(OurClient, DIProvider, JUJU_29)
    assert model.secrets == {}
    assert model.app("postgresql").bag("database")["password"] == PASSWORD
    assert read(model, "myapp/1")["master"].password == PASSWORD


@JUJUS
def test_a_password_rotated_by_data_interfaces_is_a_master_changed_on_every_client_unit(
    juju: str,
) -> None:
    runs: List[pgt.HookRun] = []
    model = model_of(OurClient, DIProvider, juju, runs)
    del runs[:]
    model.config("postgresql", password=NEW_PASSWORD)
    # Juju 3.6: a new revision of the user secret (secret-changed); 2.9: the bag changed
    via = "secret-changed" if juju == JUJU_36 else "database-relation-changed"
    for unit in requirer_units(model):
        assert events_by_hook(runs, unit, "master_changed") == [via], unit
        assert read(model, unit)["master"].password == NEW_PASSWORD
    if juju == JUJU_36:
        assert bags_holding(model, PASSWORD, NEW_PASSWORD) == []


@JUJUS
def test_a_new_primary_published_by_data_interfaces_is_a_master_changed(juju: str) -> None:
    runs: List[pgt.HookRun] = []
    model = model_of(OurClient, DIProvider, juju, runs)
    del runs[:]
    model.config("postgresql", primary="10.0.0.6", replicas="10.0.0.5,10.0.0.7")
    for unit in requirer_units(model):
        # once, in whichever hook comes first: on Juju 3.6 the new URI in the user secret
        # queues a secret-changed too, and the bag is already there to read
        assert len(events_by_hook(runs, unit, "master_changed")) == 1, unit
        seen = read(model, unit)
        assert seen["master"].host == "10.0.0.6"
        assert [s.host for s in seen["standbys"]] == ["10.0.0.5", "10.0.0.7"]


def changed_before_joined(model: pgt.Model, unit: str) -> None:
    """Queue relation-changed naming postgresql/0 right after the unit's -created, before any
    -joined: Juju may do so, and the provider's application bag is complete by then."""
    u = model.unit(unit)
    rel = model.relation_of("myapp", "database")
    hooks = list(u.queue)
    at = hooks.index(("relation_created", rel.id, None)) + 1
    hooks.insert(at, ("relation_changed", rel.id, 0))
    u.queue.clear()
    u.queue.extend(hooks)


def new_client_unit_changed_before_joined(juju: str) -> Tuple[pgt.Model, pgt.HookRun]:
    """A third client unit whose first relation hook after -created is -changed, not -joined."""
    runs: List[pgt.HookRun] = []
    model = model_of(OurClient, DIProvider, juju, runs)
    del runs[:]
    model.add_unit("myapp", settle=False)
    changed_before_joined(model, "myapp/2")
    model.settle()
    mine = [r for r in runs if r.unit == "myapp/2" and r.hook.startswith("database-relation")]
    early = mine[1]  # the one after -created
    assert (early.hook, early.remote_unit) == ("database-relation-changed", "postgresql/0")
    return model, early


@JUJUS
def test_a_new_client_unit_seeing_relation_changed_before_joined_is_ready_once_joined(
    juju: str,
) -> None:
    model, early = new_client_unit_changed_before_joined(juju)
    assert "master_gone" not in early.events
    seen = read(model, "myapp/2")
    assert seen["ready"], seen["why"]
    assert seen["master"].password == PASSWORD


@JUJUS
def test_a_relation_changed_naming_a_provider_unit_before_its_joined_emits_nothing_yet(
    juju: str,
) -> None:
    # As 1.x (docs/protocol.md): nothing is told before a provider unit has joined, even when
    # the application bag already holds the answer; the -joined that follows tells it
    # (test_a_new_client_unit_seeing_relation_changed_before_joined_is_ready_once_joined).
    _, early = new_client_unit_changed_before_joined(juju)
    assert not early.seen["ready"]
    assert "master_available" not in early.events


@JUJUS
def test_removing_client_and_provider_units_keeps_the_other_client_units_ready(
    juju: str,
) -> None:
    runs: List[pgt.HookRun] = []
    model = model_of(OurClient, DIProvider, juju, runs)
    del runs[:]
    model.remove_unit("myapp/1")
    model.remove_unit("postgresql/1")
    seen = read(model, "myapp/0")
    assert seen["ready"], seen["why"]
    assert seen["master"].password == PASSWORD
    assert events_by_hook(runs, "myapp/0", "master_gone") == []


# ---- our DatabaseProvider against data_interfaces' DatabaseRequires -----------------------


@JUJUS
def test_data_interfaces_requirer_on_every_unit_reads_our_providers_answer(juju: str) -> None:
    runs: List[pgt.HookRun] = []
    model = model_of(DIRequirer, OurProvider, juju, runs)
    for unit in requirer_units(model):
        assert len(events_by_hook(runs, unit, "database_created")) == 1, unit
        data = read(model, unit)[1]
        assert data["username"] == "relation-1"
        assert data["password"] == PASSWORD
        assert data["endpoints"] == f"10.0.0.5:{PORT}"
        assert data["read-only-endpoints"] == f"10.0.0.6:{PORT},10.0.0.7:{PORT}"
        assert data["database"] == DATABASE
        assert data["version"] == VERSION


def test_on_juju_36_our_provider_puts_the_password_only_in_a_secret_data_interfaces_reads() -> None:
    model = model_of(DIRequirer, OurProvider, JUJU_36)
    assert bags_holding(model, PASSWORD) == []
    bag = model.app("postgresql").bag("database")
    assert model.secrets[bag["secret-user"]].grants == {1: {"myapp"}}
    assert read(model, "myapp/1")[1]["password"] == PASSWORD


def test_on_juju_29_our_provider_answers_in_clear_and_creates_no_secret() -> None:
    model = model_of(DIRequirer, OurProvider, JUJU_29)
    assert model.secrets == {}
    assert model.app("postgresql").bag("database")["password"] == PASSWORD
    assert read(model, "myapp/1")[1]["password"] == PASSWORD


@JUJUS
def test_a_password_rotated_by_our_provider_is_what_data_interfaces_reads_next(
    juju: str,
) -> None:
    model = model_of(DIRequirer, OurProvider, juju)
    user = model.app("postgresql").bag("database").get("secret-user")
    model.config("postgresql", password=NEW_PASSWORD)
    for unit in requirer_units(model):
        assert read(model, unit)[1]["password"] == NEW_PASSWORD
    if juju == JUJU_36:
        # a new revision of the same secret, the bag untouched
        assert model.app("postgresql").bag("database")["secret-user"] == user
        assert user is not None
        assert len(model.secrets[user].revisions) == 2
        assert bags_holding(model, PASSWORD, NEW_PASSWORD) == []


@JUJUS
def test_a_new_requirer_unit_seeing_relation_changed_before_joined_reads_the_answer(
    juju: str,
) -> None:
    model = model_of(DIRequirer, OurProvider, juju)
    model.add_unit("myapp", settle=False)
    changed_before_joined(model, "myapp/2")
    model.settle()
    assert read(model, "myapp/2")[1]["password"] == PASSWORD


@JUJUS
def test_removing_a_requirer_unit_keeps_the_credentials_for_the_others(juju: str) -> None:
    model = model_of(DIRequirer, OurProvider, juju)
    model.remove_unit("myapp/1")
    assert read(model, "myapp/0")[1]["password"] == PASSWORD


@JUJUS
def test_removing_the_provider_leader_unit_keeps_the_requirers_credentials(juju: str) -> None:
    model = model_of(DIRequirer, OurProvider, juju)
    model.remove_unit("postgresql/0")  # the leader: it runs relation-broken as it goes
    for unit in requirer_units(model):
        data = read(model, unit)[1]
        assert (data.get("username"), data.get("password")) == ("relation-1", PASSWORD), unit


@JUJUS
def test_a_new_provider_leader_answers_again_after_the_old_leader_unit_is_removed(
    juju: str,
) -> None:
    model = model_of(DIRequirer, OurProvider, juju)
    model.remove_unit("postgresql/0")
    model.set_leader("postgresql/1")
    for unit in requirer_units(model):
        data = read(model, unit)[1]
        assert (data.get("username"), data.get("password")) == ("relation-1", PASSWORD), unit


def test_removing_the_relation_removes_our_providers_secrets() -> None:
    model = model_of(DIRequirer, OurProvider, JUJU_36)
    assert model.secrets
    model.remove_relation(model.relation_of("myapp", "database"))
    assert model.secrets == {}
