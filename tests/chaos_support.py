"""Shared pieces of the chaos suite (``tests/test_chaos_*.py``, ``tests/test_fuzz_inputs.py``).

- :class:`Cluster`: a deliberately simple model of a ``pgsql`` server application (units that
  publish, lag behind failovers, grant and revoke access, echo an older request, an application
  bag that mirrors a unit or went stale), rendered to databags the way the real servers of
  ``providers.md`` write them.
- :func:`expected_view`: the reference readiness rule, written from ``providers.md`` §10 and
  ``docs/protocol.md`` over the model's own structured state. It never calls
  :func:`pgsql.protocol.evaluate`: it is the independent oracle the library is checked against.
- :func:`expected_events` / :func:`expected_broken_events`: the 1.x event rules, spelt out.
- Hypothesis settings per ``PGSQL_TEST_PROFILE`` and a hard per-example time limit.
"""

from __future__ import annotations

import contextlib
import copy
import signal
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import (
    Callable,
    Dict,
    FrozenSet,
    Generator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from conftest import PROFILE
from hypothesis import HealthCheck, settings

# A marker that cannot occur in anything but a password, so a leak check is a substring test.
PASSWORD_MARK = "Pw0rdLEAK"
DEFAULT_DB = "myapp"  # what servers provision when the default database is requested
PRIMARY = ("master", "standalone")

Params = Tuple[Tuple[str, str], ...]  # a connection string as its sorted (keyword, value) pairs
Pair = Tuple[str, "ServerUnit"]  # a bag name and the model that renders it


def chaos_settings(max_examples: int, steps: Optional[int] = None, **kw: object) -> settings:
    """Hypothesis settings for the chaos suite.

    ``derandomize`` in quick/ci (a CI failure reproduces with the same command) and no example
    database there; ``long`` is random and remembers failures. Deadlines are replaced by the
    hard :func:`time_limit` where a hang matters: Scenario runs vary too much for a timing
    deadline to be a signal.
    """
    long = PROFILE == "long"
    extra: Dict[str, object] = {
        "max_examples": max_examples,
        "derandomize": not long,
        "deadline": None,
        "print_blob": True,
    }
    if not long:
        extra["database"] = None
    if steps is not None:
        extra["stateful_step_count"] = steps
    extra.update(kw)
    return settings(**extra)  # type: ignore[arg-type]


# Stateful machines legitimately build big states and run ops for every step.
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]


class HangError(AssertionError):
    """An example ran past its hard time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Generator[None, None, None]:
    """Fail (instead of hanging forever) when the body runs longer than ``seconds``.

    Uses SIGALRM, so it guards only on the main thread of a POSIX process; elsewhere it is a
    no-op and the Hypothesis deadline is the only guard.
    """
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def _alarm(signum: int, frame: object) -> None:
        raise HangError(f"took longer than {seconds}s (hang?)")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRequest:
    """What the client application asked for, as plain values (no protocol types)."""

    database: str = ""
    roles: Tuple[str, ...] = ()
    extensions: Tuple[str, ...] = ()

    def bag(self) -> Dict[str, str]:
        """The request keys as the client writes them (comma-joined, absent when empty)."""
        out: Dict[str, str] = {}
        if self.database:
            out["database"] = self.database
        if self.roles:
            out["roles"] = ",".join(sorted(set(self.roles)))
        if self.extensions:
            out["extensions"] = ",".join(sorted(set(self.extensions)))
        return out


def ext_name(item: str) -> str:
    """``pg_trgm:public`` / ``hstore(s)`` / ``citext`` -> the bare name."""
    return item.split(":", 1)[0].split("(", 1)[0].strip()


@dataclass(frozen=True)
class ClientUnit:
    """A client unit: its name and what Juju writes into its bag."""

    name: str
    address: str
    egress: Optional[str]  # None: pre-egress Juju, no egress-subnets key

    def juju_keys(self) -> Dict[str, str]:
        """The keys Juju writes into the unit's own bag."""
        bag = {"ingress-address": self.address, "private-address": self.address}
        if self.egress is not None:
            bag["egress-subnets"] = self.egress

        return bag

    @property
    def cidr(self) -> str:
        """What a server grants for this unit (its egress, else its address as a /32)."""
        return self.egress or f"{self.address}/32"


