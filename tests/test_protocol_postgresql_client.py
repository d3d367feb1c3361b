"""The ``postgresql_client`` interface's pure core: the requirer bag, secrets, readiness.

The provider bags below are written by hand from the interface facts
(``/work/shared/interface/postgresql_client.md``: Charmed PostgreSQL 14/16 VM and K8s, Charmed
PgBouncer VM and K8s, old data_interfaces LIBPATCHes, Juju 2.9 without secrets and Juju 3.6 with
them), not copied from the code's output. Every master and standby built is checked against
libpq's own parser (psycopg's ``conninfo_to_dict``), and no reason may hold a password.
"""

from __future__ import annotations

import doctest
import importlib
import json
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple

import pytest
from conftest import scaled
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from pgsql import ConnectionString, protocol
from pgsql.protocol import (
    Readiness,
    Request,
    RequestError,
    Snapshot,
    evaluate_client,
    requirer_databag,
    secret_fields,
    transitions,
)

Bag = Dict[str, str]
Secrets = Dict[str, Optional[Bag]]

MODEL = "2f4c9e1a-7b3d-4e8f-9a6b-1c2d3e4f5a6b"
USER_URI = f"secret://{MODEL}/d7f1qk8mp25c77bn3k0g"
TLS_URI = f"secret://{MODEL}/d7f1qk8mp25c77bn3k10"
PW = "Zw6WZEgvDvZIAh5fk0tGlRYE"  # every vector's password, looked for in every reason
REQUESTED = '["username", "password", "tls", "tls-ca", "uris", "read-only-uris"]'
SNAPSHOT = json.dumps({"database": "mydb", "requested-secrets": REQUESTED})
SOCKET_DIR = "/var/snap/charmed-pgbouncer/current/run/pgbouncer/pgbouncer/instance_0"

MYDB = Request.build(database="mydb")

W = protocol.NOT_ANSWERED
MALFORMED = protocol.MALFORMED
EXT = protocol.EXTENSIONS_BY_CONFIG
TLS = protocol.TLS_ENABLED


def cs(host: str, port: Optional[str], db: str, user: str = "relation_id_7") -> str:
    """The expected connection string, in the canonical spelling."""
    return str(ConnectionString(host=host, port=port, dbname=db, user=user, password=PW))


def user_secret(**extra: str) -> Bag:
    content = {
        "username": "relation_id_7",
        "password": PW,
        "uris": f"postgresql://relation_id_7:{PW}@10.0.0.5:5432/mydb",
    }
    content.update(extra)
    return content


TLS_OFF = {"tls": "False", "tls-ca": ""}


@dataclass(frozen=True)
class V:
    """One vector: what the provider published and what a requirer unit must conclude."""

    id: str
    app: Bag
    ready: bool
    master: Optional[str] = None
    standbys: Tuple[str, ...] = ()
    blocking: FrozenSet[str] = frozenset()
    notes: FrozenSet[str] = frozenset()
    request: Optional[Request] = MYDB
    units: Mapping[str, Bag] = field(default_factory=lambda: {"postgresql/0": {}})
    secrets: Mapping[str, Optional[Bag]] = field(default_factory=lambda: {})
    version: Optional[str] = None
    database: Optional[str] = "mydb"


def _pg_secrets(app: Bag) -> Bag:
    """A Juju 3.6 PostgreSQL app bag: its credentials in two secrets."""
    return {**app, "secret-user": USER_URI, "secret-tls": TLS_URI, "data": SNAPSHOT}


SECRETS = {USER_URI: user_secret(), TLS_URI: TLS_OFF}

