"""Shared test configuration.

``PGSQL_TEST_PROFILE`` scales the generated-input tests: ``quick`` (the compatibility matrix),
``ci`` (the main CI session, the default) or ``long`` (on demand).
"""

from __future__ import annotations

import os

# The real PostgreSQL fixtures (tests/pgfixture.py), for tests/ and examples/ alike.
pytest_plugins = ["pgfixture"]

PROFILE = os.environ.get("PGSQL_TEST_PROFILE", "ci")


def scaled(quick: int, ci: int, long: int) -> int:
    """Pick an example count for the current profile."""
    return {"quick": quick, "ci": ci, "long": long}.get(PROFILE, ci)
