"""``DatabaseProvider.publish(request=...)`` with a remembered request, attacked through the
public API as charm authors would.

Each test is a situation a provider or requirer charm meets in a real model; the ones still
failing are marked ``xfail(strict=True)`` with the reason.
"""

from __future__ import annotations

import json
from typing import Any, Dict

import ops
import ops.charm
import ops.framework
import pytest
from needs import requires_scenario

import pgsql
from pgsql.protocol import DatabaseRequest

testing: Any = requires_scenario()

PASSWORD = "Rev13w-Passw0rd-XYZ"
JUJU_36 = "3.6.4"
META: Dict[str, Any] = {
    "name": "pg",
    "provides": {"database": {"interface": "postgresql_client"}},
}
ALL_SECRETS = json.dumps(["username", "password", "tls", "tls-ca", "uris", "read-only-uris"])


class RememberingProvider(ops.charm.CharmBase):
    """Publishes for the request it provisioned earlier (kept by the charm), as the docs allow."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.database = pgsql.DatabaseProvider(self, "database")
        framework.observe(self.on.config_changed, self._on_config_changed)

    def _on_config_changed(self, _: ops.ConfigChangedEvent) -> None:
        for relation in self.database.relations:
            self.database.publish(
                relation,
                endpoints=["10.0.0.5:5432"],
                username="relation-1",
                password=PASSWORD,
                request=DatabaseRequest("mydb"),  # what it provisioned, remembered
            )


@pytest.mark.parametrize(
    "requirer_bag",
    [
        {"database": "my,db", "requested-secrets": ALL_SECRETS},  # an unusable name now
        {"requested-secrets": ALL_SECRETS},  # database withdrawn for a moment
    ],
    ids=["unusable-database", "no-database"],
)
def test_publish_with_a_remembered_request_keeps_the_password_out_of_the_bag(
    requirer_bag: Dict[str, str],
) -> None:
    # The requirer lists its secrets; what the charm passes as ``request`` says nothing of them.
    ctx = testing.Context(RememberingProvider, meta=META, juju_version=JUJU_36, app_name="pg")
    rel = testing.Relation(
        "database",
        interface="postgresql_client",
        remote_app_name="myapp",
        remote_app_data=requirer_bag,
    )
    out = ctx.run(ctx.on.config_changed(), testing.State(leader=True, relations={rel}))
    bag = dict(out.get_relation(rel.id).local_app_data)
    assert [k for k, v in bag.items() if PASSWORD in v] == []
