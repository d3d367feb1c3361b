"""pytest configuration for the example charms' tests.

They use the repository's real-PostgreSQL fixtures (``postgres``, ``pg_conn``) from
``tests/pgfixture.py``; this makes that plugin importable when only ``examples/`` is collected.
"""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _TESTS not in sys.path:
    sys.path.append(_TESTS)  # appended: never shadows an installed module

pytest_plugins = ["pgfixture"]
