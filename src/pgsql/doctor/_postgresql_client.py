"""One ``postgresql_client`` relation: what it shows, and the verdict for each requirer unit.

The verdict is :func:`pgsql.protocol.evaluate_client`'s, the very code the client library runs
in the charm, over the bags ``_group`` assembled. ``show-unit`` never shows a Juju secret's
content, so every secret the provider references is handed in as unreadable: the library would
say ``secret-not-granted``; the doctor says instead that the content is not visible
(:data:`SECRET_NOT_VISIBLE`) and judges the rest (endpoints, the database echo, the PgBouncer
subordinate's state, credentials in clear). To tell whether anything but the secrets' content
keeps the unit waiting, it asks ``evaluate_client`` again with stand-ins for the content of the
``user`` and ``tls`` secrets (whose fields are known; ``secret-extra`` may hold any field and
stays unreadable): ready then is :data:`~pgsql.doctor._judge.READY_AS_SHOWN`. The stand-ins
never leave this module: the verdict shown is the first one's.

Beside the verdict the doctor reads what the library does not need: the request as written
(:class:`WireRequest`: database, roles, requested secrets, external connectivity, extensions a
charm ported from ``pgsql`` still writes), what the provider published (:class:`ProviderView`),
and findings about the relation itself (:func:`relation_findings`): a password in clear, secrets
not requested, a request format v0 providers never answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple, cast

from ..connstr import mask_value
from ..protocol import (
    MALFORMED,
    NO_REMOTE,
    NOT_ANSWERED,
    REQUEST_UNKNOWN,
    REQUESTED_SECRETS,
    SECRET_GROUPS,
    SECRET_NOT_GRANTED,
    SUBORDINATE_NOT_READY,
    Readiness,
    Reason,
    Request,
    evaluate_client,
    requirer_request,
    secret_fields,
    split_list,
    unit_sort_key,
)
from ._bags import snapshot
from ._judge import (
    CANNOT_TELL,
    NOT_READY,
    READY,
    READY_AS_SHOWN,
    REQUEST_NOT_VISIBLE,
    SERVER_APP_BAG_NOT_VISIBLE,
    SERVER_UNITS_NOT_VISIBLE,
    Context,
    UnitVerdict,
    lowest,
    request_unseen_where,
    server_units,
    server_units_present,
    visible_server_bags,
)
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
#: Stand-ins for the content of the secrets show-unit never shows, by group: credentials for
#: ``user``, nothing for ``tls`` (its fields then come from the bag, as when absent); None for
#: ``extra``, which may hold any field. Used to judge everything else, never shown.
_STAND_INS: Mapping[str, Optional[Mapping[str, str]]] = {
    "user": {"username": "doctor-stand-in-user", "password": "doctor-stand-in-password"},
    "tls": {},
}


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


# ---------------------------------------------------------------------------------------------
# The verdict for one requirer unit
# ---------------------------------------------------------------------------------------------


def _not_visible(reason: Reason) -> Reason:
    # evaluate_client's secret-not-granted, as the doctor can say it
    if reason.code != SECRET_NOT_GRANTED:
        return reason
    # the group, when the library's message names one ("the provider's user secret ...")
    named = [g for g in SECRET_GROUPS if f" {g} secret" in reason.message]
    which = f"{named[0]} secret" if len(named) == 1 else "secret"
    return replace(
        reason,
        code=SECRET_NOT_VISIBLE,
        message=f"the content of the provider's {which} is not in show-unit output",
        advice=None,
    )


def _display(readiness: Readiness) -> Readiness:
    """The verdict as reported: secret-not-granted (the doctor's own doing) renamed."""
    bags = tuple(
        replace(b, reasons=tuple(_not_visible(r) for r in b.reasons)) for b in readiness.bags
    )
    return replace(readiness, reasons=tuple(_not_visible(r) for r in readiness.reasons), bags=bags)


def _advised(reason: Reason, ctx: Context, unit: str, serving: Sequence[str]) -> Reason:
    """A protocol reason with the operator's next step, where the library has none."""
    if reason.advice is not None:
        return reason
    if reason.code == NOT_ANSWERED:
        return replace(
            reason,
            advice=f"`juju status {ctx.server}` says what the provider waits for (PostgreSQL 16 "
            "answers only once every unit has applied its configuration); then `juju "
            f"debug-log --include {ctx.server}`",
        )
    if reason.code == NO_REMOTE:
        return replace(
            reason,
            advice=f"`juju status --relations` shows {ctx.client}'s {ctx.rel.sides[ctx.client]} "
            "relation and its provider: add units to the provider again, or relate another one",
        )
    if reason.code == SUBORDINATE_NOT_READY and reason.bag == ctx.server:
        who = ", ".join(serving) if serving else f"the {ctx.server} unit on {unit}'s machine"
        return replace(
            reason,
            advice=f"{who} must write state: ready in its unit databag once its PgBouncer "
            f"serves {unit}; `juju status {ctx.server}` says why it does not",
        )
    return reason


@dataclass(frozen=True)
class _Shown:
    """What the input shows of a requirer unit's relation: :func:`evaluate_client`'s arguments."""

    server: str
    request: Optional[Request]
    app_bag: Optional[Dict[str, str]]
    unit_bags: Dict[str, Dict[str, str]]
    refs: Dict[str, str]  # the secrets the provider references, by group
    # as the charm: the provider's bag outlives its units (scaled to zero)
    units_present: Optional[bool]

    def evaluate(self, secrets: Mapping[str, Optional[Mapping[str, str]]]) -> Readiness:
        return evaluate_client(
            self.request,
            self.app_bag or {},
            self.unit_bags,
            secrets,
            remote_app=self.server,
            units_present=self.units_present,
        )


def _shown(ctx: Context, unit: str) -> _Shown:
    wire = wire_request(ctx)
    app_bag = ctx.asm.app_bags.get(ctx.server)
    return _Shown(
        ctx.server,
        wire.request if wire is not None else None,
        app_bag,
        visible_server_bags(ctx, unit),
        secret_fields(app_bag or {}),
        server_units_present(ctx),
    )


def judge_client(ctx: Context, unit: str, juju_hint: str) -> UnitVerdict:
    """The doctor's verdict for requirer ``unit``: :func:`~pgsql.protocol.evaluate_client`'s.

    Secrets the provider references are passed as unreadable (show-unit never shows their
    content), then, to judge the rest, with stand-ins for the content of the ``user`` and
    ``tls`` secrets: a unit held back only by the secrets is ``ready as far as show-unit shows``
    when ``evaluate_client`` finds it ready with the stand-ins, ``not ready`` when the
    stand-ins show another reason (no credentials anywhere), else ``cannot tell``; one held
    back by data missing from the input is ``cannot tell``.
    """
    shown = _shown(ctx, unit)
    readiness = shown.evaluate(dict.fromkeys(shown.refs.values()))
    blocking = {r.code for r in readiness.reasons if r.blocking}
    subordinated = (shown.app_bag or {}).get("subordinated", "").strip().lower() == "true"
    # a subordinate PgBouncer unit serves only the unit it sits beside
    serving = sorted(shown.unit_bags, key=unit_sort_key) if subordinated else []
    unknown, explained = _input_gaps(ctx, unit, juju_hint, shown, subordinated, blocking)
    missing_input = bool(unknown)
    ready_as_shown = False
    # what only the stand-ins let evaluate_client see: no credentials at all, say
    unseen: List[Reason] = []
    if shown.refs:
        explained.add(SECRET_NOT_GRANTED)
        ready_as_shown, unseen, note = _behind_secrets(
            ctx, unit, shown, blocking, explained, missing_input
        )
        unknown.append(note)
    reasons = [
        _advised(r, ctx, unit, serving)
        for r in readiness.reasons
        if r.code != SECRET_NOT_GRANTED
        and not (r.code == REQUEST_UNKNOWN and shown.request is None)
    ]
    revealed = bool(unseen) and not missing_input
    verdict = _client_verdict(
        readiness.ready, bool(unknown), ready_as_shown, blocking <= explained, revealed
    )
    if verdict == NOT_READY:
        reasons += [_advised(r, ctx, unit, serving) for r in unseen]
    run: List[str] = []
    if verdict in (CANNOT_TELL, READY_AS_SHOWN):
        reasons = unknown + [r for r in reasons if not (r.blocking and r.code in explained)]
        if missing_input and shown.units_present is not False:  # else no provider unit to show
            any_server_unit = lowest(serving or server_units(ctx)) or f"{ctx.server}/0"
            run.append(
                f"juju show-unit {unit} {any_server_unit} --format json | pgsql doctor{juju_hint}"
            )
    else:
        reasons.extend(unknown)
    return UnitVerdict(unit, verdict, _display(readiness), reasons, None, None, run)


def _client_verdict(
    ready: bool, unknown: bool, ready_as_shown: bool, all_explained: bool, revealed: bool
) -> str:
    """The verdict: what ``evaluate_client`` found, weighed by what the input cannot show.

    ``unknown``: something is not visible; ``all_explained``: every blocking reason is explained
    by what the input lacks; ``revealed``: the input lacks nothing but the secrets' content, and
    the stand-ins for it revealed another blocking reason.
    """
    if ready:
        return CANNOT_TELL if unknown else READY
    if ready_as_shown:
        return READY_AS_SHOWN
    if unknown and all_explained and not revealed:
        return CANNOT_TELL
    return NOT_READY


def _input_gaps(
    ctx: Context,
    unit: str,
    juju_hint: str,
    shown: _Shown,
    subordinated: bool,
    blocking: Set[str],
) -> Tuple[List[Reason], Set[str]]:
    """What the input lacks to judge ``unit``, and the blocking codes that lack explains."""
    unknown: List[Reason] = []
    explained: Set[str] = set()
    if shown.app_bag is None:
        explained |= blocking
        unknown.append(
            Reason(
                SERVER_APP_BAG_NOT_VISIBLE,
                f"{ctx.server}'s application databag, where a postgresql_client provider "
                "answers, is not in this input",
                blocking=False,
                advice=f"run `juju show-unit {unit}` too"
                + ("" if juju_hint else " and pass --juju-version"),
            )
        )
    if shown.request is None:
        where, advice = request_unseen_where(ctx, shown.units_present)
        unknown.append(
            Reason(
                REQUEST_NOT_VISIBLE,
                f"what {ctx.client} requested is not in this input (its application databag "
                f"shows only in {where}), so the database echo and a changed request cannot be "
                "checked",
                blocking=False,
                advice=advice,
            )
        )
    if subordinated and not shown.unit_bags:
        explained.add(SUBORDINATE_NOT_READY)
        unknown.append(
            Reason(
                SERVER_UNITS_NOT_VISIBLE,
                f"{ctx.server} is a subordinate, ready for {unit} once the {ctx.server} unit "
                f"serving it says state: ready; its unit databags are not in this input (Juju "
                f"shows them only in {ctx.client}'s show-unit)",
                blocking=False,
                advice=f"run `juju show-unit {unit}` too",
            )
        )
    return unknown, explained


def _behind_secrets(
    ctx: Context,
    unit: str,
    shown: _Shown,
    blocking: Set[str],
    explained: Set[str],
    missing_input: bool,
) -> Tuple[bool, List[Reason], Reason]:
    """What holds ``unit`` back besides the secrets' content, which show-unit never shows.

    ``evaluate_client`` again, the content stood in for. Returns whether the unit is ready as
    far as the input shows, the blocking reasons only the stand-ins let it see, and the note on
    the secrets.
    """
    stand_in = shown.evaluate({uri: _STAND_INS.get(group) for group, uri in shown.refs.items()})
    ready_as_shown = stand_in.ready and not missing_input
    unseen = [
        r
        for r in stand_in.reasons
        if r.blocking and r.code not in explained and r.code not in blocking
    ]
    rest_ok = not unseen and blocking <= explained
    return ready_as_shown, unseen, _secrets_unseen(ctx, unit, shown.refs, ready_as_shown, rest_ok)


def _secrets_unseen(
    ctx: Context, unit: str, refs: Mapping[str, str], ready_as_shown: bool, rest_ok: bool
) -> Reason:
    """The note on the secrets' content, which no ``show-unit`` output shows."""
    groups = ", ".join(f"secret-{g}" for g in sorted(refs))
    show = f"`juju show-secret {refs.get('user') or next(iter(refs.values()))}`"
    if ready_as_shown:
        message = (
            f"{ctx.server} keeps the credentials in Juju secrets ({groups}), whose content "
            "show-unit never shows; everything else in this input is ready (judged with "
            f"stand-ins for that content): {unit} is ready once it can read them (the provider "
            "grants them to the relation)"
        )
        advice = (
            f"if {unit} still waits, the secrets are why: its workload status and `juju "
            f"debug-log --include {unit}` (permission denied until the grant) say so; {show} in "
            f"{ctx.server}'s model shows the secret (with --reveal, for model admins, its "
            "content: the password in clear)"
        )
    else:
        message = (
            f"{ctx.server} keeps the credentials in Juju secrets ({groups}); show-unit never "
            f"shows a secret's content, so whether {unit} can read them (the provider grants "
            "them to the relation) cannot be told from here"
            + ("; nothing else in this input keeps it from being ready" if rest_ok else "")
        )
        advice = (
            f"{unit}'s workload status, and `juju debug-log --include {unit}` (permission "
            f"denied until the grant), tell whether it read them; {show} in the provider's "
            "model shows the secret without its content"
        )
    return Reason(SECRET_NOT_VISIBLE, message, blocking=False, advice=advice)
