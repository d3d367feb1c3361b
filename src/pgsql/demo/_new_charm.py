"""``pgsql demo``'s default run: the new-charm example (``postgresql_client``) on a real server.

The client is ``examples/postgresql-client-charm``, the charm the README starts with: two units
of ``myapp`` requiring ``database`` over ``postgresql_client``, related on
``postgresql:database`` (the provider example). The charm asks for ``mydb`` declaratively, writes
``DATABASE_URL=<URI>`` to its ``ENV_FILE`` on ``master_changed`` and sets its status from
``readiness()`` with collect-status. The demo shows every hook, the bags and the secret (masked),
then checks, on each unit, what the charm wrote:

1. after the relation settles, every unit wrote the same URI, and it connects to ``mydb`` as the
   relation's user;
2. after the provider's ``rotate-password`` action, every unit got secret-changed with
   ``master_changed`` and rewrote the file: the new password connects, the old one is refused;
3. after ``juju remove-relation``, every unit removed the file and is blocked.
4. a prefix request (:mod:`pgsql.demo._prefix`): ``shop`` asks for ``database="shop_*"`` and is
   given every matching database the demo created on the server, the master on the first.

The simulated units share the demo's machine, so the charm's ``ENV_FILE`` points into a
temporary directory and what a unit wrote is read right after its hook, before the next unit
runs. The JSON document holds it under ``postgresql_client``, as the 1.x runs do.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

from ..connstr import ConnectionString, ConnectionStringError, mask_value
from ._charms import Charm
from ._common import CLIENT_UNITS, MASK, MODERN_ENDPOINT, ROTATE, SERVER_APP, SIMULATED, DemoError

# under the names the walk-throughs were written with
from ._lifecycle import Lifecycle as _Lifecycle
from ._lifecycle import juju as _juju
from ._lifecycle import server_message as _server_message

APP = "myapp"
DATABASE = "mydb"  # what the example charm requests
EXAMPLE = "postgresql-client-charm"
BLOCKED = "blocked: needs a database relation"
_QUERY = "SELECT current_database(), current_user"


def load(root: Path) -> Charm:
    """The new-charm example under ``root`` (the examples directory)."""
    from ._charms import load_charm

    return load_charm(root / EXAMPLE, "pgsql_demo_new_client_charm")


class NewCharmRun:
    """Deploy, relate, rotate, remove: the new charm's lifecycle, with its checks."""

    def __init__(self, lifecycle: _Lifecycle, charm: Charm) -> None:
        self.life = lifecycle
        self.line = lifecycle.line
        self.printer = lifecycle.printer
        self.module: Any = sys.modules[charm.charm_type.__module__]
        self.written: Dict[str, Optional[str]] = {}  # by unit: its file after its last write
        steps = lifecycle.steps

        def on_hook(run: Any) -> None:
            steps(run)
            if run.unit.startswith(f"{APP}/") and "master_changed" in run.events:
                self._wrote(run.unit)

        lifecycle.model.on_hook = on_hook

    def _wrote(self, unit: str) -> None:
        """What ``unit``'s master_changed left in the file, shown with the hook's step."""
        path: Path = self.module.ENV_FILE
        content = path.read_text() if path.exists() else None
        self.written[unit] = content
        shown = "(removed)" if content is None else _masked(content)
        self.printer.steps[-1]["env_file"] = shown
        self.line(f"         {path.name}: {shown}")

    def run(self, doc: Dict[str, Any]) -> None:
        part: Dict[str, Any] = {"app": APP, "endpoint": MODERN_ENDPOINT, "charm": EXAMPLE}
        doc["postgresql_client"] = part
        with tempfile.TemporaryDirectory(prefix="pgsql-demo-myapp-") as home:
            self.module.ENV_FILE = Path(home) / "database.env"
            part["env_file"] = str(self.module.ENV_FILE)
            self._run(part)
            part["env_file_removed"] = not self.module.ENV_FILE.exists()

    def _run(self, part: Dict[str, Any]) -> None:
        from .. import testing as pgt

        life = self.life
        life.steps.interface = "postgresql_client"
        client = life.deploy(APP, life.client_charm.meta, pgt.Client.address)
        self.expect_status(client, BLOCKED)

        life.steps.phase = "relate"
        self.line(f"\n== juju integrate {APP}:{MODERN_ENDPOINT} {SERVER_APP}:{MODERN_ENDPOINT}")
        self.line(
            "   every hook below runs on one unit; 'wrote' is what that hook changed in a databag"
        )
        endpoints = (f"{APP}:{MODERN_ENDPOINT}", f"{SERVER_APP}:{MODERN_ENDPOINT}")
        rel = _juju(lambda: life.model.relate(*endpoints))
        rel_id: int = rel.id
        user = f"relation_id_{rel_id}"
        part["relation_id"] = rel_id
        part["databags"] = life.databags(rel_id, MODERN_ENDPOINT)
        part["secrets"] = life.secrets(rel_id)
        part["readiness"] = life.readiness(client)
        part["status"] = life.status(life.model.units())
        self.expect_status(client, "active")
        first = self.written_master(client)
        part["result"] = self.query(first, user)
        part["rotation"] = self.rotate(client, rel_id, first, user)

        life.steps.phase = "remove"
        self.line(f"\n== juju remove-relation {endpoints[0]} {endpoints[1]}")
        _juju(lambda: life.model.remove_relation(rel))
        left = {u.name: self.written.get(u.name) for u in client.units.values()}
        if any(content is not None for content in left.values()):
            raise DemoError("a unit kept its database settings after the relation was removed")
        part["removed"] = {"status": self.expect_status(client, BLOCKED)}
        from . import _prefix

        part["prefix"] = _prefix.run(life)

    def expect_status(self, client: Any, expected: str) -> Dict[str, str]:
        """Every client unit's status starts with ``expected``; the statuses, shown."""
        found = self.life.status(list(client.units.values()))
        self.line(f"  status: {', '.join(f'{n}: {s}' for n, s in found.items())}")
        wrong = {n: s for n, s in found.items() if not s.startswith(expected)}
        if wrong:
            raise DemoError(f"expected {expected!r}, found {wrong}")
        return found

    def written_master(self, client: Any) -> ConnectionString:
        """The URI every unit of ``client`` wrote (all the same) from master_changed."""
        values: Set[Optional[str]] = {self.written.get(u.name) for u in client.units.values()}
        if len(values) != 1 or None in values:
            shown = {n: c is not None for n, c in self.written.items()}
            raise DemoError(f"the units did not all write the database settings: {shown}")
        (content,) = values
        key, _, uri = (content or "").rstrip("\n").partition("=")
        try:
            master = ConnectionString(uri)
        except ConnectionStringError as exc:
            raise DemoError(f"the charm wrote no connection URI: {exc}") from None
        if key != "DATABASE_URL" or not master.password:
            raise DemoError("the charm wrote no DATABASE_URL with a password")
        self.printer.secrets.add(master.password)
        return master

    def connect(self, master: ConnectionString) -> Tuple[str, str]:
        psycopg = self.life.psycopg
        try:
            with psycopg.connect(master.conn_str, connect_timeout=10) as conn:
                row = conn.execute(_QUERY).fetchone()
        except psycopg.Error as exc:
            why = _server_message(str(exc))
            raise DemoError(f"{APP}'s DATABASE_URL does not work: {why}") from exc
        return str(row[0]), str(row[1])

    def query(self, master: ConnectionString, user: str) -> Dict[str, Any]:
        """Connect as the application would, with the URI its charm wrote."""
        self.line(f"\n== connect with the DATABASE_URL every {APP} unit wrote")
        self.line(f"  {_masked(master.uri)}")
        database, current = self.connect(master)
        self.line(f"  > {_QUERY}")
        self.line(f"    {database} | {current}")
        if (database, current) != (DATABASE, user):
            raise DemoError(f"connected to {database} as {current}, not to {DATABASE} as {user}")
        return {"uri": _masked(master.uri), "database": database, "user": current}

    def rotate(self, client: Any, rel_id: int, old: ConnectionString, user: str) -> Dict[str, Any]:
        """rotate-password on the provider: each unit rewrites its file; only the new works."""
        life = self.life
        life.steps.phase = "rotate"
        params = {"relation-id": rel_id}
        self.line(f"\n== juju run {SERVER_APP}/0 {ROTATE} relation-id={rel_id}")
        self.line("   (a new revision of the relation's secret: secret-changed on the client)")
        first = len(self.printer.steps)
        run = _juju(lambda: life.model.run_action(f"{SERVER_APP}/0", ROTATE, params))
        if run.action is None or not run.action.ok:
            raise DemoError(f"{ROTATE} failed: {run.action.failure if run.action else '?'}")
        life.steps.learn_secrets()
        told: List[str] = sorted(
            s["unit"]
            for s in self.printer.steps[first:]
            if s["hook"] == "secret-changed" and "env_file" in s
        )
        expected = sorted(u.name for u in client.units.values())
        if told != expected:
            raise DemoError(f"the units that rewrote their file: {told}, not {expected}")
        new = self.written_master(client)
        if new.password == old.password or new != old.replace(password=new.password):
            raise DemoError("the units did not write the rotated password")
        self.line("\n== connect with the rewritten DATABASE_URL, and with the old one")
        _, current = self.connect(new)
        self.line(f"  new password: connected as {current}")
        try:
            life.psycopg.connect(old.conn_str, connect_timeout=10).close()
        except life.psycopg.OperationalError as exc:
            refused = _server_message(str(exc))
        else:
            raise DemoError("the old password still works after the rotation")
        if "password authentication failed" not in refused or current != user:
            raise DemoError(f"the rotation did not go as expected: {refused}")
        self.line(f"  old password: refused: {refused}")
        return {
            "rewritten_by": told,
            "new_password": {"connected": True, "user": current},
            "old_password": {"refused": True, "error": refused},
        }


def _masked(content: str) -> str:
    """``KEY=URI`` lines (what the charm writes), or a URI, with the passwords masked."""
    lines: List[str] = []
    for text in content.rstrip("\n").splitlines():
        key, equals, value = text.partition("=")
        if equals and "://" in value and "://" not in key:
            lines.append(f"{key}={mask_value(value, MASK)}")
        else:
            lines.append(mask_value(text, MASK))
    return "\n".join(lines)


def intro(charm: Charm) -> List[str]:
    """What the demo says it runs, before it starts."""
    return [
        "pgsql demo: a new charm on PostgreSQL 16's interface, postgresql_client, against a "
        "real PostgreSQL.",
        SIMULATED,
        f"  client: {APP} ({charm.directory}), {CLIENT_UNITS} units: "
        f'PostgreSQLClient(self, "database", database="{DATABASE}"), the README\'s charm',
    ]