@dataclass
class ServerUnit:
    """One server unit as the model sees it.

    Attributes:
        num: the unit number (``postgresql/<num>``).
        published: the unit has written its bag (else Juju keys only).
        view_master: the unit this unit believes is the master (it may lag behind a failover),
            or None while the master is unknown (the reactive charm's failover interim).
        view_standbys: the standby units this unit last published.
        granted: the client units granted access when it last granted: (name, cidr).
        acted: the request this unit last acted on (echoed back), None if never.
        password_gen: the credentials generation it publishes.
        style: how it echoes: ``full``, ``no-roles`` (Canonical charms), ``no-ext`` (reactive
            pgbouncer), ``race-lost`` (pgbouncer that fixed the database before the request).
        fmt: connection string format: ``sorted``, ``insertion`` (pgbouncer), ``quoted``.
        standby_sep: ``\\n`` (reactive charm) or ``,`` (VM PostgreSQL).
        units_sep: ``allowed-units`` separator, space or comma.
        standby_db_suffix: standbys use ``<db>_standby`` (pgbouncer k8s).
    """

    num: int
    published: bool = False
    view_master: Optional[int] = None
    view_standbys: Tuple[int, ...] = ()
    granted: FrozenSet[Tuple[str, str]] = frozenset()
    acted: Optional[ModelRequest] = None
    password_gen: int = 0
    style: str = "full"
    fmt: str = "sorted"
    standby_sep: str = "\n"
    units_sep: str = " "
    standby_db_suffix: bool = False


def host_of(num: int) -> str:
    """The address of server unit ``num``."""
    return f"10.0.1.{num}"


def _no_units() -> Dict[int, ServerUnit]:
    return {}


@dataclass
class Cluster:
    """A server application: units, the real master, an application bag, access style."""

    app: str = "postgresql"
    units: Dict[int, ServerUnit] = field(default_factory=_no_units)
    master: Optional[int] = None
    password_gen: int = 0
    access: str = "subnets"  # or "units": no allowed-subnets at all (reactive pgbouncer)
    app_mirror: Optional[int] = None  # the app bag is written together with this unit's bag
    app_frozen: Optional[ServerUnit] = None  # a stale app bag left behind by an old revision
    next_num: int = 0

    # -- model mutations -------------------------------------------------------------------

    def add_unit(self, style: Optional[Mapping[str, object]] = None, jump: int = 1) -> int:
        """A new server unit joins (unpublished), with ``style`` as :class:`ServerUnit` fields."""
        num = self.next_num
        self.next_num += jump
        self.units[num] = ServerUnit(num, **(style or {}))  # type: ignore[arg-type]
        return num

    def remove_unit(self, num: int) -> None:
        """A server unit leaves the relation: its bag is gone; peers are not told yet."""
        del self.units[num]
        if self.master == num:
            self.master = None
        if self.app_mirror == num:
            self.app_mirror = None

    def truth_standbys(self) -> Tuple[int, ...]:
        """The standbys as they really are: every other unit that has published."""
        return tuple(sorted(n for n, u in self.units.items() if n != self.master and u.published))

    def refresh(
        self, num: int, request: Optional[ModelRequest], clients: Sequence[ClientUnit]
    ) -> None:
        """A server unit runs a full hook: acts on the request, grants every client, publishes."""
        u = self.units[num]
        u.published = True
        u.view_master = self.master
        u.view_standbys = self.truth_standbys()
        u.granted = frozenset((c.name, c.cidr) for c in clients)
        if request is not None:
            u.acted = request
        u.password_gen = self.password_gen

    def freeze_app_bag(self, num: int) -> None:
        """The application bag keeps a copy of this unit's bag forever (an old revision)."""
        frozen = copy.deepcopy(self.units[num])
        frozen.password_gen = -1 - frozen.password_gen  # old credentials
        self.app_frozen = frozen
        self.app_mirror = None

    # -- rendering -------------------------------------------------------------------------

    def app_model(self) -> Optional[ServerUnit]:
        """The server unit model whose bag the application bag holds, if any."""
        if self.app_mirror is not None and self.app_mirror in self.units:
            return self.units[self.app_mirror]
        return self.app_frozen

    def unit_bags(self) -> Dict[str, Dict[str, str]]:
        """Every server unit bag, by unit name."""
        return {f"{self.app}/{n}": render(self.app, u, is_app=False) for n, u in self.units.items()}

    def app_bag(self) -> Dict[str, str]:
        """The server application bag."""
        m = self.app_model()
        return {} if m is None else render(self.app, m, is_app=True)


