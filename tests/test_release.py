"""The distributions as released: their metadata, their exact contents, a quiet build.

The sdist and wheel are the ones ``test_packaging`` builds once per test run (an sdist from a
copy of the tree, then the wheel from the unpacked sdist, as ``python -m build`` and ``pip``
do). What the index shows comes from the wheel's ``METADATA``; what a charm installs is the
wheel; what a packager rebuilds from is the sdist.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path
from typing import Dict, List, Set

import pytest
import test_packaging as packaging

from pgsql import cli

ROOT = packaging.ROOT
REPO = "https://github.com/canonical/ops-lib-pgsql"
SHARE = "data/share/ops-lib-pgsql/examples/"
# What the wheel's .dist-info holds: metadata, nothing the build picked up by accident.
DIST_INFO = {
    "METADATA",
    "WHEEL",
    "RECORD",
    "entry_points.txt",
    "top_level.txt",
    "licenses/LICENSE",
}
# The sdist: the build inputs, the documents README.md links to, and setuptools' own files.
SDIST_TOP = {"PKG-INFO", "setup.cfg", *packaging.BUILD_INPUTS}


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> packaging.Installed:
    return packaging.build_once(tmp_path_factory)


def _wheel_names(built: packaging.Installed) -> List[str]:
    with zipfile.ZipFile(built.wheel) as whl:
        return [n for n in whl.namelist() if not n.endswith("/")]


def _stem(built: packaging.Installed) -> str:
    """``ops_lib_pgsql-<version>``, the prefix of the wheel's .data and .dist-info."""
    return "-".join(built.wheel.name.split("-")[:2])


def _metadata(built: packaging.Installed) -> Message:
    with zipfile.ZipFile(built.wheel) as whl:
        text = whl.read(f"{_stem(built)}.dist-info/METADATA").decode()
    return Parser().parsestr(text)


def _sdist_files(built: packaging.Installed) -> Set[str]:
    """The sdist's files, relative to its top directory."""
    with tarfile.open(built.sdist) as tar:
        return {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()}


def _tree_files(top: Path, base: Path = ROOT) -> Set[str]:
    return {
        p.relative_to(base).as_posix()
        for p in top.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and "_build" not in p.parts
    }


# ---------------------------------------------------------------------------------------------
# The build and the metadata the index shows
# ---------------------------------------------------------------------------------------------


@pytest.mark.heavy
def test_building_the_sdist_and_the_wheel_prints_no_warning(built: packaging.Installed) -> None:
    log = built.build_log.read_text(errors="replace")
    assert "Successfully" in log or "ops_lib_pgsql" in log  # the build's own output was kept
    warned = [line for line in log.splitlines() if "warning" in line.lower()]
    assert warned == []