PG16_VM = _pg_secrets(
    {
        "database": "mydb",
        "endpoints": "10.0.0.5:5432",
        "read-only-endpoints": "10.0.0.6:5432,10.0.0.7:5432",
        "version": "16.14",
    }
)
PG14_VM_PLAIN = {
    "database": "mydb",
    "endpoints": "10.0.0.5:5432",
    "read-only-endpoints": "10.0.0.6:5432",
    "username": "relation-7",
    "password": PW,
    "uris": f"postgresql://relation-7:{PW}@10.0.0.5:5432/mydb",
    "version": "14.12",
    "tls": "False",
    "data": json.dumps({"database": "mydb"}),
}
K8S_PRIMARY = "postgresql-k8s-primary.dev.svc.cluster.local"
K8S_REPLICAS = "postgresql-k8s-replicas.dev.svc.cluster.local"
PG16_K8S = _pg_secrets(
    {
        "database": "mydb",
        "endpoints": f"{K8S_PRIMARY}:5432",
        "read-only-endpoints": f"{K8S_REPLICAS}:5432",
        "version": "16.9",
    }
)
PG16_K8S_SECRETS: Secrets = {
    USER_URI: user_secret(
        uris=f"postgresql://relation_id_7:{PW}@{K8S_PRIMARY}:5432/mydb",
        # PostgreSQL 16 K8s writes the port twice
        **{"read-only-uris": f"postgresql://relation_id_7:{PW}@{K8S_REPLICAS}:5432:5432/mydb"},
    ),
    TLS_URI: TLS_OFF,
}
PGB_VM = {
    "subordinated": "true",
    "database": "mydb",
    "endpoints": "localhost:6432",
    "read-only-endpoints": "localhost:6432",
    "version": "16.9",
    "secret-user": USER_URI,
    "secret-tls": TLS_URI,
    "data": SNAPSHOT,
}
PGB_VM_SECRETS: Secrets = {
    USER_URI: user_secret(
        uris=f"postgresql://relation_id_7:{PW}@localhost:6432/mydb",
        **{"read-only-uris": f"postgresql://relation_id_7:{PW}@localhost:6432/mydb_readonly"},
    ),
    TLS_URI: TLS_OFF,
}
PGB_K8S = _pg_secrets(
    {
        "database": "mydb",
        "endpoints": "pgbouncer-k8s.dev.svc.cluster.local:6432",
        "read-only-endpoints": "pgbouncer-k8s.dev.svc.cluster.local:6432",
        "version": "14.12",
    }
)
PGB_K8S_SECRETS: Secrets = {
    USER_URI: user_secret(
        **{
            "read-only-uris": f"postgresql://relation_id_7:{PW}@pgbouncer-k8s.dev.svc.cluster"
            ".local:6432/mydb_readonly"
        }
    ),
    TLS_URI: TLS_OFF,
}
READY_UNIT = {"pgbouncer/0": {"state": "ready"}}

