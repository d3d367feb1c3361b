"""The ``postgresql_client`` interface, requires side: :class:`PostgresqlClientWire`.

v0 of the data_interfaces protocol: the leader publishes the request in its application bag;
the provider answers in its application bag (unit bags only behind a subordinate PgBouncer),
with credentials in Juju secrets or, on providers without secrets, in the bag.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional, cast

import ops.model
from ops.model import Application, Relation

from .. import protocol
from ..protocol import Request
from ._records import write_request_keys
from ._wire import Wire

if TYPE_CHECKING:  # pragma: no cover - loaded with a relation's first evaluation
    from ..protocol import Readiness

# What a postgresql_client requirer writes (its application bag only)
_REQUIRER_KEYS = (
    "database",
    "extra-user-roles",
    "requested-secrets",
    "external-node-connectivity",
    protocol.REQUESTED_ENTITY_SECRET,
)


class PostgresqlClientWire(Wire):
    """``postgresql_client``: :func:`pgsql.protocol.evaluate_client` over the provider's bag.

    ``external`` (the application runs outside the model's network) is published as
    ``external-node-connectivity``.
    """

    interface = "postgresql_client"
    hooks = frozenset({"secret-changed"})
    leader_only = True
    rereads_under_harness = True
    verdict_lasts = True

    def own_request(self, app_bag: Mapping[str, str]) -> Request:
        return protocol.requirer_request(app_bag)

    def readiness(self, relation: Relation, request: Optional[Request]) -> Readiness:
        """The provider's application bag, read live (one relation-get).

        Nothing of it is kept: the bag may hold credentials (plaintext providers) and Juju
        hands it to every hook anyway. Unit bags matter only behind a subordinate PgBouncer.
        The content of the TLS secret (a flag and a public CA) is kept, with its id: it is read
        again only when the provider references another secret or rotates this one.
        """
        host = self.host
        rel_app = cast("Optional[Application]", relation.app)
        rec = host.record(relation.id)
        if not relation.units and not rec.get("sub"):
            # No provider unit (none joined yet, scaled to zero): not ready whatever its bag
            # says, and nothing read (a subordinate's unit bags are judged as they go)
            return protocol.evaluate_client(
                request,
                {},
                {},
                {},
                remote_app=rel_app.name if rel_app is not None else None,
                units_present=False,
            )
        app_bag: Dict[str, str] = dict(relation.data[rel_app]) if rel_app is not None else {}
        unit_bags: Dict[str, Dict[str, str]] = {}
        subordinated = app_bag.get("subordinated", "").strip().lower() == "true"
        if subordinated:
            unit_bags = {u.name: dict(relation.data[u]) for u in relation.units}
        if bool(rec.get("sub")) != subordinated:
            rec["sub"] = subordinated  # departed hooks matter only behind a subordinate
        refs = protocol.secret_fields(app_bag)
        secrets: Dict[str, Optional[Dict[str, str]]] = {}
        for group, uri in refs.items():
            key = protocol.secret_id(uri)
            kept = cast("Dict[str, Any]", rec.get("tls") or {})
            if (
                group == "tls"
                and key not in host.secrets
                and key != host.context.secret_id  # its secret-changed: the new revision
                and kept.get("id") == key
                and isinstance(kept.get("content"), dict)
            ):
                secrets[uri] = cast("Dict[str, str]", kept["content"])
                continue
            secrets[uri] = content = self._secret(uri)
            if group == "tls" and content is not None:
                # the flag and the (public) CA only: a provider may put more in that secret
                kept_fields = {k: str(content[k]) for k in ("tls", "tls-ca") if k in content}
                rec["tls"] = {"id": key, "content": kept_fields}
        host.put(relation.id, rec)
        return protocol.evaluate_client(
            request,
            app_bag,
            unit_bags,
            secrets,
            remote_app=rel_app.name if rel_app is not None else None,
            units_present=bool(relation.units),
        )

    def _secret(self, uri: str) -> Optional[Dict[str, str]]:
        """A provider secret's content, read at most once per hook; None when not readable.

        The revision this unit tracks: secret-changed (:meth:`follow_secret`) moves it to the
        latest one.
        """
        host = self.host
        key = protocol.secret_id(uri)
        if key in host.secrets:
            return host.secrets[key]
        content: Optional[Dict[str, str]]
        try:
            if not host.handled() and host.context.secret_id == key:
                # secret-changed for it, read before our handler (a deferred event re-run
                # first): see the new revision, as the handler will
                content = self._refreshed(uri)
            else:
                content = dict(host.model.get_secret(id=uri).get_content())
        except (ops.model.SecretNotFoundError, ops.model.ModelError) as e:
            # not granted yet ("permission denied"), or removed: not ready, not an error
            host.log.debug("secret %s not readable: %s", key, type(e).__name__)
            content = None
        host.secrets[key] = content
        return content

    def _refreshed(self, uri: str) -> Dict[str, str]:
        """The latest revision of a secret, now tracked: one ``secret-get --refresh``.

        ``Model.get_secret`` reads the tracked revision first (a second call); ops builds the
        secret of a secret-changed event the same lazy way as here.
        """
        model = self.host.model
        backend = getattr(model, "_backend", None)
        try:
            secret = ops.model.Secret(backend, id=uri)  # pyright: ignore[reportArgumentType]
        except TypeError:  # pragma: no cover - an ops whose Secret takes other arguments
            secret = model.get_secret(id=uri)
        return dict(secret.get_content(refresh=True))

    def follow_secret(self, relation: Relation, secret: ops.model.Secret, key: str) -> bool:
        """A provider rotated a password or CA inside its secret: read the new revision."""
        host = self.host
        rel_app = cast("Optional[Application]", relation.app)
        if rel_app is None:
            return False
        uris = protocol.secret_fields(relation.data[rel_app]).values()
        if not key or key not in {protocol.secret_id(u) for u in uris}:
            return False
        if key not in host.secrets:
            try:
                host.secrets[key] = dict(secret.get_content(refresh=True))
            except (ops.model.SecretNotFoundError, ops.model.ModelError) as e:
                host.log.debug("secret %s not readable: %s", key, type(e).__name__)
                host.secrets[key] = None
        return True

    def echoed_request(self, relation: Relation) -> Optional[Request]:
        """The request as the provider snapshotted it (``data``), if any.

        What a non-leader knows of the request once the provider answered when nothing else
        tells it (no peer relation, no leadership settings: Juju 4), from the provider's bag,
        which is read in that hook anyway.
        """
        rel_app = cast("Optional[Application]", relation.app)
        raw = relation.data[rel_app].get("data", "") if rel_app is not None else ""
        try:
            loaded: object = json.loads(raw) if raw.strip() else None
        except ValueError:
            return None
        if not isinstance(loaded, dict):
            return None
        snapshot = {str(k): v for k, v in cast("Dict[object, object]", loaded).items()}
        bag = {k: v for k, v in snapshot.items() if isinstance(v, str)}
        request = protocol.requirer_request(bag)
        return request if request.database else None

    def departure_matters(self, rec: Dict[str, Any], relation: Relation) -> bool:
        """Only behind a subordinate, before the first verdict, or when it was the last unit.

        The provider answers in its application bag: any other leaving unit changes nothing.
        """
        return bool(rec.get("sub")) or rec.get("snap") is None or not relation.units

    def check(self, request: Request) -> None:
        """A requested user name travels in a Juju secret: refused on a Juju without them."""
        if request.username:
            from . import _entity  # a user name's helper secret: loaded when one is asked

            _entity.check_juju(self.host.model, request)

    def settle(self, relation: Relation, readiness: Readiness, declared: Request) -> None:
        """The provider answered a requested user name: its helper secret goes."""
        if declared.username and readiness.bags and readiness.bags[0].publishes_master:
            from . import _entity

            host = self.host
            rec = host.record(relation.id)
            if _entity.settle(host.model, relation, declared, rec):
                host.put(relation.id, rec)

    def forget(self, relation: Relation, request: Request) -> None:
        """Only the owner (the leader) removes its requested-entity helper secret."""
        host = self.host
        if request.username and host.model.unit.is_leader():
            from . import _entity

            rec = host.record(relation.id)
            _entity.remove(host.model, relation.id, rec, request.username)
            host.put(relation.id, rec)

    def publish(self, relation: Relation, request: Optional[Request], app_too: bool) -> None:
        self.host.state.was_leader = True
        if request is not None and self._publish(relation, request):
            self.host.share(relation.id, request)

    def write_request(self, relation: Relation, request: Request) -> None:
        self._publish(relation, request)
        self.host.share(relation.id, request)

    def _publish(self, relation: Relation, request: Request) -> bool:
        """The leader's application bag says ``request`` (True: it wrote).

        Nothing is written before a database name is known: providers act on the first
        ``database`` they see and never on a changed one.
        """
        host = self.host
        if not request.database:
            return False  # readiness() tells why (no database requested yet), in every hook
        asked = protocol.requirer_databag(request, external=self.external)
        if request.username:  # in the record only: the name goes in a secret
            asked["username"] = request.username
        rec = host.record(relation.id)
        if rec.get("pub_app") == asked:
            return False
        bag = relation.data[host.model.app]
        want = asked
        theirs: Mapping[str, str] = {}
        entity = bool(request.username) or protocol.REQUESTED_ENTITY_SECRET in bag
        if entity or "extra-user-roles" in bag or "extra-user-roles" in want:
            rel_app = cast("Optional[Application]", relation.app)
            theirs = relation.data[rel_app] if rel_app is not None else {}
        answered = bool(theirs.get("endpoints") or theirs.get("data"))
        if entity:
            from . import _entity

            keys = _entity.entity_keys(host.model, relation, request, bag, answered, rec)
            want = {**want, **keys}
        if answered and ("extra-user-roles" in bag or "extra-user-roles" in want):
            # PostgreSQL's hook fails on roles changed after it answered: keep those it
            # acted on (readiness says request-changed)
            want = {k: v for k, v in want.items() if k != "extra-user-roles"}
            if bag.get("extra-user-roles"):
                want["extra-user-roles"] = bag["extra-user-roles"]
        write_request_keys(bag, want, _REQUIRER_KEYS)
        rec["pub_app"] = asked  # decided for this request: not looked at again
        host.put(relation.id, rec)
        return True
