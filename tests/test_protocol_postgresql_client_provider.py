"""The ``postgresql_client`` interface's provider side: the request read, the answer rendered.

The requirer bags below are what v0 requirers write (the facts in
``/work/shared/interface/postgresql_client.md``, and ``requirer_databag``, the requirer side of
this library). The central property: what :func:`provider_answer` renders is judged ready by
:func:`evaluate_client`, the requirer's rule, with the master and standbys the provider meant;
connection strings are also checked with libpq's own parser (psycopg's ``conninfo_to_dict``).
"""

from __future__ import annotations

import doctest
import importlib
import json
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Type

import pytest
from conftest import scaled
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from pgsql import ConnectionString, protocol
from pgsql.protocol import (
    PROVIDER_KEYS,
    REQUESTED_SECRETS,
    DatabaseRequest,
    ProviderAnswer,
    Request,
    evaluate_client,
    provider_answer,
    read_database_request,
    requirer_databag,
    secret_fields,
)

Bag = Dict[str, str]

PW = "Zw6WZEgvDvZIAh5fk0tGlRYE"
USER = "relation_id_7"
CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----"
ALL_SECRETS = json.dumps(list(REQUESTED_SECRETS))
MYDB = DatabaseRequest("mydb", requested_secrets=REQUESTED_SECRETS)


def uris_for(answer: ProviderAnswer) -> Dict[str, str]:
    """A made-up secret URI for every group of ``answer``."""
    return {group: f"secret:d7f1qk8mp25c77bn3k{n:02d}" for n, group in enumerate(answer.secrets)}


def judge(
    answer: ProviderAnswer,
    request: Optional[Request],
    units: Optional[Mapping[str, Bag]] = None,
) -> Tuple[protocol.Readiness, Bag]:
    """The requirer's verdict on ``answer`` (secrets granted), and the bag it read."""
    uris = uris_for(answer)
    bag = answer.databag(uris)
    contents = {uris[group]: content for group, content in answer.secrets.items()}
    assert set(secret_fields(bag).values()) == set(contents)
    readiness = evaluate_client(
        request, bag, units if units is not None else {"pg/0": {}}, dict(contents)
    )
    return readiness, bag


def expected(hosts: Sequence[Tuple[str, str]], db: str, user: str = USER) -> ConnectionString:
    ports = [p for _, p in hosts]
    return ConnectionString(
        host=",".join(h for h, _ in hosts),
        port=",".join(ports) if any(ports) else None,
        dbname=db,
        user=user,
        password=PW,
    )


def libpq(text: str) -> Dict[str, str]:
    """What libpq reads from a connection string or URI."""
    return {k: v for k, v in conninfo_to_dict(text).items() if isinstance(v, str)}


# ---------------------------------------------------------------------------------------------
# Reading the request
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "external"),
    [
        (Request.build(database="mydb"), False),
        (Request.build(database="my db", roles=["charmed_dml", "charmed_read"]), True),
        (Request.build(database='charm-db "quoted"', roles="Role With Spaces"), False),
    ],
)
def test_reads_what_this_librarys_requirer_writes(request_: Request, external: bool) -> None:
    bag = requirer_databag(request_, external=external)
    got, problems = read_database_request(bag)
    assert problems == ()
    assert got == DatabaseRequest(request_.database, request_.roles, REQUESTED_SECRETS, external)
    assert got is not None
    assert got.request == request_
    assert got.snapshot() == bag


def test_reads_a_v0_requirer_bag_with_keys_it_does_not_use() -> None:
    # data_interfaces' requirer (LIBPATCH 40+) on Juju 3: the keys it writes into its app bag
    bag = {
        "database": "indico",
        "extra-user-roles": "SUPERUSER",
        "requested-secrets": '["username", "password", "tls", "tls-ca", "uris"]',
        "provided-secrets": '["mtls-cert"]',
        "alias": "primary",
    }
    got, problems = read_database_request(bag)
    assert problems == ()
    assert got == DatabaseRequest(
        "indico", ("SUPERUSER",), ("username", "password", "tls", "tls-ca", "uris"), False
    )


