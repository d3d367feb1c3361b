"""What some tests need that not every supported set-up has: each rule and its reason, once.

- Scenario (``ops.testing.Context``) came with ops 2.17 (``ops[testing]``); the oldest supported
  ops, 2.0.0 (noxfile's ``oldest`` session), has Harness only. A module whose code touches
  ``testing.Context`` at import calls :func:`requires_scenario` before it does; a module with
  some Scenario tests marks them :data:`needs_scenario`.
- data_interfaces v0 LIBPATCH 58 (PyPI's ``postgresql-charms-single-kernel``, which noxfile's
  TEST_DEPS install everywhere) imports only on Python >= 3.10: a module using it calls
  :func:`requires_data_interfaces` before importing it.

The examples' tests (``examples/*/tests``) keep their own skip: they are written as a charm's
own tests would be, with nothing from this folder but the ``postgres`` fixture.
"""

from __future__ import annotations

import sys
from typing import Any

import ops.testing
import pytest

HAS_SCENARIO = getattr(ops.testing, "Context", None) is not None
SCENARIO_REASON = f"ops {ops.__version__}: ops.testing.Context (Scenario) needs ops >= 2.17"
needs_scenario = pytest.mark.skipif(not HAS_SCENARIO, reason=SCENARIO_REASON)

HAS_DATA_INTERFACES = sys.version_info >= (3, 10)
DATA_INTERFACES_REASON = (
    f"Python {sys.version_info[0]}.{sys.version_info[1]}: data_interfaces v0 LIBPATCH 58 "
    "(postgresql-charms-single-kernel 16.3.20) evaluates 'X | Y' annotations at import, which "
    "needs Python >= 3.10; the noxfile installs it from 3.10 on"
)


def requires_scenario() -> Any:
    """Skip the calling module (at import) or test where ops.testing has no Scenario.

    Returns:
        ``ops.testing``, typed loosely: its Scenario names exist on ops >= 2.17 only.
    """
    __tracebackhide__ = True  # the skip is reported at the caller's line, one per module
    if not HAS_SCENARIO:
        pytest.skip(SCENARIO_REASON, allow_module_level=True)
    return ops.testing


def requires_data_interfaces() -> None:
    """Skip the calling module (at import) where data_interfaces cannot be imported."""
    __tracebackhide__ = True
    if not HAS_DATA_INTERFACES:
        pytest.skip(DATA_INTERFACES_REASON, allow_module_level=True)
