"""Interface-neutral helpers for databag values: the shapes every PostgreSQL interface shares.

Databags are ``Mapping[str, str]`` as Juju stores them; unit names sort numerically; connection
strings are parsed once per distinct value and refused when a secret hides inside another value.
Nothing here knows a relation interface's keys beyond what Juju itself writes.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import List, Mapping, Optional, Tuple

from ..connstr import (
    MASK,
    SECRET_KEYWORDS,
    ConnectionString,
    ConnectionStringError,
    mask_value,
)
from ..connstr._mask import SECRET_ASSIGNMENT  # compiled on first use, unlike connstr's

Databag = Mapping[str, str]

# How much of a remote value a reason quotes.
_SHOWN = 60

#: Keys Juju itself writes into every unit databag.
JUJU_KEYS = frozenset({"egress-subnets", "ingress-address", "private-address"})


def split_list(raw: Optional[str]) -> List[str]:
    """Split a comma-separated value, dropping blanks."""
    if not raw:
        return []
    return [p for p in (s.strip() for s in raw.split(",")) if p]


def unit_sort_key(name: str) -> Tuple[str, int, str]:
    """Sort unit names numerically: ``pg/2`` before ``pg/10`` (pitfall 3)."""
    app, _, num = name.rpartition("/")
    # isdigit() alone accepts "²", which int() rejects; Juju unit numbers are ASCII digits
    return (app, int(num), name) if num.isascii() and num.isdigit() else (name, -1, name)


@lru_cache(maxsize=4096)
def parse_connstr(raw: str) -> ConnectionString:
    """Parse a connection string from remote data, refusing one with a secret inside a value.

    Raises:
        ConnectionStringError: unparsable, or mangled so that a secret sits in another value.
    """
    # Servers repeat the same strings in every unit bag; parse each distinct one once.
    cs = ConnectionString(raw)
    for key, value in cs.items():
        if key not in SECRET_KEYWORDS and SECRET_ASSIGNMENT.search(value):
            # A mangled string ("dbname=x|host=y|password=z" is one dbname to libpq): unusable,
            # and its secret would show wherever that value is shown.
            raise ConnectionStringError(
                f"the value of {key!r} holds a secret keyword's assignment: mangled separators?"
            )
    return cs


def mask_userinfo(value: str) -> str:
    """``value`` as it may appear in a message: :func:`~pgsql.connstr.mask_value`, and more.

    A ``user:password@`` before a host without a ``scheme://`` (a mangled or mistyped endpoints
    entry such as ``relation-7:PW@10.0.0.5:5432``) is hidden whole: everything up to the last
    ``@`` of each comma-separated part.

    >>> mask_userinfo("relation-7:s3cret@10.0.0.5:5432,10.0.0.6:5432")
    '********@10.0.0.5:5432,10.0.0.6:5432'
    """
    parts = mask_value(value).split(",")
    return ",".join(f"{MASK}@{p.rpartition('@')[2]}" if "@" in p else p for p in parts)


def shown_in_reason(value: str) -> str:
    """A remote value as a reason quotes it: :func:`mask_userinfo`, shortened, as a repr."""
    text = mask_userinfo(value)
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def mask_in_message(message: str, value: object) -> str:
    """``message`` with the ``repr`` of ``value`` it quotes (a RequestError's) masked."""
    if not isinstance(value, str) or not value:
        return message
    return message.replace(repr(value), repr(mask_userinfo(value)))


def digest(value: Optional[str]) -> Optional[str]:
    """A short SHA-256 hex digest of a value (kept instead of a connection string), None kept."""
    if value is None:
        return None
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
