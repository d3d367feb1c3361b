"""The verdict a unit was last told, kept between hooks: :func:`remember`, :func:`recall`.

Juju tells a unit of every change of the provider's data with a relation-changed (or, for a
secret's content, a secret-changed) hook. Between two such hooks the verdict the client reached
in the last one still holds, and collect-status, which runs in every hook (update-status every
few minutes among them), need not read the provider's bag and secrets again to show it.

What is kept is the verdict without its connection strings (ready, why, the reasons, version,
database names, TLS flag and public CA): no password goes into StoredState. A recalled verdict
reads its ``master`` and ``standbys`` on first use, from what the provider publishes then.

It is recalled only under Juju (Harness drives one charm across events, with data changed in
between), and not when the provider's data may have changed since: the relation's own
relation-changed, secret-changed, upgrade-charm, a changed request, the provider's units
appearing or all gone, or a verdict that waited for a secret's grant (a grant runs no hook).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, cast

from .. import protocol
from ..connstr import ConnectionString
from ..protocol import Readiness, Request
from ._context import HookContext

#: hooks in which the provider's data may have changed for every relation
_FRESH_HOOKS = frozenset({"secret-changed", "upgrade-charm"})


def remember(
    readiness: Readiness, request: Optional[Request], units_present: bool
) -> Optional[Dict[str, Any]]:
    """The StoredState form of a verdict, or None when it must be judged again in each hook.

    A verdict waiting for a secret's grant is not kept: the grant runs no hook on this side.
    """
    if any(r.code == protocol.SECRET_NOT_GRANTED for r in readiness.reasons):
        return None
    return {
        "ready": readiness.ready,
        "version": readiness.version,
        "database": readiness.database,
        "databases": list(readiness.databases),
        "source": readiness.source,
        "reasons": [_reason_dict(r) for r in readiness.reasons],
        "bags": [
            {
                "bag": b.bag,
                "is_app": b.is_app,
                "master": b.publishes_master,
                "standbys": b.publishes_standbys,
                "ready": b.ready,
                "reasons": [_reason_dict(r) for r in b.reasons],
            }
            for b in readiness.bags
        ],
        "tls": readiness.tls,
        "tls_ca": readiness.tls_ca,
        "request": None if request is None else request.record(),
        "units": units_present,
    }


def recall(
    kept: Any,
    request: Optional[Request],
    units_present: bool,
    context: HookContext,
    endpoint: str,
    relation_id: int,
    load: Callable[[], Readiness],
) -> Optional[Readiness]:
    """The kept verdict if it still holds in this hook, else None (judge the relation again).

    Args:
        kept: what :func:`remember` returned in an earlier hook, as the relation's record hands
            it back (plain dicts and lists; None: nothing kept).
        request: the request as known now.
        units_present: whether the provider has units in the relation now.
        context: the running hook.
        endpoint: the relation's endpoint.
        relation_id: the relation's id.
        load: judges the relation from live data, for the connection strings.
    """
    if not isinstance(kept, Mapping) or not context.under_juju:
        return None
    if context.hook in _FRESH_HOOKS or context.is_relation_hook(endpoint, relation_id, "changed"):
        return None
    verdict = cast("Mapping[str, Any]", kept)
    now = None if request is None else request.record()
    if verdict.get("request") != now or verdict.get("units") is not units_present:
        return None
    try:
        return Recalled(verdict, load)
    except (TypeError, ValueError, KeyError, AttributeError):  # a record from another version
        return None


class Recalled(Readiness):
    """A verdict from an earlier hook; its connection strings are read on first use.

    Equal to a :class:`~pgsql.protocol.Readiness` with the same fields. A copy, a pickle or
    :func:`dataclasses.replace` of it is a plain :class:`~pgsql.protocol.Readiness` (its
    connection strings read then): what it reads them with belongs to the hook.
    """

    def __new__(cls, *args: Any, **fields: Any) -> Any:
        if fields:  # dataclasses.replace(): a new verdict from every field, a plain one
            return Readiness(**fields)
        return super().__new__(cls)

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return Readiness, _fields_of(self)

    def __init__(self, verdict: Mapping[str, Any], load: Callable[[], Readiness]):
        # Readiness is a frozen dataclass: its generated __init__ would set master and standbys
        setattr_ = object.__setattr__
        setattr_(self, "ready", bool(verdict["ready"]))
        setattr_(self, "version", _opt_str(verdict.get("version")))
        setattr_(self, "database", _opt_str(verdict.get("database")))
        setattr_(self, "databases", tuple(str(d) for d in verdict.get("databases") or ()))
        setattr_(self, "source", _opt_str(verdict.get("source")))
        setattr_(self, "reasons", _reasons(verdict.get("reasons")))
        setattr_(self, "bags", tuple(_bag(b) for b in verdict.get("bags") or ()))
        tls = verdict.get("tls")
        setattr_(self, "tls", tls if isinstance(tls, bool) else None)
        setattr_(self, "tls_ca", _opt_str(verdict.get("tls_ca")))
        setattr_(self, "_load", load)
        setattr_(self, "_live", None)

    def _connections(self) -> Tuple[Optional[ConnectionString], Tuple[ConnectionString, ...]]:
        if not self.ready:  # a verdict not ready has no connection string
            return None, ()
        live = cast("Optional[Readiness]", self.__dict__["_live"])
        if live is None:
            live = cast("Callable[[], Readiness]", self.__dict__["_load"])()
            object.__setattr__(self, "_live", live)
        return live.master, live.standbys

    @property
    def master(self) -> Optional[ConnectionString]:  # pyright: ignore[reportIncompatibleVariableOverride]
        """The master connection string, read from the provider's data when first used."""
        return self._connections()[0]

    @property
    def standbys(self) -> Tuple[ConnectionString, ...]:  # pyright: ignore[reportIncompatibleVariableOverride]
        """The standby connection strings, read from the provider's data when first used."""
        return self._connections()[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Readiness):
            return NotImplemented
        return _fields_of(self) == _fields_of(other)

    __hash__ = Readiness.__hash__


def _fields_of(r: Readiness) -> Tuple[Any, ...]:
    """What dataclass equality compares (a recalled verdict's connections read for it)."""
    return tuple(getattr(r, f.name) for f in dataclasses.fields(Readiness))


def _reason_dict(r: protocol.Reason) -> Dict[str, Any]:
    return {
        "code": r.code,
        "message": r.message,
        "bag": r.bag,
        "blocking": r.blocking,
        "advice": r.advice,
    }


def _reasons(raw: Any) -> Tuple[protocol.Reason, ...]:
    out: List[protocol.Reason] = []
    for item in cast("List[Mapping[str, Any]]", raw or ()):
        out.append(
            protocol.Reason(
                str(item["code"]),
                str(item["message"]),
                _opt_str(item.get("bag")),
                bool(item.get("blocking", True)),
                _opt_str(item.get("advice")),
            )
        )
    return tuple(out)


def _bag(raw: Mapping[str, Any]) -> protocol.BagVerdict:
    return protocol.BagVerdict(
        str(raw["bag"]),
        bool(raw["is_app"]),
        bool(raw["master"]),
        bool(raw["standbys"]),
        bool(raw["ready"]),
        _reasons(raw.get("reasons")),
    )


def _opt_str(value: Any) -> Optional[str]:
    return None if value is None else str(value)