VECTORS: List[V] = [
    # --- Charmed PostgreSQL, VM --------------------------------------------------------------
    V(
        "pg16-vm-secrets",
        PG16_VM,
        True,
        cs("10.0.0.5", "5432", "mydb"),
        (cs("10.0.0.6", "5432", "mydb"), cs("10.0.0.7", "5432", "mydb")),
        secrets=SECRETS,
        version="16.14",
    ),
    V(
        "pg14-vm-plaintext-juju29",
        PG14_VM_PLAIN,
        True,
        cs("10.0.0.5", "5432", "mydb", "relation-7"),
        (cs("10.0.0.6", "5432", "mydb", "relation-7"),),
        version="14.12",
    ),
    V(
        "pg14-vm-no-replica-primary-as-read-only",
        {**PG14_VM_PLAIN, "read-only-endpoints": "10.0.0.5:5432"},
        True,
        cs("10.0.0.5", "5432", "mydb", "relation-7"),
        (cs("10.0.0.5", "5432", "mydb", "relation-7"),),
        version="14.12",
    ),
    V(
        "pg16-vm-tls-on",
        PG16_VM,
        True,
        cs("10.0.0.5", "5432", "mydb"),
        (cs("10.0.0.6", "5432", "mydb"), cs("10.0.0.7", "5432", "mydb")),
        notes=frozenset({TLS}),
        secrets={USER_URI: user_secret(), TLS_URI: {"tls": "True", "tls-ca": "-----BEGIN..."}},
        version="16.14",
    ),
    V(
        "pg-vm-failover-new-primary",
        {**PG16_VM, "endpoints": "10.0.0.6:5432", "read-only-endpoints": "10.0.0.7:5432"},
        True,
        cs("10.0.0.6", "5432", "mydb"),
        (cs("10.0.0.7", "5432", "mydb"),),
        secrets=SECRETS,
        version="16.14",
    ),
    # --- Charmed PostgreSQL, K8s -------------------------------------------------------------
    V(
        "pg16-k8s-doubled-port-in-read-only-uris",
        PG16_K8S,
        True,
        cs(K8S_PRIMARY, "5432", "mydb"),
        (cs(K8S_REPLICAS, "5432", "mydb"),),
        notes=frozenset({MALFORMED}),
        units={"postgresql-k8s/0": {}, "postgresql-k8s/1": {}},
        secrets=PG16_K8S_SECRETS,
        version="16.9",
    ),
    V(
        "pg14-k8s-plaintext",
        {
            **PG14_VM_PLAIN,
            "endpoints": f"{K8S_PRIMARY}:5432",
            "read-only-endpoints": f"{K8S_REPLICAS}:5432",
        },
        True,
        cs(K8S_PRIMARY, "5432", "mydb", "relation-7"),
        (cs(K8S_REPLICAS, "5432", "mydb", "relation-7"),),
        units={"postgresql-k8s/0": {}},
        version="14.12",
    ),
    # --- Charmed PgBouncer, VM (subordinate) -------------------------------------------------
    V(
        "pgbouncer-vm-unit-not-ready",
        PGB_VM,
        False,
        blocking=frozenset({protocol.SUBORDINATE_NOT_READY}),
        units={"pgbouncer/0": {}},
        secrets=PGB_VM_SECRETS,
        version="16.9",
    ),
    V(
        "pgbouncer-vm-no-unit-bag-yet",
        PGB_VM,
        False,
        blocking=frozenset({protocol.SUBORDINATE_NOT_READY}),
        units={},
        secrets=PGB_VM_SECRETS,
        version="16.9",
    ),
    V(
        "pgbouncer-vm-localhost",
        PGB_VM,
        True,
        cs("localhost", "6432", "mydb"),
        (cs("localhost", "6432", "mydb_readonly"),),
        units=READY_UNIT,
        secrets=PGB_VM_SECRETS,
        version="16.9",
    ),
    V(
        "pgbouncer-vm-unix-socket",
        {**PGB_VM, "endpoints": f"{SOCKET_DIR}:6432", "read-only-endpoints": f"{SOCKET_DIR}:6432"},
        True,
        cs(SOCKET_DIR, "6432", "mydb"),
        (cs(SOCKET_DIR, "6432", "mydb_readonly"),),
        units=READY_UNIT,
        secrets={
            USER_URI: user_secret(
                uris=f"postgresql://relation_id_7:{PW}@%2Fvar%2Fsnap%2Fcharmed-pgbouncer:6432/mydb"
            ),
            TLS_URI: TLS_OFF,
        },
        version="16.9",
    ),
    V(
        "pgbouncer-vm-socket-file",
        {**PGB_VM, "endpoints": f"{SOCKET_DIR}/.s.PGSQL.6432", "read-only-endpoints": ""},
        True,
        cs(SOCKET_DIR, "6432", "mydb"),
        units=READY_UNIT,
        secrets=PGB_VM_SECRETS,
        version="16.9",
    ),
    V(
        "pgbouncer-vm-external-leader-ip",
        {
            **PGB_VM,
            "endpoints": "10.0.0.40:6432",
            "read-only-endpoints": "10.0.0.41:6432,10.0.0.42:6432",
        },
        True,
        cs("10.0.0.40", "6432", "mydb"),
        (cs("10.0.0.41", "6432", "mydb_readonly"), cs("10.0.0.42", "6432", "mydb_readonly")),
        units=READY_UNIT,
        secrets={
            USER_URI: user_secret(
                **{
                    "read-only-uris": f"postgresql://relation_id_7:{PW}@10.0.0.41,10.0.0.42,"
                    "10.0.0.40:6432/mydb_readonly"
                }
            ),
            TLS_URI: TLS_OFF,
        },
        version="16.9",
    ),
    V(
        "pgbouncer-vm-plaintext-no-read-only-uris",
        {
            k: v
            for k, v in {**PGB_VM, "username": "relation_id_7", "password": PW}.items()
            if not k.startswith("secret-")
        },
        True,
        cs("localhost", "6432", "mydb"),
        (cs("localhost", "6432", "mydb_readonly"),),
        units=READY_UNIT,
        version="16.9",
    ),
    V(
        "pgbouncer-vm-long-database-keeps-its-name",
        {
            k: v
            for k, v in {
                **PGB_VM,
                "database": "d" * 60,
                "username": "relation_id_7",
                "password": PW,
                "data": "",
            }.items()
            if not k.startswith("secret-")
        },
        True,
        cs("localhost", "6432", "d" * 60),
        (cs("localhost", "6432", "d" * 60),),
        request=Request.build(database="d" * 60),
        units=READY_UNIT,
        version="16.9",
        database="d" * 60,
    ),
    # --- Charmed PgBouncer, K8s --------------------------------------------------------------
    V(
        "pgbouncer-k8s-service",
        PGB_K8S,
        True,
        cs("pgbouncer-k8s.dev.svc.cluster.local", "6432", "mydb"),
        (cs("pgbouncer-k8s.dev.svc.cluster.local", "6432", "mydb_readonly"),),
        units={"pgbouncer-k8s/0": {}},
        secrets=PGB_K8S_SECRETS,
        version="14.12",
    ),
    V(
        "pgbouncer-k8s-nodeports-multi-host",
        {
            **PGB_K8S,
            "endpoints": "10.1.0.1:30432,10.1.0.2:30432",
            "read-only-endpoints": "10.1.0.1:30433,10.1.0.2:30433",
        },
        True,
        cs("10.1.0.1,10.1.0.2", "30432,30432", "mydb"),
        (cs("10.1.0.1", "30433", "mydb_readonly"), cs("10.1.0.2", "30433", "mydb_readonly")),
        units={"pgbouncer-k8s/0": {}},
        secrets=PGB_K8S_SECRETS,
        version="14.12",
    ),
    V(
        "pgbouncer-k8s-no-read-only-endpoints",
        {**PGB_K8S, "read-only-endpoints": ""},
        True,
        cs("pgbouncer-k8s.dev.svc.cluster.local", "6432", "mydb"),
        units={"pgbouncer-k8s/0": {}},
        secrets=PGB_K8S_SECRETS,
        version="14.12",
    ),
    # --- old data_interfaces -----------------------------------------------------------------
    V(
        # LIBPATCH < 18: no secrets; < 42: no read-only-uris; < 38: no subordinated (PgBouncer
        # K8s then serves <db>_readonly, which nothing on the wire says: the database is used)
        "old-libpatch-no-secrets-no-read-only-uris",
        {
            "database": "mydb",
            "endpoints": "pgbouncer-k8s.dev.svc.cluster.local:6432",
            "read-only-endpoints": "pgbouncer-k8s.dev.svc.cluster.local:6432",
            "username": "relation_id_7",
            "password": PW,
            "version": "12.12",
        },
        True,
        cs("pgbouncer-k8s.dev.svc.cluster.local", "6432", "mydb"),
        (cs("pgbouncer-k8s.dev.svc.cluster.local", "6432", "mydb"),),
        units={"pgbouncer-k8s/0": {}},
        version="12.12",
    ),
    V(
        "credentials-only-in-uris",
        {k: v for k, v in PG14_VM_PLAIN.items() if k not in ("username", "password")},
        True,
        cs("10.0.0.5", "5432", "mydb", "relation-7"),
        (cs("10.0.0.6", "5432", "mydb", "relation-7"),),
        version="14.12",
    ),
    # --- secrets not readable yet ------------------------------------------------------------
    V(
        "secret-not-granted-yet",
        PG16_VM,
        False,
        blocking=frozenset({protocol.SECRET_NOT_GRANTED}),
        notes=frozenset({protocol.SECRET_NOT_GRANTED}),  # the tls secret: a note
        secrets={USER_URI: None, TLS_URI: None},
        version="16.14",
    ),
    V(
        "secret-not-handed-in",
        PG16_VM,
        False,
        blocking=frozenset({protocol.SECRET_NOT_GRANTED}),
        secrets={TLS_URI: TLS_OFF},
        version="16.14",
    ),
    V(
        # the TLS secret only says whether TLS is on and with which CA: unreadable, it is a
        # note, and the credentials are used
        "tls-secret-not-granted-yet",
        PG16_VM,
        True,
        master="host=10.0.0.5 port=5432 dbname=mydb user=relation_id_7 password=" + PW,
        standbys=(
            "host=10.0.0.6 port=5432 dbname=mydb user=relation_id_7 password=" + PW,
            "host=10.0.0.7 port=5432 dbname=mydb user=relation_id_7 password=" + PW,
        ),
        notes=frozenset({protocol.SECRET_NOT_GRANTED}),
        secrets={USER_URI: user_secret(), TLS_URI: None},
        version="16.14",
    ),
    # --- no answer ---------------------------------------------------------------------------
    V("no-answer-yet", {}, False, blocking=frozenset({W}), database=None),
    V(
        "pgbouncer-flagged-subordinate-before-answering",
        {"subordinated": "true"},
        False,
        blocking=frozenset({W}),
        units={"pgbouncer/0": {}},
        database=None,
    ),
    V(
        "endpoints-blank",
        {**PG14_VM_PLAIN, "endpoints": "  "},
        False,
        blocking=frozenset({W}),
        version="14.12",
    ),
    V(
        "no-credentials-yet",
        {"database": "mydb", "endpoints": "10.0.0.5:5432"},
        False,
        blocking=frozenset({protocol.NO_CREDENTIALS}),
    ),
    # --- the request and the echo ------------------------------------------------------------
    V(
        "wrong-database",
        {**PG14_VM_PLAIN, "database": "otherdb", "data": json.dumps({"database": "otherdb"})},
        False,
        blocking=frozenset({protocol.DATABASE_MISMATCH, protocol.REQUEST_CHANGED}),
        version="14.12",
        database="otherdb",
    ),
    V(
        "wrong-database-no-snapshot",
        {k: v for k, v in {**PG14_VM_PLAIN, "database": "otherdb"}.items() if k != "data"},
        False,
        blocking=frozenset({protocol.DATABASE_MISMATCH}),
        version="14.12",
        database="otherdb",
    ),
    V(
        "database-changed-after-answer-not-acted-on-yet",
        {**PG14_VM_PLAIN, "data": json.dumps({"database": "olddb"})},
        False,
        blocking=frozenset({protocol.REQUEST_CHANGED}),
        version="14.12",
    ),
    V(
        "roles-changed-after-answer",
        {**PG14_VM_PLAIN, "data": json.dumps({"database": "mydb", "extra-user-roles": "a"})},
        True,
        cs("10.0.0.5", "5432", "mydb", "relation-7"),
        (cs("10.0.0.6", "5432", "mydb", "relation-7"),),
        notes=frozenset({protocol.REQUEST_CHANGED}),
        request=Request.build(database="mydb", roles=["a", "charmed_dml"]),
        version="14.12",
    ),
    V(
        "roles-as-answered",
        {**PG14_VM_PLAIN, "data": json.dumps({"database": "mydb", "extra-user-roles": "b,a"})},
        True,
        cs("10.0.0.5", "5432", "mydb", "relation-7"),
        (cs("10.0.0.6", "5432", "mydb", "relation-7"),),
        request=Request.build(database="mydb", roles=["a", "b"]),
        version="14.12",
    ),
    V(
        "extensions-requested",
        PG16_VM,
        True,
        cs("10.0.0.5", "5432", "mydb"),
        (cs("10.0.0.6", "5432", "mydb"), cs("10.0.0.7", "5432", "mydb")),
        notes=frozenset({EXT}),
        request=Request.build(database="mydb", extensions=["citext", "pg_trgm:public"]),
        secrets=SECRETS,
        version="16.14",
    ),
    V(
        "request-unknown-trusts-echo",
        {**PG14_VM_PLAIN, "database": "myapp"},
        True,
        cs("10.0.0.5", "5432", "myapp", "relation-7"),
        (cs("10.0.0.6", "5432", "myapp", "relation-7"),),
        notes=frozenset({protocol.REQUEST_UNKNOWN}),
        request=None,
        version="14.12",
        database="myapp",
    ),
    V(
        "no-echo-uses-the-request",
        {k: v for k, v in PG14_VM_PLAIN.items() if k != "database"},
        True,
        cs("10.0.0.5", "5432", "mydb", "relation-7"),
        (cs("10.0.0.6", "5432", "mydb", "relation-7"),),
        version="14.12",
    ),
    V(
        "no-echo-no-request",
        {k: v for k, v in PG14_VM_PLAIN.items() if k != "database"},
        False,
        blocking=frozenset({protocol.DATABASE_PENDING}),
        notes=frozenset({protocol.REQUEST_UNKNOWN}),
        request=None,
        version="14.12",
        database=None,
    ),
    # --- addresses ---------------------------------------------------------------------------
    V(
        "ipv6-bracketed-and-bare",
        {
            **PG14_VM_PLAIN,
            "endpoints": "[fd00::5]:5432",
            "read-only-endpoints": "fd00::6:5432,fd00::7",
        },
        True,
        cs("fd00::5", "5432", "mydb", "relation-7"),
        (cs("fd00::6", "5432", "mydb", "relation-7"), cs("fd00::7", None, "mydb", "relation-7")),
        version="14.12",
    ),
    V(
        "no-port-means-libpq-default",
        {**PG14_VM_PLAIN, "endpoints": "db.example.com", "read-only-endpoints": ""},
        True,
        cs("db.example.com", None, "mydb", "relation-7"),
        version="14.12",
    ),
    # --- malformed values --------------------------------------------------------------------
    V(
        "data-not-json",
        {**PG14_VM_PLAIN, "data": "{not json"},
        True,
        cs("10.0.0.5", "5432", "mydb", "relation-7"),
        (cs("10.0.0.6", "5432", "mydb", "relation-7"),),
        notes=frozenset({MALFORMED}),
        version="14.12",
    ),
    V(
        "data-json-not-an-object",
        {**PG14_VM_PLAIN, "data": '["mydb"]'},
        True,
        cs("10.0.0.5", "5432", "mydb", "relation-7"),
        (cs("10.0.0.6", "5432", "mydb", "relation-7"),),
        notes=frozenset({MALFORMED}),
        version="14.12",
    ),
    V(
        "endpoints-garbage",
        {**PG14_VM_PLAIN, "endpoints": "not a host:port, :5432,host:99999,host:abc"},
        False,
        blocking=frozenset({MALFORMED}),
        version="14.12",
    ),
    V(
        "some-entries-garbage",
        {
            **PG14_VM_PLAIN,
            "endpoints": "10.0.0.5:5432,bad host:1",
            "read-only-endpoints": "10.0.0.6:5432,'q':5432,10.0.0.6:5432",
        },
        True,
        cs("10.0.0.5", "5432", "mydb", "relation-7"),
        (cs("10.0.0.6", "5432", "mydb", "relation-7"),),
        notes=frozenset({MALFORMED}),
        version="14.12",
    ),
    V(
        "password-with-spaces-and-quotes",
        {**PG14_VM_PLAIN, "password": f'{PW} it\'s "q" \\ =,'},
        True,
        str(
            ConnectionString(
                host="10.0.0.5",
                port="5432",
                dbname="mydb",
                user="relation-7",
                password=f'{PW} it\'s "q" \\ =,',
            )
        ),
        (
            str(
                ConnectionString(
                    host="10.0.0.6",
                    port="5432",
                    dbname="mydb",
                    user="relation-7",
                    password=f'{PW} it\'s "q" \\ =,',
                )
            ),
        ),
        version="14.12",
    ),
    V(
        "password-with-nul",
        {**PG14_VM_PLAIN, "password": f"{PW}\x00"},
        False,
        blocking=frozenset({MALFORMED}),
        version="14.12",
    ),
    V(
        "uris-unusable-and-no-username",
        {
            k: v
            for k, v in {**PG14_VM_PLAIN, "uris": f"postgresql://u:{PW}@h/%zz"}.items()
            if k != "username"
        },
        False,
        blocking=frozenset({protocol.NO_CREDENTIALS}),
        notes=frozenset({MALFORMED}),
        version="14.12",
    ),
    V(
        "read-only-uris-unparsable",
        {**PG14_VM_PLAIN, "read-only-uris": f"postgresql://u:{PW}@h/%zz"},
        True,
        cs("10.0.0.5", "5432", "mydb", "relation-7"),
        (cs("10.0.0.6", "5432", "mydb", "relation-7"),),
        notes=frozenset({MALFORMED}),
        version="14.12",
    ),
]


