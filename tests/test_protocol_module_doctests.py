"""Every example in the docstrings of :mod:`pgsql.protocol` and :mod:`pgsql.connstr` runs.

Both packages are split into private modules; a function's examples run wherever it lives now,
so moving one between modules never drops its examples from the suite.
"""

import doctest
import importlib
import pkgutil
from types import ModuleType
from typing import List

import pytest

import pgsql.connstr
import pgsql.protocol


def _modules() -> List[str]:
    names: List[str] = []
    for package in (pgsql.protocol, pgsql.connstr):
        names.append(package.__name__)
        names.extend(f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__))
    return names


@pytest.mark.parametrize("name", _modules())
def test_module_examples_pass(name: str) -> None:
    module: ModuleType = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_examples_of_split_modules_are_found() -> None:
    # secret_fields and secret_id, the provider's request reading, and mask_value moved out of
    # the modules whose own doctest tests count their examples: at least theirs run here.
    expected = {
        "pgsql.protocol._postgresql_client_secrets": 3,
        "pgsql.protocol._provider_request": 7,
        "pgsql.connstr._mask": 3,
    }
    for name, least in expected.items():
        assert doctest.testmod(importlib.import_module(name)).attempted >= least, name
