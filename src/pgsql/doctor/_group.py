"""Grouping: relation-info items matched into relations; one relation's databags assembled.

``show-unit`` scatters a relation over several documents: each shows the related units' databags
(Juju 4.0.5 showed the unit's own instead) and an ``application-data`` whose owner depends on the
Juju version (:data:`OWN` or :data:`REMOTE`). :func:`group` puts the items of one relation
together, :func:`find_roles` tells the server from the client, and :func:`assemble` gives each
unit and application its databag under one reading of ``application-data``. What a bag's keys
say depends on the interface: each function takes its :class:`~pgsql.doctor._bags.Kinds`
(``pgsql`` by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from ..protocol import Reason, split_units
from ._bags import PGSQL, Bag, Kinds, provider_rank
from ._read import Item, Unit, app_of

#: ``application-data`` shows the shown unit's own application (Juju 2.8, early 2.9, 4.x) ...
OWN = "own"
#: ... or the related application (Juju 2.9 from Aug 2021, 3.x).
REMOTE = "remote"
#: The name the doctor gives a related application that has no units: ``show-unit`` names the
#: other application only through its units (an application scaled to zero keeps its bag).
UNNAMED_APP = "<related application>"


# ---------------------------------------------------------------------------------------------
# Grouping relation-info items into relations
# ---------------------------------------------------------------------------------------------


@dataclass
class Relation:
    rid: Optional[int] = None
    sides: Dict[str, str] = field(default_factory=lambda: {})  # app -> endpoint
    items: List[Item] = field(default_factory=lambda: [])

    @property
    def cross_model(self) -> bool:
        return any(i.cross_model for i in self.items)

    @property
    def interface(self) -> str:
        """The interface the input names for this relation ("" when it names none or several)."""
        named = {i.interface for i in self.items if i.interface}
        return next(iter(named)) if len(named) == 1 else ""

    def other(self, app: str) -> Optional[str]:
        others = [a for a in self.sides if a != app]
        return others[0] if len(others) == 1 else None

    def all_bags(self) -> Iterator[Bag]:
        for item in self.items:
            yield item.app_data
            if item.local is not None:
                yield item.local.data
            for scoped in item.related.values():
                yield scoped.data


def _conflicts(rel: Relation, item: Item) -> bool:
    if rel.sides.get(item.app, item.endpoint) != item.endpoint:
        return True
    remote = item.remote_app
    apps: Set[str] = set(rel.sides) | {item.app}
    if remote is not None:
        apps.add(remote)
    if len(apps) > 2:
        return True
    if remote is not None and rel.sides.get(remote, item.related_endpoint) != (
        item.related_endpoint
    ):
        return True
    if remote is None:
        other = rel.other(item.app)
        if other is not None and rel.sides[other] != item.related_endpoint:
            return True
    return False


def _linked(rel: Relation, item: Item) -> bool:
    if item.rid is not None and rel.rid is not None:
        return item.rid == rel.rid
    if item.app not in rel.sides:
        remote = item.remote_app
        return remote is not None and remote in rel.sides and rel.other(remote) is None
    remote = item.remote_app
    return remote is None or remote in rel.sides or rel.other(item.app) is None


def group(units: Sequence[Unit]) -> Tuple[List[Relation], List[Item]]:
    """Match the non-peer relation-info items of all units into relations; also the peers."""
    relations: List[Relation] = []
    peers: List[Item] = []
    look_alikes: List[Item] = []
    for unit in units:
        for item in unit.items:
            if item.is_peer:
                (look_alikes if not item.related else peers).append(item)
                continue
            _join(relations, item)
    for item in look_alikes:
        # Juju 4.0.5 shows a non-peer relation like a peer one (local-unit only); the same
        # relation-id on another application's unit tells them apart.
        match = [
            r
            for r in relations
            if item.rid is not None and r.rid == item.rid and not _conflicts(r, item)
        ]
        if len(match) == 1:
            item.not_peer = True
            _join(relations, item)
        else:
            peers.append(item)
    for rel in relations:
        _name_unitless_side(rel)
    return relations, peers


def _name_unitless_side(rel: Relation) -> None:
    """Give the other side of a relation its placeholder name when it has no units.

    Juju 2.8 to 3.x list every unit of the related application under ``related-units`` (out
    of scope ones too); when no item of a one-sided relation lists any (and none is the 4.0.5
    shape, which never lists them), the related application has none: scaled to zero.
    """
    if len(rel.sides) != 1 or any(i.related or i.local is not None for i in rel.items):
        return
    rel.sides[UNNAMED_APP] = rel.items[0].related_endpoint


def _join(relations: List[Relation], item: Item) -> None:
    matches = [r for r in relations if _linked(r, item) and not _conflicts(r, item)]
    if len(matches) == 1:
        rel = matches[0]
    else:  # none, or ambiguous (no relation-id and several candidates): keep apart
        rel = Relation()
        relations.append(rel)
    rel.items.append(item)
    rel.sides.setdefault(item.app, item.endpoint)
    remote = item.remote_app
    if remote is not None:
        rel.sides.setdefault(remote, item.related_endpoint)
    if rel.rid is None:
        rel.rid = item.rid


# ---------------------------------------------------------------------------------------------
# Assembling the databags of one relation
# ---------------------------------------------------------------------------------------------


@dataclass
class Assembled:
    server: Optional[str]
    client: Optional[str]
    unit_bags: Dict[str, Bag]
    app_bags: Dict[str, Bag]
    notes: List[Reason]


def find_roles(
    rel: Relation,
    hint_client: Optional[str],
    kinds: Kinds = PGSQL,
    charms: Optional[Mapping[str, str]] = None,
) -> Tuple[Optional[str], Optional[str]]:
    """(server, client) application names, decided from unit bags (orientation-independent).

    Then, where ``kinds.by_charm``, from the charms of the shown units (``charms``: application
    to charm URL): a PostgreSQL charm (or an unseen application named ``postgresql`` or
    ``postgresql-k8s``) provides, PgBouncer provides when the other side's charm is shown and is
    neither; then from ``hint_client``.
    """
    servers: Set[str] = set()
    clients: Set[str] = set()
    listed: Set[str] = set()
    for item in rel.items:
        owned: List[Tuple[str, Bag]] = [(u, s.data) for u, s in item.related.items()]
        if item.local is not None:
            owned.append((item.unit, item.local.data))
        for unit, data in owned:
            kind = kinds.unit_writer(data)
            if kind == "server":
                servers.add(app_of(unit))
            elif kind == "client":
                clients.add(app_of(unit))
        for bag in [item.app_data] + [d for _, d in owned]:
            apps = {app_of(u) for u in split_units(bag.get("allowed-units"))} & set(rel.sides)
            if len(apps) == 1:
                listed |= apps
    server: Optional[str] = None
    client: Optional[str] = None
    if len(servers) == 1:
        server = next(iter(servers))
    elif len(listed) == 1:
        client = next(iter(listed))
    elif len(clients) == 1:
        client = next(iter(clients))
    elif kinds.by_charm and (by_charm := _provider_by_charm(rel, charms or {})) is not None:
        server = by_charm
    elif hint_client is not None and hint_client in rel.sides:
        client = hint_client
    if server is not None:
        client = rel.other(server)
    elif client is not None:
        server = rel.other(client)
    return server, client


def _rank(app: str, charms: Mapping[str, str]) -> int:
    if app in charms:
        return provider_rank(charms[app])
    # an unseen application named after the PostgreSQL charm (as deployed by default)
    return 2 if provider_rank(app) == 2 else 0


def _provider_by_charm(rel: Relation, charms: Mapping[str, str]) -> Optional[str]:
    ranks = {app: _rank(app, charms) for app in rel.sides}
    if len(ranks) != 2:
        return None
    (a, rank_a), (b, rank_b) = ranks.items()
    if rank_a == rank_b:
        return None
    top, low = (a, b) if rank_a > rank_b else (b, a)
    # PgBouncer also requires PostgreSQL: only a PostgreSQL charm may face an unseen side
    if ranks[top] == 1 and low not in charms:
        return None
    return top


def implied_orientation(rel: Relation, server: str, client: str, kinds: Kinds = PGSQL) -> Set[str]:
    """What the content of ``application-data`` says about the Juju version's orientation."""
    implied: Set[str] = set()
    for item in rel.items:
        if item.bug_4_0_5:
            implied.add(OWN)
        if kinds.server_app(item.app_data):
            owner = server
        elif kinds.client_app(item.app_data):
            owner = client
        else:
            continue
        implied.add(OWN if owner == item.app else REMOTE)
    return implied


