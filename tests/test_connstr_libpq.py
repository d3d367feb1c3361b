"""Differential test: :mod:`pgsql.connstr` against libpq's PQconninfoParse, through psycopg.

A seeded generator builds keyword/value strings and URIs, valid and invalid, full of the cases
that trip parsers up (quotes, backslashes, whitespace, unicode, percent-escapes, multiple hosts,
IPv6, sockets, empty values, unknown and repeated keywords), and for every one checks that
:class:`ConnectionString` and libpq make the same accept/reject decision and the same keyword map,
and that libpq reads ``str()`` and ``.uri`` back to that map.

How many inputs: ``PGSQL_DIFF_EXAMPLES``, else by ``PGSQL_TEST_PROFILE`` (quick 1,000, ci 10,000,
long 200,000). ``PGSQL_DIFF_SEED`` changes the seed.

What is normalised, and why:

- ``psycopg.conninfo.conninfo_to_dict`` keeps empty values (it drops only unset options), so maps
  compare as they are.
- psycopg raises ``UnicodeDecodeError`` when libpq accepts percent-escapes that are not UTF-8; a
  Python ``str`` cannot hold such a value, and :class:`ConnectionString` rejects it, so that
  counts as a rejection.
- No input contains NUL: libpq would silently stop reading there (the module rejects it; see
  test_connstr).
- An older libpq (the oldest Python of the matrix may bundle one) is not skipped: the generator
  uses only the keywords that libpq knows, and leaves literal spaces out of URIs when that libpq
  does not yet reject them (libpq 17 started to).
"""

from __future__ import annotations

import os
import random
import time
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

import psycopg
import pytest
from conftest import scaled
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from pgsql.connstr import KEYWORDS, ConnectionString, ConnectionStringError

Result = Optional[Dict[str, str]]  # None: rejected

EXAMPLES = int(os.environ.get("PGSQL_DIFF_EXAMPLES") or scaled(1_000, 10_000, 200_000))
SEED = int(os.environ.get("PGSQL_DIFF_SEED") or 20240518)


def libpq(text: str) -> Result:
    try:
        parsed = conninfo_to_dict(text)
    except (psycopg.ProgrammingError, UnicodeDecodeError):
        return None
    return {k: str(v) for k, v in parsed.items()}  # all str: no keyword arguments given


def ours(text: str) -> Result:
    try:
        return ConnectionString(text).to_dict()
    except ConnectionStringError:
        return None


def _libpq_keywords() -> List[str]:
    known = {o.keyword.decode() for o in pq.Conninfo.get_defaults()}
    return [k for k in KEYWORDS if k in known]


LIBPQ_VERSION = pq.version()
VALID_KEYWORDS = _libpq_keywords()
# libpq 17+ rejects a literal space inside a URI part (and trims them around it).
URI_SPACES = libpq("postgresql://a b") is None
# Names neither accepts; any a given libpq does accept (an old one knowing "tty") are left out.
UNKNOWN_KEYWORDS = [
    k
    for k in ("foo", "Host", "hosts", "", "tty", "ssl", "authtype", "h\u00f4st", "x'y", "a\\b")
    if libpq(f"{k}=1") is None and ours(f"{k}=1") is None
]

ATOMS = [
    "",
    "a",
    "h",
    "db",
    "5432",
    "5432,5433",
    "a,b",
    ",",
    " ",
    "  ",
    "\t",
    "\n",
    "\x0b",
    "\x0c",
    "\r",
    "\x1c",
    "\u00a0",
    "'",
    "''",
    "\\",
    "\\'",
    "\\\\",
    "=",
    "&",
    "?",
    "/",
    "@",
    ":",
    "[",
    "]",
    "#",
    "%",
    "%2",
    "%20",
    "%41",
    "%2C",
    "%2c",
    "%%",
    "%2F",
    "%40",
    "%zz",
    "%00",
    "%C3%A9",
    "%FF",
    "\u00e9",
    "\u65e5\u672c",
    "\U0001f600",
    "::1",
    "[::1]",
    "2001:db8::1",
    "/run/postgresql",
    "@abstract",
    "true",
    "1",
    "0",
    "require",
    "postgresql://x",
    "host=x",
]


