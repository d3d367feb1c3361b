"""Finding the passwords in databags and secret contents, to hide them wherever they show up.

The one home of this rule for ``pgsql doctor`` and ``pgsql demo``. How one value is shown is
:func:`pgsql.connstr.mask_value`'s job; this module knows which keys of the two interfaces' bags
hold a password (in clear, or inside a connection string or URI) so that a printer can replace
each one found in its finished text with :func:`redact`: the last line of defence, for a
password that reached the text some other way than through a masked value.
"""

from __future__ import annotations

import json
import re
from typing import Dict, Iterable, Mapping, Optional, Set, cast

from .connstr import MASK, SECRET_KEYWORDS, ConnectionString, ConnectionStringError, mask_value
from .protocol import split_standbys

#: Keys whose value is a password in clear (``pgsql`` server bags, ``postgresql_client``
#: secret contents or bags).
PASSWORD_KEYS = ("password", "schema_password")
#: ``pgsql`` keys whose value is a libpq connection string (``standbys``: one or a list).
CONNSTR_KEYS = ("master", "standbys")
#: ``postgresql_client`` keys whose value is a URI, a multi-host URI or a comma list of URIs.
URI_KEYS = ("uris", "read-only-uris")
# Values that are a JSON object of another bag, credentials in clear included: data_interfaces'
# snapshot of the other side's bag (`data`), the provider example's peer entries (`db-<name>`).
_SNAPSHOT_KEY = "data"
_PEER_ENTRY_PREFIX = "db-"
# Shorter strings are not hidden: replacing them everywhere would garble the text, not hide.
_SHORTEST = 3
# The password of a URI's userinfo, as pgsql.connstr.mask_value finds it: for a URI libpq refuses
_USERINFO_PASSWORD = re.compile(r"://[^:/?#@]*:(.+)@", re.DOTALL)


def passwords_in(bag: Mapping[str, str]) -> Set[str]:
    """Every password in a databag or a secret's content (of at least three characters).

    A connection string that cannot be parsed is itself returned (where its password is cannot
    be told), with the password of a URI's userinfo. Values holding a secret (mangled
    separators: ``dbname=x|password=y`` parsed as one dbname) are returned whole.
    """
    found: Set[str] = set()
    _scan(bag, found, nested=False)
    return {p for p in found if len(p) >= _SHORTEST}


def redact(text: str, secrets: Iterable[str], mask: str = MASK) -> str:
    """Replace every known secret in ``text`` with ``mask`` (last line of defence)."""
    # longest first: a password holding another one is replaced whole
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, mask)
    return text


def _scan(bag: Mapping[str, str], found: Set[str], *, nested: bool) -> None:
    for key, value in bag.items():
        if key in PASSWORD_KEYS:
            found.add(value.strip())
        elif key in CONNSTR_KEYS:
            for raw in split_standbys(value):
                found |= _connstr_passwords(raw)
        elif key in URI_KEYS:
            found |= _uri_passwords(value)
        elif not nested and (key == _SNAPSHOT_KEY or key.startswith(_PEER_ENTRY_PREFIX)):
            copied = _json_object(value)
            if copied is not None:
                _scan(copied, found, nested=True)


def _connstr_passwords(raw: str) -> Set[str]:
    raw = raw.strip()
    if not raw:
        return set()
    try:
        cs = ConnectionString(raw)
    except ConnectionStringError:
        # cannot tell where a password would be: hide the whole string, and its userinfo's
        return {raw, *(m.group(1) for m in _USERINFO_PASSWORD.finditer(raw))}
    # secrets, and values holding one (mangled separators: the password in dbname)
    return {v for k, v in cs.items() if k in SECRET_KEYWORDS or mask_value(v) != v}


def _uri_passwords(value: str) -> Set[str]:
    """A list of URIs when each comma-separated part is one, else one (multi-host) URI."""
    parts = value.split(",")
    if len(parts) > 1 and all(_parses(p) for p in parts):
        found: Set[str] = set()
        for part in parts:
            found |= _connstr_passwords(part)
        return found
    return _connstr_passwords(value)


def _parses(raw: str) -> bool:
    try:
        ConnectionString(raw.strip())
    except ConnectionStringError:
        return False
    return True


def _json_object(raw: str) -> Optional[Dict[str, str]]:
    """The string values of a JSON object; None when ``raw`` is not one."""
    if not raw.strip().startswith("{"):
        return None
    try:
        loaded: object = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(loaded, dict):
        return None
    items = cast(Dict[object, object], loaded).items()
    return {str(k): v for k, v in items if isinstance(v, str)}
