"""What the client keeps between hooks: its per-relation records and the server-bag cache.

Plain data in StoredState: which relations were told ``database_relation_joined``, the digest of
what the charm was last told (:class:`pgsql.protocol.Snapshot`), the request learnt, and a copy
of the server's protocol keys so a hook reads only the bag Juju says changed. Also the small
request helpers shared by the client and the 1.x compatibility layer.
"""

from __future__ import annotations

from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    MutableMapping,
    Optional,
    Sequence,
    cast,
)

import ops.model
from ops.model import Application, Relation, Unit

from .. import protocol
from ..connstr import ConnectionString, ConnectionStringError
from ..protocol import Request
from ._context import HookContext

if TYPE_CHECKING:  # pragma: no cover - loaded with a relation's first evaluation
    from ..protocol import Readiness, Snapshot

#: Reason code of a relation that is being torn down (relation-broken).
RELATION_BROKEN = "relation-broken"

# Only these server keys matter to the protocol; the rest (host, port, user, password...) is
# neither cached nor compared.
REMOTE_KEYS = frozenset(
    {*protocol.REQUEST_KEYS, "allowed-subnets", "allowed-units", "master", "standbys", "version"}
    | {"state"}
)
ACCESS_CODES = frozenset({protocol.EGRESS_NOT_ALLOWED, protocol.UNIT_NOT_ALLOWED})
RECORD_VERSION = 2
GONE_KEPT = 16  # removed relations remembered for events deferred past their removal

Bag = Dict[str, str]


def leader_entry(data: Mapping[Any, Mapping[str, str]], relid: int) -> Optional[Mapping[str, str]]:
    entry = data.get(relid)
    if entry is None:
        entry = data.get(str(relid))
    return entry


def shared_form(request: Request) -> Dict[str, str]:
    """A request as 1.x stored it in leadership settings (every key, empty when not requested)."""
    bag = request.databag()
    return {k: bag.get(k, "") for k in protocol.REQUEST_KEYS}


# ---------------------------------------------------------------------------------------------
# Stored records
# ---------------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A StoredState value as plain dicts and lists (a copy; safe to compare and edit)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in cast("Mapping[Any, Any]", value).items()}
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__"):
        return [plain(v) for v in cast("Iterable[Any]", value)]
    return value


def refresh_changed(relation: Relation, remote: Dict[str, Any], unit: Optional[Unit]) -> None:
    """Update the cached server bags for a relation-changed naming ``unit`` (or none).

    Juju fires relation-changed naming a unit when that unit's bag changed, and naming none when
    only the application bag did. Test runners (Scenario) name a unit either way, so the app bag
    is also re-read when the named unit's bag did not change (the change must be elsewhere), and
    whenever this server is known to write its app bag (so a withdrawal is never missed). With
    servers that write unit bags only, a real change costs no extra relation-get.
    """
    unit_changed = False
    if unit is not None:
        units = cast("Dict[str, Bag]", remote["units"])
        fresh = filter_bag(relation.data[unit])
        unit_changed = units.get(unit.name) != fresh
        units[unit.name] = fresh
    if not unit_changed or remote.get("app"):
        rel_app = cast("Optional[Application]", relation.app)  # None when broken
        if rel_app is not None:
            remote["app"] = filter_bag(relation.data[rel_app])


def read_remote(relation: Relation) -> Dict[str, Any]:
    """The server's protocol keys, every bag read once: the cache a relation starts with."""
    units = {u.name: filter_bag(relation.data[u]) for u in relation.units}
    app = cast("Optional[Application]", relation.app)
    app_bag = filter_bag(relation.data[app]) if app is not None else {}
    return {"app": app_bag, "units": units, "name": app.name if app else ""}


def catch_up(
    context: HookContext,
    model: ops.model.Model,
    endpoint: str,
    relation: Relation,
    remote: Dict[str, Any],
) -> None:
    """Fold into the cache what the running hook brings, before the client's handler runs.

    ops re-runs deferred events before the hook's own event: a deferred event read then must
    see the data this hook delivers, not the previous hook's. Juju names the hook, relation and
    remote unit in the environment (:class:`HookContext`).
    """
    units = cast("Dict[str, Bag]", remote["units"])
    name = context.remote_unit
    if context.is_relation_hook(endpoint, relation.id, "changed"):
        refresh_changed(relation, remote, model.get_unit(name) if name else None)
    elif (
        context.is_relation_hook(endpoint, relation.id, "departed")
        and name
        and context.departing_unit != model.unit.name
    ):
        units.pop(name, None)


def filter_bag(bag: Mapping[str, str]) -> Bag:
    return {k: v for k, v in bag.items() if k in REMOTE_KEYS}


def snapshot_of_raw(master: object, standbys: object) -> Snapshot:
    """The snapshot 1.x would have produced, from the raw strings 1.x kept in StoredState."""
    cs_master: Optional[ConnectionString] = None
    if isinstance(master, str) and master.strip():
        try:
            cs_master = ConnectionString(master)
        except ConnectionStringError:
            cs_master = None
    raw_standbys: List[str] = []
    if isinstance(standbys, (list, tuple)):
        for s in cast("Sequence[object]", standbys):
            if isinstance(s, str):
                raw_standbys.extend(protocol.split_standbys(s))
    parsed: List[ConnectionString] = []
    for s in raw_standbys:
        try:
            cs = ConnectionString(s)
        except ConnectionStringError:
            continue
        if cs not in parsed:
            parsed.append(cs)
    return protocol.Readiness(
        ready=cs_master is not None, master=cs_master, standbys=tuple(parsed)
    ).snapshot()


def migrate(raw: Any) -> Dict[str, Any]:
    """A stored record in the current format; 1.x records (raw strings) become digests."""
    rec = plain(raw)
    if not isinstance(rec, dict):
        return {"v": RECORD_VERSION}
    rec = cast("Dict[str, Any]", rec)
    if rec.get("v") == RECORD_VERSION:
        return rec
    # 1.x: {"master": raw conn str or None, "standbys": [raw...] or None}, created at -joined
    snap = snapshot_of_raw(rec.get("master"), rec.get("standbys"))
    return {"v": RECORD_VERSION, "joined": True, "snap": snap.to_dict()}


def broken_readiness() -> Readiness:
    return protocol.Readiness(
        ready=False,
        reasons=(protocol.Reason(RELATION_BROKEN, "the relation is being removed"),),
    )


def write_request_keys(
    bag: MutableMapping[str, str],
    want: Mapping[str, str],
    keys: Sequence[str] = protocol.REQUEST_KEYS,
) -> None:
    """Make the request ``keys`` of ``bag`` equal ``want``, writing only what differs."""
    changes: Dict[str, str] = {}
    for key in keys:
        new = want.get(key, "")
        if bag.get(key, "") != new:
            changes[key] = new
    if not changes:
        return
    if "update" in type(bag).__dict__:
        bag.update(changes)  # one relation-set (ops >= 2.?)
    else:
        for key, value in changes.items():
            bag[key] = value
