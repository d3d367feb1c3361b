"""The value: :class:`ConnectionString`, immutable, over the keywords :func:`parse` reads."""

from __future__ import annotations

import functools
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple, Union

from ._grammar import (
    KEYWORD_SET,
    KEYWORDS,
    LEGACY_ATTRIBUTES,
    MASK,
    ConnectionStringError,
    check_text,
    store,
)
from ._keyword_value import format_keyword_value, parse_keyword_value
from ._mask import token
from ._uri import URI_PREFIXES, format_uri, parse_uri


def parse(text: str) -> Dict[str, str]:
    """Parse a keyword/value string or URI into a keyword -> value dict, as PQconninfoParse.

    Raises:
        ConnectionStringError: if libpq would reject ``text``.
    """
    check_text(text, "the connection string")
    for prefix in URI_PREFIXES:
        if text.startswith(prefix):
            return parse_uri(text, len(prefix))
    return parse_keyword_value(text)


def _with_overrides(d: Mapping[str, str], overrides: Mapping[str, object]) -> Dict[str, str]:
    """``d`` with ``overrides`` applied: ``None`` or ``""`` removes a keyword."""
    out = dict(d)
    for key, value in overrides.items():
        if value is None or value == "":
            if key not in KEYWORD_SET and key != "requiressl":
                raise ConnectionStringError(f"unknown keyword {token(key)}", keyword=key)
            out.pop("sslmode" if key == "requiressl" else key, None)
            continue
        text = value if isinstance(value, str) else str(value)
        check_text(text, f'the value of "{key}"' if key in KEYWORD_SET else "a value")
        if not store(out, key, text):
            raise ConnectionStringError(f"unknown keyword {token(key)}", keyword=key)
    return out


