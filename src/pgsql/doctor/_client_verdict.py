"""The verdict for each requirer unit of a ``postgresql_client`` relation: :func:`judge_client`.

The verdict is :func:`pgsql.protocol.evaluate_client`'s, the very code the client library runs
in the charm, over the bags ``_group`` assembled. ``show-unit`` never shows a Juju secret's
content, so every secret the provider references is handed in as unreadable: the library would
say ``secret-not-granted``; the doctor says instead that the content is not visible
(:data:`~pgsql.doctor._postgresql_client.SECRET_NOT_VISIBLE`) and judges the rest (endpoints,
the database echo, the PgBouncer subordinate's state, credentials in clear). To tell whether
anything but the secrets' content keeps the unit waiting, it asks ``evaluate_client`` again with
stand-ins for the content of the ``user`` and ``tls`` secrets (whose fields are known;
``secret-extra`` may hold any field and stays unreadable): ready then is
:data:`~pgsql.doctor._judge.READY_AS_SHOWN`. The stand-ins never leave this module: the verdict
shown is the first one's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ..protocol import (
    NO_REMOTE,
    NOT_ANSWERED,
    REQUEST_UNKNOWN,
    SECRET_GROUPS,
    SECRET_NOT_GRANTED,
    SUBORDINATE_NOT_READY,
    Readiness,
    Reason,
    Request,
    evaluate_client,
    secret_fields,
    unit_sort_key,
)
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
from ._postgresql_client import SECRET_NOT_VISIBLE, wire_request

#: Stand-ins for the content of the secrets show-unit never shows, by group: credentials for
#: ``user``, nothing for ``tls`` (its fields then come from the bag, as when absent); None for
#: ``extra``, which may hold any field. Used to judge everything else, never shown.
_STAND_INS: Mapping[str, Optional[Mapping[str, str]]] = {
    "user": {"username": "doctor-stand-in-user", "password": "doctor-stand-in-password"},
    "tls": {},
}


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
        # no provider unit: not ready whatever its bag says (the client reads none then)
        explained |= blocking - ({NO_REMOTE} if shown.units_present is False else set())
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
