"""``pgsql demo`` runs the new-charm example (the README's charm) by default, on a real server."""

from __future__ import annotations

import json
import re
import secrets
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from needs import needs_scenario

from pgsql import cli
from pgsql import testing as pgt

pytestmark = [
    pytest.mark.postgres,
    needs_scenario,  # the demo simulates Juju with ops.testing's Context
]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "postgresql-client-charm"


class _Spy:
    """Every generated token (passwords) and every model of one in-process demo run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tokens: List[str] = []
        self.models: List[pgt.Model] = []
        real_token = secrets.token_urlsafe
        spy = self

        def token(nbytes: Optional[int] = None) -> str:
            value = real_token(nbytes)
            spy.tokens.append(value)
            return value

        class Model(pgt.Model):
            def __init__(self, **kwargs: Any) -> None:
                super().__init__(**kwargs)
                spy.models.append(self)

        monkeypatch.setattr(secrets, "token_urlsafe", token)
        monkeypatch.setattr(pgt, "Model", Model)


def _demo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> Tuple[int, str, str, _Spy]:
    spy = _Spy(monkeypatch)
    rc = cli.main(["demo", *args, "--examples", str(ROOT / "examples")])
    out, err = capsys.readouterr()
    return rc, out, err, spy


def _no_password(spy: _Spy, text: str) -> None:
    assert len(spy.tokens) >= 3  # the superuser's, the relation's, the rotated one
    for token in spy.tokens:
        assert token[:16] not in text
        assert token[-16:] not in text
    for value in re.findall(r"://[^:/\s]+:([^@\s]+)@", text):
        assert value == "******", value


def test_demo_runs_the_new_example_charm_by_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err, spy = _demo(monkeypatch, capsys, "--json")
    assert rc == 0, err or out
    doc: Dict[str, Any] = json.loads(out)
    assert doc["ok"] is True, doc.get("error")
    assert (doc["charm"], doc["interface"]) == ("new", "postgresql_client")
    (model,) = spy.models
    assert sorted(model.apps) == ["myapp", "postgresql", "shop"]  # shop: the prefix request
    app = model.app("myapp")
    assert app.endpoints == {"database": "postgresql_client"}
    module = sys.modules[app.charm_type.__module__]
    assert Path(str(module.__file__)) == EXAMPLE / "src" / "charm.py"
    # the charm keeps nothing of its own (the library's StoredState is the library's)
    owners = {s.owner_path for u in app.units.values() for s in u.stored}
    assert owners
    assert "MyCharm" not in owners

    part = doc["postgresql_client"]
    rel_id = part["relation_id"]
    user = f"relation_id_{rel_id}"
    assert (part["app"], part["endpoint"], part["charm"]) == (
        "myapp",
        "database",
        "postgresql-client-charm",
    )
    assert part["databags"]["myapp (app)"]["database"] == "mydb"
    assert part["status"]["myapp/0"] == part["status"]["myapp/1"] == "active"
    assert part["result"] == {
        "uri": part["result"]["uri"],
        "database": "mydb",
        "user": user,
    }
    assert f"postgresql://{user}:******@" in part["result"]["uri"]
    rotation = part["rotation"]
    assert rotation["rewritten_by"] == ["myapp/0", "myapp/1"]
    assert rotation["new_password"] == {"connected": True, "user": user}
    assert "password authentication failed" in rotation["old_password"]["error"]
    assert part["removed"]["status"] == {
        "myapp/0": "blocked: needs a database relation",
        "myapp/1": "blocked: needs a database relation",
    }
    assert part["env_file_removed"] is True
    assert not Path(part["env_file"]).parent.exists()  # the demo's directory is gone too

    # what each unit's master_changed wrote, step by step: written, rewritten, removed
    written = [(s["unit"], s["hook"], s["env_file"]) for s in doc["steps"] if "env_file" in s]
    for unit in ("myapp/0", "myapp/1"):
        mine = [(hook, shown) for u, hook, shown in written if u == unit]
        assert [hook for hook, _ in mine] == [
            "database-relation-changed",
            "secret-changed",
            "database-relation-departed",
        ]
        assert mine[0][1] == mine[1][1] == f"DATABASE_URL={part['result']['uri']}"
        assert mine[2][1] == "(removed)"
    # one secret held the credentials; the provider removed it with the relation
    (secret,) = part["secrets"]
    assert secret["content"]["username"] == user
    assert secret["content"]["password"] == "******"
    assert model.secrets == {}
    assert doc["cleaned_up"] is True
    _no_password(spy, out + err)


def test_demo_default_walk_through_shows_the_readme_charm_at_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err, spy = _demo(monkeypatch, capsys)
    assert rc == 0, err
    assert out.startswith("pgsql demo: a new charm on PostgreSQL 16's interface, postgresql_client")
    assert f"client: myapp ({EXAMPLE}), 2 units" in out
    assert "client: myapp-modern" not in out
    blocked = "status: myapp/0: blocked: needs a database relation, myapp/1: blocked: needs"
    assert out.count(blocked) == 2  # deployed without a relation, and after its removal
    assert "== juju integrate myapp:database postgresql:database" in out
    assert "status: waiting: database: the provider has not answered the request yet" in out
    assert "database.env: DATABASE_URL=postgresql://relation_id_" in out
    assert re.search(r"^    mydb \| relation_id_\d+$", out, flags=re.MULTILINE)
    assert re.search(r"myapp/0        secret-changed\n         events: master_changed", out)
    assert "old password: refused: password authentication failed" in out
    assert "== juju remove-relation myapp:database postgresql:database" in out
    assert "database.env: (removed)" in out
    assert out.rstrip().splitlines()[-1].startswith("Demo passed in ")
    _no_password(spy, out + err)


def test_demo_new_charm_speaks_postgresql_client_only(capsys: pytest.CaptureFixture[str]) -> None:
    for interface in ("pgsql", "both"):
        assert cli.main(["demo", "--charm", "new", "--interface", interface]) == 1
        err = capsys.readouterr().err
        assert "the new example charm speaks postgresql_client only" in err
        assert "--charm 1.x" in err
