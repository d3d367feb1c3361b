"""Scenario charms and hook helpers for the ``postgresql_client`` client tests.

Shared by the ``test_client_*`` modules that drive :class:`pgsql.PostgreSQLClient` on a
``postgresql_client`` endpoint through realistic hook sequences (Scenario, ``ops.testing``) and
Harness, against :mod:`provider_double` (written from the interface facts). Three recording
charms: :class:`Declared` (a declarative request; events with master, standbys and database),
:class:`CaRecorder` (events with master, CA and relation id) and :class:`LearningSetter` (the 1.x
setters in ``database_relation_joined``; non-leaders defer until they know the database).

Importing this module skips the importing test module where ``ops.testing`` has no Scenario
``Context`` (ops < 2.17).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Callable, ClassVar, Dict, List, Optional, Set, Tuple, Type

import ops
import ops.charm
import ops.framework
from needs import requires_scenario
from provider_double import (
    CA,
    NEW_CA,
    NEW_PASSWORD,
    PASSWORD,
    TLS_SECRET,
    USER_SECRET,
    Provider,
    relate_harness,
)

import pgsql
from pgsql import protocol

testing: Any = requires_scenario()


JUJU_36 = "3.6.4"
JUJU_29 = "2.9.50"
JUJU_4 = "4.0.0"
META: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"database": {"interface": "postgresql_client", "limit": 1}},
}
META_SEED: Dict[str, Any] = {
    "name": "myapp",
    "requires": {"db": {"interface": "postgresql_client", "limit": 1}},
}
META_PEER: Dict[str, Any] = {**META, "peers": {"replicas": {"interface": "myapp-peers"}}}
META_BOTH: Dict[str, Any] = {
    "name": "myapp",
    "requires": {
        "db": {"interface": "pgsql", "limit": 1},
        "database": {"interface": "postgresql_client", "limit": 1},
    },
}
ALL_EVENTS = (*protocol.EVENT_NAMES, "database_relation_joined", "database_relation_broken")
SECRETS = (PASSWORD, NEW_PASSWORD)


class Declared(ops.charm.CharmBase):
    """Declarative request; records every event with what it carried; status from readiness."""

    ENDPOINTS: ClassVar[Any] = "database"
    KW: ClassVar[Dict[str, Any]] = {"database": "mydbname"}
    DEFER: ClassVar[Tuple[str, ...]] = ()  # event class names deferred the first time
    DEFERRED_ONCE: ClassVar[Set[str]] = set()  # of DEFER, those deferred once already
    KEEP_DEFERRING: ClassVar[bool] = False  # defer every time (a charm waiting for its workload)

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self._before_client(framework)
        self.db = pgsql.PostgreSQLClient(self, self.ENDPOINTS, **self.KW)
        # (kind, master, standbys, database); CaRecorder: (kind, master, CA, relation id)
        self.seen: List[Tuple[Any, ...]] = []
        self.reprs: List[str] = []
        for name in ALL_EVENTS:
            framework.observe(getattr(self.db.on, name), self._record)
        framework.observe(self.on.update_status, self._on_update_status)

    def _before_client(self, framework: ops.framework.Framework) -> None:
        """Observers a charm registers before it builds the client."""

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        kind = type(event).__name__
        self.seen.append((kind, event.master, event.standbys, event.database))
        self.reprs += [repr(event), repr(event.readiness), repr(event.master), repr(event.standbys)]
        if kind in self.DEFER and (self.KEEP_DEFERRING or kind not in self.DEFERRED_ONCE):
            self.DEFERRED_ONCE.add(kind)
            event.defer()

    def _on_update_status(self, event: ops.UpdateStatusEvent) -> None:
        r = self.db.readiness()
        if r is None:
            self.unit.status = ops.BlockedStatus("needs a database relation")
        elif not r.ready:
            self.unit.status = ops.WaitingStatus(f"database: {r.why}")
        else:
            self.unit.status = ops.ActiveStatus()


def kinds(charm: Any) -> List[str]:
    return [s[0] for s in charm.seen]


def relation(provider: Optional[Provider] = None, **kw: Any) -> Any:
    p = provider or Provider(answered=False)
    kw.setdefault("remote_app_name", p.name)
    kw.setdefault("endpoint", "database")
    return testing.Relation(
        interface="postgresql_client",
        remote_app_data=p.app_bag(),
        remote_units_data=p.unit_bags(1),
        **kw,
    )


def secrets_of(provider: Provider, latest: Optional[Provider] = None) -> List[Any]:
    new = latest.secret_contents() if latest is not None else {}
    return [
        testing.Secret(content, id=uri, latest_content=new.get(uri, content))
        for uri, content in provider.secret_contents().items()
    ]


def with_secret_content(state: Any, uri: str, content: Dict[str, str]) -> Any:
    """The state with the provider's secret ``uri`` holding ``content`` instead."""
    secrets = [s if s.id != uri else testing.Secret(content, id=uri) for s in state.secrets]
    return dataclasses.replace(state, secrets=secrets)


