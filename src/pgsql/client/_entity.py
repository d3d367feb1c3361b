"""The helper secret naming the user a ``postgresql_client`` requirer asks for (PostgreSQL 16).

The leader creates an application-owned Juju secret ``{"entity-name": <user>}`` labelled
``<model-uuid>-<relation-id>-requested-entity``, grants it to the relation and publishes its
URI as ``requested-entity-secret`` with the ``database`` (the ``data_interfaces`` convention
PostgreSQL 16 reads: :mod:`pgsql.protocol._username`). The secret goes once the provider has
answered, and in any case with the relation.

Bookkeeping lives in the relation's record under ``entity``: ``{"name": <user>, "id": <URI>}``
while the secret lives, ``"id": ""`` once removed. Nothing here runs (no hook tool is called)
for a client that asks for no user name. No password is ever handled here: PostgreSQL 16
generates it and shares it in its own secret.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Mapping, Optional, cast

import ops.model
from ops.jujuversion import JujuVersion
from ops.model import Relation

from ..protocol import (
    REQUESTED_ENTITY_SECRET,
    Request,
    RequestError,
    entity_content,
    entity_label,
)

log = logging.getLogger(__name__)

# Juju has usable secrets from 3.0.3 on (as pgsql.DatabaseProvider and data_interfaces say).
_SECRETS_SINCE = (3, 0, 3)


def check_juju(model: ops.model.Model, request: Optional[Request]) -> None:
    """Refuse a user name on a Juju without secrets, as ``data_interfaces`` does.

    The name can only reach PostgreSQL 16 in a Juju secret; writing it anywhere else, it would
    be ignored and the provider would create its own user, for good. An unknown version
    (``0.0.0``: Harness without ``JUJU_VERSION``) is not refused.

    Raises:
        RequestError: a user name is requested and this Juju (2.9) has no secrets.
    """
    if request is None or not request.username:
        return
    version: Optional[JujuVersion] = getattr(model, "juju_version", None)
    if version is None:  # ops < 2.19
        version = JujuVersion.from_environ()
    found = (version.major, version.minor, version.patch)
    if found != (0, 0, 0) and found < _SECRETS_SINCE:
        raise RequestError(
            f"username {request.username!r}: a requested user name travels in a Juju secret, "
            f"and Juju {version} has none (3.0.3 or later): drop username= on this Juju"
        )


def entity_keys(
    model: ops.model.Model,
    relation: Relation,
    request: Request,
    bag: Mapping[str, str],
    answered: bool,
    rec: Dict[str, Any],
) -> Dict[str, str]:
    """The ``requested-entity-secret`` key the leader's application bag should hold.

    Once the provider answered, what is there stays (providers fix the user at creation: a
    changed name is ``user-mismatch``, not a new secret). Before, the helper secret for
    ``request.username`` is created or updated and granted; without a user name, none is
    published (and a helper secret made for an earlier name is removed).
    """
    current = bag.get(REQUESTED_ENTITY_SECRET, "")
    if answered:
        return {REQUESTED_ENTITY_SECRET: current} if current else {}
    if not request.username:
        remove(model, relation.id, rec, "")
        return {}
    return {REQUESTED_ENTITY_SECRET: _publish(model, relation, request.username, rec)}


def _publish(model: ops.model.Model, relation: Relation, username: str, rec: Dict[str, Any]) -> str:
    kept = _kept(rec)
    if kept.get("name") == username and kept.get("id"):
        return kept["id"]
    label = entity_label(model.uuid, relation.id)
    content = entity_content(username)
    try:
        secret = model.get_secret(label=label)
    except ops.model.SecretNotFoundError:
        secret = model.app.add_secret(content, label=label)
    else:  # an earlier name, or a record lost with StoredState
        secret.set_content(content)
    uri = secret.id or secret.get_info().id or ""
    secret.grant(relation)
    rec["entity"] = {"name": username, "id": uri}
    log.debug("relation %s: user %r requested (secret %s)", relation.id, username, label)
    return uri


def settle(
    model: ops.model.Model, relation: Relation, request: Optional[Request], rec: Dict[str, Any]
) -> bool:
    """Once the provider answered, remove the helper secret (True: the record changed).

    The caller calls this only for a request with a user name, once the provider answered.
    A leader that did not create the secret (leadership moved) looks it up by its label, once.
    """
    if request is None or not request.username:
        return False
    kept = _kept(rec)
    if kept and not kept.get("id"):
        return False  # removed already
    if not kept and not model.unit.is_leader():
        return False
    return remove(model, relation.id, rec, request.username)


def remove(model: ops.model.Model, relation_id: int, rec: Dict[str, Any], username: str) -> bool:
    """Remove the helper secret of a relation, by its URI if known, else by its label.

    Only with a record of it, or a ``username`` (the label is then looked up). Errors (not the
    owner, already gone) are not the charm's concern: they are logged at DEBUG.

    Returns:
        Whether the record changed.
    """
    kept = _kept(rec)
    uri = kept.get("id", "")
    if not uri and not (username and not kept):
        return False
    try:
        if uri:
            secret = model.get_secret(id=uri)
        else:
            secret = model.get_secret(label=entity_label(model.uuid, relation_id))
        secret.remove_all_revisions()
    except (ops.model.SecretNotFoundError, ops.model.ModelError) as e:
        log.debug("relation %s: helper secret not removed: %s", relation_id, type(e).__name__)
    else:
        log.debug("relation %s: helper secret removed", relation_id)
    rec["entity"] = {"name": kept.get("name", username), "id": ""}
    return True


def _kept(rec: Mapping[str, Any]) -> Dict[str, str]:
    raw = rec.get("entity")
    return cast("Dict[str, str]", raw) if isinstance(raw, dict) else {}
