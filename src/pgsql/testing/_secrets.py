"""Juju secrets in the model: who owns each, who may read it, its revisions.

A secret an application creates (``app.add_secret``) is kept with every revision; it is
granted to an application over a relation (``secret.grant(relation)``), and the units of that
application can read it while they are in the relation (until relation-broken), each tracking
the revision it last refreshed to. A new revision queues ``secret-changed`` on them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Set

from ._topology import Hook, ModelError, Topology, Unit, model_testing

__all__ = ["SecretRecord", "Secrets", "changed_secret"]

_SECRET_CHANGED = "secret_changed"  # noqa: S105 (an event name)
_SECRETS_SINCE_MAJOR = 3  # Juju 3.0 brought secrets (secret-add, secret-get, ...)


def changed_secret(event: str) -> Optional[str]:
    """The id of the secret a queued ``secret_changed <id>`` event names; None for another."""
    if event.startswith(_SECRET_CHANGED + " "):
        return event.partition(" ")[2]
    return None


class SecretRecord:
    """A Juju secret as the model keeps it.

    Attributes:
        id: the secret's id (as ops.testing gave it to its owner).
        owner: the owning application's name.
        label: the owner's label for it, if any.
        revisions: the content of every revision, oldest first.
        grants: the applications it is granted to, by relation id.
        tracked: the revision (index into ``revisions``) each observer unit tracks.
    """

    def __init__(self, secret_id: str, owner: str, content: Mapping[str, str], label: Any) -> None:
        self.id = secret_id
        self.owner = owner
        self.label: Optional[str] = label if isinstance(label, str) else None
        self.revisions: List[Dict[str, str]] = [dict(content)]
        self.grants: Dict[int, Set[str]] = {}
        self.tracked: Dict[str, int] = {}

    @property
    def content(self) -> Dict[str, str]:
        """The latest revision's content."""
        return dict(self.revisions[-1])

    def __repr__(self) -> str:
        # the content is a secret: never shown
        return f"<SecretRecord {self.id} of {self.owner}, {len(self.revisions)} revision(s)>"


class Secrets:
    """The model's secrets, and what each unit may read of them.

    Attributes:
        records: every secret, by id (:attr:`Model.secrets`).
    """

    def __init__(self, topology: Topology) -> None:
        self.records: Dict[str, SecretRecord] = {}
        self._topology = topology

    def readable(self, secret_id: str, unit: Unit) -> bool:
        """Whether the secret exists and ``unit`` may read it (its secret-changed still runs)."""
        record = self.records.get(secret_id)
        return record is not None and self.granted(record, unit)

    def granted(self, record: SecretRecord, unit: Unit) -> bool:
        """Whether a unit can read a secret: its application's, or granted over its relation.

        A grant to a relation lasts until the unit has left it (relation-broken): a relation
        being removed still lets its units read in their relation-departed hooks.
        """
        if record.owner == unit.app.name:
            return True
        for rel_id, apps in record.grants.items():
            if unit.app.name not in apps:
                continue
            rel = self._topology.find(rel_id)
            if rel is not None and unit.name in rel.unit_bags and unit.name not in rel.broken:
                return True
        return False

    def state_of(self, unit: Unit) -> List[Any]:
        """The ``ops.testing.Secret`` objects of the secrets ``unit`` can read, for its State.

        An observer unit sees the revision it tracks (the latest when it first sees it).
        """
        testing = model_testing()
        out: List[Any] = []
        for record in self.records.values():
            if not self.granted(record, unit):
                continue
            if record.owner == unit.app.name:
                grants = {k: sorted(v) for k, v in record.grants.items()}
                out.append(
                    testing.Secret(
                        record.content,
                        id=record.id,
                        owner="app",
                        label=record.label,
                        remote_grants=grants,
                    )
                )
            else:
                tracked = record.tracked.setdefault(unit.name, len(record.revisions) - 1)
                out.append(
                    testing.Secret(
                        record.revisions[tracked], latest_content=record.content, id=record.id
                    )
                )
        return out

    def absorb(self, unit: Unit, out: Any, juju_version: Optional[str]) -> None:
        """Take the secrets a hook created, changed, granted, refreshed or removed.

        A new revision queues secret-changed on the units observing the secret.

        Raises:
            ModelError: the unit created a secret on a Juju without secrets (before 3.0).
        """
        app = unit.app
        present: Set[str] = set()
        for secret in getattr(out, "secrets", ()):
            present.add(secret.id)
            record = self.records.get(secret.id)
            if secret.owner is not None:
                if record is None:
                    _check_secrets_exist(unit, juju_version)
                    record = SecretRecord(secret.id, app.name, secret.latest_content, secret.label)
                    self.records[secret.id] = record
                elif dict(secret.latest_content) != record.revisions[-1]:
                    record.revisions.append(dict(secret.latest_content))
                    self._queue_changed(record)
                record.label = secret.label
                record.grants = {int(k): set(v) for k, v in secret.remote_grants.items()}
            elif record is not None and dict(secret.tracked_content) == record.revisions[-1]:
                record.tracked[unit.name] = len(record.revisions) - 1
        if unit.is_leader:
            for secret_id, record in list(self.records.items()):
                if record.owner == app.name and secret_id not in present:
                    del self.records[secret_id]  # removed by its owner

    def _queue_changed(self, record: SecretRecord) -> None:
        """A new revision: secret-changed on every unit that can read it (its observers)."""
        for other in self._topology.units():
            if other.app.name == record.owner or not self.granted(record, other):
                continue
            hook: Hook = (f"{_SECRET_CHANGED} {record.id}", None, None)
            if hook not in other.queue:
                other.queue.append(hook)


def _check_secrets_exist(unit: Unit, juju_version: Optional[str]) -> None:
    """Juju 2.9 has no ``secret-add``: ops.testing lets a charm create one all the same."""
    version = juju_version
    if version is not None and int(version.split(".")[0]) < _SECRETS_SINCE_MAJOR:
        raise ModelError(f"{unit.name} created a secret, but Juju {version} has no secrets")