def _evaluate(v: V) -> Readiness:
    return evaluate_client(v.request, v.app, v.units, v.secrets)


def _passwords(v: V) -> List[str]:
    found = [v.app.get("password", "")]
    found += [(c or {}).get("password", "") for c in v.secrets.values()]
    return [p for p in found if p] + [PW]


@pytest.mark.parametrize("v", VECTORS, ids=[v.id for v in VECTORS])
def test_vector(v: V) -> None:
    r = _evaluate(v)
    context = f"{r.why} / {[str(x) for x in r.reasons]}"
    assert r.ready is v.ready, context
    assert {x.code for x in r.reasons if x.blocking} == v.blocking, context
    assert {x.code for x in r.reasons if not x.blocking} == v.notes, context
    assert r.master == (ConnectionString(v.master) if v.master else None)
    assert r.standbys == tuple(ConnectionString(s) for s in v.standbys)
    assert r.version == v.version
    assert r.database == v.database
    assert r.source == (_source(v) if v.ready else None)
    assert (r.why == "ready") is v.ready
    if not v.ready:
        assert r.master is None
        assert r.standbys == ()
        assert r.snapshot() == Snapshot()


def _source(v: V) -> str:
    return next(iter(v.units)).rpartition("/")[0] if v.units else "provider"


