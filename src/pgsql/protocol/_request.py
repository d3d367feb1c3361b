"""Requests: what a client application asks a PostgreSQL server for, validated.

:class:`Request` holds a database name, roles and extensions; :meth:`Request.build` validates
caller input (raising :class:`RequestError`), :meth:`Request.from_databag` reads remote data
leniently. Extension items keep both schema syntaxes seen in the wild (:func:`parse_extension`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, Optional, Tuple, Union

from .._lazyre import lazy_compile
from ..connstr import mask_value
from ._common import Databag, split_list

#: Keys a client writes to request things; a server echoes them back once acted upon.
REQUEST_KEYS = ("database", "roles", "extensions")

_NAME_FORBIDDEN = lazy_compile(r"[,\n\r\x00]")
_EXTENSION = lazy_compile(
    r"""^\s*(?P<name>[^\s:()]+)\s*(?:
        :\s*(?P<colon>[^\s:()]+)       # name:schema (Canonical charms, 1.x docs)
        |\(\s*(?P<paren>[^\s:()]+)\s*\) # name(schema) (reactive postgresql, legacy k8s)
    )?\s*$""",
    re.VERBOSE,
)


class RequestError(ValueError):
    """A requested database, role or extension name is invalid (caller misuse)."""


def quoted_name(value: str, limit: Optional[int] = None) -> str:
    """A requested name quoted for an error message, a secret it holds masked.

    A name with mangled separators (``mydb,password=s3cret``) is refused, and its message must
    not echo the password (:func:`pgsql.connstr.mask_value`, the one masking rule).
    """
    masked = mask_value(value)
    return repr(masked if limit is None else masked[:limit])


def parse_extension(item: str) -> Tuple[str, Optional[str]]:
    """Split an extension request item into ``(name, schema)``.

    Both syntaxes seen in the wild are accepted: ``name:schema`` (Canonical charms and the 1.x
    documentation) and ``name(schema)`` (the reactive PostgreSQL charm and the legacy
    Kubernetes charm).

    >>> parse_extension("citext"), parse_extension("pg_trgm:public"), parse_extension("hstore(s)")
    (('citext', None), ('pg_trgm', 'public'), ('hstore', 's'))

    Raises:
        RequestError: the item is not one of those forms.
    """
    m = _EXTENSION.match(item)
    if m is None:
        raise RequestError(
            f"invalid extension {quoted_name(item)}: expected name, name:schema or name(schema)"
        )
    return m.group("name"), m.group("colon") or m.group("paren")


def _extension_name(item: str) -> str:
    """The extension name alone, leniently (remote data never raises)."""
    try:
        return parse_extension(item)[0]
    except RequestError:
        return item.strip()


@lru_cache(maxsize=256)
def extension_names_of(raw: str) -> FrozenSet[str]:
    """The extension names of a comma-separated ``extensions`` value, leniently."""
    # Evaluated once per server bag per hook, with the same few values: parse each once.
    return frozenset(_extension_name(e) for e in split_list(raw))


def _check_name(kind: str, value: object) -> str:
    if not isinstance(value, str):
        raise RequestError(f"{kind} must be a str, not {type(value).__name__}")
    if not value or value != value.strip():
        raise RequestError(f"{kind} {quoted_name(value)} is empty or has surrounding whitespace")
    if _NAME_FORBIDDEN.search(value):
        raise RequestError(f"{kind} {quoted_name(value)} contains a comma, newline or NUL")
    return value


def _check_names(kind: str, values: Union[str, Iterable[str], None]) -> Tuple[str, ...]:
    if values is None:
        return ()
    # pitfall 15: 1.x turned a bare string into its characters; a str is one name
    items: Iterable[object] = [values] if isinstance(values, str) else values
    try:
        checked = {_check_name(kind, v) for v in items}
    except TypeError:
        raise RequestError(f"{kind}s must be a str or an iterable of str") from None
    if kind == "extension":
        for item in checked:
            parse_extension(item)
    return tuple(sorted(checked))


@dataclass(frozen=True)
class Request:
    """What a client application asks the server for.

    ``database`` ``""`` asks for the server's default (most servers use the client application
    name; some never provision without a name, so always ask for one). Roles and extensions are
    kept sorted and de-duplicated, the way they go on the wire.
    """

    database: str = ""
    roles: Tuple[str, ...] = ()
    extensions: Tuple[str, ...] = ()
    #: The database user asked for (``postgresql_client`` only; ``""``: the provider's choice).
    #: Not part of :meth:`databag` (it goes in a Juju secret, not on the wire): see :meth:`record`.
    username: str = ""

    @classmethod
    def build(
        cls,
        database: Optional[str] = None,
        roles: Union[str, Iterable[str], None] = None,
        extensions: Union[str, Iterable[str], None] = None,
        username: Optional[str] = None,
    ) -> Request:
        """Validate caller input and build a request.

        Raises:
            RequestError: a value is not a str (or iterable of str), is empty, has surrounding
                whitespace, contains a comma, newline or NUL, or an extension is malformed.
        """
        db = "" if database is None or database == "" else _check_name("database", database)
        user = "" if username is None or username == "" else _check_name("username", username)
        return cls(db, _check_names("role", roles), _check_names("extension", extensions), user)

    @classmethod
    def from_databag(cls, bag: Databag) -> Request:
        """Read a request as written on the wire, leniently (never raises)."""
        return cls(
            bag.get("database", "").strip(),
            tuple(sorted(set(split_list(bag.get("roles"))))),
            tuple(sorted(set(split_list(bag.get("extensions"))))),
        )

    def databag(self) -> Dict[str, str]:
        """The request as databag keys: comma-joined, no key for what was not requested."""
        out: Dict[str, str] = {}
        if self.database:
            out["database"] = self.database
        if self.roles:
            out["roles"] = ",".join(self.roles)
        if self.extensions:
            out["extensions"] = ",".join(self.extensions)
        return out

    def record(self) -> Dict[str, str]:
        """The request as this library keeps it across hooks: :meth:`databag` and ``username``.

        A request without a user name keeps the 1.x form (no ``username`` key).
        """
        out = self.databag()
        if self.username:
            out["username"] = self.username
        return out

    @classmethod
    def from_record(cls, bag: Databag) -> Request:
        """Read back what :meth:`record` wrote (1.x records too), leniently."""
        request = cls.from_databag(bag)
        username = bag.get("username", "").strip()
        return replace(request, username=username) if username else request

    def __repr__(self) -> str:
        # the 1.x-era form, with the user name only when one is asked for
        user = f", username={self.username!r}" if self.username else ""
        return (
            f"Request(database={self.database!r}, roles={self.roles!r}, "
            f"extensions={self.extensions!r}{user})"
        )

    @property
    def extension_names(self) -> FrozenSet[str]:
        """Requested extension names without their schema."""
        return extension_names_of(",".join(self.extensions))

    def __bool__(self) -> bool:
        return bool(self.database or self.roles or self.extensions or self.username)
