"""A URI without its scheme (``user:password@host``): its password never shows, and a message
that merely holds a ``name:`` prefix and an ``@`` further on is not masked into uselessness.

Found reviewing the rule that hides the whole ``user:password`` of a value starting with one
(:func:`pgsql.connstr.mask_value`): an Azure-style user (``user@server``) kept the password in
clear, so did a value after a blank, and the doctor's reason lines (``bag: message``) holding any
``@`` were masked from their start to that ``@``.
"""

from __future__ import annotations

import copy
import time
from typing import Any, Dict

import pytest
import yaml
from test_doctor_support import DATA, dump, run_doctor

from pgsql import protocol
from pgsql.cli import main
from pgsql.connstr import ConnectionString, ConnectionStringError, mask_value
from pgsql.doctor._mask import target

PW = "Zq8wLp3rTy6u"
AZURE = f"myuser@myserver:{PW}@myserver.postgres.database.azure.com:5432/mydb"


@pytest.mark.parametrize(
    "value",
    [
        AZURE,
        f" relation-7:{PW}@10.0.0.5:5432/mydb",
        f"\trelation-7:{PW}@10.0.0.5",
        f"relation-7:9/{PW}@10.0.0.5",  # a password starting with digits then "/"
        f"see postgresql://myuser@myserver:{PW}@db.example.com/mydb",  # a URI's user holds "@"
    ],
    ids=["azure-user", "leading-blank", "leading-tab", "digits-slash", "uri-user-with-at"],
)
def test_a_uri_without_its_scheme_never_shows_its_password(value: str) -> None:
    assert PW not in mask_value(value)
    assert mask_value(value).endswith("@" + value.rpartition("@")[2])  # the host stays shown
    if "://" in value:  # a URI, parsed as libpq does: its repr hides the password
        assert PW not in repr(ConnectionString(value.partition(" ")[2]))
        return
    with pytest.raises(ConnectionStringError) as info:
        ConnectionString(value)
    assert PW not in str(info.value)


@pytest.mark.parametrize("field", ["uris", "read-only-uris"])
def test_a_provider_uris_with_an_azure_user_and_no_scheme_keeps_the_password_out_of_reasons(
    field: str,
) -> None:
    bag = {"endpoints": "10.0.0.5:5432", "database": "mydb", field: AZURE}
    if field == "read-only-uris":
        bag.update(username="u", password="other")
    readiness = protocol.evaluate_client(
        protocol.Request(database="mydb"), bag, {"postgresql/0": {}}, {}, remote_app="pg"
    )
    assert protocol.MALFORMED in [r.code for r in readiness.reasons]
    assert PW not in repr(readiness)
    assert PW not in " ".join(str(r) for r in readiness.reasons)


@pytest.mark.parametrize(
    "value",
    [
        "me@server",
        "myuser@myserver:5432",
        "pg: unusable uris: missing '=' after '********@10.0.0.5/mydb'",
        "db: the user is me@server",
    ],
)
def test_values_and_messages_without_a_password_are_shown_as_they_are(value: str) -> None:
    assert mask_value(value) == value


def test_the_doctor_shows_the_text_of_a_malformed_uris_reason_without_the_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc: Dict[str, Any] = yaml.safe_load(
        (DATA / "show-unit-postgresql-client" / "pg14-vm-plaintext.yaml").read_text()
    )
    doc = {"myapp/0": copy.deepcopy(doc["myapp/0"])}
    (item,) = [i for i in doc["myapp/0"]["relation-info"] if i["endpoint"] == "database"]
    bag = item["application-data"]
    for key in ("username", "password"):
        del bag[key]
    bag["uris"] = f"relation-7:{PW}@10.0.0.5:5432/mydb"  # the scheme lost
    code, out, err = run_doctor(capsys, monkeypatch, dump(doc, "yaml"), "--unit", "myapp/0")
    assert code == 1
    assert PW not in out + err
    lines = [line for line in out.splitlines() if "[malformed]" in line]
    assert lines, out
    assert all("unusable uris" in line for line in lines), out


@pytest.mark.parametrize(
    "uri",
    [
        f"postgresql://myuser@myserver:{PW}@db.example.com/mydb",  # the user's "@" unencoded
        f"postgresql://u:{PW}@h1,v:{PW}@h2/mydb",  # a second userinfo in a multi-host list
    ],
    ids=["azure-user", "multi-host-userinfo"],
)
def test_a_uri_whose_password_libpq_reads_as_the_port_never_shows_it(
    uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cs = ConnectionString(uri)
    assert PW in cs["port"]  # as libpq reads it: the password ends up in the port
    for shown in (repr(cs), cs.masked(), cs.masked_uri(), target(cs)):
        assert PW not in shown
    for flags in ([], ["--uri"], ["--json"]):
        assert main(["connstr", *flags, uri]) == 0
        out, err = capsys.readouterr()
        assert PW not in out + err
        assert "myserver" in out or "h1" in out  # the host stays shown


def test_a_numeric_port_is_shown() -> None:
    assert mask_value("5432", keyword="port") == "5432"
    assert ConnectionString("postgresql://u:pw@h:5432,g:5433/db").masked() == (
        "dbname=db host=h,g password=******** port=5432,5433 user=u"
    )


def test_a_target_whose_database_holds_an_at_sign_stays_shown() -> None:
    # what the doctor shows of a connection string: user@host:port/dbname
    assert mask_value("myuser@myserver:5432/db@x") == "myuser@myserver:5432/db@x"
    uri = "postgresql://myuser@myserver:5432/db?application_name=a@b"
    assert mask_value(uri) == uri


@pytest.mark.parametrize(
    "value",
    ["a@" * 100_000, "@" * 200_000 + ":/", "://u@h:5/" * 20_000 + "@", "a@b:" + "1" * 200_000],
    ids=["at-pairs", "ats-then-colon", "uri-targets", "digits"],
)
def test_masking_hostile_long_values_stays_linear(value: str) -> None:
    started = time.perf_counter()
    mask_value(value)
    # linear: a few hundredths of a second; the quadratic scan this guards against took minutes
    assert time.perf_counter() - started < 3.0
