"""``pgsql doctor --endpoint NAME`` naming no relation of the input (issue #17, point 4).

The doctor never advises an option that was given: when ``--endpoint`` names an endpoint that
no relation of the input is on (a typo, or a peer endpoint), it says so, instead of advising
``--endpoint``.
"""

from __future__ import annotations

import copy
from typing import Any, Dict

import pytest
import yaml
from test_doctor_support import DATA, dump, run_doctor


def _no_data_yet() -> Dict[str, Any]:
    """myapp/0 related to postgresql on ``database`` and with peers; nothing published yet."""
    doc = yaml.safe_load(
        (DATA / "show-unit-postgresql-client" / "pg14-vm-plaintext.yaml").read_text()
    )
    out = {"myapp/0": copy.deepcopy(doc["myapp/0"])}
    for item in out["myapp/0"]["relation-info"]:
        item["application-data"] = {}
    return out


@pytest.mark.parametrize("endpoint", ["databse", "peers"], ids=["typo", "peer-endpoint"])
def test_an_endpoint_naming_no_relation_is_said_not_advised(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    code, out, err = run_doctor(
        capsys, monkeypatch, dump(_no_data_yet(), "yaml"), "--endpoint", endpoint
    )
    assert code == 2
    assert out == ""
    assert f"--endpoint {endpoint} names no relation" in err
    assert "myapp:database" in err  # what the input does have
    assert "name it with --endpoint" not in err


def test_without_endpoint_the_option_is_still_advised(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run_doctor(capsys, monkeypatch, dump(_no_data_yet(), "yaml"))
    assert code == 2
    assert "name it with --endpoint" in err
