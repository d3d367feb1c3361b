#!/usr/bin/env python3
"""One entry point for newcomers and CI: ``python3 tasks.py demo|test|docs|release-check``.

Needs nothing but ``python3``: it creates ``.venv`` (the demo's environment, and the home of nox
and uv), installs what is missing, and then runs the job. ``test`` runs every nox session: lint,
type checks, the full suite with coverage, the Python x ops compatibility matrix and the docs
site; ``docs`` builds the site alone (into docs/_build/html). ``release-check`` builds the sdist
and wheel, checks them as the package index would, installs the wheel in a clean virtual
environment and runs ``pgsql``, its demo and the example charms' tests against it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PY = BIN / "python"
TOOLS = ["nox>=2024.4.15", "uv>=0.4"]
UV = [str(PY), "-m", "uv"]
TWINE = "twine>=6.1"  # the first to check metadata 2.4 (License-Expression)


def _run(
    *cmd: str | os.PathLike[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    if cwd is not None and env is None:
        env = _clean_env()  # a run outside the checkout: nothing of it on the path
    subprocess.run([str(c) for c in cmd], check=True, env=env, cwd=cwd)


def _venv() -> None:
    if not PY.exists():
        _run(sys.executable, "-m", "venv", VENV)
    stamp = VENV / ".pgsql-stamp"
    want = "\n".join([*TOOLS, (ROOT / "pyproject.toml").read_text()])
    if not stamp.exists() or stamp.read_text() != want:
        _run(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
        _run(PY, "-m", "pip", "install", "-q", *TOOLS, "-e", f"{ROOT}[demo]")
        stamp.write_text(want)


def _pythons_on_path() -> dict[str, str]:
    """Put every pyenv-installed CPython's bin directory on PATH so nox finds python3.X."""
    env = dict(os.environ)
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    dirs = sorted(str(p / "bin") for p in root.glob("3.*") if (p / "bin").is_dir())
    env["PATH"] = os.pathsep.join([*dirs, env.get("PATH", "")])
    return env


def _postgres_binaries() -> None:
    """Make sure initdb/pg_ctl exist; install Debian's server packages when we can."""
    from_path = shutil.which("initdb") and shutil.which("pg_ctl")
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if from_path or debian:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        _run("apt-get", "update", "-q", env=env)
        _run("apt-get", "install", "-y", "-q", "postgresql", env=env)
        return
    sys.exit(
        "PostgreSQL server binaries (initdb, pg_ctl) are missing: "
        "install your distribution's 'postgresql' package."
    )


def _clean_env() -> dict[str, str]:
    """This environment less what would put the checkout on the path or steer the demo's server.

    Without PYTHONDONTWRITEBYTECODE too: under it setuptools warns that it skips byte-compiling,
    a setting of this machine that would hide a warning of the package's own.
    """
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("PG")}


def _build(dist: Path) -> None:
    """Build the sdist, then the wheel from it; any warning of the build fails the check."""
    cmd = [*UV, "build", "--out-dir", str(dist), str(ROOT)]
    print("+", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, env=_clean_env(), capture_output=True, text=True, check=False)
    lines = (proc.stdout + proc.stderr).splitlines()
    warned = [line for line in lines if "warning" in line.lower()]
    if proc.returncode or warned:
        print("\n".join(lines), flush=True)
        sys.exit(f"release-check: the build failed or warned: {warned or proc.returncode}")
    print("\n".join(line for line in lines if line.startswith("Successfully")), flush=True)


def _version_or_help(pgsql: Path, cwd: Path) -> None:
    """``pgsql --version`` where the command has it (it must then work), else ``pgsql --help``."""
    helped = subprocess.run(
        [str(pgsql), "--help"],
        env=_clean_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    option = "--version" if "--version" in helped.stdout else "--help"
    _run(pgsql, option, cwd=cwd)


def release_check() -> int:
    """Build, twine-check, install the wheel in a clean venv, run pgsql and the examples' tests."""
    with tempfile.TemporaryDirectory(prefix="pgsql-release-") as tmp:
        work = Path(tmp)
        dist = work / "dist"
        _build(dist)
        files = sorted([*dist.glob("*.tar.gz"), *dist.glob("*.whl")])  # uv adds a .gitignore
        _run(*UV, "tool", "run", "--from", TWINE, "twine", "check", "--strict", *files)
        (wheel,) = dist.glob("*.whl")
        venv = work / "venv"
        python = venv / "bin" / "python"
        _run(*UV, "venv", "-q", "--python", PY, venv)
        tests = sorted(ROOT.glob("examples/*/tests"))
        if not tests:
            sys.exit("release-check: no examples/*/tests to run against the wheel")
        reqs = [a for t in tests for a in ("-r", t.parent / "requirements.txt")]
        _run(*UV, "pip", "install", "-q", "--python", python, f"{wheel}[demo]", "pytest", *reqs)
        # the command and the library come from the installed wheel, never from src/
        where = [str(python), "-c", "import pgsql; print(pgsql.__file__)"]
        found = subprocess.run(
            where, env=_clean_env(), cwd=ROOT, capture_output=True, text=True, check=False
        )
        if not found.stdout.startswith(str(venv)):
            sys.exit(f"release-check: pgsql imported from {found.stdout or found.stderr}")
        _version_or_help(venv / "bin" / "pgsql", cwd=work)
        _run(venv / "bin" / "pgsql", "demo", cwd=work)
        # the examples' tests use the real-PostgreSQL fixture of tests/pgfixture.py, which
        # tests/conftest.py loads for a whole-suite run
        env = dict(_clean_env(), PYTHONPATH=str(ROOT / "tests"))
        pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pgfixture"]
        _run(*pytest, *tests, cwd=ROOT, env=env)
    print("release-check passed", flush=True)
    return 0


def _docs_packages() -> None:
    """Make sure Python's offline inventory (python3-doc) and a headless Chromium exist."""
    inventory = sorted(Path("/usr/share/doc").glob("python3*/html/objects.inv"))
    if inventory and shutil.which("chromium"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        _run("apt-get", "update", "-q", env=env)
        _run("apt-get", "install", "-y", "-q", "python3-doc", "chromium", env=env)
        return
    sys.exit(
        "The docs need Python's objects.inv (Debian's python3-doc) and a headless chromium: "
        "install both with your distribution's packages."
    )


def _runs_docs(nox_args: list[str]) -> bool:
    """Whether nox will run the docs session: it runs every session unless told which."""
    chosen = {"-s", "--session", "--sessions", "-k", "--keywords", "-l", "--list"}
    return "docs" in nox_args or not chosen.intersection(nox_args)


def main(argv: list[str]) -> int:
    """Dispatch ``demo``, ``test``, ``docs`` or ``release-check`` (arguments go to demo or nox)."""
    if not argv or argv[0] not in {"demo", "test", "docs", "release-check"}:
        print(__doc__)
        print(
            "usage: python3 tasks.py demo [demo args] | test [nox args] | docs [nox args]"
            " | release-check"
        )
        return 2
    job, rest = argv[0], argv[1:]
    _venv()
    if job != "docs":
        _postgres_binaries()
    if job == "demo":
        return subprocess.call([str(BIN / "pgsql"), "demo", *rest])
    if job == "release-check":
        return release_check()
    if job == "docs":
        rest = ["-s", "docs", *rest]
    if _runs_docs(rest):
        _docs_packages()
    env = _pythons_on_path()
    return subprocess.call([str(BIN / "nox"), "-db", "uv", *rest], env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