@pytest.mark.parametrize(
    ("bag", "request_", "problem"),
    [
        ({}, None, None),
        ({"requested-secrets": ALL_SECRETS}, None, None),
        ({"database": "   "}, None, None),
        ({"database": "a,b"}, None, "ignored the database request"),
        ({"database": "bad\x00db"}, None, "ignored the database request"),
        ({"database": "bad\ndb"}, None, "ignored the database request"),
        ({"database": "ab*"}, None, "at least 3 characters"),
        ({"database": "app_", "prefix-matching": "all"}, None, "prefix requests"),
        ({"database": " mydb "}, DatabaseRequest("mydb"), None),
        (
            {"database": "mydb", "extra-user-roles": "ok, bad\x00role,,ok"},
            DatabaseRequest("mydb", ("ok",)),
            "ignored a role",
        ),
        (
            {"database": "mydb", "requested-secrets": "username,password"},
            DatabaseRequest("mydb"),
            "not a JSON list",
        ),
        ({"database": "mydb", "requested-secrets": "["}, DatabaseRequest("mydb"), "not a JSON"),
        (
            {"database": "mydb", "requested-secrets": '{"username": 1}'},
            DatabaseRequest("mydb"),
            "not a JSON list",
        ),
        (
            {"database": "mydb", "requested-secrets": '["password", 7, "", "password"]'},
            DatabaseRequest("mydb", (), ("password",)),
            "ignored",
        ),
        ({"database": "mydb", "requested-secrets": "[]"}, DatabaseRequest("mydb"), None),
        (
            {"database": "mydb", "external-node-connectivity": "TRUE"},
            DatabaseRequest("mydb", external_node_connectivity=True),
            None,
        ),
        ({"database": "mydb", "external-node-connectivity": "yes"}, DatabaseRequest("mydb"), None),
        (
            {"database": "mydb", "entity-type": "USER"},
            DatabaseRequest("mydb"),
            "entity requests",
        ),
    ],
)
def test_malformed_requests_are_read_leniently(
    bag: Bag, request_: Optional[DatabaseRequest], problem: Optional[str]
) -> None:
    got, problems = read_database_request(bag)
    assert got == request_
    if problem is None:
        assert problems == ()
    else:
        assert problems
        assert any(problem in p for p in problems), problems


def test_problems_never_show_a_secret() -> None:
    raw = f"host=x password={PW}"
    _, problems = read_database_request({"database": "mydb", "requested-secrets": raw})
    assert problems
    assert all(PW not in p for p in problems)
    _, problems = read_database_request({"database": f"x,password={PW}"})
    assert problems
    assert all(PW not in p for p in problems)
    _, problems = read_database_request({"database": "mydb", "requested-secrets": "x" * 5000})
    assert all(len(p) < 300 for p in problems)


_REQUIRER_KEYS = st.sampled_from(
    [
        "database",
        "extra-user-roles",
        "requested-secrets",
        "external-node-connectivity",
        "entity-type",
        "data",
    ]
)
_REQUIRER_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["mydb", ALL_SECRETS, "[", '["x", null, 3]', "true", "a,b,,c", "db*"]),
    st.lists(st.one_of(st.text(max_size=8), st.integers(), st.none()), max_size=4).map(json.dumps),
)


@settings(max_examples=scaled(50, 300, 3000), deadline=None)
@given(bag=st.dictionaries(_REQUIRER_KEYS, _REQUIRER_VALUES, max_size=6))
def test_reading_never_raises(bag: Bag) -> None:
    got, problems = read_database_request(bag)
    assert all(isinstance(p, str) and p for p in problems)
    if got is not None:
        assert got.database
        # what was read is a valid request: a provider can act on it and answer it
        Request.build(got.database, got.roles)
        # a prefix request is answered with the databases matching it (PostgreSQL 16)
        matching = [f"{got.prefix}db"] if got.prefix else None
        answer = provider_answer(
            got, endpoints="10.0.0.5:5432", username=USER, password=PW, databases=matching
        )
        readiness, _ = judge(answer, got.request)
        assert readiness.ready == _password_handed(got.requested_secrets), readiness.why


def _password_handed(requested: Sequence[str], secrets_available: bool = True) -> bool:
    """Whether a requirer listing ``requested`` is handed the password (issue #17.2).

    Beside secrets a field holding the password goes only into the user secret: a requirer
    listing some fields but neither ``password`` nor ``uris`` is not given it at all.
    """
    return not (secrets_available and requested) or bool({"password", "uris"} & set(requested))


# ---------------------------------------------------------------------------------------------
# Rendering the answer
# ---------------------------------------------------------------------------------------------


