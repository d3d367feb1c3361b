"""``pgsql doctor``: explain a live ``pgsql`` relation from ``juju show-unit`` output.

Feed it the ``juju show-unit`` output of the client unit and the server units (YAML or JSON,
files or stdin)::

    juju show-unit myapp/0 postgresql/0 --format json | pgsql doctor

For every ``pgsql`` relation it finds it tells which server databags publish ``master`` /
``standbys``, whether the client unit is ready, and why not, with the values involved. The
verdict comes from :func:`pgsql.protocol.evaluate`, the very code the client library runs in the
charm; this module only reassembles the databags that ``show-unit`` scatters over several
documents (which application's data ``application-data`` holds depends on the Juju version) and
adds operator advice for causes the client cannot see from its side (a server blocked on a
request, an extension syntax the server misreads).

Exit status: 0 every relation examined is ready, 1 something is not ready or cannot be told
from the input, 2 the input is not usable.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from typing import (
    IO,
    Any,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    cast,
)

from ..connstr import (
    MASK,
    SECRET_KEYWORDS,
    ConnectionString,
    ConnectionStringError,
    mask_value,
)
from ..protocol import (
    JUJU_KEYS,
    REQUEST_KEYS,
    Readiness,
    Reason,
    Request,
    evaluate,
    parse_extension,
    read_request,
    split_standbys,
    split_units,
    unit_sort_key,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_NOT_READY",
    "EXIT_READY",
    "InputError",
    "add_arguments",
    "diagnose",
    "load_documents",
    "run",
]

EXIT_READY = 0
EXIT_NOT_READY = 1
EXIT_BAD_INPUT = 2

READY = "ready"
NOT_READY = "not ready"
CANNOT_TELL = "cannot tell"

#: ``application-data`` shows the shown unit's own application (Juju 2.8, early 2.9, 4.x) ...
OWN = "own"
#: ... or the related application (Juju 2.9 from Aug 2021, 3.x).
REMOTE = "remote"
_FAMILY = {OWN: "Juju 2.8/4.x", REMOTE: "Juju 2.9/3.x", None: "content only"}
_ORIENTATION_TEXT = {
    OWN: "the shown unit's own application (Juju 2.8, early 2.9, 4.x)",
    REMOTE: "the related application (Juju 2.9 from Aug 2021, 3.x)",
}

# Doctor-only reason codes; protocol's codes are used as they are.
EGRESS_UNKNOWN = "egress-unknown"
REQUEST_NOT_VISIBLE = "request-not-visible"
SERVER_APP_BAG_NOT_VISIBLE = "server-app-bag-not-visible"
SERVER_UNITS_NOT_VISIBLE = "server-units-not-visible"
ORIENTATION_AMBIGUOUS = "juju-version-ambiguous"
ROLES_UNKNOWN = "roles-unknown"
EXTENSION_SYNTAX = "extension-syntax"
LIKELY_BLOCKED_EXTENSIONS = "likely-blocked-extensions"
LIKELY_BLOCKED_ROLES = "likely-blocked-roles"
LIKELY_NO_DATABASE = "likely-no-database"
STALE_APP_BAG = "stale-app-bag"
MASTERS_DISAGREE = "masters-disagree"
EGRESS_FROM_PEER = "egress-from-peer-relation"
REQUEST_INCONSISTENT = "request-inconsistent"

_UNIT_NAME = re.compile(r"^[a-z][a-z0-9-]*/[0-9]+$")
_VERSION = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?")
#: Keys only a server writes; any of them marks the writer as the server.
_SERVER_MARKERS = frozenset({"master", "standbys", "allowed-subnets", "allowed-units"})
_SERVER_KEYS = _SERVER_MARKERS | {
    "host",
    "port",
    "user",
    "password",
    "schema_user",
    "schema_password",
    "state",
    "version",
    "allowed_units",
}
_PGSQL_KEYS = _SERVER_KEYS | set(REQUEST_KEYS) | JUJU_KEYS
_SECRET_KEYS = ("password", "schema_password")
_PG_STATES = frozenset({"master", "standalone", "hot standby", "standby"})
#: documents that hold nothing (YAML read with BaseLoader keeps ``null`` as a string)
_NULLS = (None, "", "null", "Null", "NULL", "~")
#: protocol codes meaning "the server has not published (to this unit) yet"
_WAITING = frozenset({"waiting-for-server", "no-remote-units"})


class InputError(Exception):
    """The input is not usable ``juju show-unit`` output; the message is one line for people."""


Bag = Dict[str, str]


# ---------------------------------------------------------------------------------------------
# Reading documents
# ---------------------------------------------------------------------------------------------


def load_documents(raw: bytes, label: str) -> List[Any]:
    """Parse one input (a file or stdin) into documents.

    Accepts a YAML stream (one or several ``---`` documents) or JSON (one value or several
    concatenated ones). YAML scalars are all read as strings (the way Juju wrote them), so an
    unquoted ``version: 14.10`` stays ``"14.10"``.

    Raises:
        InputError: binary data, invalid UTF-8, invalid YAML/JSON, or nesting too deep.
    """
    import yaml  # ops depends on PyYAML; imported here so `pgsql connstr` does not need it

    if b"\x00" in raw:
        raise InputError(f"{label}: binary data, not `juju show-unit` output")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{label}: not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        return []
    try:
        if text.lstrip()[:1] in ("{", "["):
            try:
                return _json_documents(text)
            except json.JSONDecodeError as e:
                json_error = f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}"
                try:
                    return [
                        d for d in yaml.load_all(text, Loader=yaml.BaseLoader) if d not in _NULLS
                    ]
                except yaml.YAMLError:
                    raise InputError(f"{label}: {json_error}") from None
        return [d for d in yaml.load_all(text, Loader=yaml.BaseLoader) if d not in _NULLS]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or type(e).__name__
        raise InputError(f"{label}: invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise InputError(f"{label}: nested too deeply to be `juju show-unit` output") from None


def _json_documents(text: str) -> List[Any]:
    decoder = json.JSONDecoder()
    docs: List[Any] = []
    i, end = 0, len(text)
    while True:
        while i < end and text[i].isspace():
            i += 1
        if i >= end:
            return docs
        doc, i = decoder.raw_decode(text, i)
        if doc is not None:
            docs.append(doc)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind_of(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__}"


def _as_map(value: object) -> Optional[Dict[object, object]]:
    return cast(Dict[object, object], value) if isinstance(value, dict) else None


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "1")
    return bool(value)


def _scalar(value: object, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return ""
    raise InputError(f"{where} is {_kind_of(value)}, not a string")


def _databag(value: object, where: str) -> Bag:
    if value is None or value in ("", "null", "~"):
        return {}
    m = _as_map(value)
    if m is None:
        raise InputError(f"{where} is {_kind_of(value)}, not a mapping")
    return {str(k): _scalar(v, f"{where}[{str(k)!r}]") for k, v in m.items()}


@dataclass(frozen=True)
class _Scoped:
    in_scope: bool
    data: Bag


@dataclass
class _Item:
    """One ``relation-info`` item of one unit's ``show-unit`` document."""

    unit: str
    source: str
    rid: Optional[int]
    endpoint: str
    related_endpoint: str
    cross_model: bool
    app_data: Bag
    local: Optional[_Scoped]
    related: Dict[str, _Scoped]
    #: set when a relation-id shows that a look-alike of a peer relation is the 4.0.5 bug shape
    not_peer: bool = False

    @property
    def app(self) -> str:
        return _app(self.unit)

    @property
    def remote_app(self) -> Optional[str]:
        apps = {_app(u) for u in self.related} - {self.app}
        return next(iter(apps)) if len(apps) == 1 else None

    @property
    def is_peer(self) -> bool:
        apps = {_app(u) for u in self.related}
        if apps:
            return apps == {self.app}
        return (
            not self.not_peer
            and self.local is not None
            and self.endpoint == self.related_endpoint
            and not _pgsql_evidence([self.app_data, self.local.data])
        )

    @property
    def bug_4_0_5(self) -> bool:
        """Juju 4.0.5 showed the unit's own bag (``local-unit``) on non-peer relations."""
        return self.local is not None and not self.related and not self.is_peer


