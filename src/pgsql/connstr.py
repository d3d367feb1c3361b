r"""libpq connection strings and URIs, parsed the way libpq parses them (standard library only).

:class:`ConnectionString` reads both spellings libpq accepts, keyword/value strings and
``postgresql://`` (or ``postgres://``) URIs, with the rules of libpq's ``PQconninfoParse``: quoting,
backslash escapes, multiple hosts, percent-decoding, IPv6 literals, query parameters and the
legacy ``requiressl`` and ``ssl=true`` spellings. Anything libpq would reject raises
:class:`ConnectionStringError`, a :class:`ValueError` whose message names the keyword or the
(1-based) position at fault but never a password or the whole string.

>>> cs = ConnectionString("host=10.0.0.1 port=5432 dbname=mydb user=myapp password=s3cret")
>>> cs.host, cs.port, cs.sslmode
('10.0.0.1', '5432', None)
>>> str(cs)
'dbname=mydb host=10.0.0.1 password=s3cret port=5432 user=myapp'
>>> cs.uri
'postgresql://myapp:s3cret@10.0.0.1:5432/mydb'
>>> cs
ConnectionString('dbname=mydb host=10.0.0.1 password=******** port=5432 user=myapp')

URIs read back to the same keywords, and the two spellings compare equal:

>>> ConnectionString("postgresql://myapp:s3cret@10.0.0.1:5432/mydb") == cs
True
>>> ConnectionString("postgresql://u@a:5432,b:5433/db?sslmode=require").to_dict()
{'dbname': 'db', 'host': 'a,b', 'port': '5432,5433', 'sslmode': 'require', 'user': 'u'}

Values are quoted and escaped only when they need it; sockets and IPv6 hosts get URI forms libpq
reads back:

>>> print(ConnectionString(user="o'brien", options="-c search_path=app"))
options='-c search_path=app' user=o\'brien
>>> ConnectionString(host="/run/postgresql", dbname="db").uri
'postgresql:///db?host=%2Frun%2Fpostgresql'
>>> ConnectionString(host="2001:db8::1234", port=5432).uri
'postgresql://[2001:db8::1234]:5432'

Instances are immutable; :meth:`ConnectionString.replace` (or passing keywords to the
constructor) derives a changed copy, and a ``None`` or empty value drops a keyword:

>>> cs.replace(dbname="other", password=None)
ConnectionString('dbname=other host=10.0.0.1 port=5432 user=myapp')

Malformed input is an error, never silently skipped:

>>> for bad in ("host=db password='unterminated", "hots=db", "postgresql://db/%zz"):
...     try:
...         ConnectionString(bad)
...     except ConnectionStringError as e:
...         print(e)
unterminated quoted string for keyword "password" (opened at position 18)
unknown keyword "hots" at position 1
invalid percent-encoding in the URI database name at position 17
"""

from __future__ import annotations

import functools
import re
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union
from urllib.parse import quote, unquote_to_bytes

from ._lazyre import lazy_compile

__all__ = [
    "KEYWORDS",
    "SECRET_KEYWORDS",
    "ConnectionString",
    "ConnectionStringError",
    "mask_value",
]

# Every keyword PQconninfoParse of libpq 18 accepts, in libpq's order (PQconndefaults). The parser
# of an older libpq rejects the newest ones; this module follows libpq 18.
KEYWORDS: Tuple[str, ...] = (
    "service",
    "user",
    "password",
    "passfile",
    "channel_binding",
    "connect_timeout",
    "dbname",
    "host",
    "hostaddr",
    "port",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslmode",
    "sslnegotiation",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslcertmode",
    "sslpassword",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "require_auth",
    "min_protocol_version",
    "max_protocol_version",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "replication",
    "target_session_attrs",
    "load_balance_hosts",
    "scram_client_key",
    "scram_server_key",
    "oauth_issuer",
    "oauth_client_id",
    "oauth_client_secret",
    "oauth_scope",
    "sslkeylogfile",
)
_KEYWORD_SET = frozenset(KEYWORDS)

