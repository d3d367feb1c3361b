#!/usr/bin/env python3
"""The benchmark's floor on ``postgresql_client``: the seed charm's job, written by hand.

Plain ops, no data_interfaces. What a careful author does against Charmed PostgreSQL
(``interface/postgresql_client.md``), and nothing more:

- on ``db-relation-created`` (leader): request ``database`` and ``requested-secrets`` (every
  credential field, as data_interfaces does, so that no password is ever published in clear)
  in the application bag, in one ``relation-set``;
- on ``db-relation-changed``: read the provider's application bag and, when it references one,
  the ``secret-user`` Juju secret (the revision this unit tracks); a secret not granted yet means
  "not ready", not a crash; the bag's plaintext fields serve providers without secrets;
- on ``secret-changed`` for that secret (a rotated password, a new replica set): read the latest
  revision (``--refresh``) and recompute;
- on ``db-relation-broken``: forget the connection details;
- collect-status (ops >= 2.5, as the other variants' charms): blocked without the relation,
  waiting until it knows a primary, else active, from what it stored (no hook tool but the
  ``relation-ids`` ops needs to list the relation, and the ``status-set`` ops makes).

It reads neither the ``secret-tls`` secret (it makes no use of TLS settings) nor unit bags
(only PgBouncer's subordinate writes them), and takes the primary from the first ``endpoints``
entry. It stores the same ``db_uri``/``db_ro_uris`` as the seed charm, so the benchmark can
check that every variant ends up knowing the same thing.
"""

import json
from urllib.parse import quote, urlsplit

import ops
import ops.charm
import ops.framework
import ops.model

DATABASE = "mydbname"
REQUESTED_SECRETS = ["username", "password", "tls", "tls-ca", "uris", "read-only-uris"]


def _secret_key(uri):
    """``secret://<model>/<id>``, ``secret:<id>`` and ``<id>`` name the same secret."""
    return (uri or "").strip().rpartition("/")[2].rpartition(":")[2]


def _split(raw):
    return [item.strip() for item in (raw or "").split(",") if item.strip()]


def _uri(user, password, hostport, dbname):
    return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{hostport}/{dbname}"


class MyCharm(ops.charm.CharmBase):
    _state = ops.framework.StoredState()

    def __init__(self, *args):
        super().__init__(*args)
        self._state.set_default(db_uri=None, db_ro_uris=[])
        self.framework.observe(self.on.db_relation_created, self._on_db_relation_created)
        self.framework.observe(self.on.db_relation_changed, self._on_db_relation_changed)
        self.framework.observe(self.on.db_relation_broken, self._on_db_relation_broken)
        self.framework.observe(self.on.secret_changed, self._on_secret_changed)
        self.framework.observe(self.on.collect_unit_status, self._on_collect_status)

    def _on_db_relation_created(self, event):
        if not self.unit.is_leader():
            return
        request = {"database": DATABASE, "requested-secrets": json.dumps(REQUESTED_SECRETS)}
        event.relation.data[self.app].update(request)

    def _on_db_relation_changed(self, event):
        self._refresh(event.relation)

    def _on_secret_changed(self, event):
        relation = self.model.get_relation("db")
        if relation is None or relation.app is None:
            return
        uri = relation.data[relation.app].get("secret-user")
        if not uri or _secret_key(uri) != _secret_key(event.secret.id):
            return  # not the provider's user secret
        try:
            content = event.secret.get_content(refresh=True)
        except (ops.model.SecretNotFoundError, ops.model.ModelError):
            content = {}  # access revoked: not usable any more
        self._refresh(relation, content)

    def _on_db_relation_broken(self, event):
        self._store(None, [])

    def _on_collect_status(self, event):
        relation = self.model.get_relation("db")
        if relation is None or not relation.active:
            event.add_status(ops.BlockedStatus("needs a database relation"))
        elif not self._state.db_uri:
            event.add_status(ops.WaitingStatus("waiting for the database"))
        else:
            event.add_status(ops.ActiveStatus())

    def _credentials(self, bag, content):
        """The user secret's fields (the tracked revision), else the bag's plaintext ones."""
        uri = bag.get("secret-user")
        if not uri:
            return bag  # Juju without secrets, or a provider older than data_interfaces 18
        if content is None:
            try:
                content = self.model.get_secret(id=uri).get_content()
            except (ops.model.SecretNotFoundError, ops.model.ModelError):
                return {}  # not granted yet
        return content

    def _refresh(self, relation, content=None):
        bag = relation.data[relation.app] if relation.app is not None else {}
        database = bag.get("database")
        endpoints = _split(bag.get("endpoints"))
        if database != DATABASE or not endpoints:
            self._store(None, [])  # the provider has not answered (yet)
            return
        fields = self._credentials(bag, content)
        user, password = fields.get("username"), fields.get("password")
        if not user or not password:
            self._store(None, [])  # not granted yet, or no credentials
            return
        ro_db = urlsplit(fields.get("read-only-uris", "")).path.lstrip("/") or database
        master = _uri(user, password, endpoints[0], database)
        standbys = [
            _uri(user, password, ro, ro_db) for ro in _split(bag.get("read-only-endpoints"))
        ]
        self._store(master, standbys)

    def _store(self, master, standbys):
        self._state.db_uri = master
        self._state.db_ro_uris = standbys


if __name__ == "__main__":
    from ops.main import main  # ops.main.main: the one spelling every ops 2.x/3.x accepts

    main(MyCharm)
