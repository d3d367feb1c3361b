"""Nox sessions: lint, typecheck, the full suite, the Python x ops matrix, and the docs site.

Run them all with ``python3 tasks.py test`` (which installs nox and uv first), or one with
``python3 tasks.py test -s lint``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = True

MAIN_PY = "3.11"
OPS3 = "ops[testing]>=3,<4"
OPS2 = "ops[testing]>=2.23,<3"
TEST_DEPS = [
    "pytest>=8",
    "pytest-xdist>=3",
    "pytest-cov>=4",
    "hypothesis>=6.100",
    "coverage[toml]>=7",
    "pyyaml",
    "psycopg[binary]>=3.1",
    # data_interfaces v0 LIBPATCH 58, the real other end of postgresql_client
    # (tests/test_interop_data_interfaces.py); it imports only on Python >= 3.10
    "postgresql-charms-single-kernel==16.3.20; python_version >= '3.10'",
]
# two workers: the machines this runs on, CI's included, have two cores
XDIST = ["-n", "2"]
LINTED = ["src", "tests", "examples", "benchmarks", "noxfile.py", "tasks.py"]
LINTED += ["docs/conf.py", "docs/_inventories.py", "docs/tests"]  # not docs/*.md: prose
DOCS_DEPS = ["sphinx>=8.1,<10", "myst-parser>=4", "furo>=2024.8.6", "pytest>=8", "pillow>=10"]


def _wheel(session: nox.Session) -> str:
    """The project's wheel, built from this tree by the main interpreter.

    The build backend (setuptools >= 77, for the SPDX licence) runs on Python >= 3.9 only, so a
    Python 3.8 session cannot build the project; every session installs the pure wheel instead,
    as users do, which also tests what is shipped rather than the tree.
    """
    out = Path(session.create_tmp()) / "dist"
    shutil.rmtree(out, ignore_errors=True)
    uv = [sys.executable, "-m", "uv"]  # nox's own environment holds uv (tasks.py installs it)
    session.run(
        *uv,
        "build",
        "-q",
        "--wheel",
        "--python",
        MAIN_PY,
        "--out-dir",
        str(out),
        ".",
        external=True,
    )
    (wheel,) = out.glob("*.whl")
    return str(wheel)


@nox.session(python=MAIN_PY)
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)


@nox.session(python=MAIN_PY)
def typecheck(session: nox.Session) -> None:
    """Pyright strict over src and tests."""
    session.install("pyright>=1.1.380", OPS3, *TEST_DEPS, "-e", ".")
    session.run("pyright")


@nox.session(python=MAIN_PY)
def tests(session: nox.Session) -> None:
    """The whole suite on the main interpreter and current ops 3, with branch coverage."""
    session.install(OPS3, *TEST_DEPS, _wheel(session))
    env = {"PGSQL_TEST_PROFILE": "ci"}
    session.run(
        "pytest",
        *XDIST,
        "--cov=pgsql",
        "--cov-branch",
        "--cov-report=term",
        *session.posargs,
        env=env,
    )


MATRIX = [
    ("3.8", OPS2, "ops2"),
    ("3.9", OPS2, "ops2"),
    ("3.10", OPS3, "ops3"),
    ("3.11", OPS2, "ops2"),
    ("3.12", OPS3, "ops3"),
    ("3.13", OPS3, "ops3"),
]


@nox.session
@nox.parametrize(("python", "ops"), [m[:2] for m in MATRIX], ids=[f"{p}-{i}" for p, _, i in MATRIX])
def matrix(session: nox.Session, ops: str) -> None:
    """The suite on every reachable Python with the latest ops 2.x or 3.x (quick profile)."""
    session.install(ops, *TEST_DEPS, _wheel(session))
    session.run(
        "pytest",
        *XDIST,
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not heavy",  # the main session runs them; they do not vary with Python or ops
        *session.posargs,
        env={"PGSQL_TEST_PROFILE": "quick"},
    )


@nox.session(python="3.8")
def oldest(session: nox.Session) -> None:
    """Ops 2.0.0, the oldest supported release: Harness and pure tests (it has no Scenario)."""
    session.install("ops==2.0.0", *TEST_DEPS, _wheel(session))
    session.run(
        "pytest",
        *XDIST,
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not heavy",  # the main session runs them; they do not vary with Python or ops
        *session.posargs,
        env={"PGSQL_TEST_PROFILE": "quick"},
    )


@nox.session(python=MAIN_PY)
def docs(session: nox.Session) -> None:
    """The documentation site (docs/conf.py), then a headless browser's look at it.

    Warnings are errors and every cross-reference must resolve (-W -n); -E re-reads every page,
    so a warning is reported on every run, not only when its page changed. Python's and ops'
    inventories are local files (see docs/_inventories.py): nothing is fetched.
    """
    session.install(*DOCS_DEPS, OPS3, "-e", ".")
    site = "docs/_build/html"
    session.run("sphinx-build", "-b", "html", "-W", "--keep-going", "-n", "-q", "-E", "docs", site)
    session.run(
        "pytest", "-q", "-p", "no:cacheprovider", "docs/tests", env={"PGSQL_DOCS_SITE": site}
    )
