"""One ``postgresql_client`` relation: what it shows (the request, the provider's answer, findings).

The verdict for each requirer unit is ``_client_verdict``'s. Beside it the doctor reads what the
library does not need: the request as written (:class:`WireRequest`: database, roles, requested
secrets, external connectivity, extensions a charm ported from ``pgsql`` still writes), what the
provider published (:class:`ProviderView`), and findings about the relation itself
(:func:`relation_findings`): a password in clear, secrets not requested, a request format v0
providers never answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, cast

from ..connstr import mask_value
from ..protocol import (
    MALFORMED,
    REQUESTED_SECRETS,
    SECRET_GROUPS,
    Reason,
    Request,
    requirer_request,
    secret_fields,
    split_list,
    unit_sort_key,
)
from ._bags import snapshot
from ._judge import (
    Context,
)
from ._pg16 import pg16_findings
from ._read import app_of

# Doctor-only reason codes of this interface.
SECRET_NOT_VISIBLE = "secret-not-visible"  # noqa: S105 (a reason code)
PLAINTEXT_PASSWORD = "plaintext-password"  # noqa: S105 (a reason code)
SECRETS_NOT_REQUESTED = "secrets-not-requested"
LIKELY_V1_REQUEST = "likely-v1-request"

#: Fields that hold a password when published in clear.
_PASSWORD_FIELDS = ("password", "uris", "read-only-uris")
#: Keys of the v1 request format (``dpcharmlibs-interfaces``), which v0 providers ignore.
_V1_KEYS = ("version", "requests")


# ---------------------------------------------------------------------------------------------
# What the relation shows
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WireRequest:
    """What the requirer application wrote in its bag.

    Attributes:
        request: ``database`` and ``extra-user-roles`` as :func:`pgsql.protocol.requirer_request`
            reads them, with the ``extensions`` the requirer's data shows (not part of this
            interface: a charm ported from ``pgsql`` may still write them).
        requested_secrets: the fields listed in ``requested-secrets``; None when the key is
            absent or unreadable.
        requested_secrets_malformed: the key is there but is not a JSON list of field names.
        external: ``external-node-connectivity`` is ``"true"``.
        v1: the bag has keys of the v1 request format, which v0 providers do not answer.
        source: where it was read (``myapp's application databag``).
    """

    request: Request
    requested_secrets: Optional[Tuple[str, ...]]
    requested_secrets_malformed: bool
    external: bool
    v1: bool
    source: str

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready (values masked by the caller)."""
        return {
            "database": self.request.database or None,
            "extra-user-roles": list(self.request.roles),
            "requested-secrets": (
                list(self.requested_secrets) if self.requested_secrets is not None else None
            ),
            "requested-secrets-malformed": self.requested_secrets_malformed,
            "external-node-connectivity": self.external,
            "extensions": list(self.request.extensions),
            "v1-format": self.v1,
        }


def read_wire_request(bag: Mapping[str, str], source: str) -> WireRequest:
    """Read a requirer application bag (leniently: remote data never raises)."""
    base = requirer_request(bag)
    extensions = tuple(sorted(set(split_list(bag.get("extensions")))))
    raw = bag.get("requested-secrets", "").strip()
    listed: Optional[Tuple[str, ...]] = None
    malformed = False
    if raw:
        try:
            loaded: object = json.loads(raw)
        except ValueError:
            loaded = None
        if isinstance(loaded, list) and all(isinstance(x, str) for x in cast(List[object], loaded)):
            listed = tuple(cast(List[str], loaded))
        else:
            malformed = True
    return WireRequest(
        replace(base, extensions=extensions),
        listed,
        malformed,
        bag.get("external-node-connectivity", "").strip().lower() == "true",
        any(bag.get(k, "").strip() for k in _V1_KEYS),
        source,
    )


def wire_request(ctx: Context) -> Optional[WireRequest]:
    """The request in the requirer's application bag, None when that bag is not in the input."""
    bag = ctx.asm.app_bags.get(ctx.client)
    if bag is None:
        return None
    return read_wire_request(bag, f"{ctx.client}'s application databag")


def password_fields(bag: Mapping[str, str]) -> List[str]:
    """The fields of a bag that hold a password in clear: ``password``, a password in a URI."""
    out: List[str] = []
    for field in _PASSWORD_FIELDS:
        value = bag.get(field, "").strip()
        if value and (field == "password" or mask_value(value) != value):
            out.append(field)
    return out


@dataclass(frozen=True)
class ProviderView:
    """What the provider published, as the report shows it (no secret in it).

    Attributes:
        visible: the provider's application bag is in the input.
        endpoints: the ``endpoints`` entries (the provider has answered when there is one).
        read_only_endpoints: the ``read-only-endpoints`` entries.
        database: the database echo.
        version: the PostgreSQL version published.
        subordinated: ``subordinated: "true"`` (the PgBouncer VM subordinate).
        secrets: the secret URI of each group the bag references (``user``, ``tls``, ...).
        in_clear: the credential fields published in the bag itself.
        with_password: those of them that hold a password.
        snapshot: the provider's ``data`` snapshot of the request (its request keys), when
            readable.
        unit_states: each visible provider unit's ``state`` ("" when it says none).
    """

    visible: bool
    endpoints: Tuple[str, ...] = ()
    read_only_endpoints: Tuple[str, ...] = ()
    database: Optional[str] = None
    version: Optional[str] = None
    subordinated: bool = False
    secrets: Tuple[Tuple[str, str], ...] = ()
    in_clear: Tuple[str, ...] = ()
    with_password: Tuple[str, ...] = ()
    snapshot: Optional[Tuple[Tuple[str, str], ...]] = None
    unit_states: Tuple[Tuple[str, str], ...] = ()

    @property
    def answered(self) -> bool:
        """The provider has published ``endpoints``."""
        return bool(self.endpoints)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready (values masked by the caller)."""
        return {
            "visible": self.visible,
            "answered": self.answered,
            "endpoints": list(self.endpoints),
            "read-only-endpoints": list(self.read_only_endpoints),
            "database": self.database,
            "version": self.version,
            "subordinated": self.subordinated,
            "secrets": dict(self.secrets),
            "in-clear": list(self.in_clear),
            "password-in-clear": list(self.with_password),
            "request-snapshot": dict(self.snapshot) if self.snapshot is not None else None,
            "unit-states": dict(self.unit_states),
        }


_SNAPSHOT_KEYS = ("database", "extra-user-roles", "external-node-connectivity", "extensions")


def provider_view(ctx: Context) -> ProviderView:
    """What ``ctx.server``'s bags show."""
    bag = ctx.asm.app_bags.get(ctx.server)
    names = sorted((u for u in ctx.asm.unit_bags if app_of(u) == ctx.server), key=unit_sort_key)
    states = tuple((u, ctx.asm.unit_bags[u].get("state", "").strip()) for u in names)
    if bag is None:
        return ProviderView(False, unit_states=states)
    snap = snapshot(bag.get("data"))
    credential_fields = [f for fields in SECRET_GROUPS.values() for f in fields]
    return ProviderView(
        True,
        tuple(split_list(bag.get("endpoints"))),
        tuple(split_list(bag.get("read-only-endpoints"))),
        bag.get("database", "").strip() or None,
        bag.get("version", "").strip() or None,
        bag.get("subordinated", "").strip().lower() == "true",
        tuple(sorted(secret_fields(bag).items())),
        tuple(f for f in credential_fields if bag.get(f, "").strip()),
        tuple(password_fields(bag)),
        (tuple((k, snap[k]) for k in _SNAPSHOT_KEYS if k in snap) if snap is not None else None),
        states,
    )


def relation_findings(
    ctx: Context, wire: Optional[WireRequest], provider: ProviderView
) -> List[Reason]:
    """Findings about the relation itself, whichever unit is examined (never blocking)."""
    out: List[Reason] = []
    copies = [
        u
        for u, b in sorted(ctx.asm.unit_bags.items(), key=lambda kv: unit_sort_key(kv[0]))
        if app_of(u) == ctx.client and password_fields(snapshot(b.get("data")) or {})
    ]
    if provider.with_password or copies:
        out.append(_plaintext(ctx, wire, provider, copies))
    elif wire is not None and not provider.answered and not _v1_only(wire):
        missing = _unlisted(wire)
        if wire.requested_secrets is None and not wire.requested_secrets_malformed:
            out.append(
                Reason(
                    SECRETS_NOT_REQUESTED,
                    f"{ctx.client} requests no secrets (no requested-secrets): the provider will "
                    "publish the password in clear in its application databag",
                    ctx.client,
                    blocking=False,
                    advice=_LIST_THEM + " (Juju >= 3.0.3)",
                )
            )
        elif missing and not wire.requested_secrets_malformed:
            out.append(
                Reason(
                    SECRETS_NOT_REQUESTED,
                    f"requested-secrets does not list {', '.join(missing)}: the provider will "
                    f"publish {'it' if len(missing) == 1 else 'them'} in clear, password included",
                    ctx.client,
                    blocking=False,
                    advice=_LIST_THEM,
                )
            )
    client_bag = ctx.asm.app_bags.get(ctx.client)
    if client_bag is not None:  # prefix requests, a requested user, names PostgreSQL 16 refuses
        out += pg16_findings(ctx.client, client_bag, ctx.asm.app_bags.get(ctx.server))
    if wire is not None and wire.requested_secrets_malformed:
        out.append(
            Reason(
                MALFORMED,
                "requested-secrets is not a JSON list of field names: providers cannot read "
                "which fields to put in secrets",
                ctx.client,
                blocking=False,
                advice=f"write it as {json.dumps(list(REQUESTED_SECRETS))}",
            )
        )
    if wire is not None and wire.v1 and not provider.answered:
        out.append(
            Reason(
                LIKELY_V1_REQUEST,
                f"likely cause: {ctx.client} writes the v1 request format (version, requests); "
                "PostgreSQL and PgBouncer charms speak v0 of this interface and never answer it",
                ctx.client,
                blocking=False,
                advice="use a v0 requirer (data_interfaces v0, or this library): database, "
                "extra-user-roles and requested-secrets in the application databag",
            )
        )
    return out


_LIST_THEM = (
    "list every credential field in requested-secrets ("
    + ", ".join(REQUESTED_SECRETS)
    + "; this library always does) so that the provider puts them in a Juju secret"
)
_STAYS = (
    "a relation that started in plaintext stays so: once the request lists them, remove the "
    "relation and relate again"
)


def _v1_only(wire: WireRequest) -> bool:
    # a v0 provider acts on `database` only: a v1 request without it is never answered, so
    # nothing will be published, in clear or not (likely-v1-request says why)
    return wire.v1 and not wire.request.database


def _unlisted(wire: WireRequest) -> List[str]:
    listed = set(wire.requested_secrets or ())
    return [f for f in _PASSWORD_FIELDS if f not in listed]


def _plaintext(
    ctx: Context, wire: Optional[WireRequest], provider: ProviderView, copies: Sequence[str]
) -> Reason:
    where: List[str] = []
    if provider.with_password:
        where.append(f"{ctx.server}'s application databag ({', '.join(provider.with_password)})")
    if copies:
        of = "it" if where else f"{ctx.server}'s application databag"
        where.append(
            f"the data snapshot data_interfaces keeps of {of} in {', '.join(copies)}'s databag"
            + ("s" if len(copies) > 1 else "")
        )
    message = (
        f"a password is in clear in {' and in '.join(where)}: whoever can run `juju show-unit` "
        "reads it (this report hides it)"
    )
    fields = list(provider.with_password) or list(_PASSWORD_FIELDS)
    if wire is None:
        advice = f"{_LIST_THEM}; {_STAYS}"
    elif wire.requested_secrets is None:
        advice = (
            f"{ctx.client} requests no secrets (no requested-secrets, as data_interfaces does on "
            f"Juju < 3.0.3, which has no secrets): {_LIST_THEM}, on Juju >= 3.0.3; {_STAYS}"
        )
    elif any(f not in wire.requested_secrets for f in fields):
        missing = [f for f in fields if f not in wire.requested_secrets]
        advice = (
            f"requested-secrets does not list {', '.join(missing)}: listing "
            f"{'it' if len(missing) == 1 else 'them'} avoids it; {_STAYS}"
        )
    else:
        advice = (
            "requested-secrets lists them, yet they are in clear: Juju older than 3.0.3, a "
            "provider older than data_interfaces LIBPATCH 18, or a relation that started in "
            f"plaintext; upgrade, then remove the relation and relate again ({_STAYS})"
        )
    return Reason(PLAINTEXT_PASSWORD, message, ctx.server, blocking=False, advice=advice)