def provide(state: Any, rel_id: int, provider: Provider, granted: bool = True) -> Any:
    rel = state.get_relation(rel_id)
    new = dataclasses.replace(
        rel, remote_app_data=provider.app_bag(), remote_units_data=provider.unit_bags()
    )
    rels = {r for r in state.relations if r.id != rel_id} | {new}
    keep = [s for s in state.secrets if s.id not in (USER_SECRET, TLS_SECRET)]
    return dataclasses.replace(
        state, relations=rels, secrets=keep + (secrets_of(provider) if granted else [])
    )


def started(
    ctx: Any, leader: bool = True, extra: Tuple[Any, ...] = (), **kw: Any
) -> Tuple[Any, int]:
    rel = relation(**kw)
    state = testing.State(leader=leader, relations={rel, *extra})
    state = ctx.run(ctx.on.relation_created(rel), state)
    state = ctx.run(ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state)
    return state, rel.id


def run(
    ctx: Any,
    event: Any,
    state: Any,
    spy: Optional[List[str]] = None,
    writes: Optional[List[str]] = None,
    dispatch: Optional[str] = None,
) -> Tuple[Any, Any]:
    """Run one hook; returns (output state, charm).

    ``spy`` collects secret-get ids (``<id>|refresh=<bool>``), ``writes`` every relation-set
    (relation id, app or unit, keys); ``dispatch`` overrides JUJU_DISPATCH_PATH as another
    runner spells it.
    """
    with ctx(event, state) as mgr:
        backend = mgr.charm.model._backend  # pyright: ignore[reportPrivateUsage]
        if spy is not None:
            real_get = backend.secret_get

            def secret_get(*args: Any, **kw: Any) -> Any:
                spy.append(f"{kw.get('id')}|refresh={kw.get('refresh', False)}")
                return real_get(*args, **kw)

            backend.secret_get = secret_get
        if writes is not None:
            real_set = backend.relation_set

            def relation_set(relation_id: int, data: Any, is_app: bool, **kw: Any) -> Any:
                where = "app" if is_app else "unit"
                writes.append(f"{relation_id}:{where}:{','.join(sorted(data))}")
                return real_set(relation_id, data, is_app, **kw)

            backend.relation_set = relation_set
        if dispatch is not None:
            os.environ["JUJU_DISPATCH_PATH"] = dispatch
        out = mgr.run()
        return out, mgr.charm


def changed(ctx: Any, state: Any, rel_id: int, spy: Optional[List[str]] = None) -> Tuple[Any, Any]:
    return run(ctx, ctx.on.relation_changed(state.get_relation(rel_id), remote_unit=0), state, spy)


def everything(ctx: Any, state: Any, charm: Any = None) -> str:
    """Every output a password could leak into."""
    parts = [str(line) for line in ctx.juju_log]
    for rel in state.relations:
        parts += [json.dumps(dict(rel.local_app_data)), json.dumps(dict(rel.local_unit_data))]
    parts += [repr(s.content) for s in state.stored_states]
    parts += [repr(n) for n in state.deferred]
    parts.append(repr(state.unit_status))
    if charm is not None:
        parts += charm.reprs
    return "\n".join(parts)