@pytest.mark.parametrize("v", VECTORS, ids=[v.id for v in VECTORS])
def test_no_password_in_what_is_shown(v: V) -> None:
    r = _evaluate(v)
    shown = [r.why, repr(r), *(str(x) for x in r.reasons), *(x.advice or "" for x in r.reasons)]
    shown += [repr(b) for b in r.bags]
    for text in shown:
        for password in _passwords(v):
            assert password not in text


def _libpq_agrees(c: ConnectionString) -> None:
    assert conninfo_to_dict(str(c)) == c.to_dict()
    assert conninfo_to_dict(c.uri) == c.to_dict()


@pytest.mark.parametrize(
    "v", [v for v in VECTORS if v.ready], ids=[v.id for v in VECTORS if v.ready]
)
def test_libpq_reads_what_is_built(v: V) -> None:
    r = _evaluate(v)
    assert r.master is not None
    for c in (r.master, *r.standbys):
        _libpq_agrees(c)


def test_vectors_cover_every_code() -> None:
    codes = {c for v in VECTORS for c in v.blocking | v.notes}
    assert {
        protocol.NOT_ANSWERED,
        protocol.NO_CREDENTIALS,
        protocol.SECRET_NOT_GRANTED,
        protocol.SUBORDINATE_NOT_READY,
        protocol.REQUEST_CHANGED,
        protocol.EXTENSIONS_BY_CONFIG,
        protocol.TLS_ENABLED,
        protocol.DATABASE_MISMATCH,
        protocol.DATABASE_PENDING,
        protocol.MALFORMED,
        protocol.REQUEST_UNKNOWN,
    } <= codes


