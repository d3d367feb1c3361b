"""The ``pgsql`` interface's value formats: ``standbys``, ``allowed-units``, ``allowed-subnets``.

Both sides read them from here. Every server unit bag repeats the same values, so each distinct
one is split (and parsed) once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Dict, FrozenSet, List, Optional, Tuple

from ..connstr import ConnectionString, ConnectionStringError
from ._common import parse_connstr, split_list

#: ``state`` values naming the unit that serves the master database.
PRIMARY_STATES = frozenset({"master", "standalone"})
# pitfall 4: a comma separates two conn strings only when followed by another keyword
_LINE_BREAK = re.compile(r"[\r\n]")
_STANDBY_SPLIT = re.compile(r",(?=[A-Za-z_][A-Za-z0-9_]*[ \t\f\v]*=)")
# libpq's isspace(); Python's str.isspace()/strip() also take e.g. \x1f, legal in values
_LIBPQ_WS = " \t\n\r\f\v"


@lru_cache(maxsize=1024)
def split_units(raw: Optional[str]) -> FrozenSet[str]:
    """Split ``allowed-units``: servers use spaces or commas (pitfall 7)."""
    if not raw:
        return frozenset()
    return frozenset(raw.replace(",", " ").split())


@lru_cache(maxsize=1024)
def split_subnets(raw: Optional[str]) -> FrozenSet[str]:
    """Split ``allowed-subnets`` (a comma list) into a set."""
    return frozenset(split_list(raw))


def split_standbys(raw: Optional[str]) -> List[str]:
    """Split a ``standbys`` value into connection strings (pitfall 4).

    Servers join them with newlines (the reactive charm, the spec), with commas (Canonical VM
    PostgreSQL) or publish a single one. Outside single-quoted values, a newline separates two
    strings, and so does a comma that ends a value and is directly followed by another
    ``keyword=`` (so an unquoted value containing ``,keyword=`` is ambiguous). As in libpq, a
    quote opens a quoted value only at the start of a value; a line with an unbalanced quote is
    kept to itself.
    """
    if not raw:
        return []
    return list(standby_parts(raw))


@lru_cache(maxsize=1024)
def standby_parts(raw: str) -> Tuple[str, ...]:
    """:func:`split_standbys` of a non-empty value, as a tuple (cached)."""
    # Every server unit bag repeats the same value: split each distinct one once.
    parts = _fast_split(raw) if "'" not in raw and "\\" not in raw else None
    if parts is None:
        parts = _scan_standbys(raw)
        if parts is None:
            parts = [p for line in raw.split("\n") for p in (_scan_standbys(line) or [line])]
    return tuple(p.strip(_LIBPQ_WS) for p in parts if p.strip(_LIBPQ_WS))


def _fast_split(raw: str) -> Optional[List[str]]:
    """:func:`_scan_standbys` for values without quotes or backslashes, in C-speed steps.

    Without quotes, a comma followed by ``keyword=`` separates unless it starts a value (only
    blanks between it and the ``=`` before it). None when a ``=`` precedes such a comma: whether
    it ends a key or a value (``password=abc=``) takes the scanner.
    """
    out: List[str] = []
    for line in _LINE_BREAK.split(raw):
        start = 0
        for m in _STANDBY_SPLIT.finditer(line):
            i = m.start()
            if line[start:i].rstrip(_LIBPQ_WS).endswith("="):
                return None
            out.append(line[start:i])
            start = i + 1
        out.append(line[start:])
    return out


def _scan_standbys(raw: str) -> Optional[List[str]]:
    """Split on unquoted separators; None if a quoted value is left open."""
    out: List[str] = []
    start = 0
    quoted = False
    value_start = False  # just after "=" (and blanks): a quote here opens a quoted value
    in_value = False  # past a key's "=": another "=" is part of the value (base64 padding)
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == "'":
                quoted = False
        elif c == "\\":
            i += 1
            value_start = False
        elif c == "'" and value_start:
            quoted, value_start = True, False
        elif c in "\r\n" or (c == "," and not value_start and _STANDBY_SPLIT.match(raw, i)):
            out.append(raw[start:i])
            start = i + 1
            value_start = in_value = False
        elif c == "=" and not in_value:
            value_start = in_value = True
        elif c in _LIBPQ_WS:
            in_value = in_value and value_start  # blanks end a value, not the wait for one
        else:
            value_start = False
        i += 1
    if quoted:
        return None
    out.append(raw[start:])
    return out


@lru_cache(maxsize=1024)
def canonical_standbys(raw: str) -> str:
    """A ``standbys`` value in one spelling: its connection strings, parsed, one a line."""
    # pitfall 5: bags agree when their standbys parse the same, however each server formats them
    return "\n".join(str(cs) for cs in parse_standbys(raw)[0])


@lru_cache(maxsize=1024)
def parse_standbys(raw: str) -> Tuple[Tuple[ConnectionString, ...], Tuple[str, ...]]:
    """The distinct standby connection strings of a ``standbys`` value, and parse errors."""
    found: Dict[ConnectionString, None] = {}
    errors: List[str] = []
    for item in split_standbys(raw):
        try:
            found.setdefault(parse_connstr(item), None)
        except ConnectionStringError as e:
            errors.append(str(e))
    return tuple(found), tuple(errors)