def test_pg16_vm_answer_with_secrets() -> None:
    answer = provider_answer(
        MYDB,
        endpoints=["10.0.0.5:5432"],
        read_only_endpoints="10.0.0.6:5432,10.0.0.7:5432",
        username=USER,
        password=PW,
        version="16.14",
        tls=False,
    )
    assert answer.bag == {
        "database": "mydb",
        "endpoints": "10.0.0.5:5432",
        "read-only-endpoints": "10.0.0.6:5432,10.0.0.7:5432",
        "version": "16.14",
        "data": json.dumps({"database": "mydb", "requested-secrets": ALL_SECRETS}, sort_keys=True),
    }
    user = answer.secrets["user"]
    assert (user["username"], user["password"]) == (USER, PW)
    assert libpq(user["uris"]) == {
        "user": USER,
        "password": PW,
        "host": "10.0.0.5",
        "port": "5432",
        "dbname": "mydb",
    }
    assert libpq(user["read-only-uris"])["host"] == "10.0.0.6,10.0.0.7"
    assert answer.secrets["tls"] == {"tls": "False"}
    assert set(answer.secrets) == {"user", "tls"}
    bag = answer.databag({"user": "secret:u1", "tls": "secret:t1"})
    assert (bag["secret-user"], bag["secret-tls"]) == ("secret:u1", "secret:t1")
    assert PW not in json.dumps(bag)
    assert set(bag) <= set(PROVIDER_KEYS)

    readiness, _ = judge(answer, MYDB.request)
    assert readiness.ready, readiness.why
    assert readiness.master == expected([("10.0.0.5", "5432")], "mydb")
    assert readiness.standbys == (
        expected([("10.0.0.6", "5432")], "mydb"),
        expected([("10.0.0.7", "5432")], "mydb"),
    )
    assert (readiness.version, readiness.database, readiness.source) == ("16.14", "mydb", "pg")
    assert readiness.reasons == ()


def test_without_secrets_everything_is_in_clear() -> None:
    answer = provider_answer(
        MYDB,
        endpoints="10.0.0.5:5432",
        read_only_endpoints="10.0.0.6:5432",
        username=USER,
        password=PW,
        version="14.12",
        tls=False,
        secrets_available=False,
    )
    assert answer.secrets == {}
    assert answer.databag() == answer.bag
    assert answer.bag["password"] == PW
    assert answer.bag["username"] == USER
    assert answer.bag["tls"] == "False"
    readiness, _ = judge(answer, MYDB.request)
    assert readiness.ready, readiness.why
    assert readiness.master == expected([("10.0.0.5", "5432")], "mydb")


def test_a_password_field_not_requested_is_not_published() -> None:
    # a requirer that did not list uris is not given it: it holds the password (issue #17.2)
    request = DatabaseRequest("mydb", requested_secrets=("username", "password"))
    answer = provider_answer(request, endpoints="10.0.0.5:5432", username=USER, password=PW)
    assert set(answer.secrets) == {"user"}
    assert answer.secrets["user"] == {"username": USER, "password": PW}
    assert "uris" not in answer.bag
    assert answer.withheld == ("uris",)
    readiness, _ = judge(answer, request.request)
    assert readiness.ready, readiness.why


def test_fields_a_requirer_judges_the_answer_by_stay_in_clear_even_when_asked() -> None:
    # endpoints says "answered", subordinated "wait for the unit"; database and version go
    # with them: none is a credential, and evaluate_client reads them from the bag
    asked = (*REQUESTED_SECRETS, "version", "endpoints", "subordinated", "database", "x-y")
    request = DatabaseRequest("mydb", requested_secrets=asked)
    answer = provider_answer(
        request,
        endpoints="10.0.0.5:5432",
        username=USER,
        password=PW,
        version="16.4",
        subordinated=True,
    )
    assert "extra" not in answer.secrets
    for key in ("version", "endpoints", "subordinated", "database"):
        assert key in answer.bag
    assert set(answer.secrets["user"]) == {"username", "password", "uris"}
    # data is the provider's own bookkeeping: never in a secret, even when asked
    request = DatabaseRequest("mydb", requested_secrets=("data",))
    answer = provider_answer(request, endpoints="10.0.0.5:5432", username=USER, password=PW)
    assert answer.secrets == {}
    assert "data" in answer.bag