# ---------------------------------------------------------------------------------------------
# Specific rules
# ---------------------------------------------------------------------------------------------


def test_password_rotation_changes_the_snapshot() -> None:
    # The secret's content changes, not the bag: the requirer sees secret-changed only.
    before = evaluate_client(MYDB, PG16_VM, {}, SECRETS)
    rotated = {USER_URI: user_secret(password="n3wPassw0rdAfterRotation"), TLS_URI: TLS_OFF}
    after = evaluate_client(MYDB, PG16_VM, {}, rotated)
    assert before.ready
    assert after.ready
    assert after.master is not None
    assert after.master.password == "n3wPassw0rdAfterRotation"
    assert before.snapshot() != after.snapshot()
    assert transitions(before.snapshot(), after.snapshot()) == (
        "master_changed",
        "standby_changed",
        "database_changed",
    )
    # the same content twice: nothing to tell
    again = evaluate_client(MYDB, PG16_VM, {}, {USER_URI: user_secret(), TLS_URI: TLS_OFF})
    assert transitions(before.snapshot(), again.snapshot()) == ()


def test_secret_granted_later_makes_the_master_available() -> None:
    pending = evaluate_client(MYDB, PG16_VM, {}, {USER_URI: None, TLS_URI: None})
    granted = evaluate_client(MYDB, PG16_VM, {}, SECRETS)
    assert transitions(Snapshot(), pending.snapshot()) == ()
    assert transitions(pending.snapshot(), granted.snapshot())[:2] == (
        "master_available",
        "master_changed",
    )


