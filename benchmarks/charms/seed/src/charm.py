#!/usr/bin/env python3
"""The ops-lib-pgsql 1.0.0 README usage example, verbatim, made runnable with ``ops.main``.

The benchmark runs this very file for the ``orig`` variant (ops-lib-pgsql 1.4 from PyPI) and the
``pgsql`` variant (this project); ``ops.lib.use`` finds whichever is installed.
"""

import ops
import ops.charm
import ops.framework
import ops.lib

# fmt: off
# --- verbatim from the ops-lib-pgsql 1.0.0 README ---------------------------------------------
pgsql = ops.lib.use("pgsql", 1, "postgresql-charmers@lists.launchpad.net")

class MyCharm(ops.charm.CharmBase):
    _state = ops.framework.StoredState()

    def __init__(self, *args):
        super().__init__(*args)
        self._state.set_default(db_conn_str=None, db_uri=None, db_ro_uris=[])
        self.db = pgsql.PostgreSQLClient(self, 'db')  # 'db' relation in metadata.yaml
        self.framework.observe(self.db.on.database_relation_joined, self._on_database_relation_joined)  # noqa: E501
        self.framework.observe(self.db.on.master_changed, self._on_master_changed)
        self.framework.observe(self.db.on.standby_changed, self._on_standby_changed)

    def _on_database_relation_joined(self, event: pgsql.DatabaseRelationJoinedEvent):
        if self.model.unit.is_leader():
            event.database = 'mydbname'
            event.extensions = ['citext']
        elif event.database != 'mydbname':
            event.defer()
            return

    def _on_master_changed(self, event: pgsql.MasterChangedEvent):
        if event.database != 'mydbname':
            return
        self._state.db_conn_str = None if event.master is None else event.master.conn_str
        self._state.db_uri = None if event.master is None else event.master.uri

    def _on_standby_changed(self, event: pgsql.StandbyChangedEvent):
        if event.database != 'mydbname':
            return
        self._state.db_ro_uris = [c.uri for c in event.standbys]
# --- end of the verbatim example ----------------------------------------------------------------
# fmt: on


if __name__ == "__main__":
    from ops.main import main  # ops.main.main: the one spelling every ops 2.x/3.x accepts

    main(MyCharm)