class Gen:
    """Seeded builder of nasty connection strings and URIs."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def value(self, max_atoms: int = 4) -> str:
        r = self.r
        return "".join(r.choice(ATOMS) for _ in range(r.randint(0, max_atoms)))

    def keyword(self) -> str:
        r = self.r
        roll = r.random()
        if roll < 0.05 and UNKNOWN_KEYWORDS:
            return r.choice(UNKNOWN_KEYWORDS)
        if roll < 0.08:
            return "requiressl"
        if roll < 0.5:
            return r.choice(("host", "port", "dbname", "user", "password", "hostaddr", "options"))
        return r.choice(VALID_KEYWORDS)

    def kv_value(self) -> str:
        r = self.r
        v = self.value()
        style = r.random()
        if style < 0.35:
            return v  # raw: may well not survive
        escaped = v.replace("\\", "\\\\").replace("'", "\\'")
        if style < 0.7:
            return f"'{escaped}'"
        if style < 0.85:
            return escaped
        return f"'{v}'"  # quoted, unescaped

    def keyword_value(self) -> str:
        r = self.r
        parts: List[str] = []
        for _ in range(r.randint(0, 5)):
            sep = r.choice(("=", "=", "=", " = ", "= ", " =", "\t=\n"))
            parts.append(f"{self.keyword()}{sep}{self.kv_value()}")
        joiner = r.choice((" ", " ", " ", "  ", "\t", "\n", ""))
        return r.choice(("", " ", "\n")) + joiner.join(parts) + r.choice(("", "", " ", "\\"))

    def uri_part(self, encode: float = 0.5) -> str:
        r = self.r
        v = self.value(3)
        if not URI_SPACES:
            v = v.replace(" ", "%20")
        return quote(v, safe="") if r.random() < encode else v

    def uri(self) -> str:
        r = self.r
        out = [r.choice(("postgresql://", "postgresql://", "postgres://"))]
        if r.random() < 0.5:
            out.append(self.uri_part())
            if r.random() < 0.6:
                out.append(":" + self.uri_part())
            out.append("@")
        netlocs: List[str] = []
        for _ in range(r.choice((0, 1, 1, 1, 2, 3))):
            roll = r.random()
            if roll < 0.2:
                host = "[" + r.choice(("::1", "2001:db8::1", "fe80::1%25eth0", "", "a")) + "]"
            elif roll < 0.3:
                host = quote(r.choice(("/run/postgresql", "@abstract", "/tmp")), safe="")
            else:
                host = self.uri_part(0.7)
            if r.random() < 0.4:
                host += ":" + r.choice(("5432", "", "1", self.uri_part(0.8)))
            netlocs.append(host)
        out.append(",".join(netlocs))
        if r.random() < 0.6:
            out.append("/" + self.uri_part(0.7))
        if r.random() < 0.6:
            params: List[str] = []
            for _ in range(r.randint(0, 4)):
                roll = r.random()
                if roll < 0.08:
                    params.append("ssl=" + r.choice(("true", "false", "%74rue", "1")))
                elif roll < 0.14:
                    params.append(self.uri_part())  # no "="
                elif roll < 0.2:
                    params.append(f"{self.keyword()}={self.uri_part()}={self.uri_part()}")
                else:
                    params.append(f"{self.keyword()}={self.uri_part(0.8)}")
            out.append("?" + "&".join(params) + r.choice(("", "", "&")))
        return "".join(out)

    def formatted(self) -> str:
        # Our own output for a random map: what libpq must read back.
        r = self.r
        fields = {self.r.choice(VALID_KEYWORDS): self.value() for _ in range(r.randint(0, 6))}
        for k in ("host", "port"):
            if r.random() < 0.4:
                fields[k] = ",".join(self.value(2) for _ in range(r.randint(1, 3)))
        cs = ConnectionString(" ".join(f"{k}={_kv_quote(v)}" for k, v in fields.items()))
        return cs.uri if r.random() < 0.5 else str(cs)

    def mutate(self, text: str) -> str:
        r = self.r
        if not text:
            return text
        i = r.randrange(len(text) + 1)
        roll = r.random()
        if roll < 0.4:
            return text[:i]
        if roll < 0.7:
            return (
                text[:i] + r.choice(("'", "\\", " ", "=", "%", "@", "/", "?", "&", ",")) + text[i:]
            )
        return text[:i] + text[i + 1 :]

    def next(self) -> str:
        r = self.r
        roll = r.random()
        if roll < 0.4:
            text = self.keyword_value()
        elif roll < 0.85:
            text = self.uri()
        else:
            text = self.formatted()
        if r.random() < 0.15:
            text = self.mutate(text)
        return text


def _kv_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _check(text: str) -> Optional[str]:
    """Compare one input; return a description of the disagreement, or None."""
    expected = libpq(text)
    got = ours(text)
    if expected != got:
        return f"{text!r}: libpq {expected!r}, ours {got!r}"
    if got is None:
        return None
    cs = ConnectionString(text)
    for name, formatted in (("str", str(cs)), ("uri", cs.uri)):
        back = libpq(formatted)
        if back != got:
            return f"{text!r}: libpq reads our {name} {formatted!r} as {back!r}, not {got!r}"
    return None


def _run(examples: int, seed: int, check: Callable[[str], Optional[str]]) -> Tuple[int, int]:
    gen = Gen(seed)
    disagreements: List[str] = []
    accepted = 0
    for _ in range(examples):
        text = gen.next()
        assert "\x00" not in text
        problem = check(text)
        if problem is not None:
            disagreements.append(problem)
        elif ours(text) is not None:
            accepted += 1
    assert not disagreements, f"{len(disagreements)} disagreements, e.g.:\n" + "\n".join(
        disagreements[:20]
    )
    return accepted, examples - accepted


def test_libpq_environment():
    # Say which libpq this run compared against; PG18 keywords need libpq 18.
    assert LIBPQ_VERSION >= 100000
    if LIBPQ_VERSION >= 180000:
        assert list(KEYWORDS) == VALID_KEYWORDS
    assert UNKNOWN_KEYWORDS


def test_differential(capsys: pytest.CaptureFixture[str]):
    start = time.perf_counter()
    accepted, rejected = _run(EXAMPLES, SEED, _check)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(
            f"\nconnstr vs libpq {LIBPQ_VERSION}: {EXAMPLES} inputs, {accepted} accepted, "
            f"{rejected} rejected, 0 disagreements, {elapsed:.1f}s"
        )
    # Both outcomes must be well represented, or the comparison proves little.
    assert accepted > EXAMPLES // 5
    assert rejected > EXAMPLES // 5


@pytest.mark.parametrize(
    "text",
    [
        "host= port=5",
        "host='a'port=5",
        "password=a\\",
        "requiressl=x",
        "postgresql://a:1,b",
        "postgresql://h?user=a@b",
        # literal spaces in URIs: libpq before 17 kept them; we follow libpq 18
        *(["postgresql://h/ ", "postgresql:// u@h"] if URI_SPACES else []),
        "postgresql://h?ssl=%74rue",
        "postgresql://[fe80::1%25eth0]:5",
        "postgresql://h/%FF",
        "postgresql://h?host=%00",
        "dbname=postgresql://x",
        "host=a\u00a0port=5",
        "host=a\x0bport=1",
    ],
)
def test_known_corners(text: str):
    assert _check(text) is None
