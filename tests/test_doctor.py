"""``pgsql doctor`` on every example of show-unit-examples.md, on bad input, and as a command."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from test_doctor_support import DATA, build, codes, doctor_json, dump, run_doctor, unit_result

from pgsql import doctor

EXAMPLES_MD = (DATA / "show-unit-examples.md").read_text()
BLOCKS: List[Tuple[str, str]] = re.findall(r"```(yaml|json)\n(.*?)```", EXAMPLES_MD, re.S)
PYTHON_BLOCKS: List[str] = re.findall(r"```python\n(.*?)```", EXAMPLES_MD, re.S)


def block(first_line: str) -> str:
    """The one fenced example whose text starts with ``first_line``."""
    (body,) = [b for _, b in BLOCKS if b.startswith(first_line)]
    return body


def test_examples_are_all_covered() -> None:
    # if the examples file grows, this test module must grow too
    assert len(BLOCKS) == 10
    assert len(PYTHON_BLOCKS) == 1


@pytest.mark.parametrize(
    ("first_line", "found"),
    [
        ("mysql/0:", "mysql:db <-> wordpress:db (no pgsql keys); mysql:cluster (peer)"),
        ("mediawiki/0:", "mediawiki:db <-> mariadb:db (no pgsql keys)"),
        ("wordpress/0:", "wordpress:db <-> mariadb:server (no pgsql keys)"),
        (
            '{"dummy-source/0"',
            "dummy-source:sink <-> remote-286113a93dac4c67827a1301528122a7:source",
        ),
        ("# 4.0.5, bug", "grafana-agent-k8s:grafana-dashboards-consumer (no pgsql keys)"),
    ],
)
def test_non_pgsql_examples_say_no_pgsql_relation(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, first_line: str, found: str
) -> None:
    code, out, err = run_doctor(capsys, monkeypatch, block(first_line))
    assert code == 2
    assert out == ""
    assert err.startswith("pgsql doctor: no pgsql relation found")
    assert found in err
    assert err.count("\n") == 1


def test_mariadb_password_in_the_28_example_is_not_echoed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, err = run_doctor(capsys, monkeypatch, block("mediawiki/0:"), "--endpoint", "db")
    # forced to read it as pgsql: the mysql server publishes no master, and nothing leaks
    assert "aemaevohbeiyohe" not in out + err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        ("# after juju PR #22720", "key 'relation-info' is not a unit name"),
        ("  - relation-id: 7", "a list, not `juju show-unit` output"),
    ],
)
def test_excerpts_are_not_show_unit_documents(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    first_line: str,
    message: str,
) -> None:
    code, out, err = run_doctor(capsys, monkeypatch, block(first_line))
    assert code == 2
    assert out == ""
    assert message in err
    assert err.count("\n") == 1


def test_jubilant_fixture_has_no_pgsql_relation(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    body = PYTHON_BLOCKS[0].split("\n# minimal")[0]
    doc: Dict[str, Any] = ast.literal_eval(body)
    code, _, err = run_doctor(capsys, monkeypatch, json.dumps(doc))
    assert code == 2
    assert "no pgsql relation found in the show-unit output of mysql/0" in err
    minimal: Dict[str, Any] = {"mysql/0": {"opened-ports": [], "charm": "mysql", "leader": False}}
    code, _, err = run_doctor(capsys, monkeypatch, json.dumps(minimal))
    assert code == 2
    assert "(found: no relations)" in err


CLIENT_VM = 'myapp/0:\n  machine: "3"'
SERVER_VM = "postgresql/0:"
CLIENT_K8S = "myapp/0:\n  opened-ports: []"


def test_41_client_view_alone_cannot_tell_without_the_request(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, report = doctor_json(capsys, monkeypatch, block(CLIENT_VM), "--juju-version", "3.6")
    assert code == 1
    entry = unit_result(report)
    assert entry["verdict"] == "cannot tell"
    assert codes(entry) == ["extensions-not-echoed", "request-not-visible"] or codes(entry) == [
        "request-not-visible"
    ]
    assert entry["master"] == "relation-5@10.0.0.20:5432/mydb"
    assert entry["egress-subnets"] == "10.0.0.10/32"
    assert "peer relation myapp-peers" in entry["egress-source"]
    assert entry["run"] == [
        "juju show-unit myapp/0 postgresql/0 --format json | pgsql doctor --juju-version 3.6"
    ]


def test_41_client_view_alone_without_version_says_it_is_ambiguous(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, report = doctor_json(capsys, monkeypatch, block(CLIENT_VM))
    assert code == 1
    entry = unit_result(report)
    assert entry["verdict"] == "cannot tell"
    assert "juju-version-ambiguous" in codes(entry)
    assert any("--juju-version" in c for c in entry["run"])


def test_42_server_view_alone_cannot_tell(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, report = doctor_json(capsys, monkeypatch, block(SERVER_VM))
    assert code == 1
    (rel,) = report["relations"]
    assert rel["client"] == "myapp"
    assert rel["server"] == "postgresql"
    assert rel["request"] == {"database": "mydb", "extensions": "citext"}
    for unit, egress in (("myapp/0", "10.0.0.10/32"), ("myapp/1", "10.0.0.11/32")):
        entry = unit_result(report, unit)
        assert entry["verdict"] == "cannot tell"
        assert entry["egress-subnets"] == egress
        assert "server-units-not-visible" in codes(entry)
        assert f"juju show-unit {unit} postgresql/0 --format json | pgsql doctor" in entry["run"]
        # the server's unit bags are simply not in the input: not reported as "waiting"
        assert codes(entry, blocking=True) == []


@pytest.mark.parametrize("fmt", ["two-yaml-docs", "one-yaml-doc", "concatenated-json"])
def test_41_and_42_together_are_ready(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    import yaml

    client, server = yaml.safe_load(block(CLIENT_VM)), yaml.safe_load(block(SERVER_VM))
    if fmt == "two-yaml-docs":
        text = block(CLIENT_VM) + "---\n" + block(SERVER_VM)
    elif fmt == "one-yaml-doc":
        text = block(CLIENT_VM) + block(SERVER_VM)
    else:
        text = json.dumps(client) + "\n" + json.dumps(server)
    code, report = doctor_json(capsys, monkeypatch, text)
    assert code == 0
    entry = unit_result(report)
    assert entry["verdict"] == "ready"
    assert entry["master"] == "relation-5@10.0.0.20:5432/mydb"
    assert entry["standbys"] == ["relation-5@10.0.0.21:5432/mydb"]
    assert entry["source"] == "postgresql/0"
    assert entry["egress-subnets"] == "10.0.0.10/32"
    assert entry["version"] == "14.15"
    assert report["relations"][0]["application-data-shows"] == "remote"
    assert report["relations"][0]["relation"] == "db:5"


def test_41_and_42_human_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_doctor(capsys, monkeypatch, block(CLIENT_VM) + "---\n" + block(SERVER_VM))
    assert code == 0
    assert err == ""
    assert "Relation db:5: myapp:db (client) <-> postgresql:db (server)" in out
    assert "myapp/0: READY" in out
    assert "master   relation-5@10.0.0.20:5432/mydb (password hidden), from postgresql/0" in out
    assert "Xq3vLr8TzW1bNc6K" not in out
    assert out.rstrip().endswith("Verdict: myapp/0 ready (exit status 0)")


def test_43_k8s_client_view_reads_the_server_app_bag(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, report = doctor_json(capsys, monkeypatch, block(CLIENT_K8S))
    assert code == 1
    entry = unit_result(report)
    assert entry["verdict"] == "cannot tell"
    assert entry["source"] == "postgresql-k8s"
    assert entry["master"] == (
        "relation_id_5@postgresql-k8s-primary.dev.svc.cluster.local:5432/mydb"
    )
    # no peer relation and not the server's view: the client's own egress is unknown
    assert codes(entry) == ["egress-unknown", "request-not-visible"]
    assert entry["egress-subnets"] is None
    assert "Hn4pQ7sVb2mKx9Lw" not in json.dumps(report)


def test_43_with_the_server_view_in_juju_3_is_ready(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = build("canonical-postgresql-k8s", "ready", "juju-3", client_units=[])
    text = block(CLIENT_K8S) + "---\n" + dump(server, "yaml")
    code, report = doctor_json(capsys, monkeypatch, text)
    assert code == 0
    assert unit_result(report)["verdict"] == "ready"


# ---------------------------------------------------------------------------------------------
# Bad input: exit 2, one line on stderr, nothing on stdout, never a traceback
# ---------------------------------------------------------------------------------------------

BAD_INPUTS: Dict[str, Tuple[bytes, str]] = {
    "empty": (b"", "empty"),
    "whitespace": (b"  \n\n", "empty"),
    "binary": (bytes(range(256)) * 4, "binary data"),
    "latin-1": ("caf\xe9: 1\n".encode("latin-1"), "not UTF-8"),
    "yaml-list": (b"- a\n- b\n", "a list, not `juju show-unit` output"),
    "number": (b"42\n", "a string, not `juju show-unit` output"),
    "json-number": (b"3.14", "not `juju show-unit` output"),
    "json-null": (b"null", "empty"),
    "deep-list": (b"[" * 200_000, "nested too deeply"),
    "deep-map": (b'{"a":' * 200_000, "nested too deeply"),
    "deep-yaml": (b"- " * 50_000 + b"x\n", "`juju show-unit` output"),
    "truncated-json": (b'{"myapp/0": {"relation-info": [{"endpoint": "db", ', "invalid JSON"),
    "bad-yaml": (b"myapp/0:\n  leader: [unclosed\n", "invalid YAML"),
    "not-units": (b"applications:\n  myapp: {}\n", "'applications' is not a unit name"),
    "unit-not-map": (b"myapp/0: hello\n", "myapp/0 is a string, not a mapping"),
    "relation-info-map": (b"myapp/0:\n  relation-info: {a: b}\n", "relation-info is a mapping"),
    "item-no-endpoint": (b"myapp/0:\n  relation-info:\n  - x: y\n", "has no endpoint name"),
    "nested-junk-value": (
        b'{"myapp/0": {"relation-info": [{"endpoint": "db", "application-data": '
        b'{"master": [[[[[["x"]]]]]]}}]}}',
        "is a list, not a string",
    ),
    "junk-related-unit": (
        b'{"myapp/0": {"relation-info": [{"endpoint": "db", "related-units": {"x": 1}}]}}',
        "related-units key 'x' is not a unit name",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    raw, message = BAD_INPUTS[name]
    code, out, err = run_doctor(capsys, monkeypatch, raw)
    assert code == 2
    assert out == ""
    assert err.startswith("pgsql doctor: <stdin>") or err.startswith("pgsql doctor: no")
    assert message in err
    assert err.count("\n") == 1
    assert len(err) < 400


def test_missing_file_and_bad_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, _, err = run_doctor(capsys, monkeypatch, "", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "nope.yaml: No such file or directory" in err
    good = dump(build("canonical-postgresql-vm", "ready_converged"), "yaml")
    code, _, err = run_doctor(capsys, monkeypatch, good, "--juju-version", "banana")
    assert code == 2
    assert "--juju-version 'banana'" in err
    code, _, err = run_doctor(capsys, monkeypatch, good, "--unit", "nonsense")
    assert code == 2
    assert "not a unit name" in err
    code, _, err = run_doctor(capsys, monkeypatch, good, "--unit", "other/3")
    assert code == 2
    assert "other/3 is not a client unit" in err
    assert "myapp:db <-> postgresql:db" in err


def test_files_and_stdin_together(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = build("canonical-postgresql-vm", "ready_converged", server_units=[])
    server = build("canonical-postgresql-vm", "ready_converged", client_units=[])
    f = tmp_path / "client.json"
    f.write_text(dump(client, "json"))
    code, out, _ = run_doctor(capsys, monkeypatch, dump(server, "yaml"), str(f), "-")
    assert code == 0, out
    assert "myapp/0: READY" in out
    assert f"myapp/0 ({f})" in out


def test_diagnose_api_and_redact() -> None:
    docs = doctor.load_documents(
        dump(build("canonical-postgresql-vm", "ready_converged"), "yaml").encode(), "x"
    )
    units = [u for d in docs for u in doctor.parse_units(d, "x")]
    diagnosis = doctor.diagnose(units)
    assert diagnosis.exit_code == doctor.EXIT_READY
    assert "Xq3vLr8TzW1bNc6K" in diagnosis.secrets
    assert doctor.redact("pw Xq3vLr8TzW1bNc6K", diagnosis.secrets) == "pw ********"
    assert "Xq3vLr8TzW1bNc6K" not in doctor.render(diagnosis)
    assert "Xq3vLr8TzW1bNc6K" not in json.dumps(doctor.to_json(diagnosis))


# ---------------------------------------------------------------------------------------------
# As a real command
# ---------------------------------------------------------------------------------------------


def _command(*args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "pgsql", "doctor", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_subprocess_ready_not_ready_and_bad_input(tmp_path: Path) -> None:
    ready = dump(build("canonical-postgresql-vm", "ready_converged"), "json").encode()
    done = _command("--json", stdin=ready)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"] == "ready"

    waiting = tmp_path / "waiting.yaml"
    waiting.write_text(dump(build("canonical-postgresql-vm", "blocked_extension"), "yaml"))
    done = _command(str(waiting), stdin=b"")
    assert done.returncode == 1
    assert b"myapp/0: NOT READY" in done.stdout
    assert b"juju config postgresql plugin_citext_enable=true" in done.stdout

    done = _command(stdin=b"\x00\x01garbage")
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr == b"pgsql doctor: <stdin>: binary data, not `juju show-unit` output\n"


def test_doctor_command_masks_password_inside_mangled_master() -> None:
    # the reported leak: a master whose separators are mangled printed with the password in
    # clear, in text and --json, by the installed command
    secret = "M4ngledPw"
    doc = build("canonical-postgresql-vm", "ready_converged")
    for unit, item in [(u, i) for u, d in doc.items() for i in d.get("relation-info", [])]:
        if unit.startswith("myapp/") and item["endpoint"] == "db":
            for entry in item["related-units"].values():
                entry["data"]["master"] = (
                    f"dbname=mydb|host=10.0.0.20|password={secret}|port=5432|user=u"
                )
    stdin = dump(doc, "json").encode()
    for args in ((), ("--json",)):
        done = _command(*args, stdin=stdin)
        assert done.returncode == 1, done.stderr
        assert secret.encode() not in done.stdout + done.stderr
        assert b"localhost/mydb|host=10.0.0.20|password=********" in done.stdout


def test_doctor_target_masks_each_part() -> None:
    cs = doctor.ConnectionString("dbname='mydb|PASSWORD=M4ngled|Pw' host=h user=u port=5432")
    assert doctor.target(cs) == "u@h:5432/mydb|PASSWORD=********"
