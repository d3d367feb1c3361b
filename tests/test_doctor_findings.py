"""``pgsql doctor``: each precise reason, with the values involved, on constructed relations."""

from __future__ import annotations

from typing import Any, Callable, Dict, List

import pytest
from test_doctor_support import build, codes, doctor_json, dump, run_doctor, unit_result

Doc = Dict[str, Any]


def db_item(doc: Doc, unit: str) -> Dict[str, Any]:
    """The `db` relation-info item of one shown unit."""
    (item,) = [i for i in doc[unit]["relation-info"] if i["endpoint"] == "db"]
    return item


def server_bags(doc: Doc, client: str = "myapp/0") -> Dict[str, Dict[str, str]]:
    """The server unit bags as the client unit's show-unit shows them (Juju 3 shape)."""
    return {u: e["data"] for u, e in db_item(doc, client)["related-units"].items()}


def set_client_request(doc: Doc, **values: str) -> None:
    """Change the client's request everywhere it shows (Juju 3: in the server units' views)."""
    for unit in doc:
        if unit.startswith(("postgresql", "pgbouncer")):
            item = db_item(doc, unit)
            item["application-data"].update(values)
            for entry in item["related-units"].values():
                entry["data"].update(values)


def reason(entry: Dict[str, Any], code: str) -> Dict[str, Any]:
    (found,) = [r for r in entry["reasons"] if r["code"] == code]
    return found


def diagnose(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    doc: Doc,
    *args: str,
    unit: str = "myapp/0",
) -> Dict[str, Any]:
    _, report = doctor_json(capsys, monkeypatch, dump(doc, "yaml"), *args)
    return unit_result(report, unit)


def test_egress_not_in_allowed_subnets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-postgresql-vm", "ready_converged")
    for bag in server_bags(doc).values():
        bag["allowed-subnets"] = "10.0.0.11/32"
    entry = diagnose(capsys, monkeypatch, doc)
    assert entry["verdict"] == "not ready"
    r = reason(entry, "egress-not-allowed")
    assert r["message"] == "egress 10.0.0.10/32 not in allowed-subnets 10.0.0.11/32"
    assert r["bag"] in ("postgresql/0", "postgresql/1")
    assert "name-prefix-bug" not in codes(entry)


def test_unit_not_in_allowed_units_when_no_subnets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("legacy-reactive-pgbouncer", "ready")
    for bag in server_bags(doc).values():
        bag["allowed-units"] = "myapp/1"
    entry = diagnose(capsys, monkeypatch, doc)
    assert entry["verdict"] == "not ready"
    assert codes(entry, blocking=True) == ["unit-not-allowed"]
    assert "myapp/0 not in allowed-units" in reason(entry, "unit-not-allowed")["message"]


def test_server_name_prefix_bug(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = "postgresql-test-app"
    doc = build("canonical-postgresql-vm", "ready_converged", client_name=client)
    for bag in server_bags(doc, f"{client}/0").values():
        # the server filtered the client's units out: the access keys are empty, hence absent
        del bag["allowed-subnets"]
        del bag["allowed-units"]
    entry = diagnose(capsys, monkeypatch, doc, unit=f"{client}/0")
    assert entry["verdict"] == "not ready"
    r = reason(entry, "name-prefix-bug")
    assert "'postgresql-test-app' starts with the server's name 'postgresql'" in r["message"]
    assert "redeploy the client" in r["advice"]


def test_roles_ignored_by_pgbouncer(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-pgbouncer-vm", "ready")
    set_client_request(doc, roles="reporting")
    entry = diagnose(capsys, monkeypatch, doc)
    assert entry["verdict"] == "not ready"
    r = reason(entry, "roles-ignored")
    assert "roles reporting requested" in r["message"]
    assert r["advice"]


def test_roles_pending_on_the_reactive_charm(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("reactive-postgresql", "ready")
    set_client_request(doc, roles="reporting")
    for bag in server_bags(doc).values():
        bag["roles"] = "audit"
    entry = diagnose(capsys, monkeypatch, doc)
    assert entry["verdict"] == "not ready"
    assert codes(entry, blocking=True) == ["roles-pending"]


def _drop_database(bag: Dict[str, str]) -> None:
    del bag["database"]


def _other_database(bag: Dict[str, str]) -> None:
    bag["database"] = "otherdb"


def _other_extension(bag: Dict[str, str]) -> None:
    bag["extensions"] = "hstore"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (_drop_database, "database-pending"),
        (_other_database, "database-mismatch"),
        (_other_extension, "extensions-pending"),
    ],
)
def test_echo_pending_or_different(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Dict[str, str]], None],
    code: str,
) -> None:
    doc = build("canonical-postgresql-vm", "ready_converged")
    for bag in server_bags(doc).values():
        change(bag)
    entry = diagnose(capsys, monkeypatch, doc)
    assert entry["verdict"] == "not ready"
    assert codes(entry, blocking=True) == [code]