# Values hidden by repr() and by ``pgsql connstr``: libpq's password-like options ('*' display
# character) plus the SCRAM keys, which are as good as the password.
SECRET_KEYWORDS = frozenset(
    ("password", "sslpassword", "oauth_client_secret", "scram_client_key", "scram_server_key")
)
MASK = "********"

# libpq tests bytes with C isspace(); in the C and UTF-8 locales that is ASCII whitespace only.
_WS = " \t\n\r\x0b\x0c"

#: A secret keyword and its ``=`` inside a value, whatever precedes it (``|``, ``;``, ``,``, ``&``,
#: a blank, the start...): what a string with mangled separators leaves in one value
#: (``dbname=x|host=y|password=z`` is one dbname to libpq). The client refuses such values, and
#: :func:`mask_value` hides everything after the match.
SECRET_ASSIGNMENT = lazy_compile(
    f"(?<![A-Za-z0-9_])(?:{'|'.join(sorted(SECRET_KEYWORDS))})[{_WS}]*=", re.IGNORECASE
)
# The password of a "scheme://user:password@" userinfo inside a value, up to the last "@" (a
# password holding an "@" or a "/" stays hidden).
_USERINFO_PASSWORD = lazy_compile(r"://[^:/?#@]*:(.+)@", re.DOTALL)


def _shown_parts(value: str) -> List[str]:
    """The parts of ``value`` that may be shown; a secret sits between each two (if any)."""
    secret = SECRET_ASSIGNMENT.search(value)
    end = len(value) if secret is None else secret.start()
    parts: List[str] = []
    start = 0
    # Ending the search at the last "@" keeps it linear: no failed scan runs past it.
    for m in _USERINFO_PASSWORD.finditer(value, 0, value.rfind("@", 0, end) + 1):
        parts.append(value[start : m.start(1)])
        start = m.end(1)
    if secret is None:
        parts.append(value[start:])
    else:
        parts.extend((value[start : secret.end()], ""))
    return parts


def mask_value(value: str, mask: str = MASK) -> str:
    """``value`` with any secret it holds replaced by ``mask``, for showing or logging it.

    A secret keyword (``password``, ``sslpassword``, ... in any case) followed by ``=`` anywhere
    in the value hides everything after the ``=``, to the end: the password of a string whose
    separators were mangled could hold separators itself. The password of a
    ``scheme://user:password@`` userinfo is hidden too. Apply it to one value, not to a whole
    connection string (where it would also hide the keywords after a password).

    >>> mask_value("mydb|host=10.0.0.20|password=s3cret|port=5432")
    'mydb|host=10.0.0.20|password=********'
    >>> mask_value("see postgresql://u:s3cret@db/x")
    'see postgresql://u:********@db/x'
    >>> mask_value("mydb")
    'mydb'
    """
    return mask.join(_shown_parts(value))


# 1.x attributes for keywords libpq no longer has; always None, kept so old charms keep working.
_LEGACY_ATTRIBUTES = ("requiressl", "tty")

# The URI authority and path hold these; every other keyword is a query parameter.
_URI_PLACED = frozenset(("user", "password", "host", "port", "dbname"))

_SKIP_WS = lazy_compile(f"[{_WS}]*")
_KEY = lazy_compile(f"[^{_WS}=]*")
_UNQUOTED = lazy_compile(f"(?:[^{_WS}\\\\]|\\\\.)*\\\\?", re.DOTALL)
_QUOTED = lazy_compile(r"'((?:[^'\\]|\\.)*)'", re.DOTALL)
_UNESCAPE = lazy_compile(r"\\(.?)", re.DOTALL)
# One whole keyword=value: the lookahead stops a shorter whitespace run before the value from
# making an empty value (libpq skips all of it); an unquoted value never starts with a quote.
_PAIR = lazy_compile(
    f"[{_WS}]*([^{_WS}=]*)[{_WS}]*=[{_WS}]*(?![{_WS}])"
    f"(?:'((?:[^'\\\\]|\\\\.)*)'|(?!')((?:[^{_WS}\\\\]|\\\\.)*\\\\?))",
    re.DOTALL,
)
_NEEDS_QUOTING = lazy_compile(f"[{_WS}',\\\\]")
# Whitespace forces quotes; so does a comma, which libpq does not need but which keeps a
# connection string unambiguous when servers join several with commas (pgsql "standbys").
_QUOTE = lazy_compile(f"[{_WS},]")
_LIST_NEEDS_QUOTING = lazy_compile(f"[{_WS}'\\\\]")
_HAS_WS = lazy_compile(f"[{_WS}]")
_BAD_PERCENT = lazy_compile(r"%(?![0-9A-Fa-f]{2})|%00")
_URI_PREFIXES = ("postgresql://", "postgres://")
_ESCAPED_BYTE = lazy_compile("[\udc80-\udcff]")
_URI_HOST = lazy_compile(r"[^:/?,]*")
_URI_PORT = lazy_compile(r"[^/?,]*")


