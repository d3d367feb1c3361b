"""The 1.x helpers that charms' unit tests patch, as :mod:`pgsql.client` holds them right now.

``unittest.mock.patch("pgsql.client._is_ready")`` replaces the name in the package module, so the
implementation looks the helpers up there each time it uses one, never through an import.
"""

from __future__ import annotations

import sys
from typing import Any

_FACADE = __name__.rpartition(".")[0]


def legacy(name: str) -> Any:
    """The current value of ``pgsql.client.<name>`` (patched or not)."""
    return getattr(sys.modules[_FACADE], name)
