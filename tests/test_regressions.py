"""Regression tests for failures the chaos and fuzz suites found, one test per failure.

Each test names what it caught. Failures in modules owned by others that are not fixed yet are
``xfail(strict=True)`` with the precise bug, so they turn into errors the moment they are fixed
(and the marker must go).
"""

from __future__ import annotations

from pgsql import protocol


def test_unit_sort_key_superscript_digit() -> None:
    # caught by test_fuzz_inputs::test_evaluate_never_raises_and_is_consistent: a unit named
    # "²" (str.isdigit() is True, int() rejects it) made evaluate() raise ValueError
    assert protocol.unit_sort_key("pg/²") == ("pg/²", -1, "pg/²")
    assert protocol.unit_sort_key("²") == ("²", -1, "²")
    r = protocol.evaluate(None, "myapp/0", {}, "²", {}, {"²": {}, "pg/²": {"master": "host=a"}})
    assert r.ready
