"""Sphinx configuration: the API reference and the guides in docs/ (``python3 tasks.py docs``).

Builds offline: intersphinx reads local inventories only. Python's comes from Debian's
``python3-doc`` package; ops ships none, so :mod:`_inventories` builds one from the installed ops
with Sphinx itself, with the real ops documentation as its base URL.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective

import pgsql

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _inventories  # noqa: E402 - docs/ is not a package: it is on sys.path only from here

project = "ops-lib-pgsql"
author = "PostgreSQL Charmers"
copyright = "Canonical Ltd."
release = pgsql.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "tests", "README.md"]
html_theme = "furo"
html_title = f"ops-lib-pgsql {release}"

# a cross-reference that leads nowhere is an error (the build runs with -W -n)
nitpicky = True
nitpick_ignore_regex = [
    # private helpers that signatures and docstrings name: not documented, on purpose
    (r"py:(class|obj|func|meth|data)", r"((pgsql|ops|scenario)(\..*)?\.)?_[A-Za-z].*"),
]

myst_heading_anchors = 4
myst_enable_extensions = ["deflist"]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
autoclass_content = "class"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# Local inventories only: a missing one stops the build with the fix, nothing is downloaded.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", str(_inventories.python_inventory())),
    "ops": ("https://ops.readthedocs.io/en/latest/", str(_inventories.ops_inventory(HERE))),
}

# Names that pgsql exports at its top level are documented once, on the pgsql page.
TOP_LEVEL = {name: getattr(pgsql, name) for name in pgsql.__all__}
_documenting: list[str] = []


def _note_module(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Remember which module is being documented; say where its re-exported names are."""
    type_doc = inspect.getdoc(obj.__class__) if what == "data" and obj is not None else None
    if type_doc and "\n".join(lines).strip() == type_doc.strip():
        lines.clear()  # a constant without a doc comment: not the docstring of its type
    if what != "module":
        return
    _documenting[:] = [name]
    if name == "pgsql":
        return
    module = importlib.import_module(name)
    shared = [n for n in getattr(module, "__all__", []) if TOP_LEVEL.get(n) is not None]
    shared = [n for n in shared if getattr(module, n) is TOP_LEVEL[n]]
    if shared:
        refs = ", ".join(f":py:obj:`pgsql.{n}`" for n in shared)
        lines.extend(["", f"Also exported here, documented at the top level: {refs}."])


def _factory_defaults(
    app: Any, what: str, name: str, obj: Any, options: Any, signature: str | None, ret: str | None
) -> tuple[str | None, str | None] | None:
    """Show a dataclass field's ``default_factory`` as ``...``: ``<factory>`` is no Python."""
    if signature and "<factory>" in signature:
        return signature.replace("<factory>", "..."), ret
    return None


def _skip_top_level(app: Any, what: str, name: str, obj: Any, skip: bool, options: Any) -> Any:
    """Skip a submodule's member that the ``pgsql`` page documents already."""
    in_submodule = what == "module" and _documenting and _documenting[0] != "pgsql"
    if in_submodule and name in TOP_LEVEL and TOP_LEVEL[name] is obj:
        return True
    return None