def served_db(u: ServerUnit) -> str:
    """The database a server unit provides."""
    if u.acted is None or not u.acted.database or u.style == "race-lost":
        return DEFAULT_DB
    return u.acted.database


def password_of(gen: int) -> str:
    """The password of credentials generation ``gen``."""
    return f"{PASSWORD_MARK}{gen}" if gen >= 0 else f"Old{PASSWORD_MARK}{-gen}"


def master_params(u: ServerUnit) -> Optional[Dict[str, str]]:
    """The keywords of the master connection string the unit publishes, or None."""
    if not u.published or u.view_master is None:
        return None
    p = {
        "dbname": served_db(u),
        "host": host_of(u.view_master),
        "port": "5432",
        "user": "juju_myapp",
        "password": password_of(u.password_gen),
    }
    if u.fmt == "insertion":
        p["fallback_application_name"] = "myapp"
    return p


def standby_params(u: ServerUnit) -> List[Dict[str, str]]:
    """The keywords of every standby connection string the unit publishes."""
    if not u.published:
        return []
    out: List[Dict[str, str]] = []
    for n in u.view_standbys:
        p = dict(master_params(u) or {}) or {
            "dbname": served_db(u),
            "port": "5432",
            "user": "juju_myapp",
            "password": password_of(u.password_gen),
        }
        if u.fmt == "insertion":
            p["fallback_application_name"] = "myapp"
        p["host"] = host_of(n)
        if u.standby_db_suffix:
            p["dbname"] = served_db(u) + "_standby"
        out.append(p)
    return out


def _format(params: Mapping[str, str], fmt: str) -> str:
    if fmt == "insertion":
        order = ["host", "dbname", "port", "user", "password", "fallback_application_name"]
        return " ".join(f"{k}={params[k]}" for k in order if k in params)
    if fmt == "quoted":
        return " ".join(f"{k}='{v}'" for k, v in sorted(params.items()))
    return " ".join(f"{k}={v}" for k, v in sorted(params.items()))


def state_of(u: ServerUnit) -> str:
    """The ``state`` key the unit publishes."""
    if u.view_master == u.num:
        return "master" if u.view_standbys else "standalone"
    return "standby" if u.fmt == "insertion" else "hot standby"


def render(app: str, u: ServerUnit, *, is_app: bool) -> Dict[str, str]:
    """The databag the model's server unit writes, the way real servers write it."""
    bag: Dict[str, str] = {}
    if not is_app:
        bag.update(
            {
                "egress-subnets": f"{host_of(u.num)}/32",
                "ingress-address": host_of(u.num),
                "private-address": host_of(u.num),
            }
        )
    if not u.published:
        return bag
    names = sorted((n for n, _ in u.granted), key=lambda s: int(s.rpartition("/")[2]))
    cidrs = sorted({c for _, c in u.granted})
    if cidrs and u.style != "no-ext":  # reactive pgbouncer publishes no allowed-subnets
        bag["allowed-subnets"] = ",".join(cidrs)
    if names:
        bag["allowed-units"] = u.units_sep.join(names)
    if u.acted is not None:
        bag["database"] = served_db(u)
        if u.acted.roles and u.style != "no-roles":
            bag["roles"] = ",".join(sorted(u.acted.roles))
        if u.acted.extensions and u.style != "no-ext":
            bag["extensions"] = ",".join(sorted(u.acted.extensions))
    mp = master_params(u)
    if mp is not None:
        bag["master"] = _format(mp, u.fmt)
    sps = standby_params(u)
    if sps:
        bag["standbys"] = u.standby_sep.join(_format(p, u.fmt) for p in sps)
    bag["state"] = state_of(u)
    bag["version"] = f"14.{u.num}"
    bag["password"] = password_of(u.password_gen)  # v1 key: servers publish it bare too
    return bag


# ---------------------------------------------------------------------------------------------
# The reference rule
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """What a client unit should see on the relation."""

    master: Optional[Params]
    standbys: Tuple[Params, ...]
    database: Optional[str] = None
    version: Optional[str] = None
    source: Optional[str] = None

    @property
    def ready(self) -> bool:
        """A master is usable."""
        return self.master is not None


def _params(d: Mapping[str, str]) -> Params:
    return tuple(sorted(d.items()))


def granted_to(u: ServerUnit, client: ClientUnit) -> bool:
    """Access rule (pitfalls 7, 8): subnets when published, else the unit list, else no egress."""
    cidrs = {c for _, c in u.granted}
    if cidrs and u.style != "no-ext":
        return client.egress is None or client.egress in cidrs
    if u.granted:
        return client.name in {n for n, _ in u.granted}
    return client.egress is None