@dataclass
class _Unit:
    name: str
    source: str
    leader: bool
    charm: str
    has_life: bool
    items: List[_Item]


def _app(unit: str) -> str:
    return unit.rpartition("/")[0]


def parse_units(doc: object, label: str) -> List[_Unit]:
    """Read one ``juju show-unit`` document (a mapping keyed by unit name).

    Raises:
        InputError: the document does not have that shape.
    """
    top = _as_map(doc)
    if top is None:
        raise InputError(
            f"{label}: {_kind_of(doc)}, not `juju show-unit` output "
            "(a mapping keyed by unit name, e.g. myapp/0)"
        )
    units: List[_Unit] = []
    for key, value in top.items():
        if not isinstance(key, str) or not _UNIT_NAME.match(key):
            raise InputError(
                f"{label}: key {_short(key)} is not a unit name; expected `juju show-unit` "
                "output keyed by unit names like myapp/0"
            )
        info = _as_map(value)
        if info is None:
            raise InputError(f"{label}: {key} is {_kind_of(value)}, not a mapping")
        raw_items = info.get("relation-info")
        if raw_items is None or raw_items in ("", "null"):
            raw_items = []
        if not isinstance(raw_items, list):
            raise InputError(f"{label}: {key} relation-info is {_kind_of(raw_items)}, not a list")
        items = [
            _parse_item(key, f"{label}: {key} relation-info[{n}]", raw, label)
            for n, raw in enumerate(cast(List[object], raw_items))
        ]
        charm = info.get("charm")
        units.append(
            _Unit(
                key,
                label,
                _truthy(info.get("leader")),
                charm if isinstance(charm, str) else "",
                "life" in info,
                items,
            )
        )
    return units


def _parse_item(unit: str, where: str, raw: object, label: str) -> _Item:
    m = _as_map(raw)
    if m is None:
        raise InputError(f"{where} is {_kind_of(raw)}, not a mapping")
    endpoint = m.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise InputError(f"{where} has no endpoint name")
    related_endpoint = m.get("related-endpoint")
    rid_raw = m.get("relation-id")
    rid: Optional[int] = None
    if isinstance(rid_raw, int) and not isinstance(rid_raw, bool):
        rid = rid_raw
    elif isinstance(rid_raw, str) and rid_raw.strip().isdigit():
        rid = int(rid_raw)
    local: Optional[_Scoped] = None
    local_raw = _as_map(m.get("local-unit"))
    if local_raw is not None:
        data = _databag(local_raw.get("data"), f"{where} local-unit data")
        in_scope = _truthy(local_raw.get("in-scope"))
        if in_scope or data:  # JSON always has {"in-scope": false, "data": null}
            local = _Scoped(in_scope, data)
    related: Dict[str, _Scoped] = {}
    related_raw = m.get("related-units")
    if related_raw not in (None, "", "null"):
        rm = _as_map(related_raw)
        if rm is None:
            raise InputError(f"{where} related-units is {_kind_of(related_raw)}, not a mapping")
        for name, entry in rm.items():
            if not isinstance(name, str) or not _UNIT_NAME.match(name):
                raise InputError(f"{where} related-units key {_short(name)} is not a unit name")
            em = _as_map(entry)
            if em is None:
                raise InputError(f"{where} related-units {name} is {_kind_of(entry)}")
            related[name] = _Scoped(
                _truthy(em.get("in-scope")), _databag(em.get("data"), f"{where} {name} data")
            )
    return _Item(
        unit,
        label,
        rid,
        endpoint,
        related_endpoint if isinstance(related_endpoint, str) else "",
        _truthy(m.get("cross-model")),
        _databag(m.get("application-data"), f"{where} application-data"),
        local,
        related,
    )


# ---------------------------------------------------------------------------------------------
# Recognising bags
# ---------------------------------------------------------------------------------------------


def _keys(bag: Mapping[str, str]) -> Set[str]:
    return {k for k, v in bag.items() if k not in JUJU_KEYS and v.strip()}


def _is_server_bag(bag: Mapping[str, str]) -> bool:
    return bool(_keys(bag) & _SERVER_MARKERS)


def _is_request_bag(bag: Mapping[str, str]) -> bool:
    keys = _keys(bag)
    return bool(keys) and keys <= set(REQUEST_KEYS)


def _writer_kind(bag: Mapping[str, str]) -> Optional[str]:
    """``server``, ``client`` or None: who could have written this bag."""
    keys = _keys(bag)
    if not keys:
        return None
    if keys & _SERVER_MARKERS:
        return "server"
    if keys <= set(REQUEST_KEYS):
        return "client"
    if keys <= _PGSQL_KEYS and keys & _SERVER_KEYS:
        return "server"  # partial server bag (pgbouncer writes user/password/database first)
    return None


def _pgsql_evidence(bags: Iterable[Mapping[str, str]]) -> bool:
    """Whether these bags look like the ``pgsql`` interface (rather than mysql, ...)."""
    seen_database = False
    for bag in bags:
        keys = _keys(bag)
        if not keys:
            continue
        if keys & (_SERVER_MARKERS | {"schema_user", "roles", "extensions"}):
            return True
        if not keys <= _PGSQL_KEYS:
            return False  # another interface's keys (mysql's `slave`, ...)
        seen_database = seen_database or "database" in keys
    return seen_database


# ---------------------------------------------------------------------------------------------
# Grouping relation-info items into relations
# ---------------------------------------------------------------------------------------------


@dataclass
class _Relation:
    rid: Optional[int] = None
    sides: Dict[str, str] = field(default_factory=lambda: {})  # app -> endpoint
    items: List[_Item] = field(default_factory=lambda: [])

    @property
    def cross_model(self) -> bool:
        return any(i.cross_model for i in self.items)

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


