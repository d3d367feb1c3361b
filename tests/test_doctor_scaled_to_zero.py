"""``pgsql doctor`` on a relation whose server application is scaled to zero (issue #17, point 4).

``juju show-unit myapp/0`` then shows the relation with the server's application bag (which
outlives its units) as ``application-data`` and no ``related-units``: Juju names the related
application only through its units. The doctor must give the charm's own verdict for those bags
(``PostgreSQLClient.readiness()`` under Scenario is the oracle), never ``roles-unknown``, and
never advise an option that was given.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Tuple

import ops
import ops.charm
import ops.framework
import pytest
import yaml
from needs import needs_scenario
from test_doctor_support import DATA, build, codes, doctor_json, dump, run_doctor, unit_result

import pgsql
from pgsql import protocol

pytestmark = needs_scenario

testing: Any = pytest.importorskip("ops.testing")

VECTORS = DATA / "show-unit-postgresql-client"
#: the passwords of the vectors used here (pg14-vm-plaintext.yaml, provider-databags.yaml)
PASSWORDS = ("Kp7vQ2xLmN9rT4wZ", "Hn4pQ7sVb2mKx9Lw")
UNNAMED = "<related application>"

#: the options given, and whether the roles are then known (postgresql_client: from --unit,
#: or from --juju-version, which says whose bag application-data is)
OPTION_SETS = [
    ("--unit", "myapp/0", "--juju-version", "3.6"),
    ("--juju-version", "3.6"),
    ("--unit", "myapp/0"),
]


def scaled_to_zero(doc: Dict[str, Any], endpoint: str) -> Dict[str, Any]:
    """Only myapp/0's show-unit, its ``endpoint`` relation listing no server unit."""
    out = {"myapp/0": copy.deepcopy(doc["myapp/0"])}
    (item,) = [i for i in out["myapp/0"]["relation-info"] if i["endpoint"] == endpoint]
    del item["related-units"]  # omitempty: Juju prints no related-units when there are none
    return out


def as_input(doc: Dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        # JSON always prints local-unit, empty on a non-peer relation
        doc = copy.deepcopy(doc)
        for item in doc["myapp/0"]["relation-info"]:
            item.setdefault("local-unit", {"in-scope": False, "data": None})
    return dump(doc, fmt)


def client_zero() -> Dict[str, Any]:
    """PostgreSQL 14 VM answered myapp in plaintext (Juju 2.9.42), then was scaled to zero."""
    doc = yaml.safe_load((VECTORS / "pg14-vm-plaintext.yaml").read_text())
    return scaled_to_zero(doc, "database")


def pgsql_zero() -> Dict[str, Any]:
    """Canonical postgresql-k8s answered myapp on ``db`` (its application bag), then scaled to 0."""
    return scaled_to_zero(build("canonical-postgresql-k8s", "ready", server_units=[]), "db")


class _Charm(ops.charm.CharmBase):
    ENDPOINT = "database"

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, self.ENDPOINT, database="mydb")


class _DbCharm(_Charm):
    ENDPOINT = "db"


def charm_readiness(
    endpoint: str, interface: str, app_bag: Dict[str, str], egress: str
) -> protocol.Readiness:
    """What the charm itself says for the server's bag and no server unit (Scenario)."""
    charm = _Charm if endpoint == "database" else _DbCharm
    meta = {"name": "myapp", "requires": {endpoint: {"interface": interface, "limit": 1}}}
    ctx = testing.Context(charm, meta=meta, juju_version="3.6.4")
    rel = testing.Relation(
        endpoint,
        interface,
        remote_app_name="postgresql",
        remote_app_data=app_bag,
        remote_units_data={},
        local_unit_data={"egress-subnets": egress},
    )
    with ctx(ctx.on.update_status(), testing.State(leader=True, relations={rel})) as mgr:
        mgr.run()
        return mgr.charm.db.readiness()


def app_data(doc: Dict[str, Any], endpoint: str) -> Dict[str, str]:
    (item,) = [i for i in doc["myapp/0"]["relation-info"] if i["endpoint"] == endpoint]
    return {str(k): str(v) for k, v in item["application-data"].items()}


