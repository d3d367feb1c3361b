"""``pgsql doctor`` where the provider has no unit and its application bag is not in the input.

On Juju 2.8/4.x ``juju show-unit myapp/0`` shows myapp's own application bag, not the
provider's. With no provider unit in the relation (none joined yet, or scaled to zero) the
charm's verdict needs no bag: ``PostgreSQLClient`` judges "not ready, no-remote-units" without
reading it. The doctor must say so, not "cannot tell" for want of the bag it does not need.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Dict, Tuple

import pytest
import yaml
from needs import needs_scenario
from test_doctor_scaled_to_zero import charm_readiness
from test_doctor_support import DATA, codes, doctor_json, dump, run_doctor, unit_result

from pgsql import protocol

_REQUESTED = '["username", "password", "tls", "tls-ca", "uris", "read-only-uris"]'


def _juju4_no_provider_unit() -> Dict[str, Any]:
    """myapp/0's show-unit on Juju 4: its own request as application-data, no provider unit."""
    doc = yaml.safe_load(
        (DATA / "show-unit-postgresql-client" / "pg14-vm-plaintext.yaml").read_text()
    )
    out = {"myapp/0": copy.deepcopy(doc["myapp/0"])}
    (item,) = [i for i in out["myapp/0"]["relation-info"] if i["endpoint"] == "database"]
    del item["related-units"]  # none joined yet, or scaled to zero
    item["application-data"] = {"database": "mydb", "requested-secrets": _REQUESTED}
    return out


@needs_scenario  # the oracle is the charm, run by ops.testing
def test_the_charm_needs_no_provider_bag_to_be_not_ready_without_provider_units() -> None:
    answered = {"endpoints": "10.0.0.5:5432", "database": "mydb", "secret-user": "secret:x"}
    for bag in ({}, answered):  # whatever the provider's bag says (the oracle: the charm)
        r = charm_readiness("database", "postgresql_client", bag, "10.0.0.10/32")
        assert not r.ready
        assert [x.code for x in r.reasons if x.blocking] == [protocol.NO_REMOTE]


@pytest.mark.parametrize(
    "args",
    [("--juju-version", "4.0", "--unit", "myapp/0"), ("--juju-version", "2.8")],
    ids=" ".join,
)
def test_juju4_show_unit_without_provider_units_is_not_ready_no_remote_units(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: Tuple[str, ...]
) -> None:
    text = dump(_juju4_no_provider_unit(), "yaml")
    given = ("--endpoint", "database", "--interface", "postgresql_client", *args)
    code, report = doctor_json(capsys, monkeypatch, text, *given)
    assert code == 1
    entry = unit_result(report)
    assert entry["verdict"] == "not ready", json.dumps(entry, indent=1)
    assert codes(entry, blocking=True) == [protocol.NO_REMOTE]
    assert entry["run"] == []  # no provider unit whose show-unit could tell more
    code, out, _err = run_doctor(capsys, monkeypatch, text, *given)
    assert "  myapp/0: NOT READY\n    - [no-remote-units] " in out
    assert "Verdict: myapp/0 not ready (exit status 1)" in out


def test_without_the_juju_version_that_input_cannot_be_told_and_the_doctor_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read as Juju 2.9/3.x, its application-data is the remote side's, holding a request: then
    myapp/0 is no client at all. The two readings differ in their verdict, not only in notes."""
    text = dump(_juju4_no_provider_unit(), "yaml")
    given = ("--endpoint", "database", "--interface", "postgresql_client")
    code, report = doctor_json(capsys, monkeypatch, text, *given)
    assert code == 1
    entry = unit_result(report)
    assert entry["verdict"] == "cannot tell"
    assert "juju-version-ambiguous" in codes(entry, blocking=False)