@pytest.mark.heavy
def test_metadata_gives_the_licence_as_an_spdx_expression_and_ships_its_text(
    built: packaging.Installed,
) -> None:
    meta = _metadata(built)
    assert meta["License-Expression"] == "LGPL-3.0-only"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["License"] is None  # the old free-text field is gone
    assert not [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    with zipfile.ZipFile(built.wheel) as whl:
        shipped = whl.read(f"{_stem(built)}.dist-info/licenses/LICENSE")
    assert shipped == (ROOT / "LICENSE").read_bytes()


@pytest.mark.heavy
def test_metadata_summary_and_keywords_name_both_interfaces(built: packaging.Installed) -> None:
    meta = _metadata(built)
    summary = meta["Summary"]
    for word in ("pgsql", "postgresql_client", "PostgreSQL 16", "PgBouncer", "Juju"):
        assert word in summary
    keywords = set(meta["Keywords"].split(","))
    assert {"pgsql", "postgresql_client", "postgresql", "pgbouncer", "juju", "charm"} <= keywords


@pytest.mark.heavy
def test_metadata_links_documentation_source_issues_and_changelog(
    built: packaging.Installed,
) -> None:
    urls: Dict[str, str] = dict(
        entry.split(", ", 1) for entry in _metadata(built).get_all("Project-URL") or []
    )
    assert urls["Documentation"] == "https://ops-lib-pgsql.readthedocs.io/"
    assert urls["Source"] == REPO
    assert urls["Issues"] == f"{REPO}/issues"
    assert urls["Changelog"] == f"{REPO}/blob/main/CHANGELOG.md"
    assert urls["Homepage"] == REPO


# ---------------------------------------------------------------------------------------------
# What the wheel holds
# ---------------------------------------------------------------------------------------------


@pytest.mark.heavy
def test_wheel_holds_the_package_the_demo_charms_and_metadata_and_nothing_else(
    built: packaging.Installed,
) -> None:
    names = _wheel_names(built)
    stem = _stem(built)
    assert {n.split("/", 1)[0] for n in names} == {"pgsql", f"{stem}.data", f"{stem}.dist-info"}
    # the package: every file of src/pgsql (modules and py.typed), no other
    assert {n for n in names if n.startswith("pgsql/")} == _tree_files(
        ROOT / "src" / "pgsql", ROOT / "src"
    )
    assert "pgsql/py.typed" in names
    # data: the example charms the demo loads (demo.EXAMPLES), each its charmcraft.yaml and code
    data = [n.split("/", 1)[1] for n in names if n.startswith(f"{stem}.data/")]
    assert all(n.startswith(SHARE) for n in data), data
    by_charm: Dict[str, Set[str]] = {}
    for name in data:
        charm, rest = name[len(SHARE) :].split("/", 1)
        by_charm.setdefault(charm, set()).add(rest)
    assert set(by_charm) == set(packaging.EXAMPLES)
    for charm, files in by_charm.items():
        code = {f"src/{p.name}" for p in (ROOT / "examples" / charm / "src").glob("*.py")}
        assert files == {"charmcraft.yaml", *code}, charm
    info = {n.split("/", 1)[1] for n in names if n.startswith(f"{stem}.dist-info/")}
    assert info == DIST_INFO


# ---------------------------------------------------------------------------------------------
# What the sdist holds
# ---------------------------------------------------------------------------------------------


@pytest.mark.heavy
def test_sdist_carries_no_tests(built: packaging.Installed) -> None:
    files = _sdist_files(built)
    assert {f.split("/", 1)[0] for f in files} == SDIST_TOP
    assert not [f for f in files if "tests" in Path(f).parts or "conftest" in f]
    assert {f.split("/", 2)[1] for f in files if f.startswith("src/")} == {
        "pgsql",
        "ops_lib_pgsql.egg-info",
    }


@pytest.mark.heavy
def test_sdist_carries_the_changelog_the_docs_and_every_file_the_readme_links_to(
    built: packaging.Installed,
) -> None:
    files = _sdist_files(built)
    assert "CHANGELOG.md" in files
    # the docs, less the tests of the built site (no tests in the sdist)
    assert {f for f in _tree_files(ROOT / "docs") if not f.startswith("docs/tests/")} <= files
    readme = (ROOT / "README.md").read_text()
    # the README's links are absolute (for the package index): those into this repository's
    # main branch name the files the sdist must carry
    repo = r"https://github\.com/canonical/ops-lib-pgsql/(?:blob|tree)/main/"
    links = {
        re.sub(repo, "", target).split("#", 1)[0]
        for target in re.findall(r"\]\(([^)\s]+)\)", readme)
        if re.match(repo, target)
    }
    links.discard("")
    assert {"CHANGELOG.md", "docs/protocol.md"} <= links  # the links were found
    for link in sorted(links):
        if link.endswith("/") or (ROOT / link).is_dir():
            assert any(f.startswith(link.rstrip("/") + "/") for f in files), link
        else:
            assert link in files, link


# ---------------------------------------------------------------------------------------------
# What --help says
# ---------------------------------------------------------------------------------------------


def test_pgsql_help_says_the_doctor_explains_both_interfaces(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help column
    (doctor,) = re.findall(r"doctor (.*?) demo ", out)
    assert "pgsql" in doctor
    assert "postgresql_client" in doctor


def test_changelog_release_notes_say_what_a_new_and_a_1x_charm_get_and_how_to_move() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    entry = text.split("## [2.0.0]", 1)[1].split("\n### ", 1)[0]
    for heading in ("**A new charm**", "**A 1.x charm**", "**Moving**"):
        assert heading in entry, heading
    assert "postgresql_client" in entry
    assert "docs/migration.md" in entry