def test_tls_and_its_ca() -> None:
    answer = provider_answer(
        MYDB,
        endpoints="10.0.0.5:5432",
        username=USER,
        password=PW,
        tls=True,
        tls_ca=CA + "\n",  # as read from a PEM file
    )
    assert answer.secrets["tls"] == {"tls": "True", "tls-ca": CA + "\n"}  # as given
    readiness, _ = judge(answer, MYDB.request)
    assert readiness.ready, readiness.why
    assert (readiness.tls, readiness.tls_ca) == (True, CA + "\n")
    assert [r.code for r in readiness.reasons] == [protocol.TLS_ENABLED]
    # no CA: the key is left out (a secret value cannot be empty; requirers read "" the same)
    for blank in ("", "\n"):
        answer = provider_answer(
            MYDB, endpoints="10.0.0.5:5432", username=USER, password=PW, tls=True, tls_ca=blank
        )
        assert answer.secrets["tls"] == {"tls": "True"}


@pytest.mark.parametrize(
    ("endpoints", "hosts"),
    [
        (["postgresql-k8s-primary.dev.svc.cluster.local:5432"], None),
        (["[fd00::5]:5432"], [("fd00::5", "5432")]),
        (["/var/snap/charmed-pgbouncer/current/run:6432"], None),
        (["/tmp/.s.PGSQL.6432"], [("/tmp", "6432")]),
        (["10.0.0.5:5432", "10.0.0.6:5433", "10.0.0.5:5432"], None),
        (["localhost"], [("localhost", "")]),
    ],
)
def test_endpoint_forms(endpoints: List[str], hosts: Optional[List[Tuple[str, str]]]) -> None:
    if hosts is None:
        hosts = []
        for e in dict.fromkeys(endpoints):
            host, _, port = e.rpartition(":")
            hosts.append((host, port))
    answer = provider_answer(MYDB, endpoints=endpoints, username=USER, password=PW)
    readiness, bag = judge(answer, MYDB.request)
    assert readiness.ready, readiness.why
    assert readiness.master == expected(hosts, "mydb")
    assert bag["endpoints"] == ",".join(dict.fromkeys(endpoints))
    uri = libpq(answer.secrets["user"]["uris"])
    assert (uri["user"], uri["password"], uri["dbname"]) == (USER, PW, "mydb")
    assert uri["host"] == ",".join(h for h, _ in hosts)


def test_pgbouncer_subordinate_and_its_readonly_database() -> None:
    request = DatabaseRequest("mydb", requested_secrets=REQUESTED_SECRETS)
    answer = provider_answer(
        request,
        endpoints="localhost:6432",
        read_only_endpoints="localhost:6432",
        read_only_database="mydb_readonly",
        username=USER,
        password=PW,
        subordinated=True,
    )
    assert answer.bag["subordinated"] == "true"
    readiness, _ = judge(answer, request.request, {"pgbouncer/0": {}})
    assert not readiness.ready
    assert [r.code for r in readiness.reasons if r.blocking] == [protocol.SUBORDINATE_NOT_READY]
    readiness, _ = judge(answer, request.request, {"pgbouncer/0": {"state": "ready"}})
    assert readiness.ready, readiness.why
    assert readiness.standbys == (expected([("localhost", "6432")], "mydb_readonly"),)


def test_database_served_and_the_request_acted_upon() -> None:
    # the provider serves what it created; the snapshot says what it acted upon
    answer = provider_answer(
        MYDB, endpoints="10.0.0.5:5432", username=USER, password=PW, database="other"
    )
    assert answer.bag["database"] == "other"
    readiness, _ = judge(answer, MYDB.request)
    assert [r.code for r in readiness.reasons if r.blocking] == [protocol.DATABASE_MISMATCH]
    # the requirer changed its request after the answer: it is told so
    answer = provider_answer(MYDB, endpoints="10.0.0.5:5432", username=USER, password=PW)
    readiness, _ = judge(answer, Request.build(database="renamed"))
    assert protocol.REQUEST_CHANGED in [r.code for r in readiness.reasons if r.blocking]
    # roles are echoed in data; a later change of roles is a note
    answer = provider_answer(
        DatabaseRequest("mydb", ("charmed_dml",)),
        endpoints="10.0.0.5:5432",
        username=USER,
        password=PW,
    )
    assert json.loads(answer.bag["data"])["extra-user-roles"] == "charmed_dml"
    readiness, _ = judge(answer, Request.build(database="mydb", roles=["charmed_dml"]))
    assert readiness.ready
    assert readiness.reasons == ()
    readiness, _ = judge(answer, Request.build(database="mydb"))
    assert readiness.ready
    assert [r.code for r in readiness.reasons] == [protocol.REQUEST_CHANGED]