def no_password(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def deferring(*kinds: str, **kw: Any) -> Type[Declared]:
    """A Declared charm that defers each of these events once (the first time it sees it).

    Each call makes a new class, with its own record of what it deferred.
    """
    attrs: Dict[str, Any] = {"DEFER": kinds, "DEFERRED_ONCE": set()}
    if kw:
        attrs["KW"] = kw
    return type("Deferring", (Declared,), attrs)


def reads(spy: List[str]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for call in spy:
        uri = call.split("|")[0]
        out[uri] = out.get(uri, 0) + 1
    return out


def at_most_once(spy: List[str]) -> bool:
    """Each secret read at most once (the TLS secret's content is kept between hooks)."""
    counts = reads(spy)
    return counts.get(USER_SECRET) == 1 and counts.get(TLS_SECRET, 0) <= 1


class BothEndpoints(Declared):
    ENDPOINTS: ClassVar[Any] = ("db", "database")


OLD_PASSWORD = "pgsql-14-Pa55"  # the pgsql relation's (its cache is documented to hold it: §8)


def pgsql_relation(**kw: Any) -> Any:
    master = f"host=10.9.9.9 dbname=mydbname user=old password={OLD_PASSWORD}"
    bag = {"database": "mydbname", "master": master, "allowed-units": "myapp/0", "version": "14"}
    return testing.Relation(
        "db",
        "pgsql",
        remote_app_name="postgresql14",
        remote_units_data={0: bag},
        local_unit_data={"egress-subnets": "192.0.2.10/32"},
        **kw,
    )


class JoinedSetter(Declared):
    """The 1.x way: the leader sets database, roles and extensions in database_relation_joined."""

    KW: ClassVar[Dict[str, Any]] = {}

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.db.on.database_relation_joined, self._on_joined)

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.unit.is_leader():
            event.database = "mydbname"
            event.roles = ["charmed_read"]
            event.extensions = ["citext"]
        elif event.database != "mydbname":
            event.defer()


HARNESS_META = """
name: myapp
requires:
  database:
    interface: postgresql_client
    limit: 1
"""


def provider_harness(
    charm: type, provider: Provider, *, leader: bool = True, grant: bool = True
) -> Tuple[Any, int, Dict[str, str]]:
    """A begun Harness of ``charm`` on ``database``, related to ``provider`` (secrets granted
    unless ``grant`` is False): the harness, the relation id, the Harness id of each secret."""
    harness: Any = testing.Harness(charm, meta=HARNESS_META)
    harness.set_leader(leader)
    harness.begin()
    rel_id, ids = relate_harness(harness, "database", provider, grant)
    return harness, rel_id, ids


TLS_PROVIDER = Provider(tls=True, ca=CA)
ROTATED_CA = Provider(tls=True, ca=NEW_CA)


class CaRecorder(Declared):
    """A :class:`Declared` recording each event with its master, CA and relation id.

    With ``OWN_SECRET_HANDLER``, the charm observes secret-changed itself, before it builds the
    client, and reads ``tls_ca()`` there. ``DEFER`` defers the first of these events only.
    """

    OWN_SECRET_HANDLER: ClassVar[bool] = False

    def _before_client(self, framework: ops.framework.Framework) -> None:
        self.own_secret_reads: List[Optional[str]] = []
        if self.OWN_SECRET_HANDLER:
            # registered before the client: runs first in secret-changed
            framework.observe(self.on.secret_changed, self._on_secret_changed)

    def _on_secret_changed(self, event: ops.SecretChangedEvent) -> None:
        self.own_secret_reads.append(self.db.tls_ca())

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        kind = type(event).__name__
        self.seen.append((kind, event.master, event.tls_ca, event.relation.id))
        self.reprs += [repr(event), repr(event.readiness), repr(event.master), repr(event.standbys)]
        if kind in self.DEFER and not getattr(type(self), "_deferred_once", False):
            type(self)._deferred_once = True  # type: ignore[attr-defined]
            event.defer()


def charm_class(**attrs: Any) -> type:
    return type("ReviewCharm", (CaRecorder,), dict(attrs))


def spy_run(ctx: Any, event: Any, state: Any) -> Tuple[Any, Any, List[str]]:
    spy: List[str] = []
    out, charm = run(ctx, event, state, spy)
    return out, charm, spy


def answered(ctx: Any, provider: Provider = TLS_PROVIDER) -> Tuple[Any, int, Any]:
    state, rel_id = started(ctx)
    state, charm = changed(ctx, provide(state, rel_id, provider), rel_id)
    return state, rel_id, charm


def rotate(state: Any, old: Provider, new: Provider) -> Any:
    return dataclasses.replace(state, secrets=secrets_of(old, latest=new))


ANSWER = Provider(request={"database": "mydbname", "extra-user-roles": "charmed_read"})
TLS_ANSWER = ANSWER.evolve(tls=True, ca=CA)


class LearningSetter(ops.charm.CharmBase):
    """The 1.x way: the leader sets the request in database_relation_joined; non-leaders wait
    (defer) until they know the database; every event is recorded with what it carried."""

    KW: ClassVar[Dict[str, Any]] = {}
    DEFER: ClassVar[Tuple[str, ...]] = ()

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", **self.KW)
        self.seen: List[Tuple[str, Optional[pgsql.ConnectionString], Any, Any, Any]] = []
        self.reprs: List[str] = []
        for name in ALL_EVENTS:
            framework.observe(getattr(self.db.on, name), self._record)
        framework.observe(self.db.on.database_relation_joined, self._on_joined)

    def _record(self, event: pgsql.PostgreSQLRelationEvent) -> None:
        kind = type(event).__name__
        self.seen.append((kind, event.master, event.database, list(event.roles), event.tls_ca))
        self.reprs += [repr(event), repr(event.readiness), repr(event.master)]
        if kind in self.DEFER and not getattr(type(self), "_deferred_once", False):
            type(self)._deferred_once = True  # type: ignore[attr-defined]
            event.defer()

    def _on_joined(self, event: pgsql.DatabaseRelationJoinedEvent) -> None:
        if self.KW:
            return
        if self.unit.is_leader():
            event.database = "mydbname"
            event.roles = ["charmed_read"]
        elif event.database != "mydbname":
            event.defer()


class DeclaredSetter(LearningSetter):
    KW: ClassVar[Dict[str, Any]] = {"database": "mydbname", "roles": "charmed_read"}


def setter_class(base: type = LearningSetter, **attrs: Any) -> type:
    return type("Review3Charm", (base,), dict(attrs))


def setter_run(
    ctx: Any,
    event: Any,
    state: Any,
    writes: Optional[List[str]] = None,
    spy: Optional[List[str]] = None,
    dispatch: Optional[str] = None,
) -> Tuple[Any, Any]:
    """:func:`run` with the arguments in this order; ``spy`` collects secret-get ids only."""
    calls: Optional[List[str]] = None if spy is None else []
    out = run(ctx, event, state, calls, writes, dispatch)
    if spy is not None and calls is not None:
        spy.extend(call.split("|")[0] for call in calls)
    return out


def setter_changed(ctx: Any, state: Any, rel_id: int, writes: Optional[List[str]] = None) -> Any:
    return setter_run(
        ctx, ctx.on.relation_changed(state.get_relation(rel_id), remote_unit=0), state, writes
    )


def setter_started(ctx: Any, leader: bool, writes: Optional[List[str]] = None, **kw: Any) -> Any:
    rel = relation(**kw)
    state = testing.State(leader=leader, relations={rel})
    state, _ = setter_run(ctx, ctx.on.relation_created(rel), state, writes)
    state, c = setter_run(
        ctx, ctx.on.relation_joined(state.get_relation(rel.id), remote_unit=0), state, writes
    )
    return state, rel.id, c


def with_data(state: Any, rel_id: int, provider: Provider, data: Optional[str]) -> Any:
    """The provider answered, its ``data`` replaced (None: removed)."""
    state = provide(state, rel_id, provider)
    rel = state.get_relation(rel_id)
    bag = dict(rel.remote_app_data)
    if data is None:
        bag.pop("data", None)
    else:
        bag["data"] = data
    rel = dataclasses.replace(rel, remote_app_data=bag)
    return dataclasses.replace(state, relations={rel})


def app_writes(writes: List[str]) -> List[str]:
    return [w for w in writes if ":app:" in w]


def answered_non_leader(ctx: Any, base: type = LearningSetter) -> Tuple[Any, int]:
    state, rel_id, _ = setter_started(ctx, leader=False)
    state, c = setter_changed(ctx, provide(state, rel_id, ANSWER), rel_id)
    assert "MasterAvailableEvent" in kinds(c)
    return state, rel_id


class Looking(CaRecorder):
    """Runs ``LOOK(charm)`` from collect-status, as a charm shows its status."""

    LOOK: ClassVar[Optional[Callable[[Looking], object]]] = None

    def _before_client(self, framework: ops.framework.Framework) -> None:
        super()._before_client(framework)
        framework.observe(self.on.collect_unit_status, self._look)

    def _look(self, event: ops.CollectStatusEvent) -> None:
        look = type(self).LOOK
        if look is not None:
            look(self)


def count_reads(
    ctx: Any, event: Any, state: Any, look: Optional[Callable[[Looking], object]] = None
) -> Tuple[Any, Any, Dict[str, int]]:
    """Run one hook counting the provider reads (relation-get of its app bag, secret-get).

    ``look(charm)`` runs in the hook's collect-status.
    """
    calls: Dict[str, int] = {"relation-get": 0, "secret-get": 0}
    Looking.LOOK = look
    try:
        with ctx(event, state) as mgr:
            backend = mgr.charm.model._backend  # pyright: ignore[reportPrivateUsage]
            real_rget, real_sget = backend.relation_get, backend.secret_get

            def relation_get(relation_id: int, member_name: str, *args: Any, **kw: Any) -> Any:
                if member_name == TLS_PROVIDER.name:
                    calls["relation-get"] += 1
                return real_rget(relation_id, member_name, *args, **kw)

            def secret_get(*args: Any, **kw: Any) -> Any:
                calls["secret-get"] += 1
                return real_sget(*args, **kw)

            backend.relation_get, backend.secret_get = relation_get, secret_get
            out = mgr.run()
            return out, mgr.charm, calls
    finally:
        Looking.LOOK = None
