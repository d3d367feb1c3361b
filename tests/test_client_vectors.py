"""Every server and lifecycle stage of provider-databags.yaml, through the client (Scenario).

Each stage is run as a relation-changed hook on each client unit that exists in that stage:
``myapp/0`` (leader) and ``myapp/1`` (non-leader). Both request what the client application
bag of the stage says (declaratively, so both units know it). Canonical pgbouncer (machine)
is a subordinate: a client unit only sees its co-located pgbouncer unit (and the app bag).
The expected verdicts below were worked out from providers.md, not from running the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
import pytest
import yaml
from needs import requires_scenario

import pgsql
from pgsql import protocol

testing: Any = requires_scenario()

VECTORS = yaml.safe_load(
    (Path(__file__).resolve().parent / "data/provider-databags.yaml").read_text()
)["providers"]

META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"db": {"interface": "pgsql", "limit": 1}},
}

R = True
W = protocol.WAITING

# (provider, stage) -> {view: (ready, code, master host, number of standbys)}
# code: the first blocking reason when not ready; a note that must be present when ready.
Exp = Tuple[bool, Optional[str], Optional[str], Optional[int]]
EXPECTED: Dict[Tuple[str, str], Dict[str, Exp]] = {
    ("reactive-postgresql", "joined"): {
        "myapp/0": (False, W, None, 0),
        "myapp/1": (False, W, None, 0),
    },
    ("reactive-postgresql", "ready"): {
        "myapp/0": (R, None, "10.0.0.20", 1),
        "myapp/1": (R, None, "10.0.0.20", 1),
    },
    ("reactive-postgresql", "standalone_single_unit"): {
        "myapp/0": (R, None, "10.0.0.20", 0),
        "myapp/1": (R, None, "10.0.0.20", 0),
    },
    ("reactive-postgresql", "standby_added"): {
        "myapp/0": (R, None, "10.0.0.20", 2),
        "myapp/1": (R, None, "10.0.0.20", 2),
    },
    # the master's bag is gone and survivors publish no master: standbys only
    ("reactive-postgresql", "failover_interim"): {
        "myapp/0": (False, W, None, 2),
        "myapp/1": (False, W, None, 2),
    },
    ("reactive-postgresql", "failover_done"): {
        "myapp/0": (R, None, "10.0.0.21", 1),
        "myapp/1": (R, None, "10.0.0.21", 1),
    },
    ("reactive-postgresql", "client_unit_departed"): {"myapp/0": (R, None, "10.0.0.20", 1)},
    ("reactive-postgresql", "broken"): {},
    ("canonical-postgresql-vm", "joined"): {
        "myapp/0": (False, W, None, 0),
        "myapp/1": (False, W, None, 0),
    },
    # extension not enabled: the server publishes nothing, the client waits
    ("canonical-postgresql-vm", "blocked_extension"): {
        "myapp/0": (False, W, None, 0),
        "myapp/1": (False, W, None, 0),
    },
    # one ready bag is enough; the other unit has not written yet
    ("canonical-postgresql-vm", "ready_leader_only"): {
        "myapp/0": (R, None, "10.0.0.20", 1),
        "myapp/1": (R, None, "10.0.0.20", 1),
    },
    ("canonical-postgresql-vm", "ready_converged"): {
        "myapp/0": (R, None, "10.0.0.20", 1),
        "myapp/1": (R, None, "10.0.0.20", 1),
    },
    ("canonical-postgresql-vm", "standalone_single_unit"): {
        "myapp/0": (R, None, "10.0.0.20", 0),
        "myapp/1": (R, None, "10.0.0.20", 0),
    },
    # comma-joined standbys split in two
    ("canonical-postgresql-vm", "standby_added"): {
        "myapp/0": (R, None, "10.0.0.20", 2),
        "myapp/1": (R, None, "10.0.0.20", 2),
    },
    # mid-failover: the bag whose state is master wins over the stale one
    ("canonical-postgresql-vm", "failover"): {
        "myapp/0": (R, protocol.MASTERS_DISAGREE, "10.0.0.21", 2),
        "myapp/1": (R, protocol.MASTERS_DISAGREE, "10.0.0.21", 2),
    },
    ("canonical-postgresql-vm", "client_unit_departed_stale"): {
        "myapp/0": (R, None, "10.0.0.20", 1)
    },
    ("canonical-postgresql-vm", "client_unit_departed_refreshed"): {
        "myapp/0": (R, None, "10.0.0.20", 1)
    },
    # default requested: any database will do
    ("canonical-postgresql-vm", "default_database_requested"): {
        "myapp/0": (R, None, "10.0.0.20", 0)
    },
    # the old app bag is ignored in favour of the ready unit bag
    ("canonical-postgresql-vm", "stale_app_bag_after_refresh_from_2022_revision"): {
        "myapp/0": (R, protocol.STALE_APP_BAG, "10.0.0.21", 0),
        "myapp/1": (R, protocol.STALE_APP_BAG, "10.0.0.21", 0),
    },
    ("canonical-postgresql-vm", "broken"): {},
    ("canonical-postgresql-k8s", "joined_or_no_database"): {"myapp/0": (False, W, None, 0)},
    ("canonical-postgresql-k8s", "ready"): {
        "myapp/0": (R, None, "postgresql-k8s-primary.dev.svc.cluster.local", 1),
        "myapp/1": (R, None, "postgresql-k8s-primary.dev.svc.cluster.local", 1),
    },
    # only the app bag (and the leader's empty unit bag): the app bag is used
    ("canonical-postgresql-k8s", "single_unit"): {
        "myapp/0": (R, None, "postgresql-k8s-primary.dev.svc.cluster.local", 1),
        "myapp/1": (R, None, "postgresql-k8s-primary.dev.svc.cluster.local", 1),
    },
    ("canonical-postgresql-k8s", "standby_added_or_failover"): {
        "myapp/0": (R, None, "postgresql-k8s-primary.dev.svc.cluster.local", 1),
        "myapp/1": (R, None, "postgresql-k8s-primary.dev.svc.cluster.local", 1),
    },
    ("canonical-postgresql-k8s", "client_unit_departed"): {
        "myapp/0": (R, None, "postgresql-k8s-primary.dev.svc.cluster.local", 1)
    },
    ("canonical-postgresql-k8s", "broken"): {},
    ("canonical-pgbouncer-vm", "joined"): {
        "myapp/0": (False, W, None, 0),
        "myapp/1": (False, W, None, 0),
    },
    # the non-leader pgbouncer bag has no extensions: not echoed is accepted
    ("canonical-pgbouncer-vm", "ready"): {
        "myapp/0": (R, None, "localhost", 0),
        "myapp/1": (R, protocol.EXTENSIONS_NOT_ECHOED, "localhost", 0),
    },
    # the database was fixed before the request arrived
    ("canonical-pgbouncer-vm", "database_race_lost"): {
        "myapp/0": (False, protocol.DATABASE_MISMATCH, None, 0)
    },
    ("canonical-pgbouncer-vm", "backend_failover_or_standby_added"): {
        "myapp/0": (R, None, "localhost", 0),
        "myapp/1": (R, protocol.EXTENSIONS_NOT_ECHOED, "localhost", 0),
    },
    # only the leader's principal is in the old app bag's allowed-subnets
    ("canonical-pgbouncer-vm", "stale_app_bag_from_2023_revision"): {
        "myapp/1": (False, protocol.EGRESS_NOT_ALLOWED, None, 0)
    },
    ("canonical-pgbouncer-k8s", "joined_waiting_for_database"): {
        "myapp/0": (False, W, None, 0),
        "myapp/1": (False, W, None, 0),
    },
    ("canonical-pgbouncer-k8s", "joined"): {
        "myapp/0": (False, W, None, 0),
        "myapp/1": (False, W, None, 0),
    },
    # one standby whose dbname is mydb_standby: accepted
    ("canonical-pgbouncer-k8s", "ready"): {
        "myapp/0": (R, None, "pgbouncer-k8s-service.dev.svc.cluster.local", 1),
        "myapp/1": (R, None, "pgbouncer-k8s-service.dev.svc.cluster.local", 1),
    },
    ("canonical-pgbouncer-k8s", "client_unit_departed"): {
        "myapp/0": (R, None, "pgbouncer-k8s-service.dev.svc.cluster.local", 1)
    },
    ("legacy-ops-postgresql-k8s", "ready"): {
        "myapp/0": (R, None, "10.152.183.200", 1),
        "myapp/1": (R, None, "10.152.183.200", 1),
    },
    ("legacy-ops-postgresql-k8s", "failover_or_standby_added"): {
        "myapp/0": (R, None, "10.152.183.200", 1),
        "myapp/1": (R, None, "10.152.183.200", 1),
    },
    # no allowed-subnets: allowed-units decides; no extensions echo; pgbouncer/0 is "master"
    ("legacy-reactive-pgbouncer", "ready"): {
        "myapp/0": (R, protocol.EXTENSIONS_NOT_ECHOED, "10.0.0.30", 1),
        "myapp/1": (R, protocol.EXTENSIONS_NOT_ECHOED, "10.0.0.30", 1),
    },
    ("marcin-postgresql", "ready"): {
        "myapp/0": (R, None, "10.0.0.20", 0),
        "myapp/1": (R, None, "10.0.0.20", 0),
    },
    ("marcin-postgresql", "all_client_units_departed"): {},
}


def _stages() -> List[Tuple[str, str]]:
    return [(p, s) for p, spec in VECTORS.items() for s in spec["stages"]]


def test_every_stage_has_an_expectation() -> None:
    assert sorted(_stages()) == sorted(EXPECTED)


class Charm(ops.charm.CharmBase):
    """Requests what the stage's client application bag says, on every unit."""

    request: ClassVar[Dict[str, Any]] = {}

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", **type(self).request)
        self.events: List[str] = []
        for name in (*protocol.EVENT_NAMES, "database_relation_broken"):
            framework.observe(getattr(self.db.on, name), self._record)

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        self.events.append(type(event).__name__)


