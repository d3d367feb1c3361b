"""A requirer pays, in every hook, only for what its client needs at start-up.

Each Juju hook is a fresh process: whatever ``import pgsql; pgsql.PostgreSQLClient`` loads is paid
again in every hook of every charm using the client. The provider side, the test helpers, the
doctor and the demo never load in a requirer; the verdict classes and each interface's rules
load with the first relation of that interface evaluated; regular expressions compile when
first used. Every public name stays where it was (``__all__``, ``dir()``, ``mock.patch``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import List
from unittest import mock

import pytest
from needs import needs_scenario

import pgsql
from pgsql import _lazyre, connstr, protocol

#: never loaded by a requirer (in any hook)
NOT_FOR_A_REQUIRER = (
    "pgsql.server",
    "pgsql.server_postgresql_client",
    "pgsql.protocol._postgresql_client_provider",
    "pgsql.protocol._provider_pg16",
    "pgsql.testing",
    "pgsql.doctor",
    "pgsql.demo",
    "pgsql.cli",
)
#: loaded with the first relation evaluated, not at import
ON_FIRST_EVALUATION = (
    "pgsql.protocol._readiness",
    "pgsql.protocol._transitions",
    "pgsql.protocol._pgsql",
    "pgsql.protocol._postgresql_client",
    "pgsql.protocol._client_rules",
)


def _loaded_after(code: str) -> List[str]:
    probe = f"import sys\n{code}\nimport json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def _library_modules(loaded: List[str], names: tuple[str, ...]) -> List[str]:
    return [m for m in loaded if any(m == n or m.startswith(n + ".") for n in names)]


@pytest.mark.parametrize(
    "code",
    [
        "import ops, pgsql; pgsql.PostgreSQLClient; pgsql.MasterChangedEvent",
        "import ops, ops.lib; "
        "ops.lib.use('pgsql', 1, 'postgresql-charmers@lists.launchpad.net').PostgreSQLClient",
        "from pgsql.opslib.pgsql import client; client.PostgreSQLClient",
        "from pgsql.client import PostgreSQLClient",
    ],
    ids=["import-pgsql", "ops-lib-use", "opslib-client", "from-pgsql-client"],
)
def test_requirer_import_loads_no_provider_side_nor_helpers_nor_interface_rules(code: str) -> None:
    loaded = _loaded_after(code)
    assert "pgsql.client._client" in loaded
    assert _library_modules(loaded, NOT_FOR_A_REQUIRER) == []
    assert _library_modules(loaded, ON_FIRST_EVALUATION) == []


_README_CHARM = Path(__file__).resolve().parents[1] / "examples" / "postgresql-client-charm"
#: a subprocess's ``ctx``: the README charm in ops.testing, on a postgresql_client endpoint
_README_CHARM_CONTEXT = (
    f"sys.path.insert(0, {str(_README_CHARM / 'src')!r})\n"
    "import charm, ops\n"
    "from ops import testing\n"
    "meta = {'name': 'myapp', 'requires': {'database': {'interface': 'postgresql_client'}}}\n"
    "ctx = testing.Context(charm.MyCharm, meta=meta)\n"
)


@needs_scenario
def test_the_readme_charm_without_a_relation_builds_no_verdict_in_its_hooks() -> None:
    # the recommended style: a declared request, collect-status asking readiness() every hook
    loaded = _loaded_after(
        _README_CHARM_CONTEXT
        + "for event in (ctx.on.install(), ctx.on.start(), ctx.on.config_changed()):\n"
        "    out = ctx.run(event, testing.State(leader=True))\n"
        "assert out.unit_status == ops.BlockedStatus('needs a database relation')"
    )
    assert "pgsql.client._client" in loaded
    assert _library_modules(loaded, NOT_FOR_A_REQUIRER) == []
    assert "pgsql.protocol._client_rules" in loaded  # the declared request is checked
    assert _library_modules(loaded, ON_FIRST_EVALUATION[:-1]) == []


@needs_scenario
def test_a_postgresql_client_charm_never_loads_the_pgsql_wire_nor_its_rules() -> None:
    # the README charm related to a provider that answered nothing yet: its endpoint's wire and
    # rules load, never those of the interface it does not speak, nor the user-name helper
    loaded = _loaded_after(
        _README_CHARM_CONTEXT + "rel = testing.Relation('database', remote_app_name='postgresql')\n"
        "out = ctx.run(ctx.on.relation_changed(rel), testing.State(leader=True, relations={rel}))\n"
        "assert out.unit_status.name == 'waiting', out.unit_status"
    )
    assert "pgsql.client._postgresql_client" in loaded
    assert "pgsql.protocol._postgresql_client" in loaded
    assert "pgsql.client._pgsql" not in loaded
    assert "pgsql.protocol._pgsql" not in loaded
    assert "pgsql.client._entity" not in loaded
    assert _library_modules(loaded, NOT_FOR_A_REQUIRER) == []


def test_evaluating_a_pgsql_relation_never_loads_the_postgresql_client_rules() -> None:
    loaded = _loaded_after(
        "from pgsql import protocol\n"
        "r = protocol.evaluate(protocol.Request.build(database='db'), 'app/0', {}, "
        "'postgresql', {}, {})\n"
        "assert not r.ready"
    )
    assert "pgsql.protocol._pgsql" in loaded
    assert "pgsql.protocol._postgresql_client" not in loaded
    assert _library_modules(loaded, NOT_FOR_A_REQUIRER) == []


def test_evaluating_a_postgresql_client_relation_never_loads_the_pgsql_rules() -> None:
    loaded = _loaded_after(
        "from pgsql import protocol\n"
        "r = protocol.evaluate_client(protocol.Request.build(database='db'), {}, {}, {})\n"
        "assert not r.ready"
    )
    assert "pgsql.protocol._postgresql_client" in loaded
    assert "pgsql.protocol._pgsql" not in loaded
    assert _library_modules(loaded, NOT_FOR_A_REQUIRER) == []


def test_requirer_import_compiles_none_of_the_library_regular_expressions() -> None:
    probe = (
        "import ops, pgsql; pgsql.PostgreSQLClient\n"
        "from pgsql import _lazyre\n"
        "lazy = [v for m in list(sys.modules.values()) "
        "if (getattr(m, '__name__', '') or '').startswith('pgsql') "
        "for v in vars(m).values() if isinstance(v, _lazyre._LazyPattern)]\n"
        "assert len(lazy) > 10, len(lazy)\n"
        "print(sum(1 for v in lazy if set(vars(v)) != {'_lazy_args'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{probe}"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "0"


def test_every_exported_name_still_resolves_and_is_listed() -> None:
    for module in (pgsql, protocol):
        listed = set(dir(module))
        missing = [n for n in module.__all__ if n not in listed]
        assert missing == []
        for name in module.__all__:
            getattr(module, name)
    with pytest.raises(AttributeError, match="no_such_name"):
        protocol.no_such_name  # noqa: B018  # pyright: ignore[reportAttributeAccessIssue]


def test_patching_a_protocol_name_before_its_first_use_changes_what_the_client_calls() -> None:
    code = (
        "from unittest import mock\n"
        "import pgsql.protocol\n"
        "with mock.patch('pgsql.protocol.evaluate_client', return_value='patched'):\n"
        "    assert pgsql.protocol.evaluate_client() == 'patched'\n"
        "m = pgsql.protocol.evaluate_client.__module__\n"
        "assert m == 'pgsql.protocol._postgresql_client_readiness', m\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with mock.patch.object(protocol, "secret_id", return_value="x"):
        assert protocol.secret_id("secret://m/abc") == "x"
    assert protocol.secret_id("secret://m/abc") == "abc"


@pytest.mark.parametrize(
    ("pattern", "flags", "text"),
    [(r"a(b+)", 0, "xabbbc"), (r"X", re.IGNORECASE, "axb"), (r"\s*", 0, "  z")],
)
def test_a_lazy_pattern_matches_as_the_compiled_pattern(
    pattern: str, flags: int, text: str
) -> None:
    lazy, real = _lazyre.lazy_compile(pattern, flags), re.compile(pattern, flags)
    got, want = lazy.search(text), real.search(text)
    assert (got and got.group(0)) == (want and want.group(0))
    assert lazy.sub("-", text) == real.sub("-", text)
    assert (lazy.pattern, lazy.flags) == (real.pattern, real.flags)
    assert "match" not in vars(lazy)
    got, want = lazy.match(text), real.match(text)
    assert (got and got.span()) == (want and want.span())
    assert "match" in vars(lazy)  # kept: later uses skip the lookup


def test_connection_strings_parse_and_mask_with_lazy_patterns() -> None:
    cs = connstr.ConnectionString("host=10.0.0.1 dbname='my db' user=u password=p")
    assert (cs.dbname, cs.uri) == ("my db", "postgresql://u:p@10.0.0.1/my%20db")
    assert "hunter2" not in connstr.mask_value("dbname=x|password=hunter2")
    assert "hunter2" not in repr(connstr.ConnectionString("password=hunter2"))


def test_dir_of_the_protocol_lists_its_names_not_the_typing_it_imports() -> None:
    public = [n for n in dir(protocol) if not n.startswith("_")]
    assert sorted(public) == sorted(protocol.__all__)
