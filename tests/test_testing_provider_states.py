"""``pgsql.testing.Provider`` and its ``scenario_provider_*`` helpers drive the library's
own client through every kind's states to what the provider says.
"""

from __future__ import annotations

from typing import Any, Dict

import ops
import ops.charm
import ops.framework
import ops.testing
import pytest
from needs import needs_scenario

import pgsql
import pgsql.testing as pgt
from pgsql.protocol import (
    Request,
)

testing: Any = ops.testing
REQUEST = Request.build(database="mydb")
CLIENT_META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client"}},
}


class Requirer(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb")


@needs_scenario
@pytest.mark.parametrize("kind", pgt.KINDS)
@pytest.mark.parametrize("secrets", [True, False])
def test_every_kind_moved_through_its_states_ends_with_what_the_provider_says(
    kind: str, secrets: bool
) -> None:
    ctx = testing.Context(Requirer, meta=CLIENT_META, juju_version="3.6.4" if secrets else "2.9.50")
    client = pgt.Client(request=REQUEST)
    start = pgt.Provider(kind=kind, state=pgt.NOT_ANSWERED, secrets=secrets)
    db, granted = pgt.scenario_provider_relation(start, client)
    state = ctx.run(
        ctx.on.relation_created(db), testing.State(leader=True, relations={db}, secrets=granted)
    )
    answered = start.evolve(state=pgt.ANSWERED)
    steps = [answered, answered.rotated(), answered.rotated().evolve(tls=True)]
    steps += [answered.evolve(state=pgt.GONE), answered.rotated().rotated()]
    for step in steps:
        state = pgt.scenario_provider_apply(ctx, state, step, client)
    state = ctx.run(ctx.on.update_status(), state)
    rel_id = next(iter(state.relations)).id
    last = steps[-1]
    with ctx(ctx.on.update_status(), state) as mgr:
        mgr.run()
        charm: Requirer = mgr.charm
        assert charm.db.master() == last.master(client, relation_id=rel_id)
        assert list(charm.db.standbys()) == last.standby_list(client, relation_id=rel_id)