def _stage_data(provider: str, stage: str) -> Dict[str, Any]:
    spec = VECTORS[provider]["stages"][stage]
    if "server" not in spec:  # "unchanged from stage ready"
        spec = {**spec, "server": VECTORS[provider]["stages"]["ready"]["server"]}
    return spec


def _view(
    provider: str, server_units: Dict[str, Dict[str, str]], view: str
) -> Dict[str, Dict[str, str]]:
    if provider == "canonical-pgbouncer-vm":  # subordinate: the co-located unit only
        n = view.rpartition("/")[2]
        return {k: v for k, v in server_units.items() if k.rpartition("/")[2] == n}
    return server_units


@pytest.mark.parametrize(("provider", "stage"), sorted(EXPECTED))
def test_stage(provider: str, stage: str) -> None:
    spec = _stage_data(provider, stage)
    client_app: Dict[str, str] = spec["client"]["app"] or {}
    client_units: Dict[str, Dict[str, str]] = spec["client"]["units"] or {}
    server_app: Dict[str, str] = spec["server"]["app"] or {}
    server_units: Dict[str, Dict[str, str]] = spec["server"]["units"] or {}
    expected = EXPECTED[(provider, stage)]
    req = protocol.Request.from_databag(client_app)
    Charm.request = {"database": req.database, "extensions": list(req.extensions)}
    if not expected:
        _broken(server_app, server_units)
        return
    for view, (ready, code, host, n_standbys) in expected.items():
        unit_id = int(view.rpartition("/")[2])
        units = _view(provider, server_units, view)
        names = sorted(units, key=protocol.unit_sort_key)
        remote_app = names[0].rpartition("/")[0] if names else "postgresql"
        local_unit_data = dict(client_units.get(view) or {"egress-subnets": "10.0.0.10/32"})
        relation = testing.Relation(
            "db",
            "pgsql",
            remote_app_name=remote_app,
            remote_app_data=dict(server_app),
            remote_units_data={int(n.rpartition("/")[2]): dict(units[n]) for n in names},
            local_unit_data=local_unit_data,
            local_app_data=dict(client_app) if unit_id == 0 else {},
        )
        state = testing.State(leader=unit_id == 0, relations={relation})
        ctx = testing.Context(Charm, meta=META, unit_id=unit_id)
        remote_unit = int(names[0].rpartition("/")[2]) if names else None
        event = ctx.on.relation_changed(relation, remote_unit=remote_unit)
        with ctx(event, state) as manager:
            manager.run()
            readiness = manager.charm.db.readiness()
            events = manager.charm.events
        assert readiness is not None
        where = f"{provider}/{stage} as {view}: {readiness.why} {readiness.reasons}"
        assert readiness.ready is ready, where
        codes = [r.code for r in readiness.reasons]
        if not ready:
            blocking = [r.code for r in readiness.reasons if r.blocking]
            assert blocking, where
            assert blocking[0] == code, where
            assert readiness.why  # always an explanation
        elif code is not None:
            assert code in codes, where
        assert (readiness.master.host if readiness.master else None) == host, where
        assert n_standbys is None or len(readiness.standbys) == n_standbys, where
        if ready:
            assert events[:2] == ["MasterAvailableEvent", "MasterChangedEvent"], where
            assert readiness.master is not None
            assert readiness.master.password
        elif readiness.standbys:
            assert "StandbyAvailableEvent" in events
            assert "MasterChangedEvent" not in events
        else:
            assert events == [], where


def _broken(server_app: Dict[str, str], server_units: Dict[str, Dict[str, str]]) -> None:
    """Stages where everything is gone: relation-broken tells the charm, nothing raises."""
    assert not server_app
    assert not server_units
    relation = testing.Relation("db", "pgsql", remote_app_name="postgresql")
    ctx = testing.Context(Charm, meta=META)
    with ctx(
        ctx.on.relation_broken(relation), testing.State(leader=True, relations={relation})
    ) as mgr:
        mgr.run()
        assert mgr.charm.events == ["DatabaseRelationBrokenEvent"]


def test_pgbouncer_k8s_standby_database_differs_and_is_accepted() -> None:
    spec = _stage_data("canonical-pgbouncer-k8s", "ready")
    bag = spec["server"]["app"]
    standbys = protocol.split_standbys(bag["standbys"])
    assert [pgsql.ConnectionString(s).dbname for s in standbys] == ["mydb_standby"]