def test_pgbouncer_unit_becoming_ready() -> None:
    waiting = evaluate_client(MYDB, PGB_VM, {"pgbouncer/0": {}}, PGB_VM_SECRETS)
    ready = evaluate_client(MYDB, PGB_VM, READY_UNIT, PGB_VM_SECRETS)
    assert not waiting.ready
    assert ready.ready
    assert "state: ready" in waiting.why
    assert [(b.bag, b.ready) for b in ready.bags] == [("pgbouncer", True), ("pgbouncer/0", True)]
    assert [(b.bag, b.ready) for b in waiting.bags] == [
        ("pgbouncer", False),
        ("pgbouncer/0", False),
    ]


def test_secret_overrides_the_bag_field_by_field() -> None:
    # a field missing from the secret is read from the bag (published in clear)
    bag = {**PG16_VM, "username": "from-bag", "password": "bag-password"}
    r = evaluate_client(MYDB, bag, {}, {USER_URI: {"password": PW}, TLS_URI: TLS_OFF})
    assert r.master is not None
    assert (r.master.user, r.master.password) == ("from-bag", PW)


def test_extension_note_names_the_config_option() -> None:
    request = Request.build(database="mydb", extensions=["pg_trgm:public", "uuid-ossp", "citext"])
    r = evaluate_client(request, PG14_VM_PLAIN, {}, {}, remote_app="postgresql")
    assert r.ready
    notes = [x for x in r.reasons if x.code == protocol.EXTENSIONS_BY_CONFIG]
    assert [x.blocking for x in notes] == [False] * 3
    text = " ".join(f"{x.message} {x.advice}" for x in notes)
    for option in ("plugin-pg-trgm-enable", "plugin-uuid-ossp-enable", "plugin-citext-enable"):
        assert option in text
    assert "juju config postgresql plugin-citext-enable=true" in text


def test_remote_app_names_the_source() -> None:
    r = evaluate_client(MYDB, PG14_VM_PLAIN, {}, {}, remote_app="postgresql")
    assert r.source == "postgresql"
    assert r.bags[0].bag == "postgresql"
    assert r.bags[0].is_app
    assert evaluate_client(MYDB, PG14_VM_PLAIN, {}, {}).source == "provider"


def test_wrong_database_says_which() -> None:
    bag = {**PG14_VM_PLAIN, "database": "otherdb"}
    r = evaluate_client(MYDB, bag, {}, {})
    assert "another database" in r.why
    assert "otherdb" in r.why
    assert "mydb" in r.why


