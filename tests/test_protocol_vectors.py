"""Readiness verdicts for every known server, stage and client unit view.

The server databags come from ``tests/data/provider-databags.yaml`` (one entry per real server
implementation and lifecycle stage) plus hand-made vectors for the interoperability pitfalls of
the interface research (providers.md section 10). The expected verdicts below are written by hand
from that research, not copied from the code's output.

Views: ``myapp/0`` is the client leader and ``myapp/1`` a non-leader, where the stage has them.
Behind the subordinate machine pgbouncer (``canonical-pgbouncer-vm``) each client unit sees only
its co-located pgbouncer unit (``myapp/N`` with ``pgbouncer/N``) and the server app bag, so a view
exists only when the stage has that pgbouncer unit. Stages whose client side is empty (broken,
everything departed) are evaluated for ``myapp/0`` with an empty local bag. Each view is evaluated
with the request known (read from the client app bag) and unknown (``None``: a non-leader that
cannot know it, so the server's echo is trusted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, List, Mapping, Optional, Tuple, cast

import pytest
import yaml

from pgsql import protocol
from pgsql.protocol import Readiness, Request, evaluate

DATA = Path(__file__).resolve().parent / "data" / "provider-databags.yaml"

Bag = Dict[str, str]
HostDb = Tuple[str, str]

#: Notes whose presence or absence is part of the expected verdict.
NOTABLE = frozenset(
    {protocol.STALE_APP_BAG, protocol.MASTERS_DISAGREE, protocol.EXTENSIONS_NOT_ECHOED}
)

W = protocol.WAITING
NO_REMOTE = protocol.NO_REMOTE


@dataclass(frozen=True)
class Expect:
    """A verdict: what ``evaluate`` must answer for one view."""

    ready: bool
    source: Optional[str] = None
    master: Optional[HostDb] = None
    standbys: Tuple[HostDb, ...] = ()
    blocking: FrozenSet[str] = frozenset()
    notes: FrozenSet[str] = frozenset()
    version: Optional[str] = None
    database: Optional[str] = None


def ready(
    source: str,
    master: HostDb,
    standbys: Tuple[HostDb, ...] = (),
    *,
    version: Optional[str],
    notes: Tuple[str, ...] = (),
    database: Optional[str] = "mydb",
) -> Expect:
    return Expect(True, source, master, standbys, frozenset(), frozenset(notes), version, database)


def not_ready(
    *blocking: str,
    source: Optional[str] = None,
    standbys: Tuple[HostDb, ...] = (),
    version: Optional[str] = None,
    database: Optional[str] = None,
    notes: Tuple[str, ...] = (),
) -> Expect:
    return Expect(
        False, source, None, standbys, frozenset(blocking), frozenset(notes), version, database
    )


# ---------------------------------------------------------------------------------------------
# The expected table for provider-databags.yaml
# ---------------------------------------------------------------------------------------------

# R-PG: unit bags only, host is the writing unit; master/standbys sorted, "\n"-joined.
R0, R1, R2 = "10.0.0.20", "10.0.0.21", "10.0.0.22"
# K8S-PG Services; PGB-K8S rw/ro Service; L-K8S Service IPs.
K8S_PRIMARY = "postgresql-k8s-primary.dev.svc.cluster.local"
K8S_REPLICAS = "postgresql-k8s-replicas.dev.svc.cluster.local"
PGBK8S = "pgbouncer-k8s-service.dev.svc.cluster.local"
LK8S_MASTER, LK8S_STANDBYS = "10.152.183.200", "10.152.183.201"
PGB0 = "10.0.0.30"

BOTH = ("myapp/0", "myapp/1")

#: (provider, stage) -> {unit: (expected with the request known, expected when unknown or None
#: when it is the same minus the request-dependent extensions-not-echoed note)}
Table = Dict[Tuple[str, str], Dict[str, Tuple[Expect, Optional[Expect]]]]


def same(
    units: Tuple[str, ...], e: Expect, unknown: Optional[Expect] = None
) -> Dict[str, Tuple[Expect, Optional[Expect]]]:
    return dict.fromkeys(units, (e, unknown))


EXPECTED: Table = {
    # ---- R-PG: legacy reactive postgresql ------------------------------------------------------
    # Nothing published before the master created db/user (only Juju keys).
    ("reactive-postgresql", "joined"): same(BOTH, not_ready(W)),
    ("reactive-postgresql", "ready"): same(
        BOTH, ready("postgresql/0", (R0, "mydb"), ((R1, "mydb"),), version="12")
    ),
    ("reactive-postgresql", "standalone_single_unit"): same(
        BOTH, ready("postgresql/0", (R0, "mydb"), version="12")
    ),
    # "\n"-joined standbys, both units list both; master from the state=master bag.
    ("reactive-postgresql", "standby_added"): same(
        BOTH,
        ready("postgresql/0", (R0, "mydb"), ((R1, "mydb"), (R2, "mydb")), version="12"),
    ),
    # Master gone everywhere while standbys stay: not ready (pitfall 21), standbys still usable.
    ("reactive-postgresql", "failover_interim"): same(
        BOTH,
        not_ready(
            W,
            source="postgresql/1",
            standbys=((R1, "mydb"), (R2, "mydb")),
            version="12",
            database="mydb",
        ),
    ),
    ("reactive-postgresql", "failover_done"): same(
        BOTH, ready("postgresql/1", (R1, "mydb"), ((R2, "mydb"),), version="12")
    ),
    ("reactive-postgresql", "client_unit_departed"): same(
        ("myapp/0",), ready("postgresql/0", (R0, "mydb"), ((R1, "mydb"),), version="12")
    ),
    ("reactive-postgresql", "broken"): same(("myapp/0",), not_ready(NO_REMOTE)),
    # ---- VM-PG: Canonical postgresql-operator 14 -----------------------------------------------
    ("canonical-postgresql-vm", "joined"): same(BOTH, not_ready(W)),
    # Blocked server publishes nothing: the client only sees "waiting".
    ("canonical-postgresql-vm", "blocked_extension"): same(BOTH, not_ready(W)),
    # Partial bags (pitfall 1): the leader's bag alone is enough.
    ("canonical-postgresql-vm", "ready_leader_only"): same(
        BOTH, ready("postgresql/0", (R0, "mydb"), ((R1, "mydb"),), version="14.15")
    ),
    # host is the primary on every unit; the state=master bag is the source.
    ("canonical-postgresql-vm", "ready_converged"): same(
        BOTH, ready("postgresql/0", (R0, "mydb"), ((R1, "mydb"),), version="14.15")
    ),
    ("canonical-postgresql-vm", "standalone_single_unit"): same(
        BOTH, ready("postgresql/0", (R0, "mydb"), version="14.15")
    ),
    # Comma-joined standbys (pitfall 4).
    ("canonical-postgresql-vm", "standby_added"): same(
        BOTH,
        ready("postgresql/0", (R0, "mydb"), ((R1, "mydb"), (R2, "mydb")), version="14.15"),
    ),
    # Mid-failover: postgresql/2 is stale (old primary); the state=master bag wins (pitfall 3).
    ("canonical-postgresql-vm", "failover"): same(
        BOTH,
        ready(
            "postgresql/1",
            (R1, "mydb"),
            ((R0, "mydb"), (R2, "mydb")),
            version="14.15",
            notes=(protocol.MASTERS_DISAGREE,),
        ),
    ),
    # Stale allowed-* after a client departed still grants the remaining unit (pitfall 10).
    ("canonical-postgresql-vm", "client_unit_departed_stale"): same(
        ("myapp/0",), ready("postgresql/0", (R0, "mydb"), ((R1, "mydb"),), version="14.15")
    ),
    ("canonical-postgresql-vm", "client_unit_departed_refreshed"): same(
        ("myapp/0",), ready("postgresql/0", (R0, "mydb"), ((R1, "mydb"),), version="14.15")
    ),
    # Default requested: the server's app-name database is accepted (pitfall 12).
    ("canonical-postgresql-vm", "default_database_requested"): same(
        ("myapp/0",),
        ready("postgresql/0", (R0, "myapp"), version="14.15", database="myapp"),
    ),
    # The stale 2022 app bag names the old primary; the ready unit bag wins (pitfall 2). The
    # app bag's stale standbys are not used and its old version is not reported.
    ("canonical-postgresql-vm", "stale_app_bag_after_refresh_from_2022_revision"): same(
        BOTH,
        ready("postgresql/1", (R1, "mydb"), version="14.15", notes=(protocol.STALE_APP_BAG,)),
    ),
    ("canonical-postgresql-vm", "broken"): same(("myapp/0",), not_ready(NO_REMOTE)),
    # ---- K8S-PG: Canonical postgresql-k8s-operator 14 -------------------------------------------
    # No database requested: this server never provisions; the client keeps waiting.
    ("canonical-postgresql-k8s", "joined_or_no_database"): same(("myapp/0",), not_ready(W)),
    # Same dict in app bag and leader unit bag: the unit bag is the source.
    ("canonical-postgresql-k8s", "ready"): same(
        BOTH,
        ready(
            "postgresql-k8s/0", (K8S_PRIMARY, "mydb"), ((K8S_REPLICAS, "mydb"),), version="14.15"
        ),
    ),
    # Only the app bag carries data in these stages: it is used since no unit bag is ready.
    ("canonical-postgresql-k8s", "single_unit"): same(
        BOTH,
        ready("postgresql-k8s", (K8S_PRIMARY, "mydb"), ((K8S_REPLICAS, "mydb"),), version="14.15"),
    ),
    ("canonical-postgresql-k8s", "standby_added_or_failover"): same(
        BOTH,
        ready("postgresql-k8s", (K8S_PRIMARY, "mydb"), ((K8S_REPLICAS, "mydb"),), version="14.15"),
    ),
    ("canonical-postgresql-k8s", "client_unit_departed"): same(
        ("myapp/0",),
        ready("postgresql-k8s", (K8S_PRIMARY, "mydb"), ((K8S_REPLICAS, "mydb"),), version="14.15"),
    ),
    ("canonical-postgresql-k8s", "broken"): same(("myapp/0",), not_ready(NO_REMOTE)),
    # ---- PGB-VM: Canonical pgbouncer-operator (subordinate) -------------------------------------
    # Credentials without a master: not published yet.
    ("canonical-pgbouncer-vm", "joined"): same(BOTH, not_ready(W)),
    # Insertion-order conn strings; extensions echoed only on the leader's bag (pitfall 16).
    ("canonical-pgbouncer-vm", "ready"): {
        "myapp/0": (ready("pgbouncer/0", ("localhost", "mydb"), version="14.15"), None),
        "myapp/1": (
            ready(
                "pgbouncer/1",
                ("localhost", "mydb"),
                version="14.15",
                notes=(protocol.EXTENSIONS_NOT_ECHOED,),
            ),
            None,
        ),
    },
    ("canonical-pgbouncer-vm", "backend_failover_or_standby_added"): {
        "myapp/0": (ready("pgbouncer/0", ("localhost", "mydb"), version="14.15"), None),
        "myapp/1": (
            ready(
                "pgbouncer/1",
                ("localhost", "mydb"),
                version="14.15",
                notes=(protocol.EXTENSIONS_NOT_ECHOED,),
            ),
            None,
        ),
    },
    # The server fixed the app name before the request arrived (pitfall 14): a mismatch the
    # leader reports; a unit that does not know the request trusts the echo.
    ("canonical-pgbouncer-vm", "database_race_lost"): {
        "myapp/0": (
            not_ready(protocol.DATABASE_MISMATCH, version="14.15"),
            ready("pgbouncer/0", ("localhost", "myapp"), version="14.15", database="myapp"),
        ),
    },
    # Only the leader's 2023 app bag, listing only the leader's principal: myapp/1 (next to the
    # non-leader pgbouncer/1) is not granted (providers.md 4.8, inferred consequence).
    ("canonical-pgbouncer-vm", "stale_app_bag_from_2023_revision"): {
        "myapp/1": (
            not_ready(protocol.EGRESS_NOT_ALLOWED, version="14.9"),
            not_ready(protocol.EGRESS_NOT_ALLOWED, version="14.9"),
        ),
    },
    # ---- PGB-K8S: Canonical pgbouncer-k8s-operator ----------------------------------------------
    ("canonical-pgbouncer-k8s", "joined_waiting_for_database"): same(BOTH, not_ready(W)),
    ("canonical-pgbouncer-k8s", "joined"): same(BOTH, not_ready(W)),
    # One standby string on the same Service with dbname=<db>_standby (pitfall 6).
    ("canonical-pgbouncer-k8s", "ready"): same(
        BOTH,
        ready("pgbouncer-k8s/0", (PGBK8S, "mydb"), ((PGBK8S, "mydb_standby"),), version="14.15"),
    ),
    # The non-leader bag holds a lone allowed-units key (pitfall 1): ignored.
    ("canonical-pgbouncer-k8s", "client_unit_departed"): same(
        ("myapp/0",),
        ready("pgbouncer-k8s/0", (PGBK8S, "mydb"), ((PGBK8S, "mydb_standby"),), version="14.15"),
    ),
    # ---- L-K8S: legacy ops postgresql-k8s -------------------------------------------------------
    ("legacy-ops-postgresql-k8s", "ready"): same(
        BOTH,
        ready(
            "postgresql-k8s/0",
            (LK8S_MASTER, "mydb"),
            ((LK8S_STANDBYS, "mydb"),),
            version="12",
        ),
    ),
    ("legacy-ops-postgresql-k8s", "failover_or_standby_added"): same(
        BOTH,
        ready(
            "postgresql-k8s/0",
            (LK8S_MASTER, "mydb"),
            ((LK8S_STANDBYS, "mydb"),),
            version="12",
        ),
    ),
    # ---- R-PGB: legacy reactive pgbouncer -------------------------------------------------------
    # No allowed-subnets: allowed-units decides (pitfall 8); no extensions echo; every unit is
    # its own master by design, the state=master one is used (pitfall 3).
    ("legacy-reactive-pgbouncer", "ready"): same(
        BOTH,
        ready(
            "pgbouncer/0",
            (PGB0, "mydb"),
            ((PGB0, "mydb_standby"),),
            version="12",
            notes=(protocol.MASTERS_DISAGREE, protocol.EXTENSIONS_NOT_ECHOED),
        ),
    ),
    # ---- MB: marcin-bakowski-intive/charm-postgresql --------------------------------------------
    # Unsorted allowed-subnets / comma allowed-units, no state, no version.
    ("marcin-postgresql", "ready"): same(BOTH, ready("postgresql/0", (R0, "mydb"), version=None)),
    ("marcin-postgresql", "all_client_units_departed"): same(("myapp/0",), not_ready(NO_REMOTE)),
}

SERVER_APP = {
    "reactive-postgresql": "postgresql",
    "canonical-postgresql-vm": "postgresql",
    "canonical-postgresql-k8s": "postgresql-k8s",
    "canonical-pgbouncer-vm": "pgbouncer",
    "canonical-pgbouncer-k8s": "pgbouncer-k8s",
    "legacy-ops-postgresql-k8s": "postgresql-k8s",
    "legacy-reactive-pgbouncer": "pgbouncer",
    "marcin-postgresql": "postgresql",
}


# ---------------------------------------------------------------------------------------------
# Vectors
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vector:
    """One ``evaluate`` call and its expected verdict."""

    id: str
    request: Optional[Request]
    local_unit: str
    local_bag: Bag
    remote_app: str
    app_bag: Bag
    unit_bags: Dict[str, Bag]
    expect: Expect

    def run(self) -> Readiness:
        return evaluate(
            self.request,
            self.local_unit,
            self.local_bag,
            self.remote_app,
            self.app_bag,
            self.unit_bags,
        )


def _strs(d: Any) -> Bag:
    return {str(k): str(v) for k, v in cast(Mapping[Any, Any], d or {}).items()}


def _bags(d: Any) -> Dict[str, Bag]:
    return {str(u): _strs(b) for u, b in cast(Mapping[Any, Any], d or {}).items()}


def _load() -> Dict[str, Any]:
    return cast(Dict[str, Any], yaml.safe_load(DATA.read_text())["providers"])


def _unknown(e: Expect) -> Expect:
    return replace(e, notes=e.notes - {protocol.EXTENSIONS_NOT_ECHOED})


def yaml_vectors() -> Iterator[Vector]:
    providers = _load()
    for provider, pdata in providers.items():
        stages = cast(Dict[str, Any], pdata["stages"])
        for stage, sdata in stages.items():
            server = sdata.get("server")
            if server is None:
                # "note: server app and unit bags unchanged from stage `ready`"
                assert "unchanged from stage `ready`" in sdata["note"]
                server = stages["ready"]["server"]
            client = sdata["client"]
            client_app = _strs(client.get("app"))
            client_units = _bags(client.get("units"))
            server_app = _strs(server.get("app"))
            server_units = _bags(server.get("units"))
            views = EXPECTED[(provider, stage)]
            for unit, (known, unknown) in views.items():
                local_bag = client_units.get(unit, {})
                units = server_units
                if provider == "canonical-pgbouncer-vm":
                    colocated = "pgbouncer/" + unit.rpartition("/")[2]
                    units = {k: v for k, v in server_units.items() if k == colocated}
                for req, exp in (
                    (Request.from_databag(client_app), known),
                    (None, unknown or _unknown(known)),
                ):
                    yield Vector(
                        f"{provider}:{stage}:{unit}:{'known' if req is not None else 'unknown'}",
                        req,
                        unit,
                        local_bag,
                        SERVER_APP[provider],
                        server_app,
                        units,
                        exp,
                    )


def test_table_covers_every_stage_and_view() -> None:
    providers = _load()
    stages = {(p, s) for p, d in providers.items() for s in d["stages"]}
    assert stages == set(EXPECTED)
    for (provider, stage), views in EXPECTED.items():
        client = providers[provider]["stages"][stage]["client"]
        units = set(client.get("units") or {}) or {"myapp/0"}
        if provider == "canonical-pgbouncer-vm":
            server = providers[provider]["stages"][stage].get("server")
            server = server or providers[provider]["stages"]["ready"]["server"]
            units = {u for u in units if "pgbouncer/" + u[-1] in server["units"]}
        assert set(views) == units, (provider, stage)


# ---------------------------------------------------------------------------------------------
# Hand-made vectors for the pitfalls (providers.md section 10)
# ---------------------------------------------------------------------------------------------

PW = "Pitfall5ecretPassw0rdXyz"
REQ = Request.build(database="mydb", extensions=["citext"])
ME = "myapp/0"
MY_BAG: Bag = {
    "egress-subnets": "10.0.0.10/32",
    "ingress-address": "10.0.0.10",
    "private-address": "10.0.0.10",
}


def cs(host: str, db: str = "mydb", pw: str = PW, user: str = "relation-5") -> str:
    return f"dbname={db} host={host} password={pw} port=5432 user={user}"


def srv(**changes: Optional[str]) -> Bag:
    """A ready VM-PG style unit bag; ``key=None`` removes a key, underscores become dashes."""
    bag: Bag = {
        "egress-subnets": "10.0.0.20/32",
        "allowed-subnets": "10.0.0.10/32,10.0.0.11/32",
        "allowed-units": "myapp/0 myapp/1",
        "database": "mydb",
        "extensions": "citext",
        "host": R0,
        "master": cs(R0),
        "password": PW,
        "port": "5432",
        "state": "master",
        "user": "relation-5",
        "version": "14.15",
    }
    for k, v in changes.items():
        key = k.replace("_", "-")
        if v is None:
            bag.pop(key, None)
        else:
            bag[key] = v
    return bag


@dataclass(frozen=True)
class P:
    """A pitfall vector, in short form."""

    id: str
    units: Dict[str, Bag]
    expect: Expect
    app_bag: Bag = field(default_factory=lambda: cast(Bag, {}))
    request: Optional[Request] = REQ
    local_unit: str = ME
    local_bag: Bag = field(default_factory=lambda: dict(MY_BAG))
    remote_app: str = "postgresql"

    def vector(self) -> Vector:
        return Vector(
            f"pitfall:{self.id}",
            self.request,
            self.local_unit,
            self.local_bag,
            self.remote_app,
            self.app_bag,
            self.units,
            self.expect,
        )


QUOTED_PW = "a,b=c d"
QUOTED_CS1 = f"dbname=mydb host={R1} password='{QUOTED_PW}' port=5432 user=relation-5"
QUOTED_CS2 = f"dbname=mydb host={R2} password='{QUOTED_PW}' port=5432 user=relation-5"

PITFALLS: List[P] = [
    # 1. data only in the app bag; unit bags partial (only Juju keys, lone allowed-units)
    P(
        "01-app-bag-only-partial-units",
        {
            "pgbouncer-k8s/0": {"egress-subnets": "10.1.1.1/32"},
            "pgbouncer-k8s/1": {"allowed-units": "myapp/0"},
        },
        ready("pgbouncer-k8s", (R0, "mydb"), version="14.15"),
        app_bag=srv(egress_subnets=None, state=None),
        remote_app="pgbouncer-k8s",
    ),
    # 2. stale app bag with state=master loses to a ready unit bag in hot standby state
    P(
        "02-stale-app-bag-state-master",
        {"postgresql/3": srv(master=cs(R1), state="hot standby")},
        ready("postgresql/3", (R1, "mydb"), version="14.15", notes=(protocol.STALE_APP_BAG,)),
        app_bag=srv(egress_subnets=None, master=cs(R0)),
    ),
    # 2b. a stale app bag that does not grant access is simply not ready, no note needed
    P(
        "02b-stale-app-bag-not-granting",
        {"postgresql/1": srv(master=cs(R1))},
        ready("postgresql/1", (R1, "mydb"), version="14.15"),
        app_bag=srv(egress_subnets=None, allowed_subnets="10.9.9.9/32", master=cs(R0)),
    ),
    # 3a. state ranking beats the majority
    P(
        "03a-state-beats-majority",
        {
            "postgresql/0": srv(master=cs(R0), state="hot standby"),
            "postgresql/1": srv(master=cs(R1), state="master"),
            "postgresql/2": srv(master=cs(R0), state="hot standby"),
        },
        ready("postgresql/1", (R1, "mydb"), version="14.15", notes=(protocol.MASTERS_DISAGREE,)),
    ),
    # 3b. no state anywhere: the majority wins
    P(
        "03b-majority",
        {
            "postgresql/0": srv(master=cs(R0), state=None),
            "postgresql/1": srv(master=cs(R1), state=None),
            "postgresql/2": srv(master=cs(R1), state=None),
        },
        ready("postgresql/1", (R1, "mydb"), version="14.15", notes=(protocol.MASTERS_DISAGREE,)),
    ),
    # 3c. tie: lowest unit number, numerically (pg/2 before pg/10)
    P(
        "03c-numeric-unit-order",
        {
            "pg/10": srv(master=cs(R0), state=None),
            "pg/2": srv(master=cs(R2), state=None),
        },
        ready("pg/2", (R2, "mydb"), version="14.15", notes=(protocol.MASTERS_DISAGREE,)),
        remote_app="pg",
    ),
    # 3d. same master value with different key order and quoting is one master, not two
    P(
        "03d-same-master-different-format",
        {
            "postgresql/0": srv(master=cs(R0)),
            "postgresql/1": srv(
                master=f"host={R0} dbname=mydb port=5432 user=relation-5 password='{PW}'",
                state="hot standby",
            ),
        },
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
    ),
    # 3e. two bags claiming master state: majority among them
    P(
        "03e-two-primaries-majority",
        {
            "postgresql/0": srv(master=cs(R0), state="master"),
            "postgresql/1": srv(master=cs(R1), state="master"),
            "postgresql/2": srv(master=cs(R1), state="hot standby"),
        },
        ready("postgresql/1", (R1, "mydb"), version="14.15", notes=(protocol.MASTERS_DISAGREE,)),
    ),
    # 4a. comma-joined standbys, >= 2 replicas, values single-quoted with commas inside
    P(
        "04a-comma-standbys-quoted-commas",
        {"postgresql/0": srv(standbys=f"{QUOTED_CS1},{QUOTED_CS2}")},
        ready("postgresql/0", (R0, "mydb"), ((R1, "mydb"), (R2, "mydb")), version="14.15"),
    ),
    # 4b. newline and comma mixed, blank lines dropped
    P(
        "04b-mixed-separators",
        {"postgresql/0": srv(standbys=f"{cs(R1)}\n\n{cs(R2)},{cs('10.0.0.23')}\n")},
        ready(
            "postgresql/0",
            (R0, "mydb"),
            ((R1, "mydb"), (R2, "mydb"), ("10.0.0.23", "mydb")),
            version="14.15",
        ),
    ),
    # 4c. a single standby whose quoted value holds ",user=" stays one string
    P(
        "04c-single-standby-quoted-keyword",
        {"postgresql/0": srv(standbys=f"dbname=mydb host={R1} password='x,user=y' user=u")},
        ready("postgresql/0", (R0, "mydb"), ((R1, "mydb"),), version="14.15"),
    ),
    # 5a. insertion order, escaped quote inside a quoted password, extra keywords
    P(
        "05a-insertion-order-escapes",
        {
            "pgbouncer/0": srv(
                master="host=localhost dbname=mydb port=6432 user=u "
                r"password='it\'s s3cret' fallback_application_name=myapp sslmode=prefer"
            )
        },
        ready("pgbouncer/0", ("localhost", "mydb"), version="14.15"),
        remote_app="pgbouncer",
    ),
    # 5b. URL-quoted values (MB) are taken literally; the database echo is what is checked
    P(
        "05b-url-quoted-values",
        {"postgresql/0": srv(master=cs(R0, db="my%2Ddb"), database="my-db", state=None)},
        ready("postgresql/0", (R0, "my%2Ddb"), version="14.15", database="my-db"),
        request=Request.build(database="my-db", extensions=["citext"]),
    ),
    # 6. standby dbname differs from the request: not validated
    P(
        "06-standby-dbname",
        {"pgbouncer/0": srv(standbys=cs(R0, db="mydb_standby"))},
        ready("pgbouncer/0", (R0, "mydb"), ((R0, "mydb_standby"),), version="14.15"),
        remote_app="pgbouncer",
    ),
    # 7a. allowed-units comma-separated, no allowed-subnets
    P(
        "07a-allowed-units-comma",
        {"pgbouncer/0": srv(allowed_subnets=None, allowed_units="myapp/0,myapp/1")},
        ready("pgbouncer/0", (R0, "mydb"), version="14.15"),
        local_unit="myapp/1",
        local_bag={"egress-subnets": "10.0.0.11/32"},
        remote_app="pgbouncer",
    ),
    # 7b. allowed-units mixed ", " separators
    P(
        "07b-allowed-units-comma-space",
        {"pgbouncer/0": srv(allowed_subnets=None, allowed_units="myapp/0, myapp/1")},
        ready("pgbouncer/0", (R0, "mydb"), version="14.15"),
        local_unit="myapp/1",
        remote_app="pgbouncer",
    ),
    # 7c. membership is by whole name: myapp/1 is not myapp/10
    P(
        "07c-allowed-units-whole-names",
        {"pgbouncer/0": srv(allowed_subnets=None, allowed_units="myapp/0 myapp/10")},
        not_ready(protocol.UNIT_NOT_ALLOWED, version="14.15"),
        local_unit="myapp/1",
        remote_app="pgbouncer",
    ),
    # 7d. a stray allowed_units (underscore) key grants nothing
    P(
        "07d-stray-underscore-key",
        {
            "postgresql/0": {
                **srv(allowed_subnets=None, allowed_units=None),
                "allowed_units": "myapp/0 myapp/1",
            }
        },
        not_ready(protocol.EGRESS_NOT_ALLOWED, version="14.15"),
    ),
    # 7e. a stray allowed_units beside real lists changes nothing
    P(
        "07e-stray-underscore-key-ignored",
        {"postgresql/0": {**srv(), "allowed_units": ""}},
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
    ),
    # 8a. no allowed-subnets and no local egress-subnets: no restriction (1.x behaviour)
    P(
        "08a-no-subnets-no-egress",
        {"postgresql/0": srv(allowed_subnets=None, allowed_units=None)},
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
        local_bag={"private-address": "10.0.0.10"},
    ),
    # 8b. allowed-subnets published, local egress-subnets missing: nothing to check
    P(
        "08b-subnets-no-egress",
        {"postgresql/0": srv(allowed_subnets="10.9.9.9/32")},
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
        local_bag={},
    ),
    # 8c. egress not in allowed-subnets
    P(
        "08c-egress-not-allowed",
        {"postgresql/0": srv(allowed_subnets="10.0.0.11/32")},
        not_ready(protocol.EGRESS_NOT_ALLOWED, version="14.15"),
    ),
    # 8d. several egress subnets: all must be granted
    P(
        "08d-multiple-egress",
        {"postgresql/0": srv(allowed_subnets="10.0.0.10/32")},
        not_ready(protocol.EGRESS_NOT_ALLOWED, version="14.15"),
        local_bag={"egress-subnets": "10.0.0.10/32, 192.168.0.0/24"},
    ),
    # 8e. no allowed-subnets, allowed-units lists us, egress present (reactive pgbouncer)
    P(
        "08e-units-only",
        {"pgbouncer/0": srv(allowed_subnets=None)},
        ready("pgbouncer/0", (R0, "mydb"), version="14.15"),
        remote_app="pgbouncer",
    ),
    # 9. the name-prefix bug: client postgresql-test-app left out of allowed-subnets
    P(
        "09-name-prefix-bug",
        {"postgresql/0": srv(allowed_subnets="10.0.0.11/32", allowed_units="other/0")},
        not_ready(protocol.EGRESS_NOT_ALLOWED, protocol.NAME_PREFIX_BUG, version="14.15"),
        local_unit="postgresql-test-app/0",
    ),
    # 9b. same client name prefix but granted: ready, no diagnostic
    P(
        "09b-name-prefix-granted",
        {"postgresql/0": srv()},
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
        local_unit="postgresql-test-app/0",
    ),
    # 9c. the prefix diagnostic also applies to the allowed-units fallback
    P(
        "09c-name-prefix-units",
        {"pgbouncer/0": srv(allowed_subnets=None, allowed_units="x/0")},
        not_ready(protocol.UNIT_NOT_ALLOWED, protocol.NAME_PREFIX_BUG, version="14.15"),
        local_unit="pgbouncer-client/0",
        remote_app="pgbouncer",
    ),
    # 12a. default database requested: any echo is accepted
    P(
        "12a-default-database",
        {"postgresql/0": srv(database="remote-0123abc", master=cs(R0, db="remote-0123abc"))},
        ready(
            "postgresql/0",
            (R0, "remote-0123abc"),
            version="14.15",
            database="remote-0123abc",
        ),
        request=Request.build(extensions=["citext"]),
    ),
    # 12b. database requested, not echoed yet
    P(
        "12b-database-pending",
        {"postgresql/0": srv(database=None)},
        not_ready(protocol.DATABASE_PENDING, version="14.15"),
    ),
    # 15a. roles against VM-PG (never echoed): a distinct reason
    P(
        "15a-roles-ignored",
        {"postgresql/0": srv()},
        not_ready(protocol.ROLES_IGNORED, version="14.15"),
        request=Request.build(database="mydb", roles=["reader"], extensions=["citext"]),
    ),
    # 15b. roles against R-PG (raw mirror): ready
    P(
        "15b-roles-mirrored",
        {"postgresql/0": srv(roles="admin,reader")},
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
        request=Request.build(database="mydb", roles=["reader", "admin"], extensions=["citext"]),
    ),
    # 15c. roles echoed but different (the server is still on the previous request)
    P(
        "15c-roles-pending",
        {"postgresql/0": srv(roles="reader")},
        not_ready(protocol.ROLES_PENDING, version="14.15"),
        request=Request.build(database="mydb", roles=["reader", "admin"], extensions=["citext"]),
    ),
    # 15d. roles echoed as "" is the same as absent (pitfall 20): ignored, not pending
    P(
        "15d-roles-empty-is-absent",
        {"postgresql/0": srv(roles="")},
        not_ready(protocol.ROLES_IGNORED, version="14.15"),
        request=Request.build(database="mydb", roles=["reader"], extensions=["citext"]),
    ),
    # 15e. roles echoed although none were requested: fine
    P(
        "15e-roles-unrequested-echo",
        {"postgresql/0": srv(roles="reader")},
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
    ),
    # 16a. request name:schema, echo bare name (Canonical)
    P(
        "16a-ext-colon-vs-name",
        {"postgresql/0": srv(extensions="citext,pg_trgm")},
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
        request=Request.build(database="mydb", extensions=["citext:public", "pg_trgm:public"]),
    ),
    # 16b. request name:schema, echo name(schema) (reactive / legacy k8s syntax)
    P(
        "16b-ext-colon-vs-paren",
        {"postgresql/0": srv(extensions="citext(public),pg_trgm(public)")},
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
        request=Request.build(database="mydb", extensions=["citext:public", "pg_trgm:public"]),
    ),
    # 16c. raw mirror of the request, in another order and with spaces
    P(
        "16c-ext-raw-mirror",
        {"postgresql/0": srv(extensions="pg_trgm:public, citext:public")},
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
        request=Request.build(database="mydb", extensions=["citext:public", "pg_trgm:public"]),
    ),
    # 16d. an extension missing from the echo
    P(
        "16d-ext-pending",
        {"postgresql/0": srv(extensions="citext")},
        not_ready(protocol.EXTENSIONS_PENDING, version="14.15"),
        request=Request.build(database="mydb", extensions=["citext", "uuid-ossp"]),
    ),
    # 16e. no echo at all (R-PGB, PGB-VM non-leader): assumed installed, with a note
    P(
        "16e-ext-not-echoed",
        {"pgbouncer/1": srv(extensions=None)},
        ready(
            "pgbouncer/1",
            (R0, "mydb"),
            version="14.15",
            notes=(protocol.EXTENSIONS_NOT_ECHOED,),
        ),
        remote_app="pgbouncer",
    ),
    # 16f. extensions echoed as "" is the same as absent (pitfall 20)
    P(
        "16f-ext-empty-is-absent",
        {"pgbouncer/1": srv(extensions="")},
        ready(
            "pgbouncer/1",
            (R0, "mydb"),
            version="14.15",
            notes=(protocol.EXTENSIONS_NOT_ECHOED,),
        ),
        remote_app="pgbouncer",
    ),
    # 17. odd state values are only hints
    P(
        "17-state-failover",
        {"postgresql/0": srv(state="failover")},
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
    ),
    # 18. v0 keys only (no master, no allowed-* anywhere): the primary's keys make the master
    P(
        "18-v0-keys-only",
        {
            "postgresql/0": {
                "host": R0,
                "port": "5432",
                "database": "mydb",
                "user": "juju_myapp",
                "password": PW,
                "state": "standalone",
            }
        },
        ready("postgresql/0", (R0, "mydb"), version=None, notes=("extensions-not-echoed",)),
    ),
    # 18b. v0 keys on a hot standby only: its host is read-only, so still waiting
    P(
        "18b-v0-hot-standby-only",
        {
            "postgresql/1": {
                "host": R1,
                "database": "mydb",
                "user": "juju_myapp",
                "password": PW,
                "state": "hot standby",
            }
        },
        not_ready(W, version=None),
    ),
    # 18c. v0 keys beside a v1 server's keys: the v0 keys are ignored (they mean other things)
    P(
        "18c-v0-keys-ignored-when-v1-spoken",
        {
            "postgresql/0": {
                "host": R0,
                "database": "mydb",
                "user": "juju_myapp",
                "password": PW,
                "state": "master",
                "allowed-units": "myapp/0",
            }
        },
        not_ready(W, version=None),
    ),
    # 19a. version formats are reported as published
    P(
        "19a-version-major",
        {"postgresql/0": srv(version="9.5")},
        ready("postgresql/0", (R0, "mydb"), version="9.5"),
    ),
    # 19b. version absent from the chosen bag: the app bag's, then a unit's
    P(
        "19b-version-fallback",
        {
            "postgresql/0": srv(version=None),
            "postgresql/1": srv(state="hot standby", version="16.4"),
        },
        ready("postgresql/0", (R0, "mydb"), version="16.4"),
    ),
    # 20a. absent == empty: "" standbys, "" allowed-subnets falls back to allowed-units
    P(
        "20a-absent-equals-empty",
        {"postgresql/0": srv(standbys="", allowed_subnets="", version="")},
        ready("postgresql/0", (R0, "mydb"), version=None),
    ),
    # 20b. "" master is absent: standbys only, waiting for a master
    P(
        "20b-empty-master",
        {"postgresql/0": srv(master="", standbys=cs(R1))},
        not_ready(
            W, source="postgresql/0", standbys=((R1, "mydb"),), version="14.15", database="mydb"
        ),
    ),
    # malformed master: a distinct reason, never an exception
    P(
        "malformed-master",
        {"postgresql/0": srv(master=f"host='{R0} password={PW}")},
        not_ready(protocol.MALFORMED, version="14.15"),
    ),
    # malformed master on one unit, good one on another: ready from the good one
    P(
        "malformed-master-other-bag-ok",
        {
            "postgresql/0": srv(master=f"host='{R0} password={PW}"),
            "postgresql/1": srv(master=cs(R1), state="hot standby"),
        },
        ready("postgresql/1", (R1, "mydb"), version="14.15"),
    ),
    # a malformed standby is skipped, the rest is used
    P(
        "malformed-standby",
        {"postgresql/0": srv(standbys=f"{cs(R1)}\nhost='x password={PW}")},
        ready("postgresql/0", (R0, "mydb"), ((R1, "mydb"),), version="14.15"),
    ),
    # 23. both legacy and modern endpoints related: Canonical PG publishes nothing
    P(
        "23-multiple-endpoints-blocked",
        {"postgresql/0": {"egress-subnets": "10.0.0.20/32", "ingress-address": R0}},
        not_ready(W),
    ),
    # 25. pgbouncer in front of PostgreSQL 16
    P(
        "25-pgbouncer-pg16",
        {"pgbouncer/0": srv(version="16.4")},
        ready("pgbouncer/0", (R0, "mydb"), version="16.4"),
        remote_app="pgbouncer",
    ),
    # K8s: every client unit shares the Service IP as egress
    P(
        "k8s-shared-egress",
        {"postgresql-k8s/0": srv(allowed_subnets="10.152.183.45/32")},
        ready("postgresql-k8s/0", (R0, "mydb"), version="14.15"),
        local_unit="myapp/1",
        local_bag={"egress-subnets": "10.152.183.45/32"},
        remote_app="postgresql-k8s",
    ),
    # IPv6 egress
    P(
        "ipv6-egress",
        {"postgresql/0": srv(allowed_subnets="2001:db8::10/128,10.0.0.11/32")},
        ready("postgresql/0", (R0, "mydb"), version="14.15"),
        local_bag={"egress-subnets": "2001:db8::10/128"},
    ),
    # no remote units and no app data at all
    P("no-remote", {}, not_ready(NO_REMOTE)),
    # request known to be "nothing": default database, no roles, no extensions
    P(
        "empty-request",
        {"postgresql/0": srv(database="myapp", master=cs(R0, db="myapp"), extensions=None)},
        ready("postgresql/0", (R0, "myapp"), version="14.15", database="myapp"),
        request=Request(),
    ),
]


def _pitfall_unknown(p: P) -> Expect:
    """The verdict with the request unknown: echo reasons vanish, access reasons stay."""
    access = {
        protocol.EGRESS_NOT_ALLOWED,
        protocol.UNIT_NOT_ALLOWED,
        protocol.NAME_PREFIX_BUG,
        protocol.MALFORMED,
        W,
        NO_REMOTE,
    }
    e = p.expect
    if e.ready or e.blocking <= access:
        return _unknown(e)
    raise AssertionError(f"{p.id}: give the unknown-request verdict explicitly")


#: Echo-dependent vectors: with the request unknown the echo is trusted and they are ready.
PITFALL_UNKNOWN: Dict[str, Expect] = {
    "12b-database-pending": ready("postgresql/0", (R0, "mydb"), version="14.15", database=None),
    "15a-roles-ignored": ready("postgresql/0", (R0, "mydb"), version="14.15"),
    "15c-roles-pending": ready("postgresql/0", (R0, "mydb"), version="14.15"),
    "15d-roles-empty-is-absent": ready("postgresql/0", (R0, "mydb"), version="14.15"),
    "16d-ext-pending": ready("postgresql/0", (R0, "mydb"), version="14.15"),
}


def pitfall_vectors() -> Iterator[Vector]:
    for p in PITFALLS:
        yield p.vector()
        if p.request is not None:
            unknown = PITFALL_UNKNOWN.get(p.id) or _pitfall_unknown(p)
            yield replace(p.vector(), id=f"pitfall:{p.id}:unknown", request=None, expect=unknown)


ALL_VECTORS: List[Vector] = [*yaml_vectors(), *pitfall_vectors()]


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def _host_db(r: Optional[Any]) -> Optional[HostDb]:
    return None if r is None else (r.host, r.dbname)


def check(v: Vector, r: Readiness) -> None:
    e = v.expect
    blocking = {x.code for x in r.reasons if x.blocking}
    notes = {x.code for x in r.reasons if not x.blocking}
    got = Expect(
        r.ready,
        r.source,
        _host_db(r.master),
        tuple((s.host or "", s.dbname or "") for s in r.standbys),
        frozenset(blocking),
        frozenset(notes & NOTABLE),
        r.version,
        r.database,
    )
    assert got == e, f"{v.id}\n  reasons: {[str(x) for x in r.reasons]}"
    assert r.ready == (r.master is not None)
    if r.ready:
        assert r.why == "ready"
        assert not blocking
    else:
        assert blocking, "a relation that is not ready says why"
        assert r.why != "ready"
    if v.request is None:
        assert protocol.REQUEST_UNKNOWN in notes
    else:
        assert protocol.REQUEST_UNKNOWN not in notes
    # every considered bag has a verdict; ready bags publish something
    assert {b.bag for b in r.bags} == set(v.unit_bags) | ({v.remote_app} if v.app_bag else set())
    for b in r.bags:
        assert not b.ready or (b.publishes_master or b.publishes_standbys)
        assert b.ready == (not b.reasons) or not (b.publishes_master or b.publishes_standbys)
    if r.source is not None:
        assert r.source in {b.bag for b in r.bags if b.ready}


@pytest.mark.parametrize("vector", ALL_VECTORS, ids=[v.id for v in ALL_VECTORS])
def test_vector(vector: Vector) -> None:
    check(vector, vector.run())


def test_vector_counts() -> None:
    # keep the counts visible: a vector silently dropped from the table fails here
    assert len([v for v in ALL_VECTORS if not v.id.startswith("pitfall:")]) == 2 * sum(
        len(views) for views in EXPECTED.values()
    )
    assert len(PITFALLS) >= 50


def _passwords(v: Vector) -> List[str]:
    found: List[str] = []
    for bag in [v.app_bag, *v.unit_bags.values()]:
        for key, value in bag.items():
            if key in ("password", "schema_password"):
                found.append(value)
            for m in re.finditer(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", value):
                raw = m.group(1)
                if raw.startswith("'"):
                    raw = raw[1:-1].replace("\\'", "'").replace("\\\\", "\\")
                found.append(raw)
    return [p for p in found if len(p) >= 6]


@pytest.mark.parametrize("vector", ALL_VECTORS, ids=[v.id for v in ALL_VECTORS])
def test_no_password_in_reasons(vector: Vector) -> None:
    r = vector.run()
    texts = [r.why, repr(r), repr(r.snapshot()), str(r.snapshot().to_dict())]
    for reason in r.reasons:
        texts += [str(reason), reason.message, reason.advice or "", repr(reason)]
    passwords = _passwords(vector)
    for secret in passwords:
        for text in texts:
            assert secret not in text


def test_password_scan_finds_passwords() -> None:
    # the scan above is only meaningful if it sees the passwords
    v = next(x for x in ALL_VECTORS if x.id == "pitfall:malformed-master")
    assert PW in _passwords(v)
    v = next(x for x in ALL_VECTORS if x.id == "pitfall:04a-comma-standbys-quoted-commas")
    assert QUOTED_PW in _passwords(v)


def test_quoted_standby_values_survive() -> None:
    v = next(x for x in ALL_VECTORS if x.id == "pitfall:04a-comma-standbys-quoted-commas")
    r = v.run()
    assert [s.password for s in r.standbys] == [QUOTED_PW, QUOTED_PW]
    v = next(x for x in ALL_VECTORS if x.id == "pitfall:05a-insertion-order-escapes")
    master = v.run().master
    assert master is not None
    assert master.password == "it's s3cret"
    assert master.sslmode == "prefer"


def test_reasons_name_their_bag() -> None:
    v = next(x for x in ALL_VECTORS if x.id == "pitfall:09-name-prefix-bug")
    r = v.run()
    prefix = next(x for x in r.reasons if x.code == protocol.NAME_PREFIX_BUG)
    assert prefix.bag == "postgresql/0"
    assert prefix.advice
    assert "postgresql-test-app" in prefix.message
    egress = next(x for x in r.reasons if x.code == protocol.EGRESS_NOT_ALLOWED)
    assert "10.0.0.10/32" in egress.message
    assert "10.0.0.11/32" in egress.message


def test_database_mismatch_has_advice() -> None:
    v = next(
        x for x in ALL_VECTORS if x.id == "canonical-pgbouncer-vm:database_race_lost:myapp/0:known"
    )
    r = v.run()
    (reason,) = [x for x in r.reasons if x.blocking]
    assert reason.code == protocol.DATABASE_MISMATCH
    assert "'myapp'" in reason.message
    assert "'mydb'" in reason.message
    assert reason.advice


def test_accept_overrides_the_per_bag_decision() -> None:
    """The 1.x ``_is_ready`` patch point decides per bag instead of the built-in rule."""
    v = next(x for x in ALL_VECTORS if x.id == "pitfall:08c-egress-not-allowed")
    forced = evaluate(
        v.request,
        v.local_unit,
        v.local_bag,
        v.remote_app,
        v.app_bag,
        v.unit_bags,
        accept=lambda _name, _bag: True,
    )
    assert forced.ready
    v = next(x for x in ALL_VECTORS if x.id == "reactive-postgresql:ready:myapp/0:known")
    refused = evaluate(
        v.request,
        v.local_unit,
        v.local_bag,
        v.remote_app,
        v.app_bag,
        v.unit_bags,
        accept=lambda name, _bag: name == "postgresql/1",
    )
    assert refused.ready
    assert refused.source == "postgresql/1"
    nothing = evaluate(
        v.request,
        v.local_unit,
        v.local_bag,
        v.remote_app,
        v.app_bag,
        v.unit_bags,
        accept=lambda _name, _bag: False,
    )
    assert not nothing.ready
    assert {x.code for x in nothing.reasons if x.blocking} == {protocol.REJECTED}
