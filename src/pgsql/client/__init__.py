"""The requires side of ``pgsql`` and ``postgresql_client``: :class:`PostgreSQLClient`.

A drop-in successor of ops-lib-pgsql 1.x's client: the same events, the same event attributes,
the same private names that charms' unit tests patch. Underneath, every readiness decision is
:func:`pgsql.protocol.evaluate` (``pgsql``) or :func:`pgsql.protocol.evaluate_client`
(``postgresql_client``, chosen by the endpoint's ``interface:`` in the charm's metadata), and the
hook-tool traffic is kept to what the protocol needs.

A new charm (an endpoint with ``interface: postgresql_client``, as Charmed PostgreSQL 14 and 16
and PgBouncer serve; any unit, any hook, nothing kept in the charm's own state)::

    class MyCharm(ops.CharmBase):
        def __init__(self, framework):
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "database", database="mydb")
            framework.observe(self.db.on.master_changed, self._on_master_changed)
            framework.observe(self.on.collect_unit_status, self._on_collect_status)  # ops >= 2.5

        def _on_master_changed(self, event: pgsql.MasterChangedEvent):
            ...  # event.master: a pgsql.ConnectionString, or None once it is gone

        def _on_collect_status(self, event: ops.CollectStatusEvent):
            readiness = self.db.readiness()
            if readiness is None:
                event.add_status(ops.BlockedStatus("needs a database relation"))
            elif not readiness.ready:
                event.add_status(ops.WaitingStatus(f"database: {readiness.why}"))

A charm that uses the standbys too observes ``database_changed`` instead of ``master_changed``:
it comes once when the master, the standbys or both changed, and carries both.

The same declarative request serves a ``pgsql`` endpoint (PostgreSQL 14 and older, PgBouncer's
``db``). A 1.x charm keeps its way (the leader requests from ``database_relation_joined``)::

    class MyCharm(ops.CharmBase):
        def __init__(self, framework):
            super().__init__(framework)
            self.db = pgsql.PostgreSQLClient(self, "db")
            framework.observe(self.db.on.database_relation_joined, self._on_joined)
            framework.observe(self.db.on.master_changed, self._on_master_changed)

        def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent):
            if self.unit.is_leader():
                event.database = "mydb"

Where a unit learns what the application requested, first match wins: the declarative request
(every unit computes the same one from config); the leader's own application databag; the peer
relation's application databag (key ``pgsql-<endpoint>``, written by the leader); 1.x leadership
settings (``interface.pgsql``, only where the ``leader-get`` tool exists: Juju 2.9 and 3.x); else
nothing, and the server's echo is trusted.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from typing import Dict, Mapping, Optional, cast

import yaml

from .. import protocol
from ..protocol import Request, RequestError
from ._client import ENDPOINT_CONFLICT as ENDPOINT_CONFLICT
from ._client import NotLeaderError, PostgreSQLClient
from ._events import (
    DatabaseAvailableEvent,
    DatabaseChangedEvent,
    DatabaseGoneEvent,
    DatabaseRelationBrokenEvent,
    DatabaseRelationJoinedEvent,
    MasterAvailableEvent,
    MasterChangedEvent,
    MasterGoneEvent,
    PostgreSQLClientEvents,
    PostgreSQLRelationEvent,
    StandbyAvailableEvent,
    StandbyChangedEvent,
    StandbyGoneEvent,
)
from ._records import RELATION_BROKEN as RELATION_BROKEN

__all__ = [
    "ENDPOINT_CONFLICT",
    "LEADER_KEY",
    "DatabaseAvailableEvent",
    "DatabaseChangedEvent",
    "DatabaseGoneEvent",
    "DatabaseRelationBrokenEvent",
    "DatabaseRelationJoinedEvent",
    "MasterAvailableEvent",
    "MasterChangedEvent",
    "MasterGoneEvent",
    "NotLeaderError",
    "PostgreSQLClient",
    "PostgreSQLClientEvents",
    "PostgreSQLRelationEvent",
    "RequestError",
    "StandbyAvailableEvent",
    "StandbyChangedEvent",
    "StandbyGoneEvent",
]

#: The 1.x leadership-settings key holding ``{relation_id: {database, roles, extensions}}``.
LEADER_KEY = "interface.pgsql"

# ---------------------------------------------------------------------------------------------
# 1.x private helpers, kept with their 1.x signatures: charms' unit tests patch them by name.
# They are looked up as module globals when used, so ``unittest.mock.patch`` takes effect.
# ---------------------------------------------------------------------------------------------


def _is_ready(
    log: logging.Logger,
    appdata: Mapping[str, str],
    locdata: Mapping[str, str],
    reldata: Mapping[str, str],
) -> bool:
    """1.x readiness of one server databag, decided by :func:`pgsql.protocol.evaluate`.

    Args:
        log: where 1.x logged its reasoning (at DEBUG).
        appdata: what the client application requested (``database``, ``roles``,
            ``extensions``).
        locdata: this unit's own databag (for Juju's ``egress-subnets``).
        reldata: the server databag to judge.

    Returns:
        True when that bag grants access and echoes the request. When this function is patched,
        the client asks the patched one about every server bag instead of the protocol's rules.
    """
    bag = dict(reldata)
    if not (bag.get("master", "").strip() or bag.get("standbys", "").strip()):
        bag["master"] = "host=placeholder"  # judge access and echo even with nothing published
    verdict = protocol.evaluate(
        Request.from_databag(appdata),
        "",
        {"egress-subnets": locdata.get("egress-subnets", "")},
        "",
        {},
        {"server/0": bag},
    )
    reasons = verdict.bags[0].reasons if verdict.bags else ()
    if reasons:
        log.debug("not ready: %s", ", ".join(r.code for r in reasons))
    return not reasons


def _get_pgsql_leader_data() -> Dict[int, Dict[str, str]]:
    """The 1.x shared request copy: ``{relation_id: {"database": ..., ...}}`` from leadership.

    Empty where leadership settings do not exist (Juju 4) or hold nothing usable.
    """
    raw = cast(object, _leader_get(LEADER_KEY))  # tests patch it to return dicts or mocks
    if not raw or not isinstance(raw, str):
        return {}
    try:
        loaded: object = yaml.safe_load(raw)
    except yaml.YAMLError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    out: Dict[int, Dict[str, str]] = {}
    for key, value in cast("Dict[object, object]", loaded).items():
        try:
            relid = int(str(key))
        except ValueError:
            continue
        if isinstance(value, dict):
            entries = cast("Dict[object, object]", value).items()
            out[relid] = {str(k): str(v) if v is not None else "" for k, v in entries}
    return out


def _set_pgsql_leader_data(d: Mapping[int, Mapping[str, str]]) -> None:
    """Store the shared request copy in 1.x leadership settings (see :data:`LEADER_KEY`)."""
    _leader_set({LEADER_KEY: yaml.dump({k: dict(v) for k, v in d.items()})})


def _leader_get(attribute: str) -> Optional[str]:
    """``leader-get`` one attribute; None without running anything where the tool is absent.

    Juju 4 has no leadership settings, and neither do Scenario and Harness.
    """
    if shutil.which("leader-get") is None:
        return None
    out = subprocess.check_output(["leader-get", "--format=yaml", attribute])
    value: object = yaml.safe_load(out.decode("UTF-8"))
    return value if isinstance(value, str) else None


def _leader_set(settings: Mapping[str, Optional[str]]) -> None:
    """``leader-set`` the given attributes; nothing where the tool is absent (Juju 4)."""
    if shutil.which("leader-set") is None:
        return
    subprocess.check_call(["leader-set"] + [f"{k}={v or ''}" for k, v in settings.items()])


_ORIGINALS: Dict[str, object] = {
    "_is_ready": _is_ready,
    "_get_pgsql_leader_data": _get_pgsql_leader_data,
    "_set_pgsql_leader_data": _set_pgsql_leader_data,
    "_leader_get": _leader_get,
    "_leader_set": _leader_set,
}


def _patched(*names: str) -> bool:
    """Whether a test replaced one of these module globals (``unittest.mock.patch``)."""
    g = globals()
    return any(g[name] is not _ORIGINALS[name] for name in names)


def _legacy_sharing() -> bool:  # pyright: ignore[reportUnusedFunction] - via _compat.legacy
    """Tests that patch the leadership helpers expect 1.x's data flow through them."""
    return _patched(
        "_get_pgsql_leader_data", "_set_pgsql_leader_data", "_leader_get", "_leader_set"
    )
