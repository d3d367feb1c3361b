"""The ``postgresql_client`` interface, provider side: values checked as a requirer reads them.

Everything a provider publishes is refused (:class:`ValueError`, :class:`TypeError`) when a
requirer would read it back as something else: an endpoints entry it cannot parse, whitespace
it strips, a NUL, a connection string that does not read back as built. Messages quote values
masked (:func:`shown`, :func:`clip`), never the password.
"""

from __future__ import annotations

from typing import Iterable, List, Sequence, Union, cast

from ..connstr import ConnectionString, ConnectionStringError, mask_value
from ._common import mask_in_message, mask_userinfo, parse_connstr, split_list
from ._postgresql_client_endpoints import parse_endpoint
from ._request import Request, RequestError

_MAX_PROBLEM = 200


def clip(text: str) -> str:
    """``text`` masked and shortened, for a problem or an error message."""
    text = mask_value(text)
    return text if len(text) <= _MAX_PROBLEM else text[: _MAX_PROBLEM - 3] + "..."


def shown(value: str) -> str:
    """A value as a message quotes it: :func:`clip`, and a scheme-less ``user:password@`` too."""
    # an endpoints entry with credentials in it
    return repr(clip(mask_userinfo(value)))


def check_endpoints(name: str, value: Union[str, Iterable[str]]) -> List[str]:
    """The entries of an endpoints argument, each one a requirer can read, de-duplicated."""
    if isinstance(value, str):
        items: Iterable[object] = split_list(value)
    else:
        try:
            items = list(cast(Iterable[object], value))
        except TypeError:
            raise TypeError(
                f"{name} must be a str or an iterable of str, not {type(value).__name__}"
            ) from None
    out: List[str] = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{name} items must be str, not {type(item).__name__}")
        entry = item.strip()
        if "," in entry or parse_endpoint(entry) is None:
            raise ValueError(
                f"{name}: {shown(item)} is not a host:port entry a requirer can read "
                "(host:port, [ipv6]:port, or a unix socket directory /dir:port)"
            )
        if entry not in out:
            out.append(entry)
    return out


def check_database(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    try:
        Request.build(database=value)
    except RequestError as e:  # a ValueError; quoting the name, which the caller may have mixed up
        raise RequestError(f"{name}: {mask_in_message(str(e), value)}") from None
    return value


def check_optional(name: str, value: object) -> str:
    """A value requirers strip: it must not have surrounding whitespace, nor a NUL."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
    if value != value.strip():
        raise ValueError(f"{name} has surrounding whitespace, which requirers strip")
    if "\x00" in value:
        raise ValueError(f"{name} contains a NUL")
    return value


def check_value(name: str, value: object) -> str:
    text = check_optional(name, value)
    if not text:
        raise ValueError(f"{name} must not be empty")
    return text


def connection(entries: Sequence[str], dbname: str, user: str, password: str) -> ConnectionString:
    """The connection string a requirer builds from ``entries``, checked to read back the same.

    Raises:
        ValueError: libpq cannot take a value, or it reads back as something else.
    """
    parsed = [parse_endpoint(e) for e in entries]
    hosts = [p.host for p in parsed if p is not None]
    ports = [p.port for p in parsed if p is not None]
    try:
        cs = ConnectionString(
            host=",".join(hosts),
            port=",".join(ports) if any(ports) else None,
            dbname=dbname,
            user=user,
            password=password,
        )
        same = parse_connstr(str(cs)) == cs and parse_connstr(cs.uri) == cs
    except ConnectionStringError as e:
        raise ValueError(f"unusable connection details: {e}") from None
    if not same:
        raise ValueError("unusable connection details: they do not read back as given")
    return cs
