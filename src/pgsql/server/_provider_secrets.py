"""The Juju secrets a ``postgresql_client`` provider answers with, one set per relation.

The application owns them (only the leader writes them), grants each to its relation, and labels
them ``<endpoint>.<relation id>.<group>.secret`` (:func:`secret_label`), as data_interfaces' v0
``DatabaseProvides`` labels its own: a charm moving from it to this library keeps its secrets.
"""

from __future__ import annotations

import logging
from typing import Dict, Mapping, Optional, Tuple

from ops.jujuversion import JujuVersion
from ops.model import Model, ModelError, Relation, Secret, SecretNotFoundError

from ..protocol import REQUESTED_ENTITY_SECRET, SECRET_GROUPS, secret_id

__all__ = ["ProviderSecrets", "requested_entity", "secret_label", "secrets_available"]

# Juju 3.0.2's secrets had a bug with observer labels (juju/juju#14916): data_interfaces and
# ops' JujuVersion.has_secrets (ops 3; ops 2.0.0 still said 3.0.2) use them from 3.0.3.
_SECRETS_SINCE = (3, 0, 3)


def secret_label(endpoint: str, relation_id: int, group: str) -> str:
    """The label of the application-owned secret holding ``group`` for one relation.

    The label data_interfaces v0 gives its provider secrets, so a charm moving to this library
    finds the secrets it already published.

    >>> secret_label("database", 7, "user")
    'database.7.user.secret'
    """
    return f"{endpoint}.{relation_id}.{group}.secret"


def secrets_available(model: Model) -> bool:
    """Whether this Juju has secrets (3.0.3 and later); else every field goes in clear."""
    version: Optional[JujuVersion] = getattr(model, "juju_version", None)
    if version is None:  # ops < 2.19 (where JujuVersion.from_environ is not deprecated)
        version = JujuVersion.from_environ()
    return (version.major, version.minor, version.patch) >= _SECRETS_SINCE


def requested_entity(
    model: Model, relation: Relation, bag: Mapping[str, str]
) -> Optional[Dict[str, str]]:
    """The content of the requirer's ``requested-entity-secret`` (PostgreSQL 16's user name).

    None while it cannot be read (not granted yet). The requirer removes it once answered
    (data_interfaces does, so does this library's client): the user this application published
    is then kept, as PostgreSQL 16 keeps the user it created.
    """
    uri = (bag.get(REQUESTED_ENTITY_SECRET) or "").strip()
    if not uri or not secrets_available(model):
        return None
    try:
        return dict(model.get_secret(id=uri).get_content(refresh=True))
    except (SecretNotFoundError, ModelError):
        pass
    published = _published_user(model, relation)
    return {"entity-name": published} if published else None


def _published_user(model: Model, relation: Relation) -> str:
    """The user this application's answer on ``relation`` names ("" when none)."""
    try:
        content = model.get_secret(label=secret_label(relation.name, relation.id, "user"))
        user = content.peek_content().get("username", "")
    except (SecretNotFoundError, ModelError):
        user = ""
    return user or relation.data[model.app].get("username", "")


class ProviderSecrets:
    """The secrets of one ``postgresql_client`` provides endpoint.

    Args:
        model: the charm's model.
        endpoint: the endpoint's name (the first part of every label).
        log: the owner's logger.
    """

    def __init__(self, model: Model, endpoint: str, log: logging.Logger):
        self._model = model
        self._endpoint = endpoint
        self._log = log

    def owns(self, label: str) -> bool:
        """Whether ``label`` is the label of one of this endpoint's secrets."""
        return label.startswith(f"{self._endpoint}.") and label.endswith(".secret")

    def sync(
        self,
        relation: Relation,
        contents: Mapping[str, Mapping[str, str]],
        bag: Mapping[str, str],
    ) -> Tuple[Dict[str, str], bool]:
        """Create, update or remove ``relation``'s secrets to hold ``contents`` (by group).

        Args:
            relation: the relation answered.
            contents: the content of each secret group the answer needs.
            bag: the application bag as published now (the URIs it references).

        Returns:
            The URI of each group's secret, and whether a secret was changed.
        """
        uris: Dict[str, str] = {}
        changed = False
        if not secrets_available(self._model):
            return uris, changed
        for group in SECRET_GROUPS:
            label = secret_label(self._endpoint, relation.id, group)
            content = contents.get(group)
            secret = self._owned(label)
            if content is None:
                if secret is not None:
                    secret.remove_all_revisions()
                    changed = True
                continue
            created = secret is None
            if secret is None:
                secret = self._create(relation, group, label, content)
                changed = True
            elif secret.peek_content() != content:
                # a rotated password or CA: a new revision, which requirers follow
                secret.set_content(dict(content))
                changed = True
            published = bag.get(f"secret-{group}") or ""
            uris[group] = _reference(relation, secret, _uri(secret, label), published, created)
        return uris, changed

    def lost(self, relation: Relation) -> bool:
        """Whether the answer on ``relation`` references a secret that no longer exists.

        A leader removed by an older version of this library deleted them; the request did not
        change, so only this tells a new leader that the answer must be published again.
        """
        if not secrets_available(self._model):
            return False
        bag = relation.data[self._model.app]
        for group in SECRET_GROUPS:
            uri = bag.get(f"secret-{group}")
            if not uri:
                continue
            try:
                self._model.get_secret(id=uri)
            except SecretNotFoundError:
                self._log.debug(
                    "relation %s: secret-%s is gone: answering again", relation.id, group
                )
                return True
            except ModelError:  # not readable now (Juju's error): not known to be gone
                continue
        return False

    def remove(self, relation: Relation) -> None:
        """Remove every secret of ``relation`` (the requirer left)."""
        if not secrets_available(self._model):
            return
        for group in SECRET_GROUPS:
            secret = self._owned(secret_label(self._endpoint, relation.id, group))
            if secret is not None:
                secret.remove_all_revisions()

    def _owned(self, label: str) -> Optional[Secret]:
        try:
            return self._model.get_secret(label=label)
        except SecretNotFoundError:
            return None

    def _create(
        self, relation: Relation, group: str, label: str, content: Mapping[str, str]
    ) -> Secret:
        secret = self._model.app.add_secret(
            dict(content),
            label=label,
            description=f"{group} fields for {relation.name}:{relation.id}",
        )
        secret.grant(relation)
        return secret


def _uri(secret: Secret, label: str) -> str:
    uri = secret.id or secret.get_info().id
    if not uri:  # pragma: no cover - Juju always gives an owner the id
        raise ModelError(f"secret {label} has no id")
    return uri


def _reference(relation: Relation, secret: Secret, uri: str, published: str, created: bool) -> str:
    """The URI to publish for ``secret``, granted to ``relation`` if the bag does not name it."""
    if published and secret_id(published) == secret_id(uri):
        return published  # the same secret, maybe spelt otherwise: no rewrite
    if not created:
        # a secret this relation does not reference yet (a new leader, a charm moving from
        # data_interfaces): granting again is a no-op for Juju
        secret.grant(relation)
    return uri
