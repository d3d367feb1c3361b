"""Loading the example charms the demo runs, and finding where they are installed."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.machinery
import importlib.util
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

from ._common import DemoError


@dataclasses.dataclass(frozen=True)
class Charm:
    """An example charm loaded from its directory.

    Attributes:
        directory: the charm's root (holding ``charmcraft.yaml`` and ``src/charm.py``).
        charm_type: its ``CharmBase`` subclass.
        meta: its metadata (``charmcraft.yaml`` without ``config`` and ``actions``).
        config: its ``config`` section (``{"options": ...}``).
        actions: its ``actions`` section (action name to its description and ``params``).
    """

    directory: Path
    charm_type: Any
    meta: Dict[str, Any]
    config: Dict[str, Any]
    actions: Dict[str, Any]

    @property
    def peer(self) -> Optional[str]:
        """The charm's peer endpoint, if it has one."""
        peers: Dict[str, Any] = self.meta.get("peers") or {}
        return next(iter(peers), None)


def load_charm(directory: Path, module_name: str) -> Charm:
    """Load a charm's ``src/charm.py`` under ``module_name``, as Juju's dispatch would run it.

    The charm's ``src/`` is its import root (``charm.py`` imports its siblings as top-level
    modules): it is on ``sys.path`` only while the module runs, and the sibling modules it
    imported are dropped from ``sys.modules`` afterwards (the charm keeps its references), so
    two charms can both have a ``charm.py`` or a generic ``provision.py``.

    Raises:
        DemoError: no such charm, or it does not define exactly one ``CharmBase`` subclass.
    """
    import ops
    import yaml

    src = directory / "src"
    path = src / "charm.py"
    spec_file = directory / "charmcraft.yaml"
    if not path.is_file() or not spec_file.is_file():
        raise DemoError(f"{directory} is not a charm (no src/charm.py or charmcraft.yaml)")
    spec: Dict[str, Any] = yaml.safe_load(spec_file.read_text())
    before = set(sys.modules)
    sys.path.insert(0, str(src))
    try:
        loader = importlib.machinery.SourceFileLoader(module_name, str(path))
        module_spec = importlib.util.spec_from_loader(module_name, loader)
        if module_spec is None:  # pragma: no cover - a SourceFileLoader always yields a spec
            raise DemoError(f"cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        with warnings.catch_warnings():
            # the client example is the 1.x README charm: ops.lib.use on purpose
            warnings.filterwarnings("ignore", "ops.lib is deprecated", DeprecationWarning)
            loader.exec_module(module)
    finally:
        sys.path.remove(str(src))
        for name in set(sys.modules) - before - {module_name}:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if Path(file).parent == src:
                del sys.modules[name]
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ops.charm.CharmBase)
        and value.__module__ == module_name
    ]
    if len(classes) != 1:
        raise DemoError(f"{path} defines {len(classes)} charm classes, expected one")
    meta = {k: v for k, v in spec.items() if k not in ("config", "actions")}
    return Charm(
        directory,
        classes[0],
        meta,
        dict(spec.get("config") or {}),
        dict(spec.get("actions") or {}),
    )


EXAMPLES = ("pgsql-client", "pgsql-provider", "postgresql-client-charm")
# where pyproject.toml's data-files put the client example's charm code, under the install prefix
_INSTALLED_CLIENT = "share/ops-lib-pgsql/examples/pgsql-client/src/charm.py"


def has_examples(root: Path) -> bool:
    return all((root / name / "src" / "charm.py").is_file() for name in EXAMPLES)


def example_dirs() -> List[Path]:
    """Where the example charms are looked for without ``--examples``, in order.

    The copy a wheel installed (the data files listed in the ``RECORD`` of the distribution
    installed next to this ``pgsql`` package), then the source checkout holding this package
    (``examples/`` next to ``src/``: an editable install or a source tree on ``sys.path``).
    """
    from importlib import metadata

    import pgsql

    package = Path(pgsql.__file__).resolve().parent
    found: List[Path] = []
    for info in sorted(package.parent.glob("ops_lib_pgsql-*.dist-info")):
        for file in metadata.Distribution.at(info).files or ():
            if file.as_posix().endswith(_INSTALLED_CLIENT):
                found.append(Path(file.locate()).resolve().parents[2])
    if package.parent.name == "src":
        found.append(package.parent.parent / "examples")
    return found
