"""Helpers for your charm's own unit tests: a PostgreSQL server on the other end of ``db``.

No patching of library internals: describe the server (:class:`Server`) and your application
(:class:`Client`), and let the helpers build the relation the way Juju would show it to one of
your units, with the databags a real server writes (rendered by
:func:`pgsql.protocol.server_databag`, the same code :class:`pgsql.PostgreSQLServer` uses).

Server states (:data:`STATES`):

- ``joined`` (:data:`JOINED`): server units are there, nothing published yet.
- ``not-granted`` (:data:`NOT_GRANTED`): connection details published, but access not yet granted
  to your units (no ``allowed-subnets`` / ``allowed-units`` for them).
- ``ready`` (:data:`READY`): master, standbys, version, the echo of your request, and access.
- ``failover`` (:data:`FAILOVER`): the master is moving: standbys published, no ``master``.
- ``gone`` (:data:`GONE`): the server withdrew everything (same bags as ``joined``).

Flavours: :data:`UNIT_BAGS` (every server unit writes its own bag, like the reactive and
Canonical machine charms) and :data:`APP_BAGS` (the server leader writes the application bag
and its own unit bag, like the Kubernetes charms).

With ops.testing (Scenario; ops >= 2.17 with ``ops[testing]``)::

    from ops import testing
    from pgsql import Request
    from pgsql import testing as pgt

    def test_follows_the_primary():
        ctx = testing.Context(MyCharm)  # app name "mycharm"
        client = pgt.Client(app="mycharm", request=Request.build(database="mydb"))
        server = pgt.Server(units=2)
        db = pgt.scenario_relation(server, client)
        state = testing.State(leader=True, relations={db})
        out = ctx.run(ctx.on.relation_changed(db, remote_unit=0), state)
        assert pgt.requested(out) == Request("mydb")  # what the charm published

        # failover: the server side changes, what the charm wrote stays; the hooks Juju
        # would run (one relation-changed per changed server unit) are run in order
        out = pgt.scenario_apply(ctx, out, server.evolve(state=pgt.FAILOVER), client)
        out = pgt.scenario_apply(ctx, out, server.evolve(primary=1), client)

With Harness (any ops 2.x/3.x)::

    harness = Harness(MyCharm)
    harness.set_leader(True)
    harness.begin()
    client = pgt.Client(request=Request.build(database="mydb"))
    rel_id = pgt.harness_relation(harness, pgt.Server(), client)  # relation-created/joined/changed
    assert harness.charm.db.is_ready()
    pgt.harness_move(harness, rel_id, pgt.Server(state=pgt.FAILOVER), client)
    assert not harness.charm.db.is_ready()

Addresses are documentation ranges: client unit ``n`` is ``192.0.2.(10+n)``, server unit ``n``
``198.51.100.(10+n)``; Juju's ``egress-subnets`` is the address as a ``/32``.

A whole model (:class:`Model`): your charm and a server charm (or any charms) run hook by hook,
each unit with its own Context, while the model carries the databags between the units as Juju
would (a unit sees a remote unit from its relation-joined on; every changed bag queues
relation-changed on the units that see it; units take turns) until nothing changes any more::

    model = pgt.Model()
    model.add_app("mycharm", MyCharm, units=2)
    model.add_app("postgresql", MyServerCharm)
    model.deploy()
    model.relate("mycharm:db", "postgresql:db")
    assert model.unit("mycharm/1").status.name == "active"
    model.config("postgresql", primary=1)  # config-changed everywhere, then until quiet

The ``postgresql_client`` interface (Charmed PostgreSQL's and PgBouncer's ``database``
endpoint; PostgreSQL 16 speaks nothing else): :class:`Provider` describes the provider, one of
:data:`KINDS` (:data:`POSTGRESQL_VM`, :data:`POSTGRESQL_K8S`, :data:`PGBOUNCER_VM`,
:data:`PGBOUNCER_K8S`), in one of :data:`PROVIDER_STATES` (:data:`NOT_ANSWERED`,
:data:`SECRET_NOT_GRANTED`, :data:`ANSWERED`, :data:`GONE`), with Juju secrets or in clear,
TLS on or off, its password rotated (:meth:`Provider.rotated`); the helpers put it and its
secrets on your unit's relation::

    provider = pgt.Provider(kind=pgt.POSTGRESQL_VM, units=3)
    db, secrets = pgt.scenario_provider_relation(provider, client)
    state = testing.State(leader=True, relations={db}, secrets=secrets)
    out = ctx.run(ctx.on.relation_changed(db, remote_unit=0), state)
    out = pgt.scenario_provider_apply(ctx, out, provider.rotated(), client)  # secret-changed
    assert pgt.provider_requested(out).database == "mydb"

    rel_id = pgt.harness_provider_relation(harness, provider)  # Harness: secrets granted
    pgt.harness_provider_move(harness, rel_id, provider.rotated())

This package imports without Scenario installed; only the ``scenario_*`` helpers and
:class:`Model`'s units need it.
"""

