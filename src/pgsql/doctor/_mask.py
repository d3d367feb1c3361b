"""What the report shows of values from the input: never a password.

Databag values are shown through :func:`pgsql.connstr.mask_value`, which also masks a password
held inside another value (mangled separators), and a connection string as its :func:`target`.
:func:`find_secrets` collects every password of the input (by :mod:`pgsql._passwords`, the rule
``pgsql demo`` shares) for :func:`~pgsql.doctor.redact`, which replaces them in the finished
report: the last line of defence.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Set, cast

from .._passwords import passwords_in
from ..connstr import ConnectionString, ConnectionStringError, mask_value
from ..protocol import Request
from ._read import Unit


def target(cs: ConnectionString) -> str:
    """``user@host:port/dbname`` for a connection string: what it connects to, no password.

    Each part is masked (:func:`~pgsql.connstr.mask_value`): a string with mangled separators
    (``dbname=x|host=y|password=z``) is one dbname holding the password.
    """
    user = f"{mask_value(cs.user)}@" if cs.user else ""
    host = mask_value(cs.host or cs.hostaddr or "localhost")
    port = f":{mask_value(cs.port, keyword='port')}" if cs.port else ""
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


def find_secrets(units: Sequence[Unit]) -> FrozenSet[str]:
    """Every password in the input's bags (:func:`pgsql._passwords.passwords_in`), to redact."""
    found: Set[str] = set()
    for unit in units:
        for item in unit.items:
            found |= passwords_in(item.app_data)
            if item.local is not None:
                found |= passwords_in(item.local.data)
            for scoped in item.related.values():
                found |= passwords_in(scoped.data)
    return frozenset(found)