def echoed(u: ServerUnit, request: ModelRequest) -> bool:
    """Echo rule (pitfalls 12, 15, 16): the server acted on what this client asked for."""
    a = u.acted
    if request.database and (a is None or served_db(u) != request.database):
        return False
    if request.roles and (a is None or u.style == "no-roles" or set(a.roles) != set(request.roles)):
        return False
    if not (request.extensions and a is not None and a.extensions and u.style != "no-ext"):
        return True  # pitfall 16: a server that does not echo extensions is trusted
    return {ext_name(e) for e in request.extensions} <= {ext_name(e) for e in a.extensions}


def expected_view(cluster: Cluster, client: ClientUnit, request: Optional[ModelRequest]) -> View:
    """What ``client`` should see: the reference model of the readiness rule.

    ``request`` None means the unit cannot know what was requested: the echo is trusted.
    """

    def ready(u: ServerUnit) -> bool:
        publishes = master_params(u) is not None or bool(standby_params(u))
        return publishes and granted_to(u, client) and (request is None or echoed(u, request))

    units = [(f"{cluster.app}/{n}", u) for n, u in sorted(cluster.units.items()) if ready(u)]
    app_m = cluster.app_model()
    app = [(cluster.app, app_m)] if app_m is not None and ready(app_m) else []
    # pitfall 2: a ready unit bag always wins over the application bag
    cands = units or app

    def rank(pairs: List[Pair], key_of: Callable[[ServerUnit], object]) -> List[Pair]:
        # pitfall 3: primary state first, then the value most bags agree on, then unit number
        votes = Counter(key_of(u) for _, u in pairs)
        return sorted(
            pairs, key=lambda p: (state_of(p[1]) not in PRIMARY, -votes[key_of(p[1])], p[1].num)
        )

    with_master = [p for p in cands if master_params(p[1]) is not None]
    src = rank(with_master, lambda u: _params(master_params(u) or {}))[:1]
    master = _params(master_params(src[0][1]) or {}) if src else None
    if src and standby_params(src[0][1]):
        sb_src = src
    else:
        with_sb = [p for p in cands if standby_params(p[1])]
        sb_src = rank(with_sb, lambda u: tuple(_params(s) for s in standby_params(u)))[:1]
    standbys = tuple(_params(s) for s in standby_params(sb_src[0][1])) if sb_src else ()
    chosen = (src or sb_src or [None])[0]
    database = version = source = None
    if chosen is not None:
        source = chosen[0]
        bag = render(cluster.app, chosen[1], is_app=chosen[0] == cluster.app)
        database = bag.get("database")
        version = bag.get("version")
    if version is None:
        # no chosen bag: the application bag's version, then the units' in numeric order
        all_bags = [cluster.app_bag()] + [
            render(cluster.app, u, is_app=False) for _, u in sorted(cluster.units.items())
        ]
        version = next((b["version"] for b in all_bags if b.get("version")), None)
    return View(master, standbys, database, version, source)


def expected_events(prev: Optional[View], cur: View) -> List[str]:
    """The 1.x ``_on_changed`` rule, written out: what a move from ``prev`` to ``cur`` emits."""
    pm = prev.master if prev else None
    ps = prev.standbys if prev else ()
    out: List[str] = []
    if pm is None and cur.master is not None:
        out.append("master_available")
    if pm != cur.master:
        out.append("master_changed")
    if pm is not None and cur.master is None:
        out.append("master_gone")
    if not ps and cur.standbys:
        out.append("standby_available")
    if ps != cur.standbys:
        out.append("standby_changed")
    if ps and not cur.standbys:
        out.append("standby_gone")
    if "master_available" in out or "standby_available" in out:
        out.append("database_available")
    if "master_changed" in out or "standby_changed" in out:
        out.append("database_changed")
    if ("master_gone" in out or "standby_gone" in out) and cur.master is None and not cur.standbys:
        out.append("database_gone")
    return out


def expected_broken_events(prev: Optional[View]) -> List[str]:
    """The 1.x ``_on_broken`` rule: gone events for what had been announced, then broken."""
    out: List[str] = []
    if prev is not None and prev.master is not None:
        out += ["master_changed", "master_gone"]
    if prev is not None and prev.standbys:
        out += ["standby_changed", "standby_gone"]
    if out:
        out += ["database_changed", "database_gone"]
    return [*out, "database_relation_broken"]
