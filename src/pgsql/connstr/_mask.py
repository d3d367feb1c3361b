"""The one masking rule: what of a value may be shown, and what is a secret to hide.

:func:`mask_value` is what every printer uses (repr, errors, ``pgsql connstr``, the doctor, the
demo); :data:`SECRET_ASSIGNMENT` is also the rule by which the client refuses a value that holds
a secret keyword's assignment (``dbname=x|host=y|password=z`` is one dbname to libpq).
"""

from __future__ import annotations

import re
from typing import List, Optional

from .._lazyre import lazy_compile
from ._grammar import MASK, SECRET_KEYWORDS, WS

#: A secret keyword and its ``=`` inside a value, whatever precedes it (``|``, ``;``, ``,``, ``&``,
#: a blank, the start...): what a string with mangled separators leaves in one value
#: (``dbname=x|host=y|password=z`` is one dbname to libpq). The client refuses such values, and
#: :func:`mask_value` hides everything after the match.
SECRET_ASSIGNMENT = lazy_compile(
    f"(?<![A-Za-z0-9_])(?:{'|'.join(sorted(SECRET_KEYWORDS))})[{WS}]*=", re.IGNORECASE
)
# Where the password of a "scheme://user:password@" userinfo inside a value starts; it ends at
# the last "@" (a password holding an "@" or a "/" stays hidden). The user may hold an "@"
# ("postgresql://me@server:PW@host"), but then a port and "/" follow a host, not a password
# ("postgresql://me@host:5432/db?x=a@b").
_USERINFO_START = lazy_compile(r"://([^:/?#]*):(\d+/)?")
# A value starting with "user:password@" (a URI whose scheme was lost, a mangled endpoints
# entry): where the password starts is unsure, so the userinfo is hidden whole, up to the last
# "@". The user may follow blanks, and hold an "@" (Azure's "user@server:password@host"); a
# user name alone ("user@server") is shown, and so are a message "name: text ... a@b" (a ":"
# then a blank starts no password: a reason's "bag: " prefix) and a target
# "user@host:5432/db..." (after a user holding an "@", a port then "/" starts no password).
_LEADING_USERINFO = lazy_compile(r"\s*([^:/?#\s]*):(?!//|\s)(\d+/)?.*@", re.DOTALL)


def _shown_parts(value: str) -> List[str]:
    """The parts of ``value`` that may be shown; a secret sits between each two (if any)."""
    secret = SECRET_ASSIGNMENT.search(value)
    end = len(value) if secret is None else secret.start()
    parts: List[str] = []
    start = 0
    last_at = value.rfind("@", 0, end) + 1
    lead = _LEADING_USERINFO.match(value, 0, last_at)
    if lead is not None and not ("@" in lead.group(1) and lead.group(2)):
        parts.append("")
        start = last_at - 1
    # Ending the search at the last "@" keeps it linear: no failed scan runs past it.
    pos = start
    while True:
        m = _USERINFO_START.search(value, pos, last_at)
        if m is None or m.end(1) + 2 >= last_at:  # no password before the last "@"
            break
        if "@" in m.group(1) and m.group(2):
            pos = m.start() + 3
            continue
        parts.append(value[start : m.end(1) + 1])
        start = last_at - 1
        break
    if secret is None:
        parts.append(value[start:])
    else:
        parts.extend((value[start : secret.end()], ""))
    return parts


def mask_value(value: str, mask: str = MASK, *, keyword: Optional[str] = None) -> str:
    """``value`` with any secret it holds replaced by ``mask``, for showing or logging it.

    A secret keyword (``password``, ``sslpassword``, ... in any case) followed by ``=`` anywhere
    in the value hides everything after the ``=``, to the end: the password of a string whose
    separators were mangled could hold separators itself. The password of a
    ``scheme://user:password@`` userinfo is hidden too, and the whole ``user:password`` of a
    value that starts with one (a URI without its scheme). Apply it to one value, not to a whole
    connection string (where it would also hide the keywords after a password).

    ``keyword`` names the value's keyword: a ``port`` holding an ``@`` is hidden up to its last
    ``@`` (a URI whose user holds an unencoded ``@``, ``postgresql://me@server:PW@host``, puts
    the password there, as libpq reads it).

    >>> mask_value("mydb|host=10.0.0.20|password=s3cret|port=5432")
    'mydb|host=10.0.0.20|password=********'
    >>> mask_value("see postgresql://u:s3cret@db/x")
    'see postgresql://u:********@db/x'
    >>> mask_value("relation-7:s3cret@10.0.0.5:5432/mydb")
    '********@10.0.0.5:5432/mydb'
    >>> mask_value("mydb")
    'mydb'
    >>> mask_value("s3cret@db.example.com", keyword="port")
    '********@db.example.com'
    """
    shown = mask.join(_shown_parts(value))
    if keyword == "port" and "@" in shown:
        return mask + shown[shown.rfind("@") :]
    return shown


def token(text: str) -> str:
    """Keyword-like text from the input, quoted for a message.

    Secrets are masked, the text is shortened, and control characters are escaped so the
    one-line message stays one line.
    """
    text = mask_value(text)
    if len(text) > 40:
        text = text[:40] + "..."
    return '"' + text.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


def holds_secret(key: str, value: str) -> bool:
    """Whether ``key=value`` is, or holds, a secret: an error must not echo what follows it."""
    return key in SECRET_KEYWORDS or SECRET_ASSIGNMENT.search(value) is not None