@functools.total_ordering
class ConnectionString(Mapping[str, str]):
    r"""An immutable libpq connection string: a mapping of libpq keywords to string values.

    Args:
        conn_str: a keyword/value string, a ``postgresql://`` or ``postgres://`` URI, or another
            :class:`ConnectionString`; None for an empty one.
        **overrides: keywords that replace those of ``conn_str``. ``None`` or ``""`` removes the
            keyword, other non-string values are converted with :class:`str`.

    Raises:
        ConnectionStringError: if ``conn_str`` is malformed, or a keyword is not one libpq knows.

    Every libpq keyword is also an attribute, None when unset. ``str()`` (also
    :attr:`conn_str`) is the canonical keyword/value spelling and :attr:`uri` the URI; libpq
    parses both back to the same keywords and values. Instances compare, order and hash by their
    canonical string; :func:`repr` masks passwords.
    """

    __slots__ = ("_d", "_str", "_uri")

    # One read-only property per keyword is added below the class; declared here for type checkers.
    service: Optional[str]
    user: Optional[str]
    password: Optional[str]
    passfile: Optional[str]
    channel_binding: Optional[str]
    connect_timeout: Optional[str]
    dbname: Optional[str]
    host: Optional[str]
    hostaddr: Optional[str]
    port: Optional[str]
    client_encoding: Optional[str]
    options: Optional[str]
    application_name: Optional[str]
    fallback_application_name: Optional[str]
    keepalives: Optional[str]
    keepalives_idle: Optional[str]
    keepalives_interval: Optional[str]
    keepalives_count: Optional[str]
    tcp_user_timeout: Optional[str]
    sslmode: Optional[str]
    sslnegotiation: Optional[str]
    sslcompression: Optional[str]
    sslcert: Optional[str]
    sslkey: Optional[str]
    sslcertmode: Optional[str]
    sslpassword: Optional[str]
    sslrootcert: Optional[str]
    sslcrl: Optional[str]
    sslcrldir: Optional[str]
    sslsni: Optional[str]
    requirepeer: Optional[str]
    require_auth: Optional[str]
    min_protocol_version: Optional[str]
    max_protocol_version: Optional[str]
    ssl_min_protocol_version: Optional[str]
    ssl_max_protocol_version: Optional[str]
    gssencmode: Optional[str]
    krbsrvname: Optional[str]
    gsslib: Optional[str]
    gssdelegation: Optional[str]
    replication: Optional[str]
    target_session_attrs: Optional[str]
    load_balance_hosts: Optional[str]
    scram_client_key: Optional[str]
    scram_server_key: Optional[str]
    oauth_issuer: Optional[str]
    oauth_client_id: Optional[str]
    oauth_client_secret: Optional[str]
    oauth_scope: Optional[str]
    sslkeylogfile: Optional[str]
    requiressl: None
    tty: None

    _d: Dict[str, str]
    _str: Optional[str]
    _uri: Optional[str]

    def __init__(
        self, conn_str: Union[str, ConnectionString, None] = None, **overrides: object
    ) -> None:
        if conn_str is None:
            d: Dict[str, str] = {}
        elif isinstance(conn_str, ConnectionString):
            d = conn_str._d
        elif isinstance(conn_str, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            d = parse(conn_str)
        else:  # untyped callers
            raise TypeError(
                f"conn_str must be a str or ConnectionString, not {type(conn_str).__name__}"
            )
        if overrides:
            d = _with_overrides(d, overrides)
        if overrides or not isinstance(conn_str, ConnectionString):
            d = dict(sorted(d.items()))
        object.__setattr__(self, "_d", d)
        object.__setattr__(self, "_str", None)
        object.__setattr__(self, "_uri", None)

    def replace(self, **changes: object) -> ConnectionString:
        """Return a copy with ``changes`` applied (``None`` or ``""`` removes a keyword)."""
        return ConnectionString(self, **changes)

    @property
    def conn_str(self) -> str:
        """The canonical keyword/value string (sorted keywords, quoted only where needed)."""
        s = self._str
        if s is None:
            s = format_keyword_value(self._d)
            object.__setattr__(self, "_str", s)
        return s

    @property
    def uri(self) -> str:
        """The ``postgresql://`` URI.

        User, password, host, port and dbname are in their places, every other keyword is a
        sorted query parameter; socket hosts, and values the authority cannot carry, move to the
        query too.
        """
        u = self._uri
        if u is None:
            u = format_uri(self._d)
            object.__setattr__(self, "_uri", u)
        return u

    def masked(self, mask: str = MASK) -> str:
        """The canonical keyword/value string with secrets replaced by ``mask``.

        Secret values (:data:`SECRET_KEYWORDS`) are replaced whole; any other value that holds
        a secret (``password=`` after mangled separators, a URI password) is cut as
        :func:`mask_value` does.
        """
        return format_keyword_value(self._d, mask)

    def masked_uri(self) -> str:
        """The URI with secrets replaced by ``********``, as :meth:`masked`."""
        return format_uri(self._d, mask=True)

    def to_dict(self) -> Dict[str, str]:
        """The keywords that are set and their values, as a new dict in keyword order."""
        return dict(self._d)

    def __getitem__(self, key: str) -> str:
        return self._d[key]

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __str__(self) -> str:
        return self.conn_str

    def __repr__(self) -> str:
        return f"ConnectionString({self.masked()!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConnectionString):
            return NotImplemented
        return self._d == other._d

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ConnectionString):
            return NotImplemented
        return self.conn_str < other.conn_str

    def __hash__(self) -> int:
        return hash(self.conn_str)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"ConnectionString is immutable; use replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ConnectionString is immutable; use replace(...)")

    def __reduce__(self) -> Tuple[Any, ...]:
        return (ConnectionString, (self.conn_str,))


def _keyword_property(key: str) -> property:
    def get(self: ConnectionString) -> Optional[str]:
        return self._d.get(key)  # pyright: ignore[reportPrivateUsage]

    return property(get, doc=f"The ``{key}`` value, or None when unset.")


def _legacy_property(key: str) -> property:
    def get(self: ConnectionString) -> None:
        return None

    return property(get, doc=f"Always None, as libpq 18 has no ``{key}`` (1.x compatibility).")


def _add_properties() -> None:
    for key in KEYWORDS:
        setattr(ConnectionString, key, _keyword_property(key))
    for key in LEGACY_ATTRIBUTES:
        setattr(ConnectionString, key, _legacy_property(key))


_add_properties()
