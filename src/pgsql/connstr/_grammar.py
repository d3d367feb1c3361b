"""What every part of :mod:`pgsql.connstr` shares: libpq's keywords, its whitespace, the error.

:data:`KEYWORDS` are the keywords ``PQconninfoParse`` of libpq 18 accepts; :func:`store` is
libpq's ``conninfo_storeval`` (the legacy ``requiressl`` spelling included) and
:func:`check_text` refuses what libpq could not even see (a NUL, text that is not UTF-8).
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

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
KEYWORD_SET = frozenset(KEYWORDS)

# Values hidden by repr() and by ``pgsql connstr``: libpq's password-like options ('*' display
# character) plus the SCRAM keys, which are as good as the password.
SECRET_KEYWORDS = frozenset(
    ("password", "sslpassword", "oauth_client_secret", "scram_client_key", "scram_server_key")
)
MASK = "********"

# libpq tests bytes with C isspace(); in the C and UTF-8 locales that is ASCII whitespace only.
WS = " \t\n\r\x0b\x0c"

# 1.x attributes for keywords libpq no longer has; always None, kept so old charms keep working.
LEGACY_ATTRIBUTES = ("requiressl", "tty")


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


def check_text(text: str, what: str) -> None:
    """Refuse ``text`` (``what`` names it in the message) when libpq could not take it.

    Raises:
        ConnectionStringError: ``text`` holds a NUL or cannot be encoded as UTF-8.
    """
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


def store(out: Dict[str, str], key: str, value: str) -> bool:
    """Store ``key=value`` in ``out`` as libpq does; False when ``key`` is not a libpq keyword."""
    # conninfo_storeval: requiressl is the pre-9.3 spelling of sslmode; the last value wins.
    if key == "requiressl":
        out["sslmode"] = "require" if value[:1] == "1" else "prefer"
        return True
    if key not in KEYWORD_SET:
        return False
    out[key] = value
    return True