class ConnectionStringError(ValueError):
    """A connection string or URI that libpq would reject.

    The message names the keyword and/or the 1-based character position at fault; it never
    contains a password or the whole input.

    Attributes:
        keyword: the keyword concerned, when known.
        position: 1-based character position in the input, when known.
    """

    def __init__(
        self, message: str, keyword: Optional[str] = None, position: Optional[int] = None
    ) -> None:
        super().__init__(message)
        self.keyword = keyword
        self.position = position


def _token(text: str) -> str:
    # Keyword-like text from the input, quoted for a message: secrets masked, short, and control
    # characters escaped so the one-line message stays one line.
    text = mask_value(text)
    if len(text) > 40:
        text = text[:40] + "..."
    return '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


def _check_text(text: str, what: str) -> None:
    # libpq sees a NUL-terminated UTF-8 C string: a NUL would silently cut the string short, and a
    # lone surrogate cannot be encoded at all.
    nul = text.find("\x00")
    if nul >= 0:
        raise ConnectionStringError(f"NUL character in {what} at position {nul + 1}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ConnectionStringError(
            f"character in {what} at position {e.start + 1} cannot be encoded as UTF-8"
        ) from None


def _store(out: Dict[str, str], key: str, value: str) -> bool:
    # conninfo_storeval: requiressl is the pre-9.3 spelling of sslmode; the last value wins.
    if key == "requiressl":
        out["sslmode"] = "require" if value[:1] == "1" else "prefer"
        return True
    if key not in _KEYWORD_SET:
        return False
    out[key] = value
    return True


def _parse_keyword_value(text: str) -> Dict[str, str]:
    # Fast path, one regex match per keyword=value; anything it does not cover (errors, trailing
    # whitespace) goes to the step-by-step parser, which explains errors.
    out: Dict[str, str] = {}
    pos = 0
    n = len(text)
    while pos < n:
        m = _PAIR.match(text, pos)
        if m is None:
            if not text[pos:].strip(_WS):
                return out
            break
        key, quoted, raw = m.groups()
        if quoted is not None:
            raw = quoted
        if not _store(out, key, _UNESCAPE.sub(r"\1", raw) if "\\" in raw else raw):
            break
        pos = m.end()
    else:
        return out
    return _parse_keyword_value_slowly(text)


def _parse_keyword_value_slowly(text: str) -> Dict[str, str]:
    out: Dict[str, str] = {}
    n = len(text)
    pos = _SKIP_WS.match(text).end()  # type: ignore[union-attr]
    prev: Optional[str] = None
    after_secret = False  # the previous value is, or holds, a secret: do not echo what follows
    while pos < n:
        key_at = pos
        key = _KEY.match(text, pos).group()  # type: ignore[union-attr]
        pos = _SKIP_WS.match(text, pos + len(key)).end()  # type: ignore[union-attr]
        if pos >= n or text[pos] != "=":
            if after_secret:
                # An unquoted password with a space in it ends up here: do not echo its tail.
                raise ConnectionStringError(
                    f'missing "=" at position {key_at + 1} (after the value of "{prev}")',
                    position=key_at + 1,
                )
            raise ConnectionStringError(
                f'missing "=" after {_token(key)} at position {key_at + 1}',
                keyword=key,
                position=key_at + 1,
            )
        pos = _SKIP_WS.match(text, pos + 1).end()  # type: ignore[union-attr]
        if pos < n and text[pos] == "'":
            m = _QUOTED.match(text, pos)
            if m is None:
                label = f'keyword "{key}"' if key in _KEYWORD_SET else "a value"
                raise ConnectionStringError(
                    f"unterminated quoted string for {label} (opened at position {pos + 1})",
                    keyword=key if key in _KEYWORD_SET else None,
                    position=pos + 1,
                )
            raw = m.group(1)
        else:
            m = _UNQUOTED.match(text, pos)
            raw = m.group()  # type: ignore[union-attr]
        pos = m.end()  # type: ignore[union-attr]
        value = _UNESCAPE.sub(r"\1", raw) if "\\" in raw else raw
        if not _store(out, key, value):
            if after_secret:
                raise ConnectionStringError(
                    f'unknown keyword at position {key_at + 1} (after the value of "{prev}")',
                    position=key_at + 1,
                )
            raise ConnectionStringError(
                f"unknown keyword {_token(key)} at position {key_at + 1}",
                keyword=key,
                position=key_at + 1,
            )
        prev = key
        after_secret = key in SECRET_KEYWORDS or SECRET_ASSIGNMENT.search(value) is not None
        pos = _SKIP_WS.match(text, pos).end()  # type: ignore[union-attr]
    return out


