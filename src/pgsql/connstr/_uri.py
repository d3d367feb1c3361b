"""libpq's URI spelling: ``postgresql://user:password@host:port,host2/dbname?key=value``.

Reading follows libpq 18's ``conninfo_uri_parse``: credentials up to the first ``@`` before any
``/``, a comma list of hosts (IPv6 literals in brackets) and ports, the database path, query
parameters, percent-decoding. Writing puts user, password, host, port and dbname in their places
when libpq reads them back the same, and everything else in the sorted query.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote, unquote_to_bytes

from .._lazyre import lazy_compile
from ._grammar import KEYWORD_SET, MASK, SECRET_KEYWORDS, ConnectionStringError, store
from ._mask import holds_secret, mask_value, token

#: The schemes libpq reads as a URI.
URI_PREFIXES = ("postgresql://", "postgres://")
# The URI authority and path hold these; every other keyword is a query parameter.
_URI_PLACED = frozenset(("user", "password", "host", "port", "dbname"))
_BAD_PERCENT = lazy_compile(r"%(?![0-9A-Fa-f]{2})|%00")
_ESCAPED_BYTE = lazy_compile("[\udc80-\udcff]")
_URI_HOST = lazy_compile(r"[^:/?,]*")
_URI_PORT = lazy_compile(r"[^/?,]*")


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


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


def parse_uri(text: str, prefix_len: int) -> Dict[str, str]:
    """Parse the URI ``text``, whose scheme is its first ``prefix_len`` characters.

    Raises:
        ConnectionStringError: if libpq would reject ``text``; the message names the part or
            the position at fault, never a secret.
    """
    out: Dict[str, str] = {}
    p = _read_userinfo(text, prefix_len, out)
    p, after = _read_hosts(text, p, out)
    if after == "/":
        p, after = _read_dbname(text, p, out)
    if after == "?":
        _read_query(text, p + 1, out)
    if "%" in text:
        _check_decoded(out)
    return out


def _read_userinfo(text: str, p: int, out: Dict[str, str]) -> int:
    """Read the credentials, if any, into ``out``; where the hosts start."""
    # libpq looks for the first "@" before any "/" (a "?" does not stop it).
    at = text.find("@", p)
    slash = text.find("/", p)
    if at < 0 or (slash >= 0 and at > slash):
        return p
    colon = text.find(":", p, at)
    user_end = at if colon < 0 else colon
    if user_end > p:
        out["user"] = _uri_decode(text[p:user_end], p, "the URI user name")
    if colon >= 0 and at > colon + 1:
        out["password"] = _uri_decode(text[colon + 1 : at], colon + 1, "the URI password")
    return at + 1


def _read_hosts(text: str, p: int, out: Dict[str, str]) -> Tuple[int, str]:
    """Read one or more ``host[:port]`` separated by commas; where they end, and the character.

    libpq joins the hosts and the ports with commas (a host without a port still adds its comma
    to the port list) and decodes the lists.
    """
    n = len(text)
    hosts: List[str] = []
    ports: List[str] = []
    host_at = p
    while True:
        host, p = _read_host(text, p)
        hosts.append(host)
        port, p = _read_port(text, p)
        ports.append(port)
        if p >= n or text[p] != ",":
            break
        p += 1
    hostbuf = ",".join(hosts)
    portbuf = ",".join(ports)
    if hostbuf:
        # After joining, a position inside the list would not match the input.
        out["host"] = _uri_decode(hostbuf, host_at if len(hosts) == 1 else None, "the URI host")
    if portbuf:
        out["port"] = _uri_decode(portbuf, None, "the URI port")
    return p, text[p] if p < n else ""


def _read_host(text: str, p: int) -> Tuple[str, int]:
    """One host (an IPv6 literal in brackets, else up to ``:/?,``) and where it ends."""
    if p >= len(text) or text[p] != "[":
        end = _URI_HOST.match(text, p).end()  # type: ignore[union-attr]
        return text[p:end], end
    close = text.find("]", p + 1)
    if close < 0:
        raise ConnectionStringError(
            f'missing "]" for the IPv6 address opened at position {p + 1}', position=p + 1
        )
    if close == p + 1:
        raise ConnectionStringError(f"empty IPv6 address at position {p + 1}", position=p + 1)
    end = close + 1
    if end < len(text) and text[end] not in ":/?,":
        raise ConnectionStringError(
            f'unexpected character at position {end + 1} after an IPv6 address (expected ":",'
            ' "/", "?" or ",")',
            position=end + 1,
        )
    return text[p + 1 : close], end


def _read_port(text: str, p: int) -> Tuple[str, int]:
    """The port after a host (``""`` when none) and where it ends."""
    if p >= len(text) or text[p] != ":":
        return "", p
    end = _URI_PORT.match(text, p + 1).end()  # type: ignore[union-attr]
    return text[p + 1 : end], end


def _read_dbname(text: str, p: int, out: Dict[str, str]) -> Tuple[int, str]:
    """Read the path after the ``/`` at ``p``; where it ends, and ``"?"`` when a query follows."""
    start = p + 1
    q = text.find("?", start)
    end = len(text) if q < 0 else q
    if end > start:
        out["dbname"] = _uri_decode(text[start:end], start, "the URI database name")
    return end, "?" if q >= 0 else ""


def _read_query(text: str, p: int, out: Dict[str, str]) -> None:
    """Read the query parameters from ``p`` into ``out``."""
    n = len(text)
    after = ""  # set when the previous value is, or holds, a secret: do not echo what follows
    while p < n:
        amp = text.find("&", p)
        end = n if amp < 0 else amp
        key, value = _query_parameter(text, p, end, after)
        if key == "ssl" and value == "true":  # JDBC's spelling, as libpq accepts it
            key, value = "sslmode", "require"
        if not store(out, key, value):
            raise _unknown_query_keyword(key, p, after)
        after = f' (after the value of "{key}")' if holds_secret(key, value) else ""
        p = end + 1


def _query_parameter(text: str, p: int, end: int, after: str) -> Tuple[str, str]:
    """The decoded ``key=value`` between ``p`` and ``end``."""
    eq = text.find("=", p, end)
    if eq < 0:
        raise ConnectionStringError(
            f'missing "=" in the URI query parameter at position {p + 1}{after}',
            position=p + 1,
        )
    key = _uri_decode(text[p:eq], p, "a URI query parameter name")
    extra = text.find("=", eq + 1, end)
    if extra >= 0:
        label = f'"{key}"' if key in KEYWORD_SET and not after else "parameter"
        raise ConnectionStringError(
            f'extra "=" in the URI query {label} at position {extra + 1}; write it %3D{after}',
            position=extra + 1,
        )
    what = f'the URI query value of "{key}"' if key in KEYWORD_SET else "a URI query value"
    return key, _uri_decode(text[eq + 1 : end], eq + 1, what)


def _unknown_query_keyword(key: str, p: int, after: str) -> ConnectionStringError:
    if after:
        return ConnectionStringError(
            f"unknown keyword in the URI query at position {p + 1}{after}", position=p + 1
        )
    return ConnectionStringError(
        f"unknown keyword {token(key)} in the URI query at position {p + 1}",
        keyword=key,
        position=p + 1,
    )


def _check_decoded(out: Mapping[str, str]) -> None:
    """Refuse percent-encoded bytes that are not UTF-8 and that no later value replaced."""
    for key, value in out.items():
        if _ESCAPED_BYTE.search(value):
            raise ConnectionStringError(
                f'percent-encoded bytes in the value of "{key}" are not valid UTF-8',
                keyword=key,
            )


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def format_uri(d: Mapping[str, str], mask: bool = False) -> str:
    """The URI of ``d``; with ``mask``, secrets replaced by ``********``."""
    # Masked, the secret values are the mask and the others hide what a secret in them holds
    # (mask_value); the mask needs no encoding, and libpq would read it back literally.
    if mask:
        d = {k: v if k in SECRET_KEYWORDS else mask_value(v, keyword=k) for k, v in d.items()}
    query = {k: v for k, v in d.items() if k not in _URI_PLACED}
    userinfo = _userinfo(d, query, mask)
    authority = _authority(d, query, mask)
    path = _path(d, query, mask)
    uri = f"postgresql://{userinfo}{authority}{path}"
    if query:
        uri += "?" + "&".join(f"{k}={_value(d, k, mask)}" for k in sorted(query))
    return uri


def _pct(value: str, mask: bool) -> str:
    return quote(value, safe="*" if mask else "")


def _value(d: Mapping[str, str], key: str, mask: bool) -> str:
    return MASK if mask and key in SECRET_KEYWORDS else _pct(d[key], mask)


def _userinfo(d: Mapping[str, str], query: Dict[str, str], mask: bool) -> str:
    """``user:password@``; what it cannot carry (empty values) goes to ``query``."""
    user = d.get("user")
    password = d.get("password")
    if not (user or password):
        query.update((k, v) for k, v in (("user", user), ("password", password)) if v is not None)
        return ""
    userinfo = _pct(user, mask) if user else ""
    if user == "":
        query["user"] = ""
    if password:
        userinfo += ":" + _value(d, "password", mask)
    elif password == "":
        query["password"] = ""
    return userinfo + "@"


def _is_socket(host: str) -> bool:
    # libpq's is_unixsock_path: an absolute path or an abstract socket name.
    return host.startswith(("/", "@"))


def _authority(d: Mapping[str, str], query: Dict[str, str], mask: bool) -> str:
    """The hosts and ports; what the authority cannot carry goes to ``query``."""
    host = d.get("host")
    port = d.get("port")
    hosts = host.split(",") if host else []
    ports = port.split(",") if port else []
    # libpq adds a comma to the port list for every extra host, so hosts go in the authority only
    # when the port list it builds is right or a query "port" overrides it; sockets and empty
    # values live in the query, where any value reads back unchanged.
    if not hosts or (port is None and len(hosts) != 1) or any(map(_is_socket, hosts)):
        query.update((k, v) for k, v in (("host", host), ("port", port)) if v is not None)
        return ""
    pair = len(ports) == len(hosts)
    if port is not None and not pair:
        query["port"] = port
    return ",".join(_host_port(h, ports[i] if pair else "", mask) for i, h in enumerate(hosts))


def _host_port(host: str, port: str, mask: bool) -> str:
    safe = "*" if mask else ""
    part = f"[{quote(host, safe=':' + safe)}]" if ":" in host else _pct(host, mask)
    return f"{part}:{_pct(port, mask)}" if port else part


def _path(d: Mapping[str, str], query: Dict[str, str], mask: bool) -> str:
    """``/dbname``; an empty dbname goes to ``query``."""
    dbname = d.get("dbname")
    if dbname:
        return "/" + _pct(dbname, mask)
    if dbname == "":
        query["dbname"] = ""
    return ""
