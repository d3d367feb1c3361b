"""``pgsql demo --interface postgresql_client``: leader and non-leader agree on why they wait."""

from __future__ import annotations

import json
from typing import Dict, List, Set

import pytest
from needs import needs_scenario

from pgsql import cli

pytestmark = needs_scenario


@pytest.mark.postgres
def test_demo_client_units_give_one_reason_while_the_provider_has_not_answered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["demo", "--json", "--interface", "postgresql_client"]) == 0
    doc = json.loads(capsys.readouterr().out)
    waiting: Dict[str, Set[str]] = {}
    for step in doc["steps"]:
        readiness = step.get("readiness")
        if readiness is None or readiness["ready"]:
            continue
        blocking: List[str] = [r["code"] for r in readiness["reasons"] if r["blocking"]]
        waiting.setdefault(step["unit"], set()).add(f"{readiness['why']} {blocking}")
    assert set(waiting) == {"myapp-modern/0", "myapp-modern/1"}  # leader and non-leader
    assert waiting["myapp-modern/0"] == waiting["myapp-modern/1"]
    # at relation-created no provider unit has joined yet; then the answer is awaited
    assert waiting["myapp-modern/0"] == {
        "the provider has no units in the relation (none joined yet, scaled to zero, or the "
        "relation is being removed) ['no-remote-units']",
        "the provider has not answered the request yet ['not-answered']",
    }
