"""A third interface is a wire and a line in ``WIRES``: the facade serves it unchanged.

The facade picks one wire per endpoint from its ``interface:`` and asks it everything that
differs per interface: what the remote side says (a Readiness), what to publish, which extra
hooks matter. A made-up interface proves nothing else needs to know it.
"""

from __future__ import annotations

from typing import ClassVar, Dict, List, Mapping, Optional, Union

import ops
import ops.charm
import ops.framework
import pytest
from ops.model import Relation
from ops.testing import Harness

import pgsql
from pgsql.client import _client  # pyright: ignore[reportPrivateUsage]
from pgsql.client._wire import Wire
from pgsql.protocol import Readiness, Request

pytestmark = pytest.mark.filterwarnings("ignore:Harness is deprecated:PendingDeprecationWarning")

META = """
name: myapp
requires:
  db:
    interface: made_up_db
"""


class MadeUpWire(Wire):
    """The remote application's bag says ``dsn``; the request is ``want`` in our app bag."""

    interface = "made_up_db"
    published: ClassVar[List[Optional[Request]]] = []

    def readiness(self, relation: Relation, request: Optional[Request]) -> Readiness:
        dsn = relation.data[relation.app].get("dsn", "")
        if not dsn:
            return Readiness(ready=False)
        return Readiness(ready=True, master=pgsql.ConnectionString(dsn), database="mydb")

    def own_request(self, app_bag: Mapping[str, str]) -> Request:
        return Request.build(app_bag.get("want", ""))

    def publish(self, relation: Relation, request: Optional[Request], app_too: bool) -> None:
        MadeUpWire.published.append(request)
        if request is not None and self.host.model.unit.is_leader():
            relation.data[self.host.model.app]["want"] = request.database

    def write_request(self, relation: Relation, request: Request) -> None:
        self.publish(relation, request, True)


class Charm(ops.charm.CharmBase):
    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "db", database="mydb")
        self.masters: List[Optional[str]] = []
        framework.observe(self.db.on.master_changed, self._on_master_changed)

    def _on_master_changed(self, event: pgsql.MasterChangedEvent) -> None:
        self.masters.append(None if event.master is None else event.master.host)


def test_a_made_up_interface_is_served_through_its_wire_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wires: Dict[str, Union[type, str]] = {**_client.WIRES, "made_up_db": MadeUpWire}
    monkeypatch.setattr(_client, "WIRES", wires)
    monkeypatch.setattr(MadeUpWire, "published", [])
    harness: Harness[Charm] = Harness(Charm, meta=META)
    harness.set_leader(True)
    harness.begin()

    rel_id = harness.add_relation("db", "server")
    harness.add_relation_unit(rel_id, "server/0")
    harness.update_relation_data(rel_id, "server", {"dsn": "host=10.1.2.3 dbname=mydb"})

    relation = harness.model.get_relation("db", rel_id)
    assert relation is not None
    assert harness.charm.db.interface(relation) == "made_up_db"
    assert harness.get_relation_data(rel_id, "myapp") == {"want": "mydb"}
    assert Request.build("mydb") in MadeUpWire.published
    assert harness.charm.masters == ["10.1.2.3"]
    assert harness.charm.db.is_ready()
