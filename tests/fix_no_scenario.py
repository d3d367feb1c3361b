"""Run a snippet in a fresh interpreter where Scenario (``scenario``, ``ops[testing]``) cannot be
imported: what ``pgsql.testing`` offers without it, and what it says it needs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCK_SCENARIO = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "scenario" or name.startswith("scenario."):
            raise ImportError("blocked")
sys.meta_path.insert(0, Block())
"""


def run_without_scenario(code: str) -> None:
    """Run ``code`` (dedented) after blocking every import of ``scenario``; fail if it fails."""
    subprocess.run([sys.executable, "-c", BLOCK_SCENARIO + textwrap.dedent(code)], check=True)
