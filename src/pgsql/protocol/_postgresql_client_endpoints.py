"""The ``postgresql_client`` interface's ``endpoints``: entries read the way requirers read them.

An entry is ``host:port``, ``[v6]:port``, ``v6:port`` or a unix socket (its directory, or its
``.s.PGSQL.<port>`` file). Requirers build one connection string to every ``endpoints`` entry
(libpq multi-host) and one per ``read-only-endpoints`` entry; providers check their entries here
before publishing them.
"""

from __future__ import annotations

import ipaddress
import re
from typing import List, NamedTuple, Optional, Sequence, Tuple

from ..connstr import ConnectionString, ConnectionStringError
from ._common import Databag, parse_connstr, shown_in_reason, split_list
from ._readiness import MALFORMED, Reason

_SOCKET_FILE = re.compile(r"\.s\.PGSQL\.(\d+)")
_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?")
_PORT = re.compile(r"[0-9]{1,5}")
# libpq ends a path at "?"; a socket directory with whitespace or quotes is not a provider's
_SOCKET_DIR = re.compile(r"/[^\s'\"\\?#,]*")


class Endpoint(NamedTuple):
    """One usable entry."""

    host: str  # a host name, an IP address, or a unix socket directory
    port: str  # "" when the entry gives none (libpq's default)


def valid_port(port: str) -> bool:
    """Whether ``port`` is a TCP port number (1 to 65535, ASCII digits)."""
    return bool(_PORT.fullmatch(port)) and 0 < int(port) < 65536


def parse_endpoint(item: str) -> Optional[Endpoint]:
    """One ``endpoints`` entry: ``host:port``, ``[v6]:port``, ``v6:port``, a socket path.

    None when a requirer cannot use it.
    """
    if item.startswith("/"):
        return _parse_socket(item)
    if item.startswith("["):
        m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?", item)
        if m is None or not _is_ip(m.group(1)) or not valid_port(m.group(2) or "1"):
            return None
        return Endpoint(m.group(1), m.group(2) or "")
    head, colon, port = item.rpartition(":")
    if not colon:
        return Endpoint(item, "") if _HOSTNAME.fullmatch(item) else None
    if ":" in head:  # an IPv6 address without brackets: with a port (as providers write it)
        if _is_ip(head) and valid_port(port):
            return Endpoint(head, port)
        return Endpoint(item, "") if _is_ip(item) else None
    if _HOSTNAME.fullmatch(head) and valid_port(port):
        return Endpoint(head, port)
    return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _parse_socket(item: str) -> Optional[Endpoint]:
    """A unix socket: its directory (``/dir:6432``, ``/dir``) or its file (``/dir/.s.PGSQL.6432``).

    libpq takes the directory as ``host`` and finds ``.s.PGSQL.<port>`` in it.
    """
    path, port = item, ""
    head, colon, tail = item.rpartition(":")
    if colon and _PORT.fullmatch(tail):
        path, port = head, tail
    directory, _, leaf = path.rstrip("/").rpartition("/")
    m = _SOCKET_FILE.fullmatch(leaf)
    if m is not None:
        path, port = directory or "/", m.group(1)
    path = path.rstrip("/") or "/"
    if not _SOCKET_DIR.fullmatch(path) or (port and not valid_port(port)):
        return None
    return Endpoint(path, port)


def endpoints(
    bag: Databag, key: str, name: str, blocking: bool
) -> Tuple[List[Endpoint], List[Reason]]:
    """The usable entries of a comma-separated endpoints value, and why others were skipped."""
    raw = bag.get(key, "")
    found: List[Endpoint] = []
    skipped: List[str] = []
    for item in split_list(raw):
        endpoint = parse_endpoint(item)
        if endpoint is None:
            skipped.append(item)
        elif endpoint not in found:
            found.append(endpoint)
    if skipped and not found and blocking:
        return [], [Reason(MALFORMED, f"no usable {key} entry in {shown_in_reason(raw)}", name)]
    reasons = [
        Reason(MALFORMED, f"skipped an unusable {key} entry {shown_in_reason(item)}", name, False)
        for item in skipped
    ]
    return found, reasons


def build(endpoints: Sequence[Endpoint], dbname: str, user: str, password: str) -> ConnectionString:
    """A connection string to all ``endpoints`` (libpq multi-host when several).

    Raises:
        ConnectionStringError: a value libpq cannot take (a NUL, unencodable text), or one that
            would read back as something else.
    """
    ports = [e.port for e in endpoints]
    cs = ConnectionString(
        host=",".join(e.host for e in endpoints),
        port=",".join(ports) if any(ports) else None,
        dbname=dbname,
        user=user,
        password=password,
    )
    # the wire spelling must read back as built, and not hide a secret in another value
    if parse_connstr(str(cs)) != cs:
        raise ConnectionStringError("the connection string does not read back as built")
    return cs