def _uri_decode(raw: str, offset: Optional[int], what: str) -> str:
    """Percent-decode one URI part as libpq 18's conninfo_uri_decode does.

    Literal spaces around the part are dropped, one inside it is an error. ``offset`` is the
    0-based position of ``raw`` in the input, or None where positions would mislead.
    """
    stripped = raw.strip(" ")
    lead = len(raw) - len(raw.lstrip(" "))

    def where(i: int) -> str:
        return "" if offset is None else f" at position {offset + lead + i + 1}"

    space = stripped.find(" ")
    bad = _BAD_PERCENT.search(stripped) if "%" in stripped else None
    if bad is not None and (space < 0 or bad.start() < space):
        if stripped.startswith("%00", bad.start()):
            raise ConnectionStringError(f"forbidden %00 in {what}{where(bad.start())}")
        raise ConnectionStringError(f"invalid percent-encoding in {what}{where(bad.start())}")
    if space >= 0:
        raise ConnectionStringError(
            f"unexpected space in {what}{where(space)}; spaces must be written %20"
        )
    if "%" not in stripped:
        return stripped
    # Bytes that are not UTF-8 are kept as surrogate escapes: libpq accepts them, and a later
    # value for the same keyword can replace them. Only those left at the end are an error.
    return unquote_to_bytes(stripped).decode("utf-8", "surrogateescape")


def _parse_uri(text: str, prefix_len: int) -> Dict[str, str]:
    out: Dict[str, str] = {}
    n = len(text)
    p = prefix_len

    # Credentials: libpq looks for the first "@" before any "/" (a "?" does not stop it).
    at = text.find("@", p)
    slash = text.find("/", p)
    if at >= 0 and (slash < 0 or at < slash):
        colon = text.find(":", p, at)
        user_end = at if colon < 0 else colon
        if user_end > p:
            out["user"] = _uri_decode(text[p:user_end], p, "the URI user name")
        if colon >= 0 and at > colon + 1:
            out["password"] = _uri_decode(text[colon + 1 : at], colon + 1, "the URI password")
        p = at + 1

    # One or more host[:port] separated by commas; libpq joins the hosts and the ports with
    # commas (a host without a port still adds its comma to the port list) and decodes the lists.
    hosts: List[str] = []
    ports: List[str] = []
    host_at = p
    prevchar = ""
    while True:
        if p < n and text[p] == "[":
            close = text.find("]", p + 1)
            if close < 0:
                raise ConnectionStringError(
                    f'missing "]" for the IPv6 address opened at position {p + 1}', position=p + 1
                )
            if close == p + 1:
                raise ConnectionStringError(
                    f"empty IPv6 address at position {p + 1}", position=p + 1
                )
            hosts.append(text[p + 1 : close])
            p = close + 1
            if p < n and text[p] not in ":/?,":
                raise ConnectionStringError(
                    f'unexpected character at position {p + 1} after an IPv6 address (expected ":",'
                    ' "/", "?" or ",")',
                    position=p + 1,
                )
        else:
            start = p
            p = _URI_HOST.match(text, p).end()  # type: ignore[union-attr]
            hosts.append(text[start:p])
        prevchar = text[p] if p < n else ""
        port = ""
        if prevchar == ":":
            start = p + 1
            p = _URI_PORT.match(text, start).end()  # type: ignore[union-attr]
            port = text[start:p]
            prevchar = text[p] if p < n else ""
        ports.append(port)
        if prevchar != ",":
            break
        p += 1
    hostbuf = ",".join(hosts)
    portbuf = ",".join(ports)
    if hostbuf:
        # After joining, a position inside the list would not match the input.
        out["host"] = _uri_decode(hostbuf, host_at if len(hosts) == 1 else None, "the URI host")
    if portbuf:
        out["port"] = _uri_decode(portbuf, None, "the URI port")

    if prevchar == "/":
        start = p + 1
        q = text.find("?", start)
        p = n if q < 0 else q
        prevchar = "?" if q >= 0 else ""
        if p > start:
            out["dbname"] = _uri_decode(text[start:p], start, "the URI database name")

    if prevchar == "?":
        _parse_uri_query(text, p + 1, out)
    if "%" in text:
        for key, value in out.items():
            if _ESCAPED_BYTE.search(value):
                raise ConnectionStringError(
                    f'percent-encoded bytes in the value of "{key}" are not valid UTF-8',
                    keyword=key,
                )
    return out


