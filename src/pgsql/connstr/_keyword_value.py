"""libpq's keyword/value spelling: ``host=db port=5432 password='it''s'``, read and written.

Reading follows libpq's ``conninfo_parse``: blanks around ``=``, single quotes, backslash
escapes, the last value of a keyword wins. A fast path reads well-formed strings a regex match
per keyword; anything else is read step by step, which explains the first error. Writing quotes
and escapes a value only when it needs it.
"""

from __future__ import annotations

import re
from typing import Dict, Mapping, Optional, Tuple

from .._lazyre import lazy_compile
from ._grammar import KEYWORD_SET, SECRET_KEYWORDS, WS, ConnectionStringError, store
from ._mask import holds_secret, mask_value, token

_SKIP_WS = lazy_compile(f"[{WS}]*")
_KEY = lazy_compile(f"[^{WS}=]*")
_UNQUOTED = lazy_compile(f"(?:[^{WS}\\\\]|\\\\.)*\\\\?", re.DOTALL)
_QUOTED = lazy_compile(r"'((?:[^'\\]|\\.)*)'", re.DOTALL)
_UNESCAPE = lazy_compile(r"\\(.?)", re.DOTALL)
# One whole keyword=value: the lookahead stops a shorter whitespace run before the value from
# making an empty value (libpq skips all of it); an unquoted value never starts with a quote.
_PAIR = lazy_compile(
    f"[{WS}]*([^{WS}=]*)[{WS}]*=[{WS}]*(?![{WS}])"
    f"(?:'((?:[^'\\\\]|\\\\.)*)'|(?!')((?:[^{WS}\\\\]|\\\\.)*\\\\?))",
    re.DOTALL,
)
_NEEDS_QUOTING = lazy_compile(f"[{WS}',\\\\]")
# Whitespace forces quotes; so does a comma, which libpq does not need but which keeps a
# connection string unambiguous when servers join several with commas (pgsql "standbys").
_QUOTE = lazy_compile(f"[{WS},]")
_LIST_NEEDS_QUOTING = lazy_compile(f"[{WS}'\\\\]")
_HAS_WS = lazy_compile(f"[{WS}]")
# Comma-separated lists in libpq itself: a comma there is syntax, not data, and stays bare.
_LIST_KEYWORDS = frozenset({"host", "hostaddr", "port"})


def _unescape(raw: str) -> str:
    return _UNESCAPE.sub(r"\1", raw) if "\\" in raw else raw


def parse_keyword_value(text: str) -> Dict[str, str]:
    """Parse a keyword/value string as libpq does.

    Raises:
        ConnectionStringError: if libpq would reject ``text``; the message names the keyword
            or the position at fault, never a secret.
    """
    # Fast path, one regex match per keyword=value; anything it does not cover (errors, trailing
    # whitespace) goes to the step-by-step parser, which explains errors.
    out: Dict[str, str] = {}
    pos = 0
    n = len(text)
    while pos < n:
        m = _PAIR.match(text, pos)
        if m is None:
            if not text[pos:].strip(WS):
                return out
            break
        key, quoted, raw = m.groups()
        if quoted is not None:
            raw = quoted
        if not store(out, key, _unescape(raw)):
            break
        pos = m.end()
    else:
        return out
    return _parse_keyword_value_slowly(text)


def _skip_ws(text: str, pos: int) -> int:
    return _SKIP_WS.match(text, pos).end()  # type: ignore[union-attr]


def _parse_keyword_value_slowly(text: str) -> Dict[str, str]:
    out: Dict[str, str] = {}
    n = len(text)
    pos = _skip_ws(text, 0)
    after: Optional[str] = None  # the previous keyword when its value is, or holds, a secret
    while pos < n:
        key_at = pos
        key = _KEY.match(text, pos).group()  # type: ignore[union-attr]
        pos = _skip_ws(text, pos + len(key))
        if pos >= n or text[pos] != "=":
            raise _missing_equals(key, key_at, after)
        raw, pos = _value_at(text, _skip_ws(text, pos + 1), key)
        value = _unescape(raw)
        if not store(out, key, value):
            raise _unknown_keyword(key, key_at, after)
        after = key if holds_secret(key, value) else None
        pos = _skip_ws(text, pos)
    return out


def _value_at(text: str, pos: int, key: str) -> Tuple[str, int]:
    """The raw value of ``key`` starting at ``pos`` (quoted or not), and where it ends."""
    if pos < len(text) and text[pos] == "'":
        m = _QUOTED.match(text, pos)
        if m is None:
            known = key in KEYWORD_SET
            label = f'keyword "{key}"' if known else "a value"
            raise ConnectionStringError(
                f"unterminated quoted string for {label} (opened at position {pos + 1})",
                keyword=key if known else None,
                position=pos + 1,
            )
        return m.group(1), m.end()
    m = _UNQUOTED.match(text, pos)
    return m.group(), m.end()  # type: ignore[union-attr]


def _missing_equals(key: str, key_at: int, after: Optional[str]) -> ConnectionStringError:
    if after is not None:
        # An unquoted password with a space in it ends up here: do not echo its tail.
        return ConnectionStringError(
            f'missing "=" at position {key_at + 1} (after the value of "{after}")',
            position=key_at + 1,
        )
    return ConnectionStringError(
        f'missing "=" after {token(key)} at position {key_at + 1}',
        keyword=key,
        position=key_at + 1,
    )


def _unknown_keyword(key: str, key_at: int, after: Optional[str]) -> ConnectionStringError:
    if after is not None:
        return ConnectionStringError(
            f'unknown keyword at position {key_at + 1} (after the value of "{after}")',
            position=key_at + 1,
        )
    return ConnectionStringError(
        f"unknown keyword {token(key)} at position {key_at + 1}",
        keyword=key,
        position=key_at + 1,
    )


def quote_value(value: str, is_list: bool = False) -> str:
    """``value`` as libpq reads it back: quoted and escaped only when it needs it."""
    if not value:
        return "''"
    if (_LIST_NEEDS_QUOTING if is_list else _NEEDS_QUOTING).search(value) is None:
        return value
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'" if (_HAS_WS if is_list else _QUOTE).search(value) else escaped


def format_keyword_value(d: Mapping[str, str], mask: Optional[str] = None) -> str:
    """The keyword/value string of ``d``; with ``mask``, secrets replaced by it."""
    if mask is None:
        return " ".join(f"{k}={quote_value(v, k in _LIST_KEYWORDS)}" for k, v in d.items())
    # Masked, the secret values are the mask and the others hide what a secret in them holds.
    return " ".join(
        f"{k}={mask}"
        if k in SECRET_KEYWORDS
        else f"{k}={quote_value(mask_value(v, mask, keyword=k), k in _LIST_KEYWORDS)}"
        for k, v in d.items()
    )