def test_request_changed_says_what_changed() -> None:
    bag = {**PG14_VM_PLAIN, "data": json.dumps({"database": "olddb"})}
    r = evaluate_client(MYDB, bag, {}, {})
    (reason,) = [x for x in r.reasons if x.code == protocol.REQUEST_CHANGED]
    assert "olddb" in reason.message
    assert "mydb" in reason.message
    assert reason.advice


def test_garbage_endpoint_shown_masked() -> None:
    bag = {**PG14_VM_PLAIN, "endpoints": f"host=x password={PW}"}
    r = evaluate_client(MYDB, bag, {}, {})
    assert not r.ready
    assert r.reasons[0].code == protocol.MALFORMED
    assert PW not in r.why
    assert "********" in " ".join(x.message for x in r.reasons)


# ---------------------------------------------------------------------------------------------
# The requirer's bag and the secrets referenced
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "external", "expected"),
    [
        (MYDB, False, {"database": "mydb", "requested-secrets": REQUESTED}),
        (
            Request.build(database="mydb", roles=["charmed_dml", "charmed_read"]),
            False,
            {
                "database": "mydb",
                "extra-user-roles": "charmed_dml,charmed_read",
                "requested-secrets": REQUESTED,
            },
        ),
        (
            Request.build(database="mydb", extensions=["citext"]),
            True,
            {
                "database": "mydb",
                "external-node-connectivity": "true",
                "requested-secrets": REQUESTED,
            },
        ),
    ],
    ids=["database", "roles", "external-no-extensions"],
)
def test_requirer_databag(request_: Request, external: bool, expected: Bag) -> None:
    bag = requirer_databag(request_, external=external)
    assert bag == expected
    assert json.loads(bag["requested-secrets"]) == [
        "username",
        "password",
        "tls",
        "tls-ca",
        "uris",
        "read-only-uris",
    ]


def test_requirer_databag_needs_a_database() -> None:
    with pytest.raises(RequestError, match="database"):
        requirer_databag(Request.build(roles="charmed_read"))


@pytest.mark.parametrize(
    ("bag", "expected"),
    [
        ({}, {}),
        (PG16_VM, {"user": USER_URI, "tls": TLS_URI}),
        ({"secret-extra": "secret:abc", "secret-user": " "}, {"extra": "secret:abc"}),
        ({"secret-mtls": "secret:x", "secret-entity": "secret:y"}, {}),
    ],
    ids=["none", "user-tls", "extra-blank-user", "groups-not-read"],
)
def test_secret_fields(bag: Bag, expected: Bag) -> None:
    assert secret_fields(bag) == expected


def test_doctests() -> None:
    result = doctest.testmod(importlib.import_module("pgsql.protocol._postgresql_client"))
    assert result.failed == 0
    assert result.attempted >= 3


# ---------------------------------------------------------------------------------------------
# Malformed remote data never raises
# ---------------------------------------------------------------------------------------------

_KEYS = st.sampled_from(
    [
        "database",
        "endpoints",
        "read-only-endpoints",
        "username",
        "password",
        "uris",
        "read-only-uris",
        "tls",
        "tls-ca",
        "version",
        "data",
        "subordinated",
        "secret-user",
        "secret-tls",
        "secret-extra",
    ]
)
_VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "10.0.0.5:5432",
            "[fd00::1]:5432,/tmp:1,localhost",
            "true",
            "True",
            USER_URI,
            '{"database": 5, "extra-user-roles": ["x"]}',
            f"postgresql://u:{PW}@h:5432:5432/db",
        ]
    ),
)


@settings(max_examples=scaled(50, 300, 3000), deadline=None)
@given(
    app=st.dictionaries(_KEYS, _VALUES, max_size=10),
    content=st.one_of(st.none(), st.dictionaries(_KEYS, _VALUES, max_size=6)),
    state=st.sampled_from(["", "ready", "waiting"]),
    request_=st.sampled_from([None, MYDB, Request("x", ("r",), ("bad item(",))]),
)
def test_never_raises(
    app: Bag, content: Optional[Bag], state: str, request_: Optional[Request]
) -> None:
    r = evaluate_client(request_, app, {"p/0": {"state": state}}, {USER_URI: content})
    assert r.ready is (r.master is not None)
    assert r.ready or any(x.blocking for x in r.reasons)
    if r.master is not None:
        _libpq_agrees(r.master)
        for s in r.standbys:
            _libpq_agrees(s)
    for x in r.reasons:
        assert PW not in x.message
