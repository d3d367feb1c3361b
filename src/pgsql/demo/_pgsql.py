"""The 1.x charm over ``pgsql``: deploy, relate on ``db``, show, connect and query."""

from __future__ import annotations

from ._common import CLIENT_APP, REL_ID, SERVER_APP

# under the names the walk-throughs were written with
from ._lifecycle import Lifecycle as _Lifecycle
from ._lifecycle import juju as _juju


class PgsqlWalkThrough(_Lifecycle):
    """The ``pgsql`` relation between the 1.x charm and the provider."""

    def pgsql(self) -> None:
        from .. import testing as pgt

        client = self.deploy(CLIENT_APP, self.client_charm.meta, pgt.Client.address)
        self.steps.phase = "relate"
        self.line(f"\n== juju integrate {CLIENT_APP}:db {SERVER_APP}:db")
        self.line(
            "   every hook below runs on one unit; 'wrote' is what that hook changed in a databag"
        )
        _juju(lambda: self.model.relate(f"{CLIENT_APP}:db", f"{SERVER_APP}:db", relation_id=REL_ID))
        doc = self.doc
        doc["databags"] = self.databags(REL_ID, "db")
        doc["readiness"] = self.readiness(client)
        doc["status"] = self.status(self.model.units())
        self.line(f"  {SERVER_APP}/0 status: {doc['status'][f'{SERVER_APP}/0']}")
        master = self.kept_master(client)
        doc["result"] = self.query(master, CLIENT_APP, f"juju_{CLIENT_APP}")
