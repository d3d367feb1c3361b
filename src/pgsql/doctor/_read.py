"""Reading ``juju show-unit`` output: documents (YAML or JSON) into units and relation-info items.

Input that does not have that shape is an :class:`InputError`, one line for people. Which
relation an item belongs to is decided later (``_group``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, cast

from ._bags import Bag, client_evidence, pgsql_evidence

UNIT_NAME = re.compile(r"^[a-z][a-z0-9-]*/[0-9]+$")

#: documents that hold nothing (YAML read with BaseLoader keeps ``null`` as a string)
_NULLS = (None, "", "null", "Null", "NULL", "~")


class InputError(Exception):
    """The input is not usable ``juju show-unit`` output; the message is one line for people."""


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
class Scoped:
    in_scope: bool
    data: Bag


@dataclass
class Item:
    """One ``relation-info`` item of one unit's ``show-unit`` document."""

    unit: str
    source: str
    rid: Optional[int]
    endpoint: str
    related_endpoint: str
    cross_model: bool
    app_data: Bag
    local: Optional[Scoped]
    related: Dict[str, Scoped]
    #: set when a relation-id shows that a look-alike of a peer relation is the 4.0.5 bug shape
    not_peer: bool = False
    #: the relation's interface when the input names it (``juju show-unit`` does not; other
    #: tools' output may), else ""
    interface: str = ""

    @property
    def app(self) -> str:
        return app_of(self.unit)

    @property
    def remote_app(self) -> Optional[str]:
        apps = {app_of(u) for u in self.related} - {self.app}
        return next(iter(apps)) if len(apps) == 1 else None

    @property
    def is_peer(self) -> bool:
        apps = {app_of(u) for u in self.related}
        if apps:
            return apps == {self.app}
        return (
            not self.not_peer
            and self.local is not None
            and self.endpoint == self.related_endpoint
            and not pgsql_evidence([self.app_data, self.local.data])
            and not client_evidence([self.app_data, self.local.data])
        )

    @property
    def bug_4_0_5(self) -> bool:
        """Juju 4.0.5 showed the unit's own bag (``local-unit``) on non-peer relations."""
        return self.local is not None and not self.related and not self.is_peer


@dataclass
class Unit:
    name: str
    source: str
    leader: bool
    charm: str
    has_life: bool
    items: List[Item]


def app_of(unit: str) -> str:
    return unit.rpartition("/")[0]


def parse_units(doc: object, label: str) -> List[Unit]:
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
    units: List[Unit] = []
    for key, value in top.items():
        if not isinstance(key, str) or not UNIT_NAME.match(key):
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
            Unit(
                key,
                label,
                _truthy(info.get("leader")),
                charm if isinstance(charm, str) else "",
                "life" in info,
                items,
            )
        )
    return units


def _parse_item(unit: str, where: str, raw: object, label: str) -> Item:
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
    local: Optional[Scoped] = None
    local_raw = _as_map(m.get("local-unit"))
    if local_raw is not None:
        data = _databag(local_raw.get("data"), f"{where} local-unit data")
        in_scope = _truthy(local_raw.get("in-scope"))
        if in_scope or data:  # JSON always has {"in-scope": false, "data": null}
            local = Scoped(in_scope, data)
    related: Dict[str, Scoped] = {}
    related_raw = m.get("related-units")
    if related_raw not in (None, "", "null"):
        rm = _as_map(related_raw)
        if rm is None:
            raise InputError(f"{where} related-units is {_kind_of(related_raw)}, not a mapping")
        for name, entry in rm.items():
            if not isinstance(name, str) or not UNIT_NAME.match(name):
                raise InputError(f"{where} related-units key {_short(name)} is not a unit name")
            em = _as_map(entry)
            if em is None:
                raise InputError(f"{where} related-units {name} is {_kind_of(entry)}")
            related[name] = Scoped(
                _truthy(em.get("in-scope")), _databag(em.get("data"), f"{where} {name} data")
            )
    interface = m.get("interface")
    return Item(
        unit,
        label,
        rid,
        endpoint,
        related_endpoint if isinstance(related_endpoint, str) else "",
        _truthy(m.get("cross-model")),
        _databag(m.get("application-data"), f"{where} application-data"),
        local,
        related,
        interface=interface.strip() if isinstance(interface, str) else "",
    )