def test_explicit_uris_are_published_as_given() -> None:
    uri = f"postgresql://{USER}:{PW}@10.0.0.5:5432/mydb?sslmode=require"
    answer = provider_answer(
        MYDB,
        endpoints="10.0.0.5:5432",
        username=USER,
        password=PW,
        uris=uri,
        read_only_uris=uri,
    )
    assert answer.secrets["user"]["uris"] == uri
    assert answer.secrets["user"]["read-only-uris"] == uri


def test_databag_needs_a_uri_for_every_secret_group() -> None:
    answer = provider_answer(MYDB, endpoints="10.0.0.5:5432", username=USER, password=PW, tls=True)
    with pytest.raises(ValueError, match="tls"):
        answer.databag({"user": "secret:u1"})
    with pytest.raises(ValueError, match="user"):
        answer.databag({"user": " ", "tls": "secret:t1"})


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"endpoints": []}, ValueError, "at least one"),
        ({"endpoints": ""}, ValueError, "at least one"),
        ({"endpoints": ["10.0.0.5:99999"]}, ValueError, "host:port"),
        ({"endpoints": ["bad host:5432"]}, ValueError, "host:port"),
        ({"endpoints": ["10.0.0.5:5432,10.0.0.6:5432"]}, ValueError, "host:port"),
        ({"endpoints": [5432]}, TypeError, "items must be str"),
        ({"endpoints": 5432}, TypeError, "iterable of str"),
        ({"read_only_endpoints": ["[fd00::1"]}, ValueError, "read_only_endpoints"),
        ({"username": ""}, ValueError, "username must not be empty"),
        ({"password": ""}, ValueError, "password must not be empty"),
        ({"password": f" {PW}"}, ValueError, "surrounding whitespace"),
        ({"password": PW + "\x00"}, ValueError, "NUL"),
        ({"password": 7}, TypeError, "password must be a str"),
        ({"database": "a,b"}, ValueError, "comma"),
        ({"database": ""}, ValueError, "must not be empty"),
        ({"read_only_database": "x\ny"}, ValueError, "newline"),
        ({"version": 16}, TypeError, "version must be a str"),
        ({"version": " 16"}, ValueError, "surrounding whitespace"),
        ({"tls": "true"}, TypeError, "tls must be a bool"),
        ({"tls_ca": 1}, TypeError, "tls_ca must be a str"),
        ({"tls_ca": CA + "\x00"}, ValueError, "tls_ca contains a NUL"),
        ({"database": f"db password={PW}"}, ValueError, "unusable connection details"),
    ],
)
def test_misuse(changes: Dict[str, object], error: Type[Exception], match: str) -> None:
    kwargs: Dict[str, object] = {"endpoints": "10.0.0.5:5432", "username": USER, "password": PW}
    kwargs.update(changes)
    with pytest.raises(error, match=match) as info:
        provider_answer(MYDB, **kwargs)  # type: ignore[arg-type]
    assert PW not in str(info.value)


def test_request_must_be_a_database_request() -> None:
    with pytest.raises(TypeError, match="DatabaseRequest"):
        provider_answer(
            Request("mydb"),  # type: ignore[arg-type]
            endpoints="10.0.0.5:5432",
            username=USER,
            password=PW,
        )


def test_doctests() -> None:
    module = importlib.import_module("pgsql.protocol._postgresql_client_provider")
    result = doctest.testmod(module)
    assert result.failed == 0
    assert result.attempted >= 4


# ---------------------------------------------------------------------------------------------
# The round trip, generated
# ---------------------------------------------------------------------------------------------

_LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
_PORT = st.integers(min_value=1, max_value=65535).map(str)


@st.composite
def _endpoint(draw: st.DrawFn) -> Tuple[str, str, str]:
    """An entry as providers write it, and the host and port a requirer must read."""
    kind = draw(st.sampled_from(["ipv4", "name", "ipv6", "socket"]))
    port = draw(_PORT)
    if kind == "ipv4":
        host = ".".join(str(draw(st.integers(0, 255))) for _ in range(4))
        return f"{host}:{port}", host, port
    if kind == "name":
        host = ".".join(draw(st.lists(_LABEL, min_size=1, max_size=4)))
        return f"{host}:{port}", host, port
    if kind == "ipv6":
        groups = draw(st.lists(st.integers(0, 0xFFFF), min_size=8, max_size=8))
        host = ":".join(f"{g:x}" for g in groups)
        return f"[{host}]:{port}", host, port
    host = "/" + "/".join(draw(st.lists(_LABEL, min_size=1, max_size=3)))
    return f"{host}:{port}", host, port


