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

import re
from typing import TYPE_CHECKING, Any, List

from . import _keyword_value, _mask
from ._grammar import KEYWORDS, SECRET_KEYWORDS, ConnectionStringError
from ._grammar import MASK as MASK
from ._mask import mask_value
from ._value import ConnectionString
from ._value import parse as parse

__all__ = [
    "KEYWORDS",
    "SECRET_KEYWORDS",
    "ConnectionString",
    "ConnectionStringError",
    "mask_value",
]

# The parts, each importing only those above it: _grammar (keywords, whitespace, the error),
# _mask (the one masking rule), _keyword_value and _uri (the two spellings, read and written),
# _value (ConnectionString). Also here, outside __all__: MASK, SECRET_ASSIGNMENT, parse, and
# _quote_value for the tests. doctest.testmod(pgsql.connstr) runs mask_value's examples too.
__test__ = {"mask_value": mask_value}
_quote_value = _keyword_value.quote_value

if TYPE_CHECKING:
    #: :data:`pgsql.connstr._mask.SECRET_ASSIGNMENT`, as the ``re.Pattern`` it always was here
    SECRET_ASSIGNMENT: re.Pattern[str]


def __getattr__(name: str) -> Any:
    """``SECRET_ASSIGNMENT``, compiled on first use (PEP 562).

    The library uses the lazily compiled pattern of :mod:`._mask`; what is exported here is a
    real ``re.Pattern`` (``re.sub(SECRET_ASSIGNMENT, ...)``, ``isinstance``, pickling), compiled
    only when asked for (``re``'s cache makes it the object the lazy one compiled, if it did).
    """
    if name == "SECRET_ASSIGNMENT":
        lazy = _mask.SECRET_ASSIGNMENT
        value = re.compile(lazy.pattern, lazy.flags)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted({*globals(), "SECRET_ASSIGNMENT"})


# The two types keep the name they always had, in tracebacks, reprs and pickles.
ConnectionString.__module__ = ConnectionStringError.__module__ = __name__
