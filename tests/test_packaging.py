"""What a built distribution ships, and what the installed ``pgsql`` command shows its users.

Once per test session (shared by the xdist workers) the tree's build inputs are copied to a
temporary directory, an sdist is built from them and a wheel from that sdist, the way ``pip`` and
``python -m build`` do, and the wheel is installed into a fresh virtual environment outside the
checkout. That environment sees this interpreter's site-packages (ops, PyYAML, psycopg) through a
``.pth`` file, after its own, so ``pgsql`` is imported from the installed wheel, never from
``src/``. The only download is setuptools, the build backend, from the package index (pip's
cache makes it quick); pip runs from the wheel ``ensurepip`` bundles, as ``ensurepip`` itself
does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, Generator, List

import pytest
from needs import needs_scenario

from pgsql import cli, demo

ROOT = Path(__file__).resolve().parents[1]
# What the build reads: pyproject.toml's inputs (package, readme, license, data files) and what
# MANIFEST.in adds to the sdist (the documents README.md links to).
BUILD_INPUTS = [
    "pyproject.toml",
    "MANIFEST.in",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "src",
    "examples",
    "docs",
    "benchmarks",
]
# The example charms the demo loads: the wheel ships these (pyproject.toml's data-files), no other.
EXAMPLES = demo.EXAMPLES
SHARE = "share/ops-lib-pgsql/examples/"
# The sdist, unpacked, is what the wheel is built from (as pip and python -m build do).
_BUILD = """
import sys, tarfile
from pathlib import Path
from setuptools import build_meta
out = Path(sys.argv[1])
sdist = out / build_meta.build_sdist(str(out))
with tarfile.open(sdist) as tar:
    if hasattr(tarfile, "data_filter"):
        tar.extractall(out / "unpacked", filter="data")
    else:
        tar.extractall(out / "unpacked")
(tree,) = (out / "unpacked").iterdir()
import os
os.chdir(tree)
print(build_meta.build_wheel(str(out)))
"""


@dataclasses.dataclass(frozen=True)
class Installed:
    """The session's sdist and wheel, and the virtual environment the wheel is installed in."""

    sdist: Path
    wheel: Path
    venv: Path
    site: Path
    build_log: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def _env() -> Dict[str, str]:
    # Nothing of the checkout on the path; no PG* variables steering the demo's server.
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("PG")
    }


def _run(cmd: List[str], cwd: Path, timeout: float = 120) -> str:
    proc = subprocess.run(
        cmd, cwd=str(cwd), env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _run_logged(cmd: List[str], cwd: Path, log: Path) -> None:
    """Run a build step, keeping everything it printed (stdout and stderr) in ``log``."""
    # sys.dont_write_bytecode makes setuptools warn that it skips byte-compiling: a setting of
    # this environment, not of the package, so the build runs without it.
    env = {k: v for k, v in _env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(
        cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False
    )
    log.write_bytes(proc.stdout)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout.decode(errors='replace')}"


def _pip(python: Path) -> List[str]:
    """Pip for ``python``: the wheel ensurepip bundles, else this interpreter's pip."""
    import ensurepip

    bundled = sorted(
        Path(ensurepip.__file__).parent.glob("_bundled/pip-*.whl"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.name.split("-")[1])],
    )
    if bundled:
        return [str(python), str(bundled[-1] / "pip")]
    if importlib.util.find_spec("pip") is None:  # pragma: no cover - CPython bundles pip
        pytest.fail("no pip to build and install the wheel with: neither ensurepip's nor this one")
    return [sys.executable, "-m", "pip", "--python", str(python)]


def _build_and_install(work: Path) -> Installed:
    tree = work / "tree"
    tree.mkdir(parents=True)
    for name in BUILD_INPUTS:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*")
            shutil.copytree(source, tree / name, ignore=ignore)
        else:
            shutil.copy2(source, tree / name)
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    python = venv / "bin" / "python"
    pip = [*_pip(python), "--disable-pip-version-check", "--no-input", "-q"]
    _run([*pip, "install", "--no-compile", "setuptools>=77"], cwd=work)
    dist = work / "dist"
    dist.mkdir()
    build_log = work / "build.log"
    _run_logged([str(python), "-c", _BUILD, str(dist)], cwd=tree, log=build_log)
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    _run([*pip, "install", "--no-compile", "--no-deps", "--no-index", str(wheel)], cwd=work)
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=work
        ).strip()
    )
    # This interpreter's site-packages (ops, yaml, psycopg), after the venv's own.
    ours = dict.fromkeys(sysconfig.get_path(k) for k in ("purelib", "platlib"))
    (site / "zz_pgsql_test_deps.pth").write_text("".join(f"{p}\n" for p in ours))
    return Installed(sdist, wheel, venv, site, build_log)


