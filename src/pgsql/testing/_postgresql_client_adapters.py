"""A ``postgresql_client`` provider on one unit's relation, in ops.testing and in Harness.

The adapters half of :class:`~pgsql.testing.Provider` (``_postgresql_client.py`` describes
the provider): the ``scenario_provider_*`` helpers put its bags on an ``ops.testing.Relation``
and its secrets in the State, the ``harness_provider_*`` ones on a Harness relation with the
secrets granted, and both move it from state to state, running the hooks Juju would run.
Imports without Scenario; only the ``scenario_*`` helpers need it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import weakref
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NamedTuple, Optional, Set, Tuple

from ops.model import ModelError, SecretNotFoundError

from .. import protocol
from ..protocol import Request
from ._asked import answered_request, shared_request
from ._common import (
    endpoint_of,
    ops_testing,
    relation_of,
    run_bag_hooks,
    set_bag,
)
from ._pgsql import (
    Client,
    _harness_client,  # pyright: ignore[reportPrivateUsage]
)
from ._pick import POSTGRESQL_CLIENT, pick_relation
from ._postgresql_client import (
    ANSWERED,
    SECRET_NOT_GRANTED,
    Provider,
    ProviderBags,
    ProviderRequest,
)

if TYPE_CHECKING:  # pragma: no cover - names for type checkers only; Scenario may be absent
    from ops.testing import Harness, Relation, Secret, State

__all__ = [
    "ProviderRelation",
    "harness_provider_move",
    "harness_provider_relation",
    "harness_provider_requested",
    "provider_requested",
    "scenario_provider_apply",
    "scenario_provider_move",
    "scenario_provider_relation",
]

# ---------------------------------------------------------------------------------------------
# ops.testing (Scenario)
# ---------------------------------------------------------------------------------------------


class ProviderRelation(NamedTuple):
    """A ``postgresql_client`` relation for ops.testing, and the secrets to put in the State.

    Unpack it: ``db, secrets = scenario_provider_relation(...)``, then
    ``testing.State(relations={db}, secrets=secrets)``.
    """

    relation: Relation
    secrets: List[Secret]


def _secrets_for(bags: ProviderBags) -> List[Secret]:
    """The ``ops.testing.Secret`` objects the requirer can read: the granted ones.

    A secret not granted is left out of the State: ``model.get_secret(id=...)`` then raises
    :class:`ops.SecretNotFoundError` (a :class:`ops.ModelError`), where Juju's ``secret-get``
    fails with "permission denied" (a plain :class:`ops.ModelError`).
    """
    if not bags.granted:
        return []
    testing = ops_testing()
    return [testing.Secret(dict(content), id=uri) for uri, content in bags.secrets.items()]


def scenario_provider_relation(
    provider: Provider,
    client: Optional[Client] = None,
    *,
    endpoint: str = "database",
    published: bool = True,
    external: bool = False,
    relation_id: Optional[int] = None,
) -> ProviderRelation:
    """An ``ops.testing.Relation`` with ``provider`` on the other end, and its secrets.

    Args:
        provider: the provider and its state.
        client: your application (default: one unit of ``myapp``); its request must name a
            database (providers act only once one is published): a provider state that
            answers (:data:`ANSWERED`, :data:`SECRET_NOT_GRANTED`) raises ``ValueError``
            without one.
        endpoint: your charm's ``requires`` endpoint (``interface: postgresql_client``).
        published: whether your leader already wrote its request into the application bag
            (:class:`pgsql.PostgreSQLClient` does from relation-created); False leaves the bags
            with Juju's keys only (the provider still answers ``client.request``).
        external: your charm asked for ``external-node-connectivity``.
        relation_id: the relation id (default: a fresh one).

    Returns:
        The relation and the ``ops.testing.Secret`` objects your unit can read (the granted
        ones, their ids the URIs in the provider's bag).

    Example::

        db, secrets = scenario_provider_relation(Provider(), Client(app="mycharm"))
        state = testing.State(leader=True, relations={db}, secrets=secrets)
    """
    testing = ops_testing()
    client = client or Client()
    asked = _asked_in({}, None, client, external, provider, f"the {endpoint!r} relation")
    kwargs: Dict[str, Any] = {} if relation_id is None else {"id": relation_id}
    relation: Relation = testing.Relation(
        endpoint,
        interface="postgresql_client",
        remote_app_name=provider.app,
        local_app_data=dict(asked) if published else {},
        local_unit_data=client.unit_bag(client.unit_name),
        **kwargs,
    )
    user = client.request.username
    bags = provider.databags(client, asked=asked, relation_id=relation.id, requested_user=user)
    relation = dataclasses.replace(
        relation, remote_app_data=bags.app, remote_units_data=bags.by_unit_id()
    )
    return ProviderRelation(relation, _secrets_for(bags))


def _client_relation(state: State, endpoint: Optional[str]) -> Relation:
    """The relation on ``endpoint``, else the only ``postgresql_client`` one."""
    return pick_relation(
        state, endpoint, (POSTGRESQL_CLIENT,), ("database",), ops_testing().Relation
    )


def provider_requested(state: State, endpoint: Optional[str] = None) -> ProviderRequest:
    """What your charm published on ``endpoint`` (from an output State's local app bag).

    Without ``endpoint``, the only ``postgresql_client`` relation in ``state``.
    """
    return ProviderRequest.from_bag(dict(_client_relation(state, endpoint).local_app_data))


# the provider states that answer a request (a request must then be known)
_ANSWERING = (SECRET_NOT_GRANTED, ANSWERED)


def _asked_in(
    bag: Mapping[str, str],
    shared: Optional[Request],
    client: Client,
    external: bool,
    provider: Provider,
    where: str,
) -> Dict[str, str]:
    """What the provider answers: what your charm published, else what ``client`` asks."""
    return answered_request(
        bag,
        shared,
        client.request,
        external=external,
        answers=provider.state in _ANSWERING,
        where=where,
    )


def _target(
    state: State, provider: Provider, client: Client, endpoint: Optional[str], external: bool
) -> Tuple[Relation, ProviderBags]:
    rel = _client_relation(state, endpoint)
    testing = ops_testing()
    peers = [dict(r.local_app_data) for r in state.relations if isinstance(r, testing.PeerRelation)]
    shared = shared_request(peers, rel.endpoint, rel.id)
    where = f"relation {rel.id} ({rel.endpoint!r})"
    asked = _asked_in(dict(rel.local_app_data), shared, client, external, provider, where)
    user = _requested_user(
        asked, rel.remote_app_data, {s.id: s.latest_content for s in state.secrets}
    )
    return rel, provider.databags(client, asked=asked, relation_id=rel.id, requested_user=user)


def _requested_user(
    asked: Mapping[str, str],
    answer: Mapping[str, str],
    contents: Mapping[Optional[str], Optional[Mapping[str, str]]],
) -> str:
    """The user a requirer asked for: its helper secret's ``entity-name``.

    Once the requirer removed the helper secret (the provider answered), the provider keeps the
    user it created: the one it published (in its ``user`` secret, else in clear).
    """
    by_id = {protocol.secret_id(k): v for k, v in contents.items() if k}
    uri = asked.get(protocol.REQUESTED_ENTITY_SECRET, "")
    if not uri:
        return ""
    helper = by_id.get(protocol.secret_id(uri))
    if helper is not None:
        return str(helper.get("entity-name", ""))
    user_secret = by_id.get(protocol.secret_id(answer.get("secret-user", "") or "-")) or {}
    return str(user_secret.get("username") or answer.get("username", ""))


def _moved_secrets(
    state: State, before: Relation, bags: ProviderBags
) -> Tuple[List[Secret], Set[str]]:
    """The State's secrets with the provider's replaced, and the URIs whose content changed.

    A secret that stays gets its new content as the latest revision (the tracked one is kept,
    as Juju keeps it until the charm refreshes); a secret no longer granted or referenced
    leaves the State; a new granted one is tracked from its first revision.
    """
    testing = ops_testing()
    mine = set(protocol.secret_fields(dict(before.remote_app_data)).values()) | set(bags.secrets)
    kept = [s for s in state.secrets if s.id not in mine]
    existing = {s.id: s for s in state.secrets if s.id in mine}
    rotated: Set[str] = set()
    if bags.granted:
        for uri, content in bags.secrets.items():
            old = existing.get(uri)
            if old is None:
                kept.append(testing.Secret(dict(content), id=uri))
            elif dict(old.latest_content) != content:
                kept.append(dataclasses.replace(old, latest_content=dict(content)))
                rotated.add(uri)
            else:
                kept.append(old)
    return kept, rotated


def scenario_provider_move(
    state: State,
    provider: Provider,
    client: Optional[Client] = None,
    *,
    endpoint: Optional[str] = None,
    external: bool = False,
) -> State:
    """``state`` with the provider on ``endpoint`` moved to ``provider``; your bags are kept.

    The provider answers what your charm published in ``state`` (else ``client.request``).
    Its secrets in ``state`` are replaced: a rotated one keeps its id and tracked content and
    gets the new content as its latest revision. Run the events that follow yourself, or use
    :func:`scenario_provider_apply`.
    """
    return _provider_move(state, provider, client or Client(), endpoint, external)[0]


def _provider_move(
    state: State, provider: Provider, client: Client, endpoint: Optional[str], external: bool
) -> Tuple[State, Relation, Set[str]]:
    """The moved State, the relation as it was, and the ids of the secrets rotated."""
    rel, bags = _target(state, provider, client, endpoint, external)
    secrets, rotated = _moved_secrets(state, rel, bags)
    moved = dataclasses.replace(
        rel,
        remote_app_name=provider.app,
        remote_app_data=bags.app,
        remote_units_data=bags.by_unit_id(),
    )
    others = [r for r in state.relations if r.id != rel.id]
    new_state: State = dataclasses.replace(state, relations=[*others, moved], secrets=secrets)
    return new_state, rel, rotated


def scenario_provider_apply(
    ctx: Any,
    state: State,
    provider: Provider,
    client: Optional[Client] = None,
    *,
    endpoint: Optional[str] = None,
    external: bool = False,
) -> State:
    """Move the provider to ``provider`` and run the hooks Juju would run on your unit.

    The provider's secrets change first (created, granted, given a new revision, removed), as
    the provider's hook does before the requirer hears of it; then ``relation-departed`` for
    each provider unit gone, ``relation-joined`` for each new one, ``relation-changed`` for
    each unit whose bag changed, ``relation-changed`` (from the provider's first unit: Scenario
    always names one) when the application bag changed, and last ``secret-changed`` for each
    secret with a new revision (a rotated password or CA).

    A grant alone (:data:`SECRET_NOT_GRANTED` to :data:`ANSWERED`: the bags do not change) runs
    no hook, as in Juju: your charm sees it at its next hook (run one, e.g.
    ``ctx.on.update_status()``).

    Returns:
        The State after the last hook (the moved State when no hook runs).
    """
    moved, before, rotated = _provider_move(state, provider, client or Client(), endpoint, external)
    endpoint = str(before.endpoint)
    target = relation_of(moved, endpoint)
    # the secrets first: the provider's hook creates, grants and rotates them before the
    # requirer hears of anything
    current: State = dataclasses.replace(state, secrets=moved.secrets)
    current, ran = run_bag_hooks(ctx, current, endpoint, before, target, None)
    for uri in sorted(rotated):
        # the object in the State: Scenario wants the very Secret the event names
        secret = next(s for s in current.secrets if s.id == uri)
        current, ran = ctx.run(ctx.on.secret_changed(secret), current), True
    return current if ran else moved


# ---------------------------------------------------------------------------------------------
# Harness
# ---------------------------------------------------------------------------------------------

# What the helpers last set in each Harness secret: Harness offers no way for a test to read a
# secret's content without a grant, and a rotation is a change of content.
_HARNESS_CONTENT: weakref.WeakKeyDictionary[Any, Dict[str, Dict[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def harness_provider_requested(harness: Harness[Any], relation_id: int) -> ProviderRequest:
    """What the charm under test published on a ``postgresql_client`` relation."""
    return ProviderRequest.from_bag(
        dict(harness.get_relation_data(relation_id, harness.model.app.name))
    )


def harness_provider_relation(
    harness: Harness[Any],
    provider: Provider,
    client: Optional[Client] = None,
    *,
    endpoint: str = "database",
    external: bool = False,
) -> int:
    """Relate the charm under test to ``provider``, the way Juju would; returns the relation id.

    Adds the relation (relation-created: your leader publishes its request), gives this unit
    Juju's keys, adds the provider units (relation-joined), creates the provider's secrets
    (``harness.add_model_secret``, granted to your application unless the state is
    :data:`SECRET_NOT_GRANTED`) and writes the provider's bags (relation-changed). The provider
    answers what the charm published by then (else ``client.request``). ``client.app`` and
    ``client.unit`` come from the Harness.
    """
    client = _harness_client(harness, client)
    relation_id: int = harness.add_relation(endpoint, provider.app)
    harness.update_relation_data(relation_id, client.unit_name, client.unit_bag(client.unit_name))
    for name in provider.unit_names:
        harness.add_relation_unit(relation_id, name)
    harness_provider_move(harness, relation_id, provider, client, external=external)
    return relation_id


def _harness_peer_bags(harness: Harness[Any]) -> List[Dict[str, str]]:
    """Your application's bags on its peer relations (where a leader shares its request)."""
    app = harness.model.app
    return [
        dict(harness.get_relation_data(r.id, app.name))
        for relations in harness.model.relations.values()
        for r in relations
        if r.app.name == app.name
    ]


def _harness_contents(
    harness: Harness[Any], asked: Mapping[str, str], answer: Mapping[str, str]
) -> Dict[Optional[str], Optional[Mapping[str, str]]]:
    """The requirer's helper secret and the provider's user secret, as far as readable."""
    out: Dict[Optional[str], Optional[Mapping[str, str]]] = {}
    helper = asked.get(protocol.REQUESTED_ENTITY_SECRET, "")
    if helper:
        # the charm under test owns it; removed once answered
        with contextlib.suppress(SecretNotFoundError, ModelError):
            secret = harness.model.get_secret(id=helper)
            try:
                out[helper] = secret.get_content(refresh=True)
            except ValueError:  # ops < 2.x: an owner may not refresh (it reads the latest)
                out[helper] = secret.get_content()
    for uri, content in _HARNESS_CONTENT.get(harness, {}).items():
        out[uri] = content
    return out


def _harness_secret_api(harness: Harness[Any]) -> None:
    for name in ("add_model_secret", "grant_secret", "revoke_secret", "set_secret_content"):
        if not callable(getattr(harness, name, None)):  # pragma: no cover - ops >= 2.0 has them
            raise RuntimeError(f"this ops Harness has no {name}(): secrets need ops >= 2.0")


def harness_provider_move(
    harness: Harness[Any],
    relation_id: int,
    provider: Provider,
    client: Optional[Client] = None,
    *,
    external: bool = False,
) -> None:
    """Move the provider on ``relation_id`` to ``provider``, the way Juju would show it.

    In order: provider units removed and added (relation-departed, -joined); the provider's
    secrets created, granted or revoked (no hook: Juju runs none for a grant); its bags
    rewritten where they differ (one relation-changed per changed bag); last, each secret whose
    content changed gets a new revision (``harness.set_secret_content``: secret-changed).
    A secret keeps its id from state to state (the URI in the bag does not change on rotation).

    Harness fires secret-changed for a new revision even when the secret is not granted to
    your application (Juju would not): moving to a rotated provider while
    :data:`SECRET_NOT_GRANTED` shows that.
    """
    client = _harness_client(harness, client)
    endpoint = endpoint_of(harness, relation_id)
    asked = _asked_in(
        dict(harness.get_relation_data(relation_id, client.app)),
        shared_request(_harness_peer_bags(harness), endpoint, relation_id),
        client,
        external,
        provider,
        f"relation {relation_id} ({endpoint!r})",
    )
    relation = harness.model.get_relation(endpoint, relation_id)
    present: Set[str] = {u.name for u in relation.units} if relation is not None else set()
    wanted = provider.unit_names
    for name in sorted(present - set(wanted), key=protocol.unit_sort_key):
        harness.remove_relation_unit(relation_id, name)
    for name in sorted(set(wanted) - present, key=protocol.unit_sort_key):
        harness.add_relation_unit(relation_id, name)

    answer = dict(harness.get_relation_data(relation_id, provider.app))
    user = _requested_user(asked, answer, _harness_contents(harness, asked, answer))
    contents = provider.secret_contents(asked, relation_id, user)
    before = protocol.secret_fields(answer)
    known = _HARNESS_CONTENT.setdefault(harness, {})
    granted = provider.state == ANSWERED
    if contents:
        _harness_secret_api(harness)
    ids: Dict[str, str] = {}
    changed: Dict[str, Dict[str, str]] = {}
    for group, content in contents.items():
        uri = before.get(group, "")
        if uri not in known:
            uri = harness.add_model_secret(provider.app, dict(content))
            known[uri] = dict(content)
        elif known[uri] != content:
            changed[uri] = dict(content)
        ids[group] = uri
        if granted:
            harness.grant_secret(uri, client.app)
        else:
            harness.revoke_secret(uri, client.app)
    for uri in set(before.values()) - set(ids.values()):
        if uri in known:  # withdrawn: the requirer can no longer read it
            harness.revoke_secret(uri, client.app)

    bags = provider.databags(
        client, asked=asked, relation_id=relation_id, secret_ids=ids, requested_user=user
    )
    set_bag(harness, relation_id, provider.app, bags.app)
    for name in sorted(bags.units, key=protocol.unit_sort_key):
        set_bag(harness, relation_id, name, bags.units[name])
    for uri, content in changed.items():
        known[uri] = content
        harness.set_secret_content(uri, content)
