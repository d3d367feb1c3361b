"""``pgsql demo``: the README's main job, in-process and as a command, against a real PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import pytest
from needs import needs_scenario

from pgsql import ConnectionString, cli, demo
from pgsql import testing as pgt

pytestmark = [
    pytest.mark.postgres,
    needs_scenario,  # the demo simulates Juju with ops.testing's Context
]

ROOT = Path(__file__).resolve().parents[1]


def _no_password(text: str) -> None:
    # Every connection string shown has its password masked, and no generated secret (long
    # URL-safe tokens) appears anywhere.
    for value in re.findall(r"password=(\S+)", text):
        assert value.strip("'\",") == "******", value
    for token in re.findall(r"[A-Za-z0-9_-]{32,}", text):
        # hook names such as provider-peers-relation-created are long too, but lowercase words
        assert re.fullmatch(r"[a-z_-]+", token), token


def test_demo_json_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    # --examples DIR: the checkout's copy, whatever the install provides; --charm 1.x: the 1.x
    # example charm over both interfaces (the new charm is the default: test_demo_new_charm.py)
    args = ["demo", "--json", "--charm", "1.x", "--examples", str(ROOT / "examples")]
    assert cli.main(args) == 0
    out, err = capsys.readouterr()
    doc: Dict[str, Any] = json.loads(out)
    assert doc["ok"] is True, doc.get("error")
    assert "simulated with ops.testing" in doc["simulated"]
    result = doc["result"]
    assert (result["database"], result["user"]) == ("mydbname", "juju_myapp")
    assert result["citext_version"]
    assert result["citext_equal"] == "t"
    # Both client units ended ready, after having been not ready with reasons on the way.
    assert {n: r["ready"] for n, r in doc["readiness"].items()} == {
        "myapp/0": True,
        "myapp/1": True,
    }
    codes = {
        reason["code"]
        for step in doc["steps"]
        if "readiness" in step
        for reason in step["readiness"]["reasons"]
    }
    assert {"no-remote-units", "waiting-for-server", "egress-not-allowed"} <= codes
    hooks = {(s["unit"], s["hook"]) for s in doc["steps"]}
    assert ("postgresql/0", "db-relation-joined") in hooks
    assert ("myapp/1", "replicas-relation-changed") in hooks
    assert any("request_changed" in s["events"] for s in doc["steps"])
    assert doc["databags"]["postgresql/0"]["allowed-units"] == "myapp/0 myapp/1"
    assert doc["status"]["postgresql/0"] == "active"
    _no_password(out + err)
    assert doc["cleaned_up"] is True
    assert not Path(doc["postgresql"]["directory"]).exists()
    assert doc["seconds"] < 30


def test_demo_command_runs_from_any_directory(tmp_path: Path) -> None:
    # No --examples, and not from the checkout: the installed package (nox installs the wheel)
    # or the editable install's checkout provides the example charms.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    proc = subprocess.run(
        [sys.executable, "-m", "pgsql", "demo", "--charm", "1.x"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Juju is simulated with ops.testing" in out
    assert "readiness: not ready" in out
    assert "readiness: READY" in out
    assert "mydbname | juju_myapp |" in out
    assert re.search(r"^\s+t$", out, flags=re.MULTILINE)
    _no_password(out + proc.stderr)
    removed = re.search(r"PostgreSQL stopped and (\S+) removed", out)
    assert removed is not None
    assert not Path(removed.group(1)).exists()


def test_demo_without_the_examples_says_how_to_get_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", "--examples", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "example charms are not in" in err
    assert "tasks.py demo" in err


def test_demo_without_installed_examples_says_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = tmp_path / "share" / "ops-lib-pgsql" / "examples"
    monkeypatch.setattr(demo, "example_dirs", lambda: [nowhere])
    assert cli.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert f"the example charms are not installed with this pgsql (looked in {nowhere})" in err
    assert "tasks.py demo" in err
    assert "--examples DIR" in err


def test_demo_finds_the_example_charms_without_examples_option() -> None:
    # An installed wheel's copy comes first; a source tree (editable install) has the checkout's.
    dirs = demo.example_dirs()
    if Path(demo.__file__).resolve().parents[1] == ROOT / "src" / "pgsql":
        assert dirs == [ROOT / "examples"]
    else:
        assert dirs[0].parts[-3:] == ("share", "ops-lib-pgsql", "examples")
    for name in demo.EXAMPLES:
        assert (dirs[0] / name / "src" / "charm.py").is_file()


# ---------------------------------------------------------------------------------------------
# --interface: pgsql, postgresql_client (with a password rotation), both; no password shown
# ---------------------------------------------------------------------------------------------

MODES = ("pgsql", "postgresql_client", "both")


class _Seen:
    """What one in-process demo run generated, spied on: every token and every model."""

    def __init__(self) -> None:
        self.tokens: List[str] = []
        self.models: List[pgt.Model] = []

    def provider_passwords(self) -> Set[str]:
        """Every password the provider published or kept: secret revisions and peer entries.

        The peer entries hold one only where Juju has no secrets; else it is in a secret.
        """
        found: Set[str] = set()
        for model in self.models:
            for record in model.secrets.values():
                found |= {r["password"] for r in record.revisions if r.get("password")}
            peer = model.app("postgresql").bag("provider-peers")
            for key, value in peer.items():
                if key.startswith("db-") and value and "password" in json.loads(value):
                    found.add(json.loads(value)["password"])
        return found


def _run_demo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> Tuple[int, str, str, _Seen]:
    seen = _Seen()
    real_token = secrets.token_urlsafe

    def token(nbytes: Optional[int] = None) -> str:
        value = real_token(nbytes)
        seen.tokens.append(value)
        return value

    class Model(pgt.Model):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            seen.models.append(self)

    # the provider's generate_password and the server's superuser password both come from here
    monkeypatch.setattr(secrets, "token_urlsafe", token)
    monkeypatch.setattr(pgt, "Model", Model)
    rc = cli.main(["demo", *args, "--examples", str(ROOT / "examples")])
    out, err = capsys.readouterr()
    return rc, out, err, seen


def _no_generated_password(seen: _Seen, text: str, expected: int) -> None:
    passwords = seen.provider_passwords()
    # one per relation, plus the rotated one on postgresql_client: all of them generated here
    assert len(passwords) == expected, len(passwords)
    assert passwords <= set(seen.tokens)
    assert len(seen.tokens) >= expected + 1  # the superuser's too
    for secret in seen.tokens:
        assert secret not in text
        # nor percent-encoded, nor cut in two by a line break
        assert secret[:16] not in text
        assert secret[-16:] not in text
    _no_password(text)


@pytest.mark.parametrize("output", ["text", "json"])
@pytest.mark.parametrize("mode", MODES)
def test_demo_never_shows_a_password(
    mode: str,
    output: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--interface", mode] + (["--json"] if output == "json" else [])
    rc, out, err, seen = _run_demo(monkeypatch, capsys, *args)
    assert rc == 0, err or out
    assert len(seen.models) == 1
    _no_generated_password(seen, out + err, {"pgsql": 1, "postgresql_client": 2, "both": 3}[mode])
    model = seen.models[0]
    modern = "myapp-modern" in model.apps
    assert modern == (mode != "pgsql")
    assert ("myapp" in model.apps) == (mode != "postgresql_client")
    if output == "json":
        doc = json.loads(out)
        assert doc["ok"] is True
        assert doc["interface"] == mode
        assert {s["interface"] for s in doc["steps"]} == set(
            demo.INTERFACES if mode == "both" else [mode]
        )
        assert ("postgresql_client" in doc) == modern
        assert ("result" in doc) == (mode != "postgresql_client")
    else:
        assert out.rstrip().splitlines()[-1].startswith("Demo passed in ")
        assert ("rotate-password" in out) == modern
    if modern:
        _check_rotation(model)


def _check_rotation(model: pgt.Model) -> None:
    """The provider rotated the password; both client units keep the new one, nothing else."""
    # the secret granted to the client (the provider keeps its own copy in secrets granted to none)
    (record,) = [r for r in model.secrets.values() if r.grants]
    first, last = record.revisions[0], record.revisions[-1]
    assert len(record.revisions) == 2
    assert first["username"] == last["username"]
    assert first["password"] != last["password"]
    for unit in model.app("myapp-modern").units.values():
        assert record.tracked[unit.name] == 1
        # the client charm's own StoredState (the library keeps another one called _state too)
        kept = next(
            s.content for s in unit.stored if s.name == "_state" and "db_conn_str" in s.content
        )
        master = ConnectionString(kept["db_conn_str"])
        assert master.password == last["password"]
        assert master.user == last["username"]


def test_demo_postgresql_client_walk_through(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err, seen = _run_demo(monkeypatch, capsys, "--interface", "postgresql_client")
    assert rc == 0, err
    (model,) = seen.models
    rel = model.relation_of("myapp-modern", "db")
    user = f"relation_id_{rel.id}"
    (record,) = [r for r in model.secrets.values() if rel.id in r.grants]
    # the same charm code, only its metadata changed
    assert "client: myapp-modern (" in out
    assert "its db endpoint declared interface: postgresql_client" in out
    assert "client: myapp (" not in out
    assert model.app("myapp-modern").charm_type.__name__ == "MyCharm"
    assert model.app("myapp-modern").endpoints["db"] == "postgresql_client"
    # the operator enables citext; the client notes it cannot ask for it on this interface
    assert "== juju config postgresql plugin-citext-enable=true" in out
    assert "== juju integrate myapp-modern:db postgresql:database" in out
    assert f"secret-user = {record.id}" in out
    assert f"== the secret {record.id} (owner postgresql, granted to relation {rel.id}: " in out
    assert f"uris = postgresql://{user}:******@" in out
    assert "readiness: READY (master from postgresql; notes: extensions-by-config)" in out
    for n in (0, 1):
        assert f"  myapp-modern/{n}: READY\n    note extensions-by-config: " in out
    assert f"mydbname | {user} |" in out
    # the rotation: the action, secret-changed with master_changed on each unit, the new works
    assert f"== juju run postgresql/0 rotate-password relation-id={rel.id}" in out
    results = f"results: endpoint=database, relation-id={rel.id}, username={user}"
    assert f"rotate-password-action\n         {results}\n" in out
    for n in (0, 1):
        assert f"myapp-modern/{n} secret-changed\n         events: master_changed" in out
    assert f"the secret {record.id} is at revision 2; units tracking it: myapp-modern/0, " in out
    assert f"new password: connected as {user}\n" in out
    assert f'old password: refused: password authentication failed for user "{user}"' in out
    assert out.index("rotate-password-action") > out.index(f"mydbname | {user} |")
    _check_rotation(model)


def test_demo_both_json_has_each_interface_in_turn(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # both: the 1.x charm's default
    rc, out, err, seen = _run_demo(monkeypatch, capsys, "--json", "--charm", "1.x")
    assert rc == 0, err
    doc: Dict[str, Any] = json.loads(out)
    assert doc["ok"] is True, doc.get("error")
    assert doc["interface"] == "both"
    # first pgsql (the top-level keys, as before), then postgresql_client
    interfaces = [s["interface"] for s in doc["steps"]]
    assert interfaces == sorted(interfaces, key=demo.INTERFACES.index)
    assert [s["n"] for s in doc["steps"]] == list(range(1, len(doc["steps"]) + 1))
    assert doc["result"]["user"] == "juju_myapp"
    part = doc["postgresql_client"]
    rel_id = part["relation_id"]
    user = f"relation_id_{rel_id}"
    assert (part["app"], part["endpoint"]) == ("myapp-modern", "database")
    assert part["database_existed"] is True  # the pgsql relation made it: one server
    phases = [s["phase"] for s in doc["steps"] if s["interface"] == "postgresql_client"]
    assert list(dict.fromkeys(phases)) == ["deploy", "config", "relate", "rotate"]

    bags = part["databags"]
    served = bags["postgresql (app)"]
    assert served["secret-user"].startswith("secret:")
    assert served["database"] == "mydbname"
    assert not {"password", "username", "uris"} & set(served)
    asked = bags["myapp-modern (app)"]
    assert json.loads(asked["requested-secrets"]) == [
        "username",
        "password",
        "tls",
        "tls-ca",
        "uris",
        "read-only-uris",
    ]
    (secret,) = part["secrets"]
    assert secret["id"] == served["secret-user"]
    assert (secret["owner"], secret["granted"]) == ("postgresql", {str(rel_id): ["myapp-modern"]})
    assert secret["content"]["password"] == "******"
    assert secret["content"]["username"] == user
    assert f"{user}:******@" in secret["content"]["uris"]

    for name in ("myapp-modern/0", "myapp-modern/1"):
        readiness = part["readiness"][name]
        assert readiness["ready"] is True
        assert [r["code"] for r in readiness["reasons"]] == ["extensions-by-config"]
        assert "plugin-citext-enable" in readiness["reasons"][0]["message"]
    assert part["status"]["postgresql/0"] == "active"
    assert (part["result"]["database"], part["result"]["user"]) == ("mydbname", user)
    assert part["result"]["citext_equal"] == "t"

    rotation = part["rotation"]
    assert rotation["action"] == {
        "name": "rotate-password",
        "params": {"relation-id": rel_id},
        "results": {"endpoint": "database", "relation-id": str(rel_id), "username": user},
    }
    assert rotation["master_changed"] == ["myapp-modern/0", "myapp-modern/1"]
    assert rotation["secret_revisions"] == {secret["id"]: 2}
    assert rotation["new_password"] == {"connected": True, "user": user}
    assert rotation["old_password"]["refused"] is True
    assert "password authentication failed" in rotation["old_password"]["error"]
    (action_step,) = [s for s in doc["steps"] if "action" in s]
    assert action_step["hook"] == "rotate-password-action"
    assert action_step["action"]["failure"] is None
    changed = [s for s in doc["steps"] if s["hook"] == "secret-changed"]
    assert sorted(s["unit"] for s in changed) == ["myapp-modern/0", "myapp-modern/1"]
    assert all("master_changed" in s["events"] for s in changed)
    # the demo itself stays quick: two relations and a rotation well under ten seconds
    assert doc["seconds"] < 30
    _check_rotation(seen.models[0])


def test_demo_interface_flag_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["demo", "--interface", "mysql"])
    assert exited.value.code == 2
    assert "invalid choice: 'mysql'" in capsys.readouterr().err


def test_modern_meta_changes_only_the_interface_of_the_copy() -> None:
    client = demo.load_charm(ROOT / "examples" / "pgsql-client", "pgsql_demo_meta_check")
    modern = demo.modern_meta(client.meta)
    assert modern["requires"]["db"] == {"interface": "postgresql_client", "limit": 1}
    assert client.meta["requires"]["db"]["interface"] == "pgsql"  # the original is untouched
    assert {k: v for k, v in modern.items() if k != "requires"} == {
        k: v for k, v in client.meta.items() if k != "requires"
    }
    with pytest.raises(demo.DemoError, match="no requires endpoint 'database'"):
        demo.modern_meta(client.meta, "database")


def test_masking_knows_the_postgresql_client_fields() -> None:
    bag = {
        "username": "relation_id_7",
        "password": "s3cret-in-clear",
        "uris": "postgresql://relation_id_7:s3cret-in-clear@10.0.0.5:5432/db",
        "read-only-uris": (
            "postgresql://relation_id_7:other-one@10.0.0.6:5432/db,"
            "postgresql://relation_id_7:other-one@10.0.0.7:5432/db"
        ),
        "endpoints": "10.0.0.5:5432",
    }
    assert demo._secrets_of(bag) == {"s3cret-in-clear", "other-one"}  # pyright: ignore[reportPrivateUsage]
    shown = demo._mask_bag(bag)  # pyright: ignore[reportPrivateUsage]
    assert shown["password"] == "******"
    assert shown["uris"] == "postgresql://relation_id_7:******@10.0.0.5:5432/db"
    assert "other-one" not in shown["read-only-uris"]
    assert (shown["username"], shown["endpoints"]) == ("relation_id_7", "10.0.0.5:5432")