def _conflicts(rel: _Relation, item: _Item) -> bool:
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


def _linked(rel: _Relation, item: _Item) -> bool:
    if item.rid is not None and rel.rid is not None:
        return item.rid == rel.rid
    if item.app not in rel.sides:
        remote = item.remote_app
        return remote is not None and remote in rel.sides and rel.other(remote) is None
    remote = item.remote_app
    return remote is None or remote in rel.sides or rel.other(item.app) is None


def _group(units: Sequence[_Unit]) -> Tuple[List[_Relation], List[_Item]]:
    """Match the non-peer relation-info items of all units into relations; also the peers."""
    relations: List[_Relation] = []
    peers: List[_Item] = []
    look_alikes: List[_Item] = []
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
    return relations, peers


def _join(relations: List[_Relation], item: _Item) -> None:
    matches = [r for r in relations if _linked(r, item) and not _conflicts(r, item)]
    if len(matches) == 1:
        rel = matches[0]
    else:  # none, or ambiguous (no relation-id and several candidates): keep apart
        rel = _Relation()
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
class _Assembled:
    server: Optional[str]
    client: Optional[str]
    unit_bags: Dict[str, Bag]
    app_bags: Dict[str, Bag]
    notes: List[Reason]


def _roles(rel: _Relation, hint_client: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """(server, client) application names, decided from unit bags (orientation-independent)."""
    servers: Set[str] = set()
    clients: Set[str] = set()
    listed: Set[str] = set()
    for item in rel.items:
        owned: List[Tuple[str, Bag]] = [(u, s.data) for u, s in item.related.items()]
        if item.local is not None:
            owned.append((item.unit, item.local.data))
        for unit, data in owned:
            kind = _writer_kind(data)
            if kind == "server":
                servers.add(_app(unit))
            elif kind == "client":
                clients.add(_app(unit))
        for bag in [item.app_data] + [d for _, d in owned]:
            apps = {_app(u) for u in split_units(bag.get("allowed-units"))} & set(rel.sides)
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
    elif hint_client is not None and hint_client in rel.sides:
        client = hint_client
    if server is not None:
        client = rel.other(server)
    elif client is not None:
        server = rel.other(client)
    return server, client


def _implied_orientation(rel: _Relation, server: str, client: str) -> Set[str]:
    """What the content of ``application-data`` says about the Juju version's orientation."""
    implied: Set[str] = set()
    for item in rel.items:
        if item.bug_4_0_5:
            implied.add(OWN)
        if _is_server_bag(item.app_data):
            owner = server
        elif _is_request_bag(item.app_data):
            owner = client
        else:
            continue
        implied.add(OWN if owner == item.app else REMOTE)
    return implied


def _assemble(
    rel: _Relation, server: Optional[str], client: Optional[str], orientation: Optional[str]
) -> _Assembled:
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
        elif server is not None and _is_server_bag(item.app_data):
            owner = server
        elif client is not None and _is_request_bag(item.app_data):
            owner = client
        if owner is not None:
            put(app_bags, owner, item.app_data, f"application {owner}'s databag")
    return _Assembled(server, client, unit_bags, app_bags, notes)


# ---------------------------------------------------------------------------------------------
# Judging one client unit
# ---------------------------------------------------------------------------------------------


@dataclass
class UnitVerdict:
    """The doctor's verdict for one client unit on one relation."""

    unit: str
    verdict: str
    readiness: Optional[Readiness]
    reasons: List[Reason]
    egress: Optional[str]
    egress_source: Optional[str]
    run: List[str]

    def key(self) -> Tuple[str, Tuple[str, ...]]:
        """What must agree between two readings of the input for the verdict to stand."""
        return self.verdict, tuple(sorted({r.code for r in self.reasons}))


def target(cs: ConnectionString) -> str:
    """``user@host:port/dbname`` for a connection string: what it connects to, no password.

    Each part is masked (:func:`~pgsql.connstr.mask_value`): a string with mangled separators
    (``dbname=x|host=y|password=z``) is one dbname holding the password.
    """
    user = f"{mask_value(cs.user)}@" if cs.user else ""
    host = mask_value(cs.host or cs.hostaddr or "localhost")
    port = f":{mask_value(cs.port)}" if cs.port else ""
    db = f"/{mask_value(cs.dbname)}" if cs.dbname else ""
    return f"{user}{host}{port}{db}"


def _shown(value: Optional[str]) -> Optional[str]:
    # A value from the input as the report shows it: whatever a secret in it holds masked.
    return None if value is None else mask_value(value)


def _shown_json(data: Any) -> Any:
    # Every string of the JSON report masked (last line of defence: each value already is).
    if isinstance(data, str):
        return mask_value(data)
    if isinstance(data, dict):
        items = cast(Dict[str, Any], data).items()
        return {k: _shown_json(v) for k, v in items}
    if isinstance(data, list):
        return [_shown_json(v) for v in cast(List[Any], data)]
    return data


def _parse_target(raw: Optional[str]) -> Optional[str]:
    if not raw or not raw.strip():
        return None
    try:
        return target(ConnectionString(raw.strip()))
    except ConnectionStringError:
        return "(unparseable connection string)"


def _request_text(request: Optional[Request]) -> str:
    if request is None:
        return "not visible in this input"
    if not request:
        return "nothing (server default database)"
    parts = [
        f"database={mask_value(request.database)}" if request.database else "database=(default)"
    ]
    if request.roles:
        parts.append("roles=" + mask_value(",".join(request.roles)))
    if request.extensions:
        parts.append("extensions=" + mask_value(",".join(request.extensions)))
    return " ".join(parts)


def _lowest(names: Iterable[str]) -> Optional[str]:
    ordered = sorted(names, key=unit_sort_key)
    return ordered[0] if ordered else None


@dataclass
class _Context:
    rel: _Relation
    asm: _Assembled
    server: str
    client: str
    peers: Sequence[_Item]


def _server_units(ctx: _Context) -> Set[str]:
    names = {u for u in ctx.asm.unit_bags if _app(u) == ctx.server}
    names |= {i.unit for i in ctx.rel.items if i.app == ctx.server}
    return names


def _visible_server_bags(ctx: _Context, unit: str) -> Dict[str, Bag]:
    own = [i for i in ctx.rel.items if i.unit == unit and i.related]
    bags = ctx.asm.unit_bags
    if own:
        scope = {u: s.in_scope for i in own for u, s in i.related.items()}
        return {u: bags[u] for u in scope if scope[u] and u in bags and _app(u) == ctx.server}
    out: Dict[str, Bag] = {}
    for name, data in bags.items():
        if _app(name) != ctx.server:
            continue
        views = [i for i in ctx.rel.items if i.unit == name and unit in i.related]
        if views and not any(i.related[unit].in_scope for i in views):
            continue  # container-scoped (pgbouncer): that server unit does not serve this unit
        out[name] = data
    return out


def _egress(ctx: _Context, unit: str) -> Tuple[Optional[Bag], Optional[str]]:
    bag = ctx.asm.unit_bags.get(unit)
    if bag is not None and bag:
        viewers = sorted({i.unit for i in ctx.rel.items if unit in i.related}, key=unit_sort_key)
        where = f"{viewers[0]}'s show-unit" if viewers else f"{unit}'s own show-unit"
        return bag, where
    for peer in ctx.peers:
        if peer.unit == unit and peer.local is not None and peer.local.data.get("egress-subnets"):
            return (
                {"egress-subnets": peer.local.data["egress-subnets"]},
                f"{unit}'s peer relation {peer.endpoint}",
            )
    return None, None


def _request(ctx: _Context) -> Tuple[Optional[Request], str]:
    app_bag = ctx.asm.app_bags.get(ctx.client)
    unit_bags = {u: b for u, b in ctx.asm.unit_bags.items() if _app(u) == ctx.client}
    if app_bag is not None:
        where = f"{ctx.client}'s application databag"
        if not _has_request(app_bag):
            with_request = [u for u, b in unit_bags.items() if _has_request(b)]
            if with_request:
                where = f"{_lowest(with_request)}'s databag"
        return read_request(app_bag, unit_bags), where
    with_request = [u for u, b in unit_bags.items() if _has_request(b)]
    if with_request:
        return read_request({}, unit_bags), f"{_lowest(with_request)}'s databag"
    return None, "not visible"


def _has_request(bag: Mapping[str, str]) -> bool:
    # as protocol.read_request: a blank request key is an absent one (pitfall 20)
    return any(bag.get(k, "").strip() for k in REQUEST_KEYS)


def _looks_like_colon_misreader(ctx: _Context) -> Optional[str]:
    """Name the server charm if its bags say it reads ``name(schema)`` (providers.md §1, §6)."""
    bags = [b for u, b in ctx.asm.unit_bags.items() if _app(u) == ctx.server]
    app_bag = ctx.asm.app_bags.get(ctx.server)
    if app_bag:
        bags.append(app_bag)
    for bag in bags:
        master = bag.get("master", "")
        if "sslmode=prefer" in master or any(
            _app(u) == ctx.server for u in split_units(bag.get("allowed-units"))
        ):
            return "the legacy postgresql-k8s charm (latest track)"
        state = bag.get("state", "").strip()
        user = bag.get("user", "").strip()
        if (
            "schema_user" in bag
            and state in {"master", "standalone", "hot standby"}
            and "fallback_application_name" not in master
            and not re.match(r"^relation-\d+$", user)
        ):
            return "the legacy reactive postgresql charm (latest track)"
    return None


def _doctor_checks(
    ctx: _Context,
    request: Optional[Request],
    readiness: Readiness,
    server_bags: Mapping[str, Bag],
    server_units_visible: bool,
) -> List[Reason]:
    out: List[Reason] = []
    server = ctx.server
    published = [
        n
        for n, b in [*server_bags.items(), (server, ctx.asm.app_bags.get(server) or {})]
        if b.get("master", "").strip() or b.get("standbys", "").strip()
    ]
    if request is not None:
        colon: List[str] = []
        for ext in request.extensions:
            try:
                if parse_extension(ext)[1] is not None and ":" in ext:
                    colon.append(ext)
            except ValueError:
                continue
        misreader = _looks_like_colon_misreader(ctx) if colon else None
        if misreader is not None:
            out.append(
                Reason(
                    EXTENSION_SYNTAX,
                    f"extensions {','.join(colon)} use the name:schema syntax, but the server "
                    f"looks like {misreader}, which reads name(schema) and would try to "
                    f"create an extension literally named {colon[0]!r}",
                    server,
                    blocking=not readiness.ready,
                    advice="request the extension without a schema (or as name(schema) for this "
                    f"server); check `juju status {server}` and `juju debug-log --include "
                    f"{server}` for a failed hook",
                )
            )
    app_bag_known = ctx.asm.app_bags.get(server) is not None
    if not published and server_units_visible and app_bag_known and request is not None:
        app_bag = ctx.asm.app_bags.get(ctx.client)
        if request.extensions:
            names = sorted(request.extension_names)
            hyphen = [n for n in names if "-" in n]
            config = " ".join(f"plugin_{n.replace('-', '_')}_enable=true" for n in names)
            advice = (
                f"run `juju status {server}`; if it says 'extensions requested through "
                f"relation', enable them: `juju config {server} {config}`"
            )
            if hyphen:
                advice += (
                    f" (Canonical charms never accept {','.join(hyphen)}: the hyphen does not "
                    "match their config key; drop it from the request)"
                )
            out.append(
                Reason(
                    LIKELY_BLOCKED_EXTENSIONS,
                    f"likely cause: the server publishes nothing and extensions "
                    f"{','.join(names)} are requested; Canonical PostgreSQL and pgbouncer charms "
                    "block until each is enabled in their configuration",
                    server,
                    blocking=False,
                    advice=advice,
                )
            )
        if app_bag is not None and "roles" in app_bag:
            out.append(
                Reason(
                    LIKELY_BLOCKED_ROLES,
                    f"likely cause: the server publishes nothing and {ctx.client}'s application "
                    "databag has a roles key; Canonical PostgreSQL blocks ('roles requested "
                    "through relation, use postgresql_client interface instead')",
                    server,
                    blocking=False,
                    advice=f"run `juju status {server}` to confirm; stop requesting roles (the "
                    "key must be absent, not empty) or use a server that supports them",
                )
            )
        if not request.database or (app_bag is not None and "database" not in app_bag):
            where = (
                "no database is requested"
                if not request.database
                else f"the database is requested only in unit databags, not in {ctx.client}'s "
                "application databag (pgbouncer-k8s reads only the application databag)"
            )
            out.append(
                Reason(
                    LIKELY_NO_DATABASE,
                    f"likely cause: the server publishes nothing and {where}; Canonical "
                    "postgresql-k8s and pgbouncer-k8s never provision a relation without an "
                    "explicit database",
                    server,
                    blocking=False,
                    advice=f"run `juju status {server}` and `juju debug-log --include {server}` "
                    "to confirm; make the client charm request a database name",
                )
            )
    out.extend(_master_findings(ctx, readiness, server_bags))
    return out


def _master_findings(
    ctx: _Context, readiness: Readiness, server_bags: Mapping[str, Bag]
) -> List[Reason]:
    out: List[Reason] = []
    by_target: Dict[str, List[str]] = {}
    for name in sorted(server_bags, key=unit_sort_key):
        t = _parse_target(server_bags[name].get("master"))
        if t is not None:
            by_target.setdefault(t, []).append(name)
    if len(by_target) > 1:
        detail = "; ".join(f"{', '.join(n)}: {t}" for t, n in by_target.items())
        chosen = readiness.source or "none"
        out.append(
            Reason(
                MASTERS_DISAGREE,
                # the targets last: a masked one hides the rest of the message (mask_value)
                f"server units publish {len(by_target)} different masters and the client uses "
                f"{chosen}'s: {detail}",
                blocking=False,
                advice="usually a failover in progress: units update their databags one by one "
                f"(a dead unit keeps stale data); if it persists, check `juju status {ctx.server}`",
            )
        )
    app_bag = ctx.asm.app_bags.get(ctx.server) or {}
    app_target = _parse_target(app_bag.get("master"))
    flagged = any(r.code == STALE_APP_BAG for r in readiness.reasons)
    if app_target is not None and by_target and app_target not in by_target and not flagged:
        out.append(
            Reason(
                STALE_APP_BAG,
                "the application databag's master, left over from an older charm revision, "
                f"differs from every unit databag's ({', '.join(by_target)}): {app_target}",
                ctx.server,
                blocking=False,
                advice="the client prefers ready unit databags; removing and re-adding the "
                "relation clears the stale application databag",
            )
        )
    return out


def _judge(ctx: _Context, unit: str, juju_hint: str) -> UnitVerdict:
    request, _ = _request(ctx)
    local_bag, egress_source = _egress(ctx, unit)
    server_bags = _visible_server_bags(ctx, unit)
    app_bag = ctx.asm.app_bags.get(ctx.server)
    readiness = evaluate(request, unit, local_bag or {}, ctx.server, app_bag or {}, server_bags)
    reasons: List[Reason] = list(readiness.reasons)
    any_server_unit = _lowest(_server_units(ctx)) or f"{ctx.server}/0"
    both = f"juju show-unit {unit} {any_server_unit} --format json | pgsql doctor{juju_hint}"
    run: List[str] = []
    unknown: List[Reason] = []
    server_units_visible = any(i.app == ctx.client and i.related for i in ctx.rel.items) or any(
        i.unit in _server_units(ctx) and i.local is not None for i in ctx.rel.items
    )
    if local_bag is None:
        unknown.append(
            Reason(
                EGRESS_UNKNOWN,
                f"{unit}'s egress-subnets are not in this input (Juju shows a unit's own "
                "databag only in the other side's show-unit), so access cannot be checked",
                blocking=False,
                advice=f"run `juju show-unit {any_server_unit}` too",
            )
        )
    elif egress_source is not None and "peer relation" in egress_source and ctx.rel.cross_model:
        reasons.append(
            Reason(
                EGRESS_FROM_PEER,
                f"{unit}'s egress-subnets were taken from its peer relation; a cross-model "
                "relation may use other egress subnets",
                blocking=False,
            )
        )
    if request is None:
        unknown.append(
            Reason(
                REQUEST_NOT_VISIBLE,
                f"what {ctx.client} requested is not in this input (its databags show only in "
                f"{ctx.server}'s show-unit on this Juju version), so the echo cannot be checked",
                blocking=False,
                advice=f"run `juju show-unit {any_server_unit}` too",
            )
        )
    if app_bag is None and not readiness.ready:
        unknown.append(
            Reason(
                SERVER_APP_BAG_NOT_VISIBLE,
                f"{ctx.server}'s application databag is not in this input; some servers "
                "publish only there",
                blocking=False,
                advice=f"run `juju show-unit {unit} {any_server_unit}`"
                + ("" if juju_hint else " and pass --juju-version"),
            )
        )
    if not server_units_visible and not readiness.ready:
        unknown.append(
            Reason(
                SERVER_UNITS_NOT_VISIBLE,
                f"{ctx.server}'s unit databags are not in this input (Juju shows them only in "
                f"{ctx.client}'s show-unit)",
                blocking=False,
                advice=f"run `juju show-unit {unit}` too",
            )
        )
    if request is None:  # said above, with the command to run
        reasons = [r for r in reasons if r.code != "request-unknown"]
    reasons.extend(_doctor_checks(ctx, request, readiness, server_bags, server_units_visible))
    if request is not None and readiness.ready:
        reasons.extend(_request_consistency(ctx))
    waiting_only = all(r.code in _WAITING for r in readiness.reasons if r.blocking)
    if readiness.ready:
        verdict = CANNOT_TELL if unknown else READY
    else:
        verdict = CANNOT_TELL if unknown and waiting_only else NOT_READY
    if verdict == CANNOT_TELL:
        if not readiness.ready:  # "waiting" only because the server's data is not in the input
            reasons = [r for r in reasons if r.code not in _WAITING]
        reasons = unknown + reasons
        run.append(both)
    elif unknown:
        reasons.extend(unknown)
    return UnitVerdict(
        unit,
        verdict,
        readiness,
        reasons,
        (local_bag or {}).get("egress-subnets") if local_bag is not None else None,
        egress_source,
        run,
    )


def _request_consistency(ctx: _Context) -> List[Reason]:
    app_bag = ctx.asm.app_bags.get(ctx.client)
    if not app_bag or not _has_request(app_bag):
        return []
    wanted = Request.from_databag(app_bag)
    out: List[Reason] = []
    for name, bag in sorted(ctx.asm.unit_bags.items(), key=lambda kv: unit_sort_key(kv[0])):
        if _app(name) != ctx.client or not _has_request(bag):
            continue
        if Request.from_databag(bag) != wanted:
            out.append(
                Reason(
                    REQUEST_INCONSISTENT,
                    f"{name}'s databag requests {_request_text(Request.from_databag(bag))}, the "
                    f"application databag {_request_text(wanted)}; servers reading unit "
                    "databags (reactive postgresql, pgbouncer) see the former",
                    name,
                    blocking=False,
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# The whole diagnosis
# ---------------------------------------------------------------------------------------------


@dataclass
class RelationReport:
    """Everything the doctor found about one ``pgsql`` relation."""

    rid: Optional[int]
    sides: Dict[str, str]
    server: Optional[str]
    client: Optional[str]
    cross_model: bool
    seen_from: List[str]
    orientation: Optional[str]
    request: Optional[Request]
    request_source: str
    server_bags: List[Dict[str, Any]]
    units: List[UnitVerdict]
    notes: List[Reason]

    @property
    def name(self) -> str:
        """A short label such as ``db:5`` or ``db``."""
        ep = self.sides.get(self.client or "", "") or next(iter(self.sides.values()), "?")
        return f"{ep}:{self.rid}" if self.rid is not None else ep


@dataclass
class Diagnosis:
    """The result of :func:`diagnose`."""

    units: List[str]
    relations: List[RelationReport]
    notes: List[str]
    secrets: FrozenSet[str]

    @property
    def exit_code(self) -> int:
        """0 when every examined client unit is ready, else 1."""
        verdicts = [u.verdict for r in self.relations for u in r.units]
        ok = verdicts and all(v == READY for v in verdicts)
        return EXIT_READY if ok else EXIT_NOT_READY


def _orientations(version: Optional[str], units: Sequence[_Unit]) -> Tuple[Set[str], str]:
    if version is None:
        return {OWN, REMOTE}, ""
    m = _VERSION.match(version)
    if m is None:
        raise InputError(f"--juju-version {version!r} is not a version such as 3.6 or 2.9.42")
    major, minor = int(m.group(1)), int(m.group(2) or 0)
    if major >= 4 or (major == 2 and minor <= 8) or major < 2:
        return {OWN}, f"Juju {version}"
    if major == 3:
        return {REMOTE}, f"Juju {version}"
    # 2.9: remote since Aug 2021; relation-id (Apr 2022) proves a late 2.9
    has_rid = any(i.rid is not None for u in units for i in u.items)
    return ({REMOTE} if has_rid else {OWN, REMOTE}), f"Juju {version}"


def diagnose(
    units: Sequence[_Unit],
    *,
    juju_version: Optional[str] = None,
    client_unit: Optional[str] = None,
    endpoint: Optional[str] = None,
) -> Diagnosis:
    """Explain every ``pgsql`` relation found in the parsed ``show-unit`` documents.

    Raises:
        InputError: no ``pgsql`` relation found, or ``client_unit`` is not a client unit.
    """
    secrets = _secrets(units)
    relations, peers = _group(units)
    hint_client = _app(client_unit) if client_unit else None
    pgsql = [
        r
        for r in relations
        if _pgsql_evidence(r.all_bags()) or (endpoint is not None and endpoint in r.sides.values())
    ]
    if not pgsql:
        raise InputError(_nothing_found(units, relations, peers))
    candidates, version_text = _orientations(juju_version, units)
    notes: List[str] = []
    roles = {id(r): _roles(r, hint_client) for r in pgsql}
    implied: Set[str] = set()
    for r in pgsql:
        server, client = roles[id(r)]
        if server is not None and client is not None:
            implied |= _implied_orientation(r, server, client)
    if len(implied) == 1:
        if not implied <= candidates:
            notes.append(
                f"application-data content shows {_ORIENTATION_TEXT[next(iter(implied))]}, "
                f"contrary to --juju-version {juju_version}; following the content"
            )
        candidates = set(implied)
    elif len(implied) > 1:
        notes.append(
            "application-data content is inconsistent between documents (several Juju "
            "versions?); deciding per document by content"
        )
        candidates = {""}  # per-item content only
    if candidates == {OWN, REMOTE}:
        notes.append(
            "the Juju version is not known and application-data does not reveal which "
            "application it shows; both readings were tried (pass --juju-version to decide)"
        )
    elif version_text and candidates <= {OWN, REMOTE}:
        notes.append(
            f"{version_text}: application-data shows {_ORIENTATION_TEXT[next(iter(candidates))]}"
        )
    elif candidates <= {OWN, REMOTE}:
        notes.append(
            f"application-data shows {_ORIENTATION_TEXT[next(iter(candidates))]} (from its content)"
        )
    hint = f" --juju-version {juju_version}" if juju_version else ""
    reports = [
        _relation_report(r, roles[id(r)], sorted(candidates), peers, client_unit, endpoint, hint)
        for r in pgsql
    ]
    if client_unit is not None and not any(u.unit == client_unit for r in reports for u in r.units):
        seen = "; ".join(" <-> ".join(f"{a}:{e}" for a, e in r.sides.items()) for r in reports)
        raise InputError(
            f"{client_unit} is not a client unit of any pgsql relation in the input "
            f"(pgsql relations: {seen})"
        )
    return Diagnosis([u.name for u in units], reports, notes, secrets)


def _nothing_found(
    units: Sequence[_Unit], relations: Sequence[_Relation], peers: Sequence[_Item]
) -> str:
    if not units:
        return "no `juju show-unit` documents in the input"
    seen: List[str] = []
    for rel in relations:
        apps = " <-> ".join(f"{a}:{e}" for a, e in rel.sides.items())
        seen.append(f"{apps} (no pgsql keys)")
    for item in peers:
        seen.append(f"{item.app}:{item.endpoint} (peer)")
    found = "; ".join(dict.fromkeys(seen)) or "no relations"
    return (
        f"no pgsql relation found in the show-unit output of {', '.join(u.name for u in units)} "
        f"(found: {found}); if the relation has no data yet, name it with --endpoint"
    )


def _roles_by_app_data(rel: _Relation, orientation: Optional[str]) -> Optional[str]:
    """The client application, from whose application-data holds a request (one reading)."""
    for item in rel.items:
        if orientation is None or not _is_request_bag(item.app_data):
            continue
        owner = item.app if orientation == OWN else item.remote_app or rel.other(item.app)
        if owner is not None:
            return owner
    return None


def _relation_report(
    rel: _Relation,
    roles: Tuple[Optional[str], Optional[str]],
    orientations: Sequence[str],
    peers: Sequence[_Item],
    client_unit: Optional[str],
    endpoint: Optional[str],
    juju_hint: str,
) -> RelationReport:
    seen_from = sorted({f"{i.unit} ({i.source})" for i in rel.items})
    readings: List[_Reading] = []
    for o in orientations:
        orientation = o or None
        server, client = roles
        if server is None or client is None:
            client = _roles_by_app_data(rel, orientation)
            if client is None and endpoint is not None:
                named = {i.app for i in rel.items if i.endpoint == endpoint}
                client = next(iter(named)) if len(named) == 1 else None
            server = rel.other(client) if client is not None else None
        if server is None or client is None:
            readings.append(_Reading(orientation, None, None, None, _roles_unknown(rel)))
            continue
        asm = _assemble(rel, server, client, orientation)
        ctx = _Context(rel, asm, server, client, peers)
        examined = _examined(ctx, client_unit)
        readings.append(
            _Reading(
                orientation, server, client, asm, [_judge(ctx, u, juju_hint) for u in examined]
            )
        )
    first = readings[0]
    verdicts = first.verdicts
    orientation = first.orientation
    server, client, asm = first.server, first.client, first.asm
    if len(readings) > 1:
        orientation = None
        keys = [[v.key() for v in r.verdicts] for r in readings]
        same_roles = all((r.server, r.client) == (first.server, first.client) for r in readings)
        if not (same_roles and all(k == keys[0] for k in keys)):
            verdicts = _ambiguous(readings, juju_hint)
            if server is not None and client is not None:
                asm = _assemble(rel, server, client, None)
        if not same_roles:
            server = client = asm = None
    notes = list(asm.notes) if asm is not None else []
    request: Optional[Request] = None
    request_source = "not visible"
    bags: List[Dict[str, Any]] = []
    if asm is not None and server is not None and client is not None:
        ctx = _Context(rel, asm, server, client, peers)
        request, request_source = _request(ctx)
        bags = _server_bag_summary(ctx)
    return RelationReport(
        rel.rid,
        rel.sides,
        server,
        client,
        rel.cross_model,
        seen_from,
        orientation,
        request,
        request_source,
        bags,
        verdicts,
        notes,
    )


@dataclass
class _Reading:
    """The verdicts under one reading of ``application-data`` (one Juju version family)."""

    orientation: Optional[str]
    server: Optional[str]
    client: Optional[str]
    asm: Optional[_Assembled]
    verdicts: List[UnitVerdict]


def _roles_unknown(rel: _Relation) -> List[UnitVerdict]:
    reason = Reason(
        ROLES_UNKNOWN,
        "neither side has published pgsql data that tells the client from the server "
        f"({' and '.join(sorted(rel.sides))})",
        blocking=True,
        advice="pass --unit <client unit> or --juju-version, with the show-unit output of both "
        "sides",
    )
    units = sorted({i.unit for i in rel.items}, key=unit_sort_key)
    return [UnitVerdict(u, CANNOT_TELL, None, [reason], None, None, []) for u in units]


def _ambiguous(readings: Sequence[_Reading], juju_hint: str) -> List[UnitVerdict]:
    by_unit: Dict[str, List[Tuple[Optional[str], UnitVerdict]]] = {}
    for r in readings:
        for v in r.verdicts:
            by_unit.setdefault(v.unit, []).append((r.orientation, v))
    out: List[UnitVerdict] = []
    for unit in sorted(by_unit, key=unit_sort_key):
        options = by_unit[unit]
        if len(options) == len(readings) and all(
            v.key() == options[0][1].key() for _, v in options
        ):
            out.append(options[0][1])
            continue
        parts = [
            f"read as {_FAMILY[o]}: {v.verdict}"
            + (f" ({v.readiness.why})" if v.readiness is not None and not v.readiness.ready else "")
            for o, v in options
        ]
        parts += [
            f"read as {_FAMILY[r.orientation]}: not a client unit"
            for r in readings
            if all(v.unit != unit for v in r.verdicts)
        ]
        first = options[0][1]
        reasons = [
            Reason(
                ORIENTATION_AMBIGUOUS,
                "the verdict depends on the Juju version, which this input does not reveal: "
                + "; ".join(parts),
                blocking=False,
                advice="pass --juju-version (see `juju version` or `juju show-controller`)",
            )
        ]
        run = ["pgsql doctor --juju-version <the controller's version> <the same input>"]
        common: Set[Tuple[str, str]] = {(r.code, r.message) for r in first.reasons}
        for _, v in options[1:]:
            common &= {(r.code, r.message) for r in v.reasons}
        seen = {(r.code, r.message) for r in reasons}
        for o, v in options:
            if v.verdict == READY:
                continue
            for r in v.reasons:
                if (r.code, r.message) in seen:
                    continue
                seen.add((r.code, r.message))
                if (r.code, r.message) not in common:
                    msg = f"if {_FAMILY[o]}: {r.message}"
                    reasons.append(Reason(r.code, msg, r.bag, r.blocking, r.advice))
                else:
                    reasons.append(r)
            run += [c for c in v.run if c not in run]
        out.append(
            UnitVerdict(unit, CANNOT_TELL, None, reasons, first.egress, first.egress_source, run)
        )
    return out


def _examined(ctx: _Context, client_unit: Optional[str]) -> List[str]:
    known = {u for u in ctx.asm.unit_bags if _app(u) == ctx.client}
    known |= {i.unit for i in ctx.rel.items if i.app == ctx.client}
    if client_unit is not None:
        return [client_unit] if client_unit in known or _app(client_unit) == ctx.client else []
    shown = {i.unit for i in ctx.rel.items if i.app == ctx.client}
    return sorted(shown or known, key=unit_sort_key)


def _server_bag_summary(ctx: _Context) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    names = sorted((u for u in ctx.asm.unit_bags if _app(u) == ctx.server), key=unit_sort_key)
    entries: List[Tuple[str, bool, Optional[Bag]]] = [
        (n, False, ctx.asm.unit_bags[n]) for n in names
    ]
    entries.append((ctx.server, True, ctx.asm.app_bags.get(ctx.server)))
    for name, is_app, bag in entries:
        if bag is None:
            out.append({"bag": name, "application": is_app, "visible": False})
            continue
        standbys = [_parse_target(s) or "" for s in split_standbys(bag.get("standbys"))]
        out.append(
            {
                "bag": name,
                "application": is_app,
                "visible": True,
                "master": _parse_target(bag.get("master")),
                "standbys": standbys,
                "state": _shown(bag.get("state") or None),
                "database": _shown(bag.get("database") or None),
                "version": _shown(bag.get("version") or None),
                "allowed-subnets": _shown(bag.get("allowed-subnets") or None),
                "allowed-units": _shown(bag.get("allowed-units") or None),
                "publishes": sorted(_keys(bag) - set(_SECRET_KEYS)),
            }
        )
    return out


def _secrets(units: Sequence[_Unit]) -> FrozenSet[str]:
    found: Set[str] = set()

    def scan(bag: Mapping[str, str]) -> None:
        for key in _SECRET_KEYS:
            value = bag.get(key, "").strip()
            if value:
                found.add(value)
        for raw in [bag.get("master", ""), *split_standbys(bag.get("standbys"))]:
            if not raw.strip():
                continue
            try:
                cs = ConnectionString(raw.strip())
            except ConnectionStringError:
                found.add(raw.strip())  # unparseable: hide the whole string
                continue
            # secrets, and values holding one (mangled separators: the password in dbname)
            found.update(v for k, v in cs.items() if k in SECRET_KEYWORDS or mask_value(v) != v)

    for unit in units:
        for item in unit.items:
            scan(item.app_data)
            if item.local is not None:
                scan(item.local.data)
            for scoped in item.related.values():
                scan(scoped.data)
    return frozenset(s for s in found if len(s) >= 3)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret in ``text`` (last line of defence for the report)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _reason_dict(r: Reason) -> Dict[str, Any]:
    return {
        "code": r.code,
        "message": mask_value(r.message),
        "bag": r.bag,
        "blocking": r.blocking,
        "advice": _shown(r.advice),
    }


def to_json(d: Diagnosis) -> Dict[str, Any]:
    """The diagnosis as JSON-ready data (no passwords)."""
    rels: List[Dict[str, Any]] = []
    for r in d.relations:
        units: List[Dict[str, Any]] = []
        for v in r.units:
            rd = v.readiness
            units.append(
                {
                    "unit": v.unit,
                    "verdict": v.verdict,
                    "master": target(rd.master) if rd is not None and rd.master else None,
                    "standbys": [target(s) for s in rd.standbys] if rd is not None else [],
                    "source": rd.source if rd is not None else None,
                    "database": _shown(rd.database) if rd is not None else None,
                    "version": _shown(rd.version) if rd is not None else None,
                    "egress-subnets": _shown(v.egress),
                    "egress-source": v.egress_source,
                    "reasons": [_reason_dict(x) for x in v.reasons],
                    "bags": [
                        {
                            "bag": b.bag,
                            "application": b.is_app,
                            "publishes-master": b.publishes_master,
                            "publishes-standbys": b.publishes_standbys,
                            "ready": b.ready,
                            "reasons": [x.code for x in b.reasons],
                        }
                        for b in (rd.bags if rd is not None else ())
                    ],
                    "run": v.run,
                }
            )
        rels.append(
            {
                "relation": r.name,
                "relation-id": r.rid,
                "endpoints": r.sides,
                "client": r.client,
                "server": r.server,
                "cross-model": r.cross_model,
                "seen-from": r.seen_from,
                "application-data-shows": r.orientation,
                "request": r.request.databag() if r.request is not None else None,
                "request-source": r.request_source,
                "server-bags": r.server_bags,
                "units": units,
                "notes": [_reason_dict(x) for x in r.notes],
            }
        )
    verdicts = [u.verdict for r in d.relations for u in r.units]
    overall = (
        READY
        if d.exit_code == EXIT_READY
        else (NOT_READY if NOT_READY in verdicts else CANNOT_TELL)
    )
    report: Dict[str, Any] = {
        "verdict": overall,
        "exit-status": d.exit_code,
        "units-shown": d.units,
        "notes": d.notes,
        "relations": rels,
    }
    return cast(Dict[str, Any], _shown_json(report))


def _bag_line(b: Mapping[str, Any]) -> str:
    name = f"{b['bag']} (application)" if b["application"] else str(b["bag"])
    if not b["visible"]:
        return f"{name:<28} not visible in this input"
    parts: List[str] = []
    if b["master"]:
        parts.append(f"master {b['master']}")
    standbys = cast(List[str], b["standbys"])
    if standbys:
        parts.append(f"standbys {', '.join(standbys)}")
    if not parts:
        keys = cast(List[str], b["publishes"])
        parts.append(
            "no master or standbys"
            + (f" (has {', '.join(keys)})" if keys else " (nothing published yet)")
        )
    if b["state"]:
        parts.append(f"state={b['state']}")
    return f"{name:<28} " + "; ".join(parts)


def render(d: Diagnosis) -> str:
    """The human-readable report."""
    lines: List[str] = []
    w = lines.append
    w(f"pgsql doctor: show-unit output of {', '.join(d.units)}")
    for note in d.notes:
        w(f"  note: {mask_value(note)}")
    for r in d.relations:
        w("")
        sides = " <-> ".join(
            f"{a}:{e}" + (" (client)" if a == r.client else " (server)" if a == r.server else "")
            for a, e in r.sides.items()
        )
        w(f"Relation {r.name}: {sides}" + ("  [cross-model]" if r.cross_model else ""))
        w(f"  seen from: {', '.join(r.seen_from)}")
        if r.client is not None:
            w(
                f"  request: {_request_text(r.request)}"
                + (f" (from {r.request_source})" if r.request is not None else "")
            )
        if r.server_bags:
            w("  server databags:")
            for b in r.server_bags:
                w(f"    {_bag_line(b)}")
        for note in r.notes:
            w(f"  note: {mask_value(str(note))}")
        for v in r.units:
            w(f"  {v.unit}: {v.verdict.upper()}")
            rd = v.readiness
            if rd is not None and rd.master is not None:
                w(f"    master   {target(rd.master)} (password hidden), from {rd.source}")
            if rd is not None and rd.standbys:
                w(f"    standbys {', '.join(target(s) for s in rd.standbys)}")
            if rd is not None and rd.ready:
                database, version = _shown(rd.database) or "?", _shown(rd.version) or "?"
                w(f"    database {database}, PostgreSQL {version}")
            if v.egress_source is not None:
                w(f"    egress-subnets {_shown(v.egress) or '(none)'} (from {v.egress_source})")
            for x in v.reasons:
                if x.blocking:
                    mark = "-"
                elif x.code.startswith("likely-"):
                    mark = "?"
                else:
                    mark = "note:"
                w(f"    {mark} [{x.code}] {mask_value(str(x))}")
                if x.advice:
                    w(f"        fix: {mask_value(x.advice)}")
            for cmd in v.run:
                w(f"    run: {cmd}")
            if rd is not None and not rd.ready:
                for b in rd.bags:
                    if b.reasons and not any(x.bag == b.bag for x in v.reasons if x.blocking):
                        codes = ", ".join(x.code for x in b.reasons)
                        w(f"    ({b.bag}: {codes})")
    w("")
    verdicts = [(u.unit, u.verdict) for r in d.relations for u in r.units]
    summary = ", ".join(f"{u} {v}" for u, v in verdicts) or "no client unit examined"
    w(f"Verdict: {summary} (exit status {d.exit_code})")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``pgsql doctor``'s options."""
    parser.description = (
        "Explain pgsql relations from `juju show-unit` output (YAML or JSON). Give the client "
        "unit and the server units, e.g. `juju show-unit myapp/0 postgresql/0 --format json | "
        "pgsql doctor`. Exit status: 0 ready, 1 not ready or cannot tell, 2 bad input."
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="`juju show-unit` output files; `-` or none reads standard input",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--juju-version",
        metavar="VERSION",
        help="the controller's Juju version (e.g. 3.6): decides whose data application-data is "
        "when the content does not tell",
    )
    parser.add_argument(
        "--unit", metavar="UNIT", help="the client unit to examine (default: every one shown)"
    )
    parser.add_argument(
        "--endpoint",
        metavar="NAME",
        help="treat relations on this endpoint as pgsql even before any pgsql data is published",
    )


def _read_inputs(files: Sequence[str], stdin: IO[bytes]) -> List[Tuple[str, bytes]]:
    if not files:
        files = ["-"]
    out: List[Tuple[str, bytes]] = []
    for name in files:
        if name == "-":
            out.append(("<stdin>", stdin.read()))
            continue
        try:
            with open(name, "rb") as f:
                out.append((name, f.read()))
        except OSError as e:
            raise InputError(f"{name}: {e.strerror or e}") from None
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``pgsql doctor``; returns the exit status."""
    files: List[str] = list(args.files or [])
    try:
        if not files and sys.stdin.isatty():
            raise InputError(
                "no input: pipe `juju show-unit <client unit> <server unit> --format json` "
                "into pgsql doctor, or name files"
            )
        units: List[_Unit] = []
        for label, raw in _read_inputs(files, sys.stdin.buffer):
            docs = load_documents(raw, label)
            for n, doc in enumerate(docs, 1):
                where = label if len(docs) == 1 else f"{label} document {n}"
                units.extend(parse_units(doc, where))
        if not units:
            raise InputError("no `juju show-unit` documents in the input (it is empty)")
        if args.unit is not None and not _UNIT_NAME.match(args.unit):
            raise InputError(f"--unit {args.unit!r} is not a unit name such as myapp/0")
        diagnosis = diagnose(
            units, juju_version=args.juju_version, client_unit=args.unit, endpoint=args.endpoint
        )
    except InputError as e:
        print(f"pgsql doctor: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    text = json.dumps(to_json(diagnosis), indent=2) + "\n" if args.json else render(diagnosis)
    sys.stdout.write(redact(text, diagnosis.secrets))
    return diagnosis.exit_code
