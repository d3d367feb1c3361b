#!/usr/bin/env python3
"""The benchmark's floor: what the seed charm does, written by hand with plain ops.

No library. It does the minimum a *correct* client needs with the servers studied in
``providers.md`` (R-PG and the Canonical charms), and nothing more:

- on ``db-relation-joined``: request ``database``/``extensions`` in the application bag (leader)
  and in the unit bag (every unit: servers that read only unit bags need it), writing only what
  differs;
- on ``db-relation-changed``: take ``master``/``standbys`` from the first server unit bag (by
  name) that echoes the request and grants this unit's ``egress-subnets`` in ``allowed-subnets``,
  reading no further bags once it has a master;
- on ``db-relation-broken``: forget the connection details.

It stores the same ``db_conn_str``/``db_uri``/``db_ro_uris`` as the seed charm, so the benchmark
can check that every variant ends up knowing the same thing.
"""

from urllib.parse import quote

import ops
import ops.charm
import ops.framework

DATABASE = "mydbname"
EXTENSIONS = "citext"


def _split(raw):
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def _uri(conn_str):
    """``dbname=d host=h password=p port=5432 user=u`` -> ``postgresql://u:p@h:5432/d``."""
    kv = dict(item.split("=", 1) for item in conn_str.split())
    d = {k: quote(v, safe="") for k, v in kv.items()}
    uri = "postgresql://"
    if "user" in d:
        uri += d["user"] + (":" + d["password"] if "password" in d else "") + "@"
    uri += d.get("host", "") + (":" + d["port"] if "port" in d else "")
    uri += "/" + d["dbname"] if "dbname" in d else ""
    main_keys = {"user", "password", "dbname", "host", "port"}
    extra = [f"{k}={d[k]}" for k in sorted(d) if k not in main_keys]
    return uri + ("?" + "&".join(extra) if extra else "")


class MyCharm(ops.charm.CharmBase):
    _state = ops.framework.StoredState()

    def __init__(self, *args):
        super().__init__(*args)
        self._state.set_default(db_conn_str=None, db_uri=None, db_ro_uris=[])
        self.framework.observe(self.on.db_relation_joined, self._on_db_relation_joined)
        self.framework.observe(self.on.db_relation_changed, self._on_db_relation_changed)
        self.framework.observe(self.on.db_relation_broken, self._on_db_relation_broken)

    def _on_db_relation_joined(self, event):
        request = {"database": DATABASE, "extensions": EXTENSIONS}
        bags = [event.relation.data[self.unit]]
        if self.unit.is_leader():
            bags.append(event.relation.data[self.app])
        for bag in bags:
            for key, value in request.items():
                if bag.get(key) != value:
                    bag[key] = value

    def _on_db_relation_changed(self, event):
        relation = event.relation
        egress = set(_split(relation.data[self.unit].get("egress-subnets")))
        master, standbys = None, []
        for unit in sorted(relation.units, key=lambda u: u.name):
            bag = relation.data[unit]
            if bag.get("database") != DATABASE or EXTENSIONS not in _split(bag.get("extensions")):
                continue  # the server has not acted on the request (yet)
            if not egress <= set(_split(bag.get("allowed-subnets"))):
                continue  # this unit is not granted access (yet)
            standbys = standbys or [s for s in bag.get("standbys", "").splitlines() if s]
            master = bag.get("master")
            if master:
                break  # the first ready bag with a master will do (all servers publish it)
        self._store(master, standbys)

    def _on_db_relation_broken(self, event):
        self._store(None, [])

    def _store(self, master, standbys):
        self._state.db_conn_str = master
        self._state.db_uri = None if master is None else _uri(master)
        self._state.db_ro_uris = [_uri(s) for s in standbys]


if __name__ == "__main__":
    from ops.main import main  # ops.main.main: the one spelling every ops 2.x/3.x accepts

    main(MyCharm)