def _parse_uri_query(text: str, p: int, out: Dict[str, str]) -> None:
    n = len(text)
    after = ""  # set when the previous value is, or holds, a secret: do not echo what follows
    while p < n:
        amp = text.find("&", p)
        end = n if amp < 0 else amp
        eq = text.find("=", p, end)
        if eq < 0:
            raise ConnectionStringError(
                f'missing "=" in the URI query parameter at position {p + 1}{after}',
                position=p + 1,
            )
        raw_key = text[p:eq]
        key = _uri_decode(raw_key, p, "a URI query parameter name")
        extra = text.find("=", eq + 1, end)
        if extra >= 0:
            label = f'"{key}"' if key in _KEYWORD_SET and not after else "parameter"
            raise ConnectionStringError(
                f'extra "=" in the URI query {label} at position {extra + 1}; write it %3D{after}',
                position=extra + 1,
            )
        what = f'the URI query value of "{key}"' if key in _KEYWORD_SET else "a URI query value"
        value = _uri_decode(text[eq + 1 : end], eq + 1, what)
        if key == "ssl" and value == "true":  # JDBC's spelling, as libpq accepts it
            key, value = "sslmode", "require"
        if not _store(out, key, value):
            if after:
                raise ConnectionStringError(
                    f"unknown keyword in the URI query at position {p + 1}{after}", position=p + 1
                )
            raise ConnectionStringError(
                f"unknown keyword {_token(key)} in the URI query at position {p + 1}",
                keyword=key,
                position=p + 1,
            )
        secret = key in SECRET_KEYWORDS or SECRET_ASSIGNMENT.search(value) is not None
        after = f' (after the value of "{key}")' if secret else ""
        p = end + 1


def parse(text: str) -> Dict[str, str]:
    """Parse a keyword/value string or URI into a keyword -> value dict, as PQconninfoParse.

    Raises:
        ConnectionStringError: if libpq would reject ``text``.
    """
    _check_text(text, "the connection string")
    for prefix in _URI_PREFIXES:
        if text.startswith(prefix):
            return _parse_uri(text, len(prefix))
    return _parse_keyword_value(text)


def _quote_value(value: str, is_list: bool = False) -> str:
    if not value:
        return "''"
    if (_LIST_NEEDS_QUOTING if is_list else _NEEDS_QUOTING).search(value) is None:
        return value
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'" if (_HAS_WS if is_list else _QUOTE).search(value) else escaped


# Comma-separated lists in libpq itself: a comma there is syntax, not data, and stays bare.
_LIST_KEYWORDS = frozenset({"host", "hostaddr", "port"})


