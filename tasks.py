#!/usr/bin/env python3
"""One entry point for newcomers and CI: ``python3 tasks.py demo``, ``test`` and ``docs``.

Needs nothing but ``python3``: it creates ``.venv`` (the demo's environment, and the home of nox
and uv), installs what is missing, and then runs the job. ``test`` runs every nox session: lint,
type checks, the full suite with coverage, the Python x ops compatibility matrix and the docs
site; ``docs`` builds the site alone (into docs/_build/html).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PY = BIN / "python"
TOOLS = ["nox>=2024.4.15", "uv>=0.4"]


def _run(*cmd: str | os.PathLike[str], env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, env=env)


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
    """Dispatch ``demo``, ``test`` or ``docs`` (extra arguments go to the demo or to nox)."""
    if not argv or argv[0] not in {"demo", "test", "docs"}:
        print(__doc__)
        print("usage: python3 tasks.py demo [demo args] | test [nox args] | docs [nox args]")
        return 2
    job, rest = argv[0], argv[1:]
    _venv()
    if job != "docs":
        _postgres_binaries()
    if job == "demo":
        return subprocess.call([str(BIN / "pgsql"), "demo", *rest])
    if job == "docs":
        rest = ["-s", "docs", *rest]
    if _runs_docs(rest):
        _docs_packages()
    env = _pythons_on_path()
    return subprocess.call([str(BIN / "nox"), "-db", "uv", *rest], env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