def assert_no_advice_of_given_options(out: str, args: Tuple[str, ...]) -> None:
    fixes = [line for line in out.splitlines() if "fix:" in line or "run:" in line]
    for option in ("--unit", "--juju-version"):
        if option in args:
            assert not [f for f in fixes if f"pass {option}" in f or f"or {option}" in f], fixes


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("args", OPTION_SETS, ids=" ".join)
def test_postgresql_client_provider_scaled_to_zero_is_not_ready_no_remote_units(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: Tuple[str, ...],
    fmt: str,
) -> None:
    doc = client_zero()
    charm = charm_readiness(
        "database", "postgresql_client", app_data(doc, "database"), "10.0.0.10/32"
    )
    assert not charm.ready
    assert [r.code for r in charm.reasons if r.blocking] == [protocol.NO_REMOTE]
    text = as_input(doc, fmt)
    code, report = doctor_json(capsys, monkeypatch, text, *args)
    assert code == 1
    (rel,) = report["relations"]
    assert (rel["client"], rel["server"], rel["interface"]) == (
        "myapp",
        UNNAMED,
        "postgresql_client",
    )
    entry = unit_result(report)
    assert entry["verdict"] == "not ready"
    # the charm's own blocking reasons, nothing about roles
    assert codes(entry, blocking=True) == [protocol.NO_REMOTE]
    assert entry["run"] == []  # no provider unit whose show-unit could tell more
    code, out, err = run_doctor(capsys, monkeypatch, text, *args)
    assert code == 1
    assert "myapp:database (requirer) <-> <related application>:database (provider)" in out
    assert "  myapp/0: NOT READY\n    - [no-remote-units] " in out
    assert "roles-unknown" not in out
    assert "Verdict: myapp/0 not ready (exit status 1)" in out
    assert_no_advice_of_given_options(out, args)
    for said in (out + err, str(report)):
        for pw in PASSWORDS:
            assert pw not in said


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("args", [OPTION_SETS[0], ()], ids=["unit+version", "none"])
def test_pgsql_server_scaled_to_zero_gives_the_charms_master_and_notes_no_units(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: Tuple[str, ...],
    fmt: str,
) -> None:
    # on pgsql the charm keeps using the application bag (1.x did): the doctor shows that
    # verdict, notes that no server unit serves it, and cannot check the request (only the
    # server's show-unit shows it, and the server has no unit)
    doc = pgsql_zero()
    charm = charm_readiness("db", "pgsql", app_data(doc, "db"), "10.152.183.45/32")
    assert charm.ready
    assert charm.master is not None
    text = as_input(doc, fmt)
    code, report = doctor_json(capsys, monkeypatch, text, *args)
    assert code == 1
    (rel,) = report["relations"]
    assert (rel["client"], rel["server"]) == ("myapp", UNNAMED)
    entry = unit_result(report)
    assert entry["verdict"] == "cannot tell"
    assert entry["master"] == "relation_id_5@postgresql-k8s-primary.dev.svc.cluster.local:5432/mydb"
    assert codes(entry, blocking=True) == []
    assert codes(entry, blocking=False) == [protocol.NO_REMOTE, "request-not-visible"]
    assert entry["run"] == []
    advice: List[str] = [r["advice"] or "" for r in entry["reasons"]]
    assert not [a for a in advice if "juju show-unit" in a]  # no server unit to show
    code, out, err = run_doctor(capsys, monkeypatch, text, *args)
    assert "myapp:db (client) <-> <related application>:db (server)" in out
    assert (
        "    note: [no-remote-units] <related application>: no server unit on the relation" in out
    )
    assert "roles-unknown" not in out
    assert_no_advice_of_given_options(out, args)
    for pw in PASSWORDS:
        assert pw not in out + err


def _juju_keys_only() -> Dict[str, Any]:
    """myapp/0 and postgresql/0 related on `db`, neither has published anything but Juju's keys."""

    def unit_doc(unit: str, other: str, address: str) -> Dict[str, Any]:
        juju = {"egress-subnets": f"{address}/32", "ingress-address": address}
        juju["private-address"] = address
        item: Dict[str, Any] = {"relation-id": 5, "endpoint": "db", "related-endpoint": "db"}
        item["application-data"] = {}
        item["related-units"] = {other: {"in-scope": True, "data": juju}}
        return {
            "opened-ports": [],
            "charm": f"local:{unit.split('/', maxsplit=1)[0]}-0",
            "leader": True,
            "life": "alive",
            "relation-info": [item],
        }

    return {
        "myapp/0": unit_doc("myapp/0", "postgresql/0", "10.0.0.20"),
        "postgresql/0": unit_doc("postgresql/0", "myapp/0", "10.0.0.10"),
    }


@pytest.mark.parametrize(
    ("args", "advised"),
    [
        (("--juju-version", "3.6"), "pass --unit <client unit>, and give"),
        ((), "pass --unit <client unit> or --juju-version, and give"),
    ],
    ids=["version-given", "nothing-given"],
)
def test_roles_unknown_advises_only_the_options_not_given(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: Tuple[str, ...],
    advised: str,
) -> None:
    text = dump(_juju_keys_only(), "yaml")
    code, report = doctor_json(capsys, monkeypatch, text, "--endpoint", "db", *args)
    assert code == 1
    (rel,) = report["relations"]
    (reason,) = [r for u in rel["units"] for r in u["reasons"]][:1]
    assert reason["code"] == "roles-unknown"
    assert reason["advice"].startswith(advised)
    _, out, _ = run_doctor(capsys, monkeypatch, text, "--endpoint", "db", *args)
    assert f"fix: {advised}" in out
    assert_no_advice_of_given_options(out, args)
    # --unit too: the roles are known, the unit judged
    code, report = doctor_json(
        capsys, monkeypatch, text, "--endpoint", "db", "--unit", "myapp/0", *args
    )
    assert [u["unit"] for r in report["relations"] for u in r["units"]] == ["myapp/0"]
    assert "roles-unknown" not in str(report)