@contextlib.contextmanager
def _locked(path: Path) -> Generator[None, None, None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build_once(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the sdist and wheel once per run (xdist workers share them); install the wheel."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's, shared by its workers
    work = base / "pgsql-packaging"
    with _locked(base / "pgsql-packaging.lock"):
        done = work / "installed.json"
        if not done.exists():
            shutil.rmtree(work, ignore_errors=True)
            built = _build_and_install(work)
            done.write_text(json.dumps({k: str(v) for k, v in vars(built).items()}))
        return Installed(**{k: Path(v) for k, v in json.loads(done.read_text()).items()})


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """Build the sdist and wheel once per session and install the wheel in a fresh venv."""
    return build_once(tmp_path_factory)


def _example_files() -> Dict[str, bytes]:
    """What the demo loads from the example charms, by path under ``examples/``."""
    files: Dict[str, bytes] = {}
    for name in EXAMPLES:
        charm = ROOT / "examples" / name
        for path in [charm / "charmcraft.yaml", *sorted((charm / "src").glob("*.py"))]:
            files[path.relative_to(ROOT / "examples").as_posix()] = path.read_bytes()
    return files


# ---------------------------------------------------------------------------------------------
# What the distributions ship
# ---------------------------------------------------------------------------------------------


@pytest.mark.heavy
def test_wheel_ships_the_example_charm_files_the_demo_loads_and_not_their_tests(
    installed: Installed,
) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        shipped = {
            name.split(SHARE, 1)[1]: whl.read(name)
            for name in whl.namelist()
            if SHARE in name and not name.endswith("/")
        }
    expected = _example_files()
    assert {"pgsql-client/src/charm.py", "pgsql-provider/src/provision.py"} <= set(expected)
    # the same files, byte for byte (the client is the 1.0.0 README charm, verbatim)
    assert shipped == expected
    assert not any("tests" in Path(name).parts for name in shipped)


@pytest.mark.heavy
def test_wheel_ships_every_module_of_the_package(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
    package = ROOT / "src"
    modules = {p.relative_to(package).as_posix() for p in package.glob("pgsql/**/*.py")}
    assert modules | {"pgsql/py.typed"} <= names


@pytest.mark.heavy
def test_sdist_holds_what_the_wheel_is_built_from(installed: Installed) -> None:
    # the fixture built the wheel from this sdist; these are the example files it needs
    with tarfile.open(installed.sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {f"examples/{name}" for name in _example_files()} <= names
    assert not any(name.startswith("examples/") and "/tests" in name for name in names)


# ---------------------------------------------------------------------------------------------
# The installed package, run from another directory
# ---------------------------------------------------------------------------------------------

_LOOKUP = """
import argparse, json, pgsql
from pgsql import demo
root = demo._examples(argparse.Namespace(examples=None))
charms = [demo.load_charm(root / n, "lookup_" + n.replace("-", "_")) for n in demo.EXAMPLES]
print(json.dumps({
    "pgsql": pgsql.__file__,
    "root": str(root),
    "charms": [c.charm_type.__name__ for c in charms],
}))
"""


@pytest.mark.heavy
@needs_scenario  # the demo simulates Juju with ops.testing's Context
def test_installed_demo_finds_its_example_charms_from_any_directory(
    installed: Installed, tmp_path: Path
) -> None:
    out = json.loads(_run([str(installed.python), "-c", _LOOKUP], cwd=tmp_path))
    assert Path(out["pgsql"]).resolve() == (installed.site / "pgsql" / "__init__.py").resolve()
    assert Path(out["root"]) == (installed.venv / SHARE).resolve()
    assert out["charms"] == ["MyCharm", "PostgreSQLProviderCharm", "MyCharm"]


@pytest.mark.heavy
@pytest.mark.postgres
@needs_scenario  # the demo simulates Juju with ops.testing's Context
def test_installed_pgsql_demo_runs_from_any_directory(installed: Installed, tmp_path: Path) -> None:
    share = (installed.venv / SHARE).resolve()
    out = _run([str(installed.venv / "bin" / "pgsql"), "demo"], cwd=tmp_path)
    assert f"client: myapp ({share / 'postgresql-client-charm'}), 2 units" in out
    assert f"server: postgresql ({share / 'pgsql-provider'})" in out
    assert "database.env: DATABASE_URL=postgresql://relation_id_" in out
    assert "Demo passed" in out
    out = _run([str(installed.venv / "bin" / "pgsql"), "demo", "--charm", "1.x"], cwd=tmp_path)
    assert f"client: myapp ({share / 'pgsql-client'})" in out
    assert "mydbname | juju_myapp |" in out
    assert "Demo passed" in out


_WITHOUT_EXTRA = """
import sys
import ops.testing
sys.modules["psycopg"] = None  # the [demo] extra is not installed: neither psycopg
del ops.testing.Context  # nor ops.testing's State API
from pgsql.cli import main
sys.exit(main(["demo"]))
"""


@pytest.mark.heavy
def test_installed_demo_without_the_extra_says_pip_install_the_extra_once_and_no_tasks_py(
    installed: Installed, tmp_path: Path
) -> None:
    proc = subprocess.run(
        [str(installed.python), "-c", _WITHOUT_EXTRA],
        cwd=str(tmp_path),
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("pip install 'ops-lib-pgsql[demo]'") == 1
    assert "ops[testing]" not in proc.stderr
    assert "tasks.py" not in proc.stderr


# ---------------------------------------------------------------------------------------------
# What --help shows
# ---------------------------------------------------------------------------------------------

_REST = re.compile(r"``|:[a-z]+(:[a-z]+)?:`")


@pytest.mark.parametrize("command", [[], ["connstr"], ["doctor"], ["demo"]], ids=str)
def test_help_shows_no_rest_markup(command: List[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([*command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: pgsql {' '.join(command)}".rstrip())
    assert "``" not in out
    assert ":class:" not in out
    assert not _REST.search(out), out


def test_help_turns_rest_roles_and_literals_into_plain_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        cli, "__doc__", "The ``pgsql`` command, :class:`pgsql.PostgreSQLClient` and :func:`~a.b`."
    )
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "The pgsql command, pgsql.PostgreSQLClient and b." in capsys.readouterr().out
