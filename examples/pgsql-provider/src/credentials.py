"""Where the example provider keeps each client relation's credentials between hooks.

The leader generates a client's password once and keeps it, so that provisioning again and a
new leader reuse it, and so that the other units publish the same ``master`` on ``db``.

- Where Juju has secrets (3.0.3 and later), the password is in a Juju secret owned by this
  application, labelled ``provider-credentials-<relation id>``: every unit of the application
  may read it, only the leader writes it. The peer application bag (``db-<relation id>``)
  keeps only what is not secret: the user, the database, what was asked, the secret's id
  (``secret-id``: a unit finds it by id whatever Juju does with labels of secrets it does not
  manage) and ``password-serial``, counting the passwords set. The units of the owning
  application get no ``secret-changed``, so this count is what changes the peer bag on a
  rotation, and the other units then publish the new password.
- Where Juju has no secrets (2.9), the password stays in the peer application bag, readable by
  this application's units only, as it has to be somewhere that outlives the hook.

An entry written in clear before the model had secrets (a Juju upgrade) is still read; the
leader moves its password into a secret the next time it saves it.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Dict, Optional, Tuple

import ops

logger = logging.getLogger(__name__)

PASSWORD = "password"  # noqa: S105 (a key name)
SECRET_ID = "secret-id"  # noqa: S105 (a key name)
SERIAL = "password-serial"
_BOOKKEEPING = (SECRET_ID, SERIAL)


def secret_label(relation_id: int) -> str:
    """The label of the application-owned secret holding one relation's password.

    >>> secret_label(7)
    'provider-credentials-7'
    """
    return f"provider-credentials-{relation_id}"


class Credentials:
    """Each client relation's credentials: the peer application bag, the password in a secret.

    Args:
        model: the charm's model.
        peer: the peer endpoint's name.
        secrets: the model has Juju secrets (``DatabaseProvider.secrets_available``).
    """

    def __init__(self, model: ops.Model, peer: str, *, secrets: bool) -> None:
        self._model = model
        self._peer = peer
        self._secrets = secrets
        # What this hook wrote: Juju applies secret-set when the hook ends, and a secret-get in
        # the same hook sees the new content only on recent Juju (3.1.7 and later).
        self._written: Dict[int, str] = {}

    def load(self, relation_id: int) -> Optional[Dict[str, str]]:
        """The relation's entry (``user``, ``password``, ``database``, ...); None if none.

        The password is missing from it while its secret cannot be read.
        """
        stored = self._stored(relation_id)
        if stored is None:
            return None
        entry = {k: v for k, v in stored.items() if k not in _BOOKKEEPING}
        if PASSWORD not in entry and self._secrets:
            password = self._written.get(relation_id) or self._read_password(
                relation_id, stored.get(SECRET_ID, "")
            )
            if password:
                entry[PASSWORD] = password
        return entry

    def save(self, relation_id: int, entry: Optional[Dict[str, str]]) -> None:
        """Keep the relation's entry (leader only); None forgets it, and removes its secret."""
        if entry is None and self._secrets:
            self._written.pop(relation_id, None)
            self._remove_secret(relation_id)
        peer = self._model.get_relation(self._peer)
        if peer is None:
            return
        if entry is None:
            kept: Dict[str, str] = {}
        elif self._secrets and PASSWORD in entry:
            kept = {k: v for k, v in entry.items() if k != PASSWORD and k not in _BOOKKEEPING}
            previous = self._stored(relation_id) or {}
            if self._written.get(relation_id) == entry[PASSWORD] and previous.get(SECRET_ID):
                # kept already in this hook (where Juju may not show that secret yet)
                secret_id, changed = previous[SECRET_ID], False
            else:
                secret_id, changed = self._keep_password(
                    relation_id, entry[PASSWORD], previous.get(SECRET_ID, "")
                )
            serial = int(previous.get(SERIAL) or 0) + (1 if changed else 0)
            kept.update({SECRET_ID: secret_id, SERIAL: str(serial)})
            self._written[relation_id] = entry[PASSWORD]
        else:  # no secrets on this Juju: the whole entry, in the bag only this app reads
            kept = dict(entry)
        raw = json.dumps(kept, sort_keys=True) if kept else ""
        key = f"db-{relation_id}"
        if peer.data[self._model.app].get(key, "") != raw:
            peer.data[self._model.app][key] = raw  # "" deletes the key

    # ---- the peer bag -----------------------------------------------------------------------

    def _stored(self, relation_id: int) -> Optional[Dict[str, str]]:
        peer = self._model.get_relation(self._peer)
        raw = peer.data[self._model.app].get(f"db-{relation_id}", "") if peer else ""
        if not raw:
            return None
        loaded: Dict[str, str] = json.loads(raw)
        return loaded

    # ---- the secret -------------------------------------------------------------------------

    def _read_password(self, relation_id: int, secret_id: str) -> str:
        """The latest password ("" while unreadable); any unit of this application reads it."""
        try:
            if secret_id:
                secret = self._model.get_secret(id=secret_id)
            else:
                secret = self._model.get_secret(label=secret_label(relation_id))
            # peek: the latest revision, for the owner's units on every Juju with secrets
            # (before 3.1.7 an owner could not ask for refresh; since, it tracks a revision)
            return secret.peek_content().get(PASSWORD, "")
        except (ops.SecretNotFoundError, ops.ModelError) as exc:
            logger.debug("password of relation %s not readable: %s", relation_id, type(exc))
            return ""

    def _keep_password(self, relation_id: int, password: str, known_id: str) -> Tuple[str, bool]:
        """Put ``password`` in the relation's secret: its id, and whether a revision was added."""
        label = secret_label(relation_id)
        content = {PASSWORD: password}
        try:
            secret = self._model.get_secret(label=label)
        except ops.SecretNotFoundError:
            secret = self._model.app.add_secret(
                content,
                label=label,
                description=f"password of the client role of relation {relation_id}",
            )
            return str(secret.id), True
        changed = secret.peek_content().get(PASSWORD) != password
        if changed:
            secret.set_content(content)
        return known_id or str(secret.get_info().id), changed

    def _remove_secret(self, relation_id: int) -> None:
        with contextlib.suppress(ops.SecretNotFoundError):  # never kept, or removed already
            self._model.get_secret(label=secret_label(relation_id)).remove_all_revisions()