def _answer_or_refusal(
    request: DatabaseRequest, kwargs: Dict[str, object], password: str
) -> Optional[ProviderAnswer]:
    """The answer, or None when refused for values libpq cannot carry back unchanged."""
    try:
        return provider_answer(request, **kwargs)  # type: ignore[arg-type]
    except ValueError as e:
        message = str(e)
    assert "unusable connection details" in message
    assert password not in message
    return None


_NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=",\n\r\x00"),
    min_size=1,
    max_size=20,
).filter(lambda s: s == s.strip() and not s.endswith("*"))  # "prefix*": prefix requests
_SECRET = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=24,
).filter(lambda s: s == s.strip())


@settings(max_examples=scaled(50, 300, 3000), deadline=None)
@given(
    database=_NAME,
    roles=st.lists(_NAME, max_size=2),
    user=_SECRET,
    password=_SECRET,
    masters=st.lists(_endpoint(), min_size=1, max_size=3, unique_by=lambda e: e[0]),
    replicas=st.lists(_endpoint(), max_size=3, unique_by=lambda e: e[0]),
    version=st.one_of(st.none(), st.sampled_from(["14.12", "16.14", "16.9"])),
    tls=st.one_of(st.none(), st.booleans()),
    ca=st.one_of(st.none(), st.just(CA)),
    requested=st.one_of(
        st.just(list(REQUESTED_SECRETS)),
        st.lists(st.sampled_from(REQUESTED_SECRETS), unique=True),
    ),
    secrets_available=st.booleans(),
    external=st.booleans(),
)
def test_what_is_rendered_is_ready(
    database: str,
    roles: List[str],
    user: str,
    password: str,
    masters: List[Tuple[str, str, str]],
    replicas: List[Tuple[str, str, str]],
    version: Optional[str],
    tls: Optional[bool],
    ca: Optional[str],
    requested: List[str],
    secrets_available: bool,
    external: bool,
) -> None:
    wanted = Request.build(database=database, roles=roles)
    requirer_bag = requirer_databag(wanted, external=external)
    requirer_bag["requested-secrets"] = json.dumps(requested)
    request, problems = read_database_request(requirer_bag)
    assert problems == ()
    assert request is not None
    assert request == DatabaseRequest(database, wanted.roles, tuple(requested), external)
    kwargs: Dict[str, object] = {
        "endpoints": [e for e, _, _ in masters],
        "read_only_endpoints": ",".join(e for e, _, _ in replicas),
        "username": user,
        "password": password,
        "version": version,
        "tls": tls,
        "tls_ca": ca,
        "secrets_available": secrets_available,
    }
    answer = _answer_or_refusal(request, kwargs, password)
    assume(answer is not None)
    assert answer is not None
    uris = uris_for(answer)
    bag = answer.databag(uris)
    contents = {uris[g]: c for g, c in answer.secrets.items()}
    readiness = evaluate_client(wanted, bag, {"pg/0": {}}, dict(contents), remote_app="pg")
    if secrets_available and requested:  # no password in clear beside secrets (issue #17.2)
        assert not {"password", "uris", "read-only-uris"} & set(bag)
    if not _password_handed(requested, secrets_available):
        assert not readiness.ready
        return
    assert readiness.ready, readiness.why
    master = ConnectionString(
        host=",".join(h for _, h, _ in masters),
        port=",".join(p for _, _, p in masters),
        dbname=database,
        user=user,
        password=password,
    )
    assert readiness.master == master
    assert readiness.standbys == tuple(master.replace(host=h, port=p) for _, h, p in replicas)
    assert readiness.version == version
    assert readiness.database == database
    assert readiness.tls == tls
    assert readiness.tls_ca == ca
    # a field goes in clear only when not requested or without secrets
    for key in REQUESTED_SECRETS:
        in_clear = key in bag
        in_secret = any(key in c for c in answer.secrets.values())
        assert not (in_clear and in_secret)
        if in_secret:
            assert secrets_available
            assert key in requested
        elif in_clear:
            assert not secrets_available or key not in requested
        elif key in ("password", "uris") or (key == "read-only-uris" and replicas):
            assert key in answer.withheld  # holds the password: not requested, not published
    assert set(bag) <= set(PROVIDER_KEYS)