@pytest.mark.parametrize(
    ("provider", "stage", "syntax_finding"),
    [
        ("reactive-postgresql", "ready", True),
        ("legacy-ops-postgresql-k8s", "ready", True),
        ("canonical-postgresql-vm", "ready_converged", False),
        ("canonical-postgresql-k8s", "ready", False),
    ],
)
def test_extension_schema_syntax_the_server_misreads(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    provider: str,
    stage: str,
    syntax_finding: bool,
) -> None:
    doc = build(provider, stage)
    set_client_request(doc, extensions="citext:myschema")
    entry = diagnose(capsys, monkeypatch, doc)
    assert entry["verdict"] == "ready"  # the echo `citext` names the same extension
    assert ("extension-syntax" in codes(entry)) is syntax_finding
    if syntax_finding:
        r = reason(entry, "extension-syntax")
        assert "'citext:myschema'" in r["message"]
        assert "name(schema)" in r["message"]
        assert r["blocking"] is False


def test_extension_syntax_blocks_when_nothing_is_published(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the reactive charm's standby mirrors the master's bag, which lost `master` in a failed hook
    doc = build("reactive-postgresql", "failover_interim")
    set_client_request(doc, extensions="citext:myschema")
    entry = diagnose(capsys, monkeypatch, doc)
    assert entry["verdict"] == "not ready"
    assert reason(entry, "extension-syntax")["blocking"] is True


def test_likely_blocked_on_roles(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-postgresql-vm", "joined")
    set_client_request(doc, roles="admin")
    entry = diagnose(capsys, monkeypatch, doc)
    assert entry["verdict"] == "not ready"
    r = reason(entry, "likely-blocked-roles")
    assert "roles requested through relation" in r["message"]
    assert "juju status postgresql" in r["advice"]


def test_hyphenated_extension_advice(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-postgresql-vm", "blocked_extension")
    set_client_request(doc, extensions="citext,uuid-ossp")
    r = reason(diagnose(capsys, monkeypatch, doc), "likely-blocked-extensions")
    assert "plugin_citext_enable=true plugin_uuid_ossp_enable=true" in r["advice"]
    assert "never accept uuid-ossp" in r["advice"]


def test_masters_disagree_lists_targets_without_passwords(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-postgresql-vm", "failover")
    entry = diagnose(capsys, monkeypatch, doc)
    assert entry["verdict"] == "ready"
    assert entry["master"] == "relation-5@10.0.0.21:5432/mydb"
    messages = [r["message"] for r in entry["reasons"] if r["code"] == "masters-disagree"]
    assert any(
        "postgresql/0, postgresql/1: relation-5@10.0.0.21:5432/mydb" in m
        and "postgresql/2: relation-5@10.0.0.20:5432/mydb" in m
        for m in messages
    )
    assert "Xq3vLr8TzW1bNc6K" not in str(entry)


def test_stale_app_bag_even_when_the_app_bag_is_not_usable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-postgresql-vm", "stale_app_bag_after_refresh_from_2022_revision")
    db_item(doc, "myapp/0")["application-data"]["allowed-subnets"] = "10.9.9.9/32"
    entry = diagnose(capsys, monkeypatch, doc)
    assert entry["verdict"] == "ready"
    r = reason(entry, "stale-app-bag")
    assert "10.0.0.20" in r["message"]
    assert "10.0.0.21" in r["message"]


def test_cross_model_egress_from_the_peer_relation(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-postgresql-vm", "ready_converged", server_units=[])
    db_item(doc, "myapp/0")["cross-model"] = True
    _, report = doctor_json(capsys, monkeypatch, dump(doc, "json"), "--juju-version", "3.6.1")
    assert report["relations"][0]["cross-model"] is True
    entry = unit_result(report)
    assert entry["verdict"] == "cannot tell"  # the request is only in the server's view
    assert "egress-from-peer-relation" in codes(entry)
    assert entry["egress-subnets"] == "10.0.0.10/32"


def test_client_view_without_peer_relation_says_what_to_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-postgresql-vm", "ready_converged", server_units=[], with_peer=False)
    entry = diagnose(capsys, monkeypatch, doc, "--juju-version", "3")
    assert entry["verdict"] == "cannot tell"
    r = reason(entry, "egress-unknown")
    assert "juju show-unit postgresql/0" in r["advice"]
    assert entry["run"] == [
        "juju show-unit myapp/0 postgresql/0 --format json | pgsql doctor --juju-version 3"
    ]


def test_juju_4_client_view_alone_is_enough_for_unit_bag_servers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Juju 4: application-data is the client's own request; server unit bags are related-units
    doc = build("canonical-postgresql-vm", "ready_converged", "juju-4", server_units=[])
    entry = diagnose(capsys, monkeypatch, doc, "--juju-version", "4.0")
    assert entry["verdict"] == "ready"
    assert entry["egress-source"] == "myapp/0's peer relation peers"


def test_juju_4_k8s_server_data_only_in_the_server_view(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-postgresql-k8s", "single_unit", "juju-4", server_units=[])
    entry = diagnose(capsys, monkeypatch, doc, "--juju-version", "4.0")
    assert entry["verdict"] == "cannot tell"
    assert "server-app-bag-not-visible" in codes(entry)
    assert codes(entry, blocking=True) == []
    both = build("canonical-postgresql-k8s", "single_unit", "juju-4")
    assert diagnose(capsys, monkeypatch, both, "--juju-version", "4.0")["verdict"] == "ready"


def test_content_overrides_a_wrong_juju_version(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-postgresql-k8s", "ready", "juju-3")
    _, report = doctor_json(capsys, monkeypatch, dump(doc, "yaml"), "--juju-version", "4.0")
    assert any("contrary to --juju-version 4.0" in n for n in report["notes"])
    assert unit_result(report)["verdict"] == "ready"


def test_several_client_units_and_unit_selection(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build(
        "canonical-postgresql-vm", "client_unit_departed_refreshed", client_units=["myapp/0"]
    )
    # myapp/1 departed: the refreshed server no longer lists it
    doc.update(
        build(
            "canonical-postgresql-vm", "ready_converged", client_units=["myapp/1"], server_units=[]
        )
    )
    _, report = doctor_json(capsys, monkeypatch, dump(doc, "yaml"))
    units: List[str] = [u["unit"] for u in report["relations"][0]["units"]]
    assert "myapp/0" in units
    only = diagnose(capsys, monkeypatch, doc, "--unit", "myapp/0")
    assert only["verdict"] == "ready"


# --- secrets inside values: whatever follows "password=" is never printed ----------------------

MANGLED_SECRET = "M4ngledPw"


def doctor_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, doc: Doc, fmt: str
) -> str:
    """Everything ``pgsql doctor`` (text, or ``--json``) prints for ``doc``."""
    args = ["--json"] if fmt == "json" else []
    _, out, err = run_doctor(capsys, monkeypatch, dump(doc, "yaml"), *args)
    return out + err


def set_server_value(doc: Doc, key: str, value: str, units: Any = None) -> None:
    """Set ``key`` in the server unit bags the client unit sees."""
    for unit, data in server_bags(doc).items():
        if units is None or unit in units:
            data[key] = value


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("sep", ["|", ";"])
def test_doctor_masks_password_inside_mangled_master(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, sep: str, fmt: str
) -> None:
    # libpq reads it as one dbname holding the password: the client refuses it (malformed), and
    # the doctor shows it masked from "password=" on
    master = sep.join(
        ["dbname=mydb", "host=10.0.0.20", f"password={MANGLED_SECRET}", "port=5432", "user=u"]
    )
    doc = build("canonical-postgresql-vm", "ready_converged")
    set_server_value(doc, "master", master)
    out = doctor_output(capsys, monkeypatch, doc, fmt)
    assert MANGLED_SECRET not in out
    assert f"localhost/mydb{sep}host=10.0.0.20{sep}password=********" in out
    assert "[malformed]" in out or '"malformed"' in out


def test_doctor_json_server_bags_show_the_mangled_master_masked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = build("canonical-postgresql-vm", "ready_converged")
    set_server_value(doc, "master", f"dbname=mydb|host=10.0.0.20|password={MANGLED_SECRET}|x=1")
    _, report = doctor_json(capsys, monkeypatch, dump(doc, "yaml"))
    masters = [b["master"] for b in report["relations"][0]["server-bags"] if b["visible"]]
    assert "localhost/mydb|host=10.0.0.20|password=********" in masters
    assert MANGLED_SECRET not in str(report)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_doctor_masks_a_password_holding_separators(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    master = "dbname='mydb|password=M4ngled|Pw;x,y z|user=u' host=10.0.0.20 port=5432"
    doc = build("canonical-postgresql-vm", "ready_converged")
    set_server_value(doc, "master", master)
    out = doctor_output(capsys, monkeypatch, doc, fmt)
    for part in ("M4ngled", "Pw;x", "y z"):
        assert part not in out
    assert "10.0.0.20:5432/mydb|password=********" in out


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_doctor_masks_upper_case_password_in_mangled_standbys(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    standbys = f"dbname=mydb;host=10.0.0.21;PASSWORD={MANGLED_SECRET};port=5432"
    doc = build("canonical-postgresql-vm", "ready_converged")
    set_server_value(doc, "standbys", standbys)
    out = doctor_output(capsys, monkeypatch, doc, fmt)
    assert MANGLED_SECRET not in out
    assert "localhost/mydb;host=10.0.0.21;PASSWORD=********" in out


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_doctor_masks_uri_userinfo_inside_a_master_value(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    master = f"dbname=postgresql://u:{MANGLED_SECRET}@db/x host=10.0.0.20 port=5432 user=u"
    doc = build("canonical-postgresql-vm", "ready_converged")
    set_server_value(doc, "master", master)
    out = doctor_output(capsys, monkeypatch, doc, fmt)
    assert MANGLED_SECRET not in out
    assert "u@10.0.0.20:5432/postgresql://u:********@db/x" in out


def test_doctor_findings_mask_a_mangled_master_and_keep_what_comes_before(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # one unit mangled: masters disagree, and the finding lists its target masked
    doc = build("canonical-postgresql-vm", "ready_converged")
    set_server_value(
        doc,
        "master",
        f"dbname=mydb|host=10.0.0.20|password={MANGLED_SECRET}|port=5432",
        units=["postgresql/1"],
    )
    entry = diagnose(capsys, monkeypatch, doc)
    assert entry["verdict"] == "ready"  # from postgresql/0, the sound one
    r = reason(entry, "masters-disagree")
    assert "the client uses postgresql/0's" in r["message"]
    assert "postgresql/1: localhost/mydb|host=10.0.0.20|password=********" in r["message"]
    assert MANGLED_SECRET not in str(entry)
