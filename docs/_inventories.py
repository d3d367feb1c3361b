"""Local intersphinx inventories, so the docs build offline and never fetch one.

- Python: Debian's ``python3-doc`` package ships ``objects.inv`` with the HTML docs.
- ops: the ``ops`` package ships no inventory, so one is built from the installed ops with Sphinx
  itself (a tiny autodoc project laid out like ops' own reference pages, so that the anchors are
  the real site's), once per ops version, under ``docs/_build/inventories``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

#: Where Debian's python3-doc puts its inventory (python3.X-doc holds the HTML).
PYTHON_INVENTORIES = "/usr/share/doc/python3*/html/objects.inv"

# ops' reference pages (docs/reference/*.rst in canonical/operator): document name -> module
_OPS_PAGES = {
    "reference/ops": "ops",
    "reference/ops-testing": "ops.testing",
    "reference/pebble": "ops.pebble",
}
_OPS_CONF = """\
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
autodoc_default_options = {"members": None, "undoc-members": None}
html_theme = "basic"


def _no_pages(app):
    # only objects.inv is wanted: the HTML builder names the pages, but need not write them
    app.builder.write_doc = lambda docname, doctree: None


def setup(app):
    app.connect("builder-inited", _no_pages)
"""


class MissingInventoryError(RuntimeError):
    """An inventory intersphinx needs cannot be found or built."""


def python_inventory() -> Path:
    """Python's inventory from python3-doc (or ``$PGSQL_DOCS_PYTHON_INV``).

    Raises:
        MissingInventoryError: none is installed; the message says what to install.
    """
    override = os.environ.get("PGSQL_DOCS_PYTHON_INV")
    found = [Path(override)] if override else sorted(Path("/").glob(PYTHON_INVENTORIES[1:]))
    found = [p for p in found if p.is_file()]
    if not found:
        raise MissingInventoryError(
            f"no Python objects.inv at {override or PYTHON_INVENTORIES}: install Debian's "
            "python3-doc (python3 tasks.py docs does), or set PGSQL_DOCS_PYTHON_INV"
        )
    return found[-1]


def ops_inventory(docs: Path) -> Path:
    """An inventory of the installed ops, built once per ops version.

    Raises:
        MissingInventoryError: Sphinx did not produce one (its output is in the message).
    """
    import ops  # only the docs build needs it

    out = docs / "_build" / "inventories" / f"ops-{ops.__version__}"
    inventory = out / "objects.inv"
    if inventory.is_file():
        return inventory
    with tempfile.TemporaryDirectory(prefix="ops-inventory-") as tmp:
        src = Path(tmp)
        (src / "conf.py").write_text(_OPS_CONF)
        pages = "\n".join(f"   {doc}" for doc in _OPS_PAGES)
        (src / "index.rst").write_text(f"ops\n===\n\n.. toctree::\n\n{pages}\n")
        (src / "reference").mkdir()
        for doc, module in _OPS_PAGES.items():
            title = f"``{module}``"
            (src / f"{doc}.rst").write_text(
                f"{title}\n{'=' * len(title)}\n\n.. automodule:: {module}\n"
            )
        # warnings are ops' own business; only the inventory matters here
        done = subprocess.run(
            [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src), str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
    if not inventory.is_file():
        raise MissingInventoryError(
            f"building the ops inventory failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return inventory