from __future__ import annotations

# the names the module held besides its own, as before it became a package
from .. import protocol as protocol
from ..connstr import ConnectionString as ConnectionString
from ..protocol import Request as Request
from ._common import juju_keys, relation_of
from ._model import (
    ActionOutcome,
    App,
    HookRun,
    HookStormError,
    Integration,
    Model,
    ModelError,
    SecretRecord,
    Unit,
)
from ._pgsql import (
    APP_BAGS,
    FAILOVER,
    FLAVOURS,
    GONE,
    JOINED,
    NOT_GRANTED,
    PASSWORD,
    READY,
    STATES,
    UNIT_BAGS,
    Client,
    Server,
    ServerBags,
    harness_move,
    harness_relation,
    harness_requested,
    peer_share,
    requested,
    scenario_apply,
    scenario_move,
    scenario_peer_relation,
    scenario_relation,
)
from ._postgresql_client import (
    ANSWERED,
    KINDS,
    MODEL_UUID,
    NOT_ANSWERED,
    PGBOUNCER_K8S,
    PGBOUNCER_VM,
    POSTGRESQL_K8S,
    POSTGRESQL_VM,
    PROVIDER_STATES,
    SECRET_NOT_GRANTED,
    TLS_CA,
    Provider,
    ProviderBags,
    ProviderRequest,
)
from ._postgresql_client_adapters import (
    ProviderRelation,
    harness_provider_move,
    harness_provider_relation,
    harness_provider_requested,
    provider_requested,
    scenario_provider_apply,
    scenario_provider_move,
    scenario_provider_relation,
)

__all__ = [
    "ANSWERED",
    "APP_BAGS",
    "FAILOVER",
    "FLAVOURS",
    "GONE",
    "JOINED",
    "KINDS",
    "MODEL_UUID",
    "NOT_ANSWERED",
    "NOT_GRANTED",
    "PGBOUNCER_K8S",
    "PGBOUNCER_VM",
    "POSTGRESQL_K8S",
    "POSTGRESQL_VM",
    "PROVIDER_STATES",
    "READY",
    "SECRET_NOT_GRANTED",
    "STATES",
    "PASSWORD",
    "TLS_CA",
    "UNIT_BAGS",
    "App",
    "Client",
    "ActionOutcome",
    "HookRun",
    "HookStormError",
    "Integration",
    "Model",
    "ModelError",
    "SecretRecord",
    "Provider",
    "ProviderBags",
    "ProviderRelation",
    "ProviderRequest",
    "Server",
    "ServerBags",
    "Unit",
    "harness_move",
    "harness_provider_move",
    "harness_provider_relation",
    "harness_provider_requested",
    "harness_relation",
    "harness_requested",
    "juju_keys",
    "peer_share",
    "provider_requested",
    "relation_of",
    "requested",
    "scenario_apply",
    "scenario_move",
    "scenario_peer_relation",
    "scenario_provider_apply",
    "scenario_provider_move",
    "scenario_provider_relation",
    "scenario_relation",
]
