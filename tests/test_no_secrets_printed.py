"""No password printed, across layers: the demo's generated secrets and a server's
mangled master through ``repr``, ``pgsql connstr`` and ``pgsql doctor``.
"""

from __future__ import annotations

import json
from typing import List, Optional

import pytest


@pytest.mark.postgres
@pytest.mark.heavy
@pytest.mark.parametrize("mode", ["pgsql", "postgresql_client", "both"])
def test_demo_shows_no_generated_secret_in_output_or_debug_logs(
    mode: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every token the demo generates (the superuser's password, each relation password, the
    rotated one) is absent from stdout, stderr and every log record down to DEBUG (under Juju,
    ops sends library DEBUG records to juju-log)."""
    import secrets as secrets_module
    from pathlib import Path

    from pgsql import cli

    tokens: List[str] = []
    real_urlsafe, real_hex = secrets_module.token_urlsafe, secrets_module.token_hex

    def urlsafe(nbytes: Optional[int] = None) -> str:
        tokens.append(real_urlsafe(nbytes))
        return tokens[-1]

    def hexa(nbytes: Optional[int] = None) -> str:
        tokens.append(real_hex(nbytes))
        return tokens[-1]

    monkeypatch.setattr(secrets_module, "token_urlsafe", urlsafe)
    monkeypatch.setattr(secrets_module, "token_hex", hexa)
    caplog.set_level(1)
    examples = Path(__file__).resolve().parents[1] / "examples"
    texts: List[str] = []
    for extra in ([], ["--json"]):
        assert cli.main(["demo", "--interface", mode, *extra, "--examples", str(examples)]) == 0
        out, err = capsys.readouterr()
        texts += [out, err]
    texts += [r.getMessage() for r in caplog.records]
    text = "\n".join(texts)
    # superuser + one password per relation (+ the rotated one on postgresql_client), per run
    assert (
        len([t for t in tokens if len(t) >= 32])
        >= 2 * {"pgsql": 2, "postgresql_client": 3, "both": 4}[mode]
    )
    for token in tokens:
        assert token not in text
        if len(token) >= 32:
            assert token[:16] not in text
            assert token[-16:] not in text
    assert "rotate-password" in text or mode == "pgsql"
    assert ("old password: refused: password authentication failed" in text) == (mode != "pgsql")


def test_password_inside_a_mangled_master_is_never_printed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # reported: `pgsql doctor` (text and --json) printed a server's master whose separators were
    # mangled ("dbname=mydb|host=10.0.0.20|password=S|port=5432|user=u", or with ";") with the
    # password in clear; repr(ConnectionString(...)) and `pgsql connstr` showed it too (libpq
    # reads it as one dbname). Every rendering now masks what follows "password=" in a value.
    import io

    from pgsql.cli import main
    from pgsql.connstr import ConnectionString

    secret = "M4ngledPw"
    for sep in ("|", ";"):
        master = sep.join(
            ["dbname=mydb", "host=10.0.0.20", f"password={secret}", "port=5432", "user=u"]
        )
        shown = f"mydb{sep}host=10.0.0.20{sep}password=********"
        cs = ConnectionString(master)
        assert str(cs) == master  # the API keeps the real string
        assert secret not in repr(cs)
        assert shown in repr(cs)

        for args in ([], ["--json"], ["--uri"]):
            assert main(["connstr", *args, master]) == 0
            out, err = capsys.readouterr()
            assert secret not in out + err
            assert "10.0.0.20" in out

        bag = {"master": master, "database": "mydb", "allowed-subnets": "10.0.0.10/32"}
        doc = {
            "myapp/0": {
                "relation-info": [
                    {
                        "relation-id": 5,
                        "endpoint": "db",
                        "related-endpoint": "db",
                        "application-data": {"database": "mydb"},
                        "related-units": {"postgresql/0": {"in-scope": True, "data": bag}},
                    }
                ]
            }
        }
        for args in ([], ["--json"]):
            raw = json.dumps(doc).encode()
            monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
            main(["doctor", "--juju-version", "3.6", *args])
            out, err = capsys.readouterr()
            assert secret not in out + err
            assert f"localhost/{shown}" in out
