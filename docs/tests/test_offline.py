"""The docs build reads its intersphinx inventories from local files and never fetches one."""

from __future__ import annotations

import runpy
import zlib
from pathlib import Path

CONF = Path(__file__).resolve().parents[1] / "conf.py"


def test_every_inventory_is_a_local_file_with_the_real_site_as_its_base():
    """Each mapping names the published site for links and a file on disk for the inventory."""
    mapping = runpy.run_path(str(CONF))["intersphinx_mapping"]
    assert set(mapping) == {"python", "ops"}
    for base, inventory in mapping.values():
        assert base.startswith("https://")
        assert not str(inventory).startswith(("http:", "https:"))
        assert Path(inventory).is_file()
    assert mapping["ops"][0] == "https://ops.readthedocs.io/en/latest/"


def test_ops_inventory_knows_ops_names_by_where_ops_documents_them():
    """The inventory built from the installed ops has ops.Relation on ops' reference page."""
    inventory = Path(runpy.run_path(str(CONF))["intersphinx_mapping"]["ops"][1])
    header = inventory.read_bytes().split(b"\n", 4)  # four header lines, then zlib
    assert header[0] == b"# Sphinx inventory version 2"
    entries = zlib.decompress(header[4]).decode().splitlines()
    # name, role, priority, page#anchor ($: the name), display name
    assert "ops.Relation py:class 1 reference/ops.html#$ -" in entries
    assert "ops.testing.State py:class 1 reference/ops-testing.html#$ -" in entries
