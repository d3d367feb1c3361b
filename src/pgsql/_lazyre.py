"""Regular expressions compiled on first use, not at import.

Every hook is a fresh process that imports the library again, and compiling the patterns of
:mod:`pgsql.connstr` and :mod:`pgsql.protocol` costs milliseconds, mostly in hooks that never
parse a connection string (install, start, a relation not answered yet). Standard library only,
like :mod:`pgsql.connstr`.
"""

from __future__ import annotations

import re
from typing import Any, cast


class _LazyPattern:
    """Stands in for ``re.compile(pattern, flags)``; compiles on the first attribute used.

    The compiled pattern's attributes (``match``, ``sub``...) are then kept on the instance, so
    later uses are plain attribute reads, as fast as on the pattern itself.
    """

    def __init__(self, pattern: str, flags: int) -> None:
        self._lazy_args = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_lazy_args":
            raise AttributeError(name)  # copy/pickle probes: not the pattern's
        value = getattr(re.compile(*self._lazy_args), name)
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        return f"lazy_compile({self._lazy_args[0]!r}, {self._lazy_args[1]!r})"


def lazy_compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, deferred until the pattern is first used."""
    return cast("re.Pattern[str]", _LazyPattern(pattern, flags))
