"""What the report shows of values from the input: never a password.

Databag values are shown through :func:`pgsql.connstr.mask_value`, which also masks a password
held inside another value (mangled separators), and a connection string as its :func:`target`.
:func:`find_secrets` collects every secret of the input for :func:`redact`, which replaces them
in the finished report: the last line of defence.
"""

from __future__ import annotations

import re
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, cast

from ..connstr import MASK, SECRET_KEYWORDS, ConnectionString, ConnectionStringError, mask_value
from ..protocol import Request, split_standbys
from ._bags import SECRET_KEYS, snapshot
from ._read import Unit


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


def shown(value: Optional[str]) -> Optional[str]:
    # A value from the input as the report shows it: whatever a secret in it holds masked.
    return None if value is None else mask_value(value)


def shown_json(data: Any) -> Any:
    # Every string of the JSON report masked (last line of defence: each value already is).
    if isinstance(data, str):
        return mask_value(data)
    if isinstance(data, dict):
        items = cast(Dict[str, Any], data).items()
        return {k: shown_json(v) for k, v in items}
    if isinstance(data, list):
        return [shown_json(v) for v in cast(List[Any], data)]
    return data


def parse_target(raw: Optional[str]) -> Optional[str]:
    if not raw or not raw.strip():
        return None
    try:
        return target(ConnectionString(raw.strip()))
    except ConnectionStringError:
        return "(unparseable connection string)"


def request_text(request: Optional[Request]) -> str:
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


#: postgresql_client keys whose value is a connection URI (with the password, in clear).
_URI_KEYS = ("uris", "read-only-uris")
# The password of a URI's userinfo, as pgsql.connstr.mask_value finds it: for a URI libpq refuses
_USERINFO_PASSWORD = re.compile(r"://[^:/?#@]*:(.+)@", re.DOTALL)


def find_secrets(units: Sequence[Unit]) -> FrozenSet[str]:
    found: Set[str] = set()

    def scan(bag: Mapping[str, str], depth: int = 0) -> None:
        for key in SECRET_KEYS:
            value = bag.get(key, "").strip()
            if value:
                found.add(value)
        raws = [bag.get("master", ""), *split_standbys(bag.get("standbys"))]
        raws += [bag.get(k, "") for k in _URI_KEYS]
        for raw in raws:
            if not raw.strip():
                continue
            try:
                cs = ConnectionString(raw.strip())
            except ConnectionStringError:
                found.add(raw.strip())  # unparseable: hide the whole string, and its password
                found.update(m.group(1) for m in _USERINFO_PASSWORD.finditer(raw))
                continue
            # secrets, and values holding one (mangled separators: the password in dbname)
            found.update(v for k, v in cs.items() if k in SECRET_KEYWORDS or mask_value(v) != v)
        # data_interfaces copies the provider's bag, credentials in clear included, into a JSON
        # snapshot (`data`) in each requirer unit's bag
        copied = snapshot(bag.get("data", "")) if depth == 0 and "data" in bag else None
        if copied is not None:
            scan(copied, depth + 1)

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