def _format_keyword_value(d: Mapping[str, str], mask: Optional[str] = None) -> str:
    if mask is None:
        return " ".join(f"{k}={_quote_value(v, k in _LIST_KEYWORDS)}" for k, v in d.items())
    # Masked, the secret values are the mask and the others hide what a secret in them holds.
    return " ".join(
        f"{k}={mask}"
        if k in SECRET_KEYWORDS
        else f"{k}={_quote_value(mask_value(v, mask), k in _LIST_KEYWORDS)}"
        for k, v in d.items()
    )


def _is_socket(host: str) -> bool:
    # libpq's is_unixsock_path: an absolute path or an abstract socket name.
    return host.startswith(("/", "@"))


def _format_uri(d: Mapping[str, str], mask: bool = False) -> str:
    # Masked, the secret values are the mask and the others hide what a secret in them holds
    # (mask_value); the mask needs no encoding, and libpq would read it back literally.
    safe = "*" if mask else ""
    if mask:
        d = {k: v if k in SECRET_KEYWORDS else mask_value(v) for k, v in d.items()}

    def pct(value: str) -> str:
        return quote(value, safe=safe)

    def val(key: str) -> str:
        return MASK if mask and key in SECRET_KEYWORDS else pct(d[key])

    query = {k: v for k, v in d.items() if k not in _URI_PLACED}
    user = d.get("user")
    password = d.get("password")
    userinfo = ""
    if user or password:
        userinfo = pct(user) if user else ""
        if user == "":
            query["user"] = ""
        if password:
            userinfo += ":" + val("password")
        elif password == "":
            query["password"] = ""
        userinfo += "@"
    else:
        query.update((k, v) for k, v in (("user", user), ("password", password)) if v is not None)

    authority = ""
    host = d.get("host")
    port = d.get("port")
    hosts = host.split(",") if host else []
    ports = port.split(",") if port else []
    # libpq adds a comma to the port list for every extra host, so hosts go in the authority only
    # when the port list it builds is right or a query "port" overrides it; sockets and empty
    # values live in the query, where any value reads back unchanged.
    if hosts and (port is not None or len(hosts) == 1) and not any(map(_is_socket, hosts)):
        pair = len(ports) == len(hosts)
        parts: List[str] = []
        for i, h in enumerate(hosts):
            part = f"[{quote(h, safe=':' + safe)}]" if ":" in h else pct(h)
            if pair and ports[i]:
                part += ":" + pct(ports[i])
            parts.append(part)
        authority = ",".join(parts)
        if port is not None and not pair:
            query["port"] = port
    else:
        query.update((k, v) for k, v in (("host", host), ("port", port)) if v is not None)

    dbname = d.get("dbname")
    path = ""
    if dbname:
        path = "/" + pct(dbname)
    elif dbname == "":
        query["dbname"] = ""
    uri = f"postgresql://{userinfo}{authority}{path}"
    if query:
        uri += "?" + "&".join(f"{k}={val(k)}" for k in sorted(query))
    return uri


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
            d = dict(d)
            for key, value in overrides.items():
                if value is None or value == "":
                    if key not in _KEYWORD_SET and key != "requiressl":
                        raise ConnectionStringError(f"unknown keyword {_token(key)}", keyword=key)
                    d.pop("sslmode" if key == "requiressl" else key, None)
                    continue
                text = value if isinstance(value, str) else str(value)
                _check_text(text, f'the value of "{key}"' if key in _KEYWORD_SET else "a value")
                if not _store(d, key, text):
                    raise ConnectionStringError(f"unknown keyword {_token(key)}", keyword=key)
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
            s = _format_keyword_value(self._d)
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
            u = _format_uri(self._d)
            object.__setattr__(self, "_uri", u)
        return u

    def masked(self, mask: str = MASK) -> str:
        """The canonical keyword/value string with secrets replaced by ``mask``.

        Secret values (:data:`SECRET_KEYWORDS`) are replaced whole; any other value that holds
        a secret (``password=`` after mangled separators, a URI password) is cut as
        :func:`mask_value` does.
        """
        return _format_keyword_value(self._d, mask)

    def masked_uri(self) -> str:
        """The URI with secrets replaced by ``********``, as :meth:`masked`."""
        return _format_uri(self._d, mask=True)

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
    for key in _LEGACY_ATTRIBUTES:
        setattr(ConnectionString, key, _legacy_property(key))


_add_properties()