def _import(path: str) -> Any:
    """The object a dotted path names, or None."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for part in parts[i:]:
                obj = getattr(obj, part)
        except AttributeError:
            return None
        return obj
    return None


# where ops documents its names (a class defined in ops.model is documented as ops.Relation)
_OPS_HOMES = ("ops", "ops.testing", "ops.pebble")


def _alias(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a reference to an object by the name it is documented under.

    Signatures name a class by where it is defined (``pgsql.client._client.PostgreSQLClient``,
    ``ops.model.Relation``); the docs document it where it is exported (``pgsql.PostgreSQLClient``,
    ``ops.Relation``). The node's target is rewritten, so intersphinx resolves ops names next.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if target.split(".")[0] not in {"pgsql", "ops", "scenario"}:
        return _unqualified(app, env, node, contnode)
    domain = env.get_domain("py")
    found = domain.resolve_xref(
        env, node["refdoc"], app.builder, node["reftype"], target, node, contnode
    )
    if found is not None:  # a name _unqualified completed
        return found
    parent, _, attr = target.rpartition(".")
    owner = _import(parent)
    if isinstance(owner, type) and attr not in vars(owner):  # inherited: where it is defined
        base = next((b for b in owner.__mro__ if attr in vars(b)), None)
        base_name = _documented_name(env, base) if base is not None else None
        if base_name is not None:
            return domain.resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], f"{base_name}.{attr}", node,
                contnode,
            )  # fmt: skip
    obj = _import(target)
    short = getattr(obj, "__name__", None)
    if obj is None or short is None:
        return None
    for home in [*_documented_modules(env), *_OPS_HOMES]:
        exported = getattr(importlib.import_module(home), "__all__", ())
        if short in exported and _import(f"{home}.{short}") is obj:
            node["reftarget"] = f"{home}.{short}"
            if home.startswith("pgsql"):
                return domain.resolve_xref(
                    env, node["refdoc"], app.builder, node["reftype"], node["reftarget"], node,
                    contnode,
                )  # fmt: skip
            return None  # intersphinx, next in line, resolves the rewritten target
    return None


def _unqualified(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """A name without its package: pgsql's top-level one, else ops' (ops.testing's from testing).

    Names that modules import for type checkers only (``State``, ``Harness``) stay strings in
    signatures, and docstrings name a module's neighbours by their short names.
    """
    target = node["reftarget"]
    module = node.get("py:module") or ""
    homes = [
        *_documented_modules(env),
        *(["ops.testing"] if module.startswith("pgsql.testing") else []),
        "ops",
    ]
    for home in homes:
        exported = getattr(importlib.import_module(home), "__all__", ())
        if target.split(".")[0] in exported:
            node["reftarget"] = f"{home}.{target}"
            return _alias(app, env, node, contnode) if home.startswith("pgsql") else None
    return None


def _documented_name(env: Any, obj: Any) -> str | None:
    """The name a pgsql class is documented under."""
    for home in _documented_modules(env):
        exported = getattr(importlib.import_module(home), "__all__", ())
        if obj.__name__ in exported and getattr(importlib.import_module(home), obj.__name__) is obj:
            return f"{home}.{obj.__name__}"
    return None


def _documented_modules(env: Any) -> list[str]:
    return ["pgsql", *sorted(m for m in env.get_domain("py").modules if m != "pgsql")]


REPOSITORY = "https://github.com/canonical/ops-lib-pgsql/blob/main/"
# a Markdown link to a relative path: [text](path), not to a page of these docs or an anchor
_RELATIVE_LINK = re.compile(r"\]\((?!docs/|#|[a-z][a-z0-9+.-]*:)([^)\s]+)\)")
# files included from the repository root that are pages here too
_PAGES = {"CHANGELOG.md": "changelog.md"}


def _repository_links(
    app: Any, relative_path: Path, parent_docname: str, content: list[str]
) -> None:
    """Point README's links to files outside docs/ at the repository (docs/ ones stay pages)."""
    if relative_path.parent != Path(".."):
        return

    def link(match: re.Match[str]) -> str:
        path = match.group(1)
        return f"]({_PAGES.get(path, REPOSITORY + path)})"

    content[0] = _RELATIVE_LINK.sub(link, content[0])


class ExportedConstants(SphinxDirective):
    """``.. exported-constants:: module``: autodata for each constant in the module's ``__all__``.

    autodoc's ``:members:`` documents only the variables assigned in the module it reads, and
    the public modules re-export theirs from private ones.
    """

    required_arguments = 1

    def run(self) -> list[Any]:
        """Expand to one ``autodata`` per constant."""
        name = self.arguments[0]
        module = importlib.import_module(name)
        # variables with a doc comment (#:) in the module itself: :members: has them
        commented = {attr for _, attr in ModuleAnalyzer.for_module(name).find_attr_docs()}
        lines = [
            f".. autodata:: {name}.{member}"
            for member in module.__all__
            if not _is_api_object(getattr(module, member))
            and member not in commented
            and (name == "pgsql" or TOP_LEVEL.get(member) is not getattr(module, member))
        ]
        return self.parse_text_to_nodes("\n".join(lines))


def _is_api_object(obj: Any) -> bool:
    """What ``:members:`` documents by itself: modules, classes and callables."""
    return inspect.ismodule(obj) or isinstance(obj, type) or callable(obj)


def setup(app: Any) -> dict[str, Any]:
    """Hook the helpers above into Sphinx."""
    app.add_directive("exported-constants", ExportedConstants)
    app.connect("autodoc-process-docstring", _note_module)
    app.connect("autodoc-skip-member", _skip_top_level)
    app.connect("autodoc-process-signature", _factory_defaults)
    app.connect("missing-reference", _alias, priority=400)
    app.connect("include-read", _repository_links)
    return {"parallel_read_safe": False}