def assemble(
    rel: Relation,
    server: Optional[str],
    client: Optional[str],
    orientation: Optional[str],
    kinds: Kinds = PGSQL,
) -> Assembled:
    unit_bags: Dict[str, Bag] = {}
    app_bags: Dict[str, Bag] = {}
    notes: List[Reason] = []

    def put(store: Dict[str, Bag], name: str, data: Bag, what: str) -> None:
        old = store.get(name)
        if old is None or (not old and data):
            store[name] = data
        elif data and old != data:
            notes.append(
                Reason(
                    "inconsistent-input",
                    f"{what} differs between documents (captured at different times?); "
                    "using the first",
                    name,
                    blocking=False,
                )
            )

    for item in rel.items:
        for unit, scoped in item.related.items():
            if scoped.in_scope or scoped.data:
                put(unit_bags, unit, scoped.data, f"{unit}'s databag")
        if item.local is not None:
            put(unit_bags, item.unit, item.local.data, f"{item.unit}'s databag")
        owner: Optional[str] = None
        if item.bug_4_0_5 or orientation == OWN:
            owner = item.app
        elif orientation == REMOTE:
            owner = item.remote_app or rel.other(item.app)
        elif server is not None and kinds.server_app(item.app_data):
            owner = server
        elif client is not None and kinds.client_app(item.app_data):
            owner = client
        if owner is not None:
            put(app_bags, owner, item.app_data, f"application {owner}'s databag")
    return Assembled(server, client, unit_bags, app_bags, notes)
