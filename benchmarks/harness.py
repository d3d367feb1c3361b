"""Run charms hook by hook the way Juju does, and play the PostgreSQL server between hooks.

- :class:`Model` is the fake Juju model on disk (read and written by ``fakejuju/hooktool.py``).
- :class:`Server` is the provider side, R-PG style (``providers.md`` section 1): it writes only
  server *unit* bags, recomputes them from the client's bags, and reports which bags changed.
- :class:`ModernServer` is Charmed PostgreSQL 16 (VM) on ``postgresql_client``: its
  application bag only, the credentials in Juju secrets granted to the relation.
- :class:`Run` runs one scenario for one variant: fresh ``python src/charm.py`` per hook with the
  ``JUJU_*`` environment, counting hook-tool calls and wall time per step.
- :data:`SCENARIOS` are the lifecycles and scale points.

Nothing here imports ops or the library under test: each variant's charm runs in its own
interpreter.
"""

import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import time
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fakejuju"))

import hooktool  # noqa: E402

CLIENT_APP = "myapp"
SERVER_APP = "postgresql"
ENDPOINT = "db"
REL_ID = 3
DATABASE = "mydbname"
PASSWORD = "Zk3pQ9vR7mW2xL5tN8bC4hJ6"
JUJU3 = "3.6.8"
JUJU4 = "4.0.0"
STATE_KEY = "MyCharm/StoredStateData[_state]"
MODEL_UUID = "2f7cd2d1-4c5e-4b8d-9d3a-6a0f0f0b2b11"
CHARMS = os.path.join(HERE, "charms")
# postgresql_client (ModernServer): the user PostgreSQL creates per relation, its passwords
MODERN_USER = f"relation-{REL_ID}"
MODERN_PASSWORD = "Hq7vT2nB9xK4mW6pR3cY8dL5"
ROTATED_PASSWORD = "Pf4sN8wJ2kV6hT9bM3xQ7rZ5"
USER_SECRET_ID = "d0mb2e1g6l7u5p9b0n10"  # Juju secret IDs are xids: 20 chars of [0-9a-v]
TLS_SECRET_ID = "d0mb2e1g6l7u5p9b0n20"


class HookError(RuntimeError):
    """A hook exited non-zero: the benchmark of a broken charm is worthless."""


class StateError(RuntimeError):
    """A variant's stored state disagrees with what the server published."""


def unit_num(name):
    return int(name.rsplit("/", 1)[1])


def client_addr(i):
    return f"10.2.{i // 250}.{i % 250 + 1}"


def server_addr(i):
    return f"10.1.{i // 250}.{i % 250 + 1}"


def juju_keys(addr):
    return {"egress-subnets": f"{addr}/32", "ingress-address": addr, "private-address": addr}


def conn_str(host):
    return f"dbname={DATABASE} host={host} password={PASSWORD} port=5432 user=juju_{CLIENT_APP}"


def uri(cs):
    """The URI ops-lib-pgsql 1.x gives for the plain conn strings this server writes."""
    d = {k: quote(v, safe="") for k, v in (item.split("=", 1) for item in cs.split())}
    return f"postgresql://{d['user']}:{d['password']}@{d['host']}:{d['port']}/{d['dbname']}"


# ---------------------------------------------------------------------------------------------
# The model on disk
# ---------------------------------------------------------------------------------------------


class Model:
    """The fake Juju model one client application sees (format: ``fakejuju/hooktool.py``)."""

    def __init__(self, root, leader):
        self.root = root
        os.makedirs(os.path.join(root, "bags"), exist_ok=True)
        self.meta = {"leader": leader, "relations": {}, "config": {}, "leader_settings": {}}
        self._save_meta()
        open(os.path.join(root, "calls"), "w").close()

    def _save_meta(self):
        hooktool._save(os.path.join(self.root, "meta.json"), self.meta)

    def load_meta(self):
        self.meta = hooktool._load(os.path.join(self.root, "meta.json"))
        return self.meta

    def add_relation(self, rel_id, endpoint, remote_app):
        os.makedirs(os.path.join(self.root, "bags", str(rel_id)), exist_ok=True)
        self.load_meta()
        self.meta["relations"][str(rel_id)] = {
            "endpoint": endpoint,
            "remote_app": remote_app,
            "units": [],
        }
        self._save_meta()

    def remove_relation(self, rel_id):
        self.load_meta()
        del self.meta["relations"][str(rel_id)]
        self._save_meta()
        shutil.rmtree(os.path.join(self.root, "bags", str(rel_id)))

    def join(self, rel_id, unit):
        self.load_meta()
        units = self.meta["relations"][str(rel_id)]["units"]
        units.append(unit)
        units.sort(key=unit_num)
        self._save_meta()

    def depart(self, rel_id, unit):
        self.load_meta()
        self.meta["relations"][str(rel_id)]["units"].remove(unit)
        self._save_meta()

    def bag(self, rel_id, name):
        return hooktool._load(hooktool.bag_file(self.root, rel_id, name), {})

    def set_bag(self, rel_id, name, data):
        """Replace a bag; True when it changed (Juju fires relation-changed only then)."""
        if self.bag(rel_id, name) == data:
            return False
        hooktool._save(hooktool.bag_file(self.root, rel_id, name), data)
        return True

    # -- secrets (the provider's side: it owns them; hooktool serves the client's reads) -----

    def secret(self, xid):
        return hooktool._load(hooktool.secret_file(self.root, xid), {})

    def put_secret(self, xid, owner, content, grants):
        """Create a secret or add a revision when its content changed; True for a new revision."""
        os.makedirs(os.path.join(self.root, "secrets"), exist_ok=True)
        secret = self.secret(xid) or {
            "owner": owner,
            "revisions": {},
            "latest": 0,
            "grants": [],
            "tracked": {},
            "labels": {},
        }
        secret["grants"] = sorted(set(secret["grants"]) | {str(g) for g in grants})
        if secret["latest"] and secret["revisions"][str(secret["latest"])] == content:
            hooktool._save(hooktool.secret_file(self.root, xid), secret)
            return False
        secret["latest"] += 1
        secret["revisions"][str(secret["latest"])] = dict(content)
        hooktool._save(hooktool.secret_file(self.root, xid), secret)
        return True

    def take_calls(self):
        """The hook-tool calls since the last take, by tool."""
        path = os.path.join(self.root, "calls")
        with open(path) as f:
            lines = f.read().split()
        open(path, "w").close()
        counts = {}
        for tool in lines:
            counts[tool] = counts.get(tool, 0) + 1
        return counts

    def log_tail(self, n=15):
        try:
            with open(os.path.join(self.root, "juju.log")) as f:
                return "".join(f.readlines()[-n:])
        except FileNotFoundError:
            return ""


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


class Server:
    """The PostgreSQL side of one relation, as the reactive charm (R-PG) behaves.

    ``phase``: ``none`` (nothing published beyond Juju's keys), ``ungranted`` (connection
    details and the echo published, but no client unit granted access yet) or ``ready``.
    ``master_visible`` False is R-PG's failover window: no ``master`` key anywhere.
    """

    def __init__(self, model, units, client_units):
        self.model = model
        self.units = list(units)
        self.master = self.units[0]
        self.client_units = list(client_units)
        self.phase = "none"
        self.master_visible = True

    def request(self):
        """What the client asked for: its app bag, else its lowest-numbered unit's bag."""
        app = self.model.bag(REL_ID, CLIENT_APP)
        if "database" in app or "extensions" in app:
            return app
        for unit in sorted(self.client_units, key=unit_num):
            bag = self.model.bag(REL_ID, unit)
            if "database" in bag or "extensions" in bag:
                return bag
        return {}

    def standbys(self):
        return sorted(conn_str(server_addr(unit_num(u))) for u in self.units if u != self.master)

    def expected(self):
        """What a correct client should store now: (db_uri, db_ro_uris)."""
        if self.phase != "ready":
            return None, []
        master = uri(conn_str(server_addr(unit_num(self.master)))) if self.master_visible else None
        return master, [uri(s) for s in self.standbys()]

    def bag_for(self, unit):
        addr = server_addr(unit_num(unit))
        bag = juju_keys(addr)
        if self.phase == "none":
            return bag
        req = self.request()
        bag.update(
            {
                "database": req.get("database") or CLIENT_APP,
                "user": f"juju_{CLIENT_APP}",
                "password": PASSWORD,
                "schema_user": f"juju_{CLIENT_APP}",
                "schema_password": PASSWORD,
                "host": addr,
                "port": "5432",
                "version": "12",
            }
        )
        if req.get("extensions"):
            bag["extensions"] = req["extensions"]
        if unit == self.master:
            bag["state"] = "master" if len(self.units) > 1 else "standalone"
        else:
            bag["state"] = "hot standby"
        if self.master_visible:
            bag["master"] = conn_str(server_addr(unit_num(self.master)))
        standbys = self.standbys()
        if standbys:
            bag["standbys"] = "\n".join(standbys)
        if self.phase == "ready":
            granted = sorted(self.client_units, key=unit_num)
            subnets = sorted({f"{client_addr(unit_num(u))}/32" for u in granted})
            bag["allowed-units"] = " ".join(granted)
            bag["allowed-subnets"] = ",".join(subnets)
        return bag

    def publish(self):
        """Rewrite every server unit bag; the units whose bag changed, in unit order."""
        return [u for u in self.units if self.model.set_bag(REL_ID, u, self.bag_for(u))]


def secret_uri(xid):
    return f"secret://{MODEL_UUID}/{xid}"


class ModernServer:
    """Charmed PostgreSQL 16 (VM) on ``postgresql_client`` (``interface/postgresql_client.md``).

    It writes its *application* bag only (unit bags keep Juju's keys): the ``database`` echo,
    ``endpoints`` (the primary), ``read-only-endpoints`` (the replicas), ``version``, ``data``
    (its snapshot of the request) and, for the fields the requirer listed in
    ``requested-secrets``, the URIs of one Juju secret per group (``secret-user``: username,
    password, uris, read-only-uris; ``secret-tls``: tls, tls-ca), each granted to the relation;
    fields not listed are published in clear, as data_interfaces does. It answers only once the
    requirer's application bag names a ``database``. A changed password or replica set is a new
    secret revision (Juju then fires ``secret-changed`` on the consumers).
    """

    def __init__(self, model, units):
        self.model = model
        self.units = list(units)  # the first is the primary
        self.password = MODERN_PASSWORD
        self.answered = False

    def request(self):
        return self.model.bag(REL_ID, CLIENT_APP)

    def requested_secrets(self):
        try:
            fields = json.loads(self.request().get("requested-secrets") or "[]")
        except ValueError:
            return []
        return [f for f in fields if isinstance(f, str)] if isinstance(fields, list) else []

    def primary(self):
        return f"{server_addr(unit_num(self.units[0]))}:5432"

    def replicas(self):
        """The replicas' ``host:port``; PostgreSQL publishes the primary when there is none."""
        return [f"{server_addr(unit_num(u))}:5432" for u in self.units[1:]] or [self.primary()]

    def fields(self):
        """Every field the provider publishes, before it splits them into bag and secrets."""
        db, user, pw = self.request()["database"], MODERN_USER, self.password
        ro_hosts = ",".join(r.rsplit(":", 1)[0] for r in self.replicas())
        return {
            "username": user,
            "password": pw,
            "uris": f"postgresql://{user}:{pw}@{self.primary()}/{db}",
            "read-only-uris": f"postgresql://{user}:{pw}@{ro_hosts}:5432/{db}",
            "tls": "False",
            "tls-ca": "",  # no CA while TLS is off: left out (a secret holds no empty value)
        }

    def publish(self):
        """Write the application bag and the secrets; (bag changed, secret IDs revised)."""
        if not self.answered:
            return self.model.set_bag(REL_ID, SERVER_APP, {}), []
        request = self.request()
        if not request.get("database"):
            raise StateError(
                "the requirer never published a database: postgresql_client providers act "
                f"only once its application bag names one (it holds {sorted(request)})"
            )
        bag = {
            "database": request["database"],
            "endpoints": self.primary(),
            "read-only-endpoints": ",".join(self.replicas()),
            "version": "16.14",
            "data": json.dumps(request, sort_keys=True),
        }
        wanted = set(self.requested_secrets())
        revised = []
        fields = self.fields()
        for group, xid, keys in (
            ("user", USER_SECRET_ID, ("username", "password", "uris", "read-only-uris")),
            ("tls", TLS_SECRET_ID, ("tls", "tls-ca")),
        ):
            secret = {k: fields[k] for k in keys if k in wanted and fields[k]}
            for k in keys:
                if k not in wanted and fields[k]:
                    bag[k] = fields[k]  # not requested as a secret: in clear
            if secret:
                if self.model.put_secret(xid, SERVER_APP, secret, [REL_ID]):
                    revised.append(xid)
                bag[f"secret-{group}"] = secret_uri(xid)
        return self.model.set_bag(REL_ID, SERVER_APP, bag), revised

    def expected(self):
        """What a correct client should store now: (db_uri, db_ro_uris)."""
        if not self.answered:
            return None, []
        db, user, pw = self.request()["database"], MODERN_USER, quote(self.password, safe="")
        master = f"postgresql://{user}:{pw}@{self.primary()}/{db}"
        return master, [f"postgresql://{user}:{pw}@{r}/{db}" for r in self.replicas()]


# ---------------------------------------------------------------------------------------------
# Running hooks
# ---------------------------------------------------------------------------------------------


def _masked(uri):
    """A URI with its password replaced (failures print what a charm stored)."""
    head, sep, rest = (uri or "").partition("://")
    cred, at, tail = rest.rpartition("@")
    if not sep or not at or ":" not in cred:
        return uri
    return f"{head}://{cred.split(':', 1)[0]}:***@{tail}"


def _brief(state):
    db_uri, ro = state
    ro = [_masked(u) for u in ro]
    return (
        f"db_uri={_masked(db_uri)!r} and {len(ro)} standby URI(s) {ro[:2]!r}"
        f"{'...' if len(ro) > 2 else ''}"
    )


class Variant:
    """One way of running the charm: an interpreter and a charm source directory."""

    def __init__(self, name, python, charm, pythonpath=None):
        self.name = name
        self.python = python
        self.charm = charm
        self.pythonpath = pythonpath

    def to_dict(self):
        return {"name": self.name, "python": self.python, "charm": self.charm}


class Step:
    def __init__(self, label):
        self.label = label
        self.hooks = []  # hook names fired on the measured unit
        self.ms = 0.0
        self.calls = {}
        self.state = None
        self.expected = None


class Run:
    """One scenario for one variant, in a fresh work directory."""

    def __init__(
        self, variant, workdir, juju_version, leader_measured, tool_python, charm_layers=None
    ):
        self.variant = variant
        self.juju_version = juju_version
        self.workdir = workdir
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
        self.model = Model(os.path.join(workdir, "model"), leader=f"{CLIENT_APP}/0")
        self.bin = os.path.join(workdir, "bin")
        hooktool.write_bin(self.bin, tool_python, juju_version)
        self.running = (
            [f"{CLIENT_APP}/0"] if leader_measured else [f"{CLIENT_APP}/0", f"{CLIENT_APP}/1"]
        )
        self.measured = self.running[-1]
        self.charm_dirs = {}
        # a scenario may give a variant another charm, or lay files over its charm (metadata)
        layers = charm_layers or [variant.charm]
        for unit in self.running:
            d = os.path.join(workdir, "unit-" + unit.replace("/", "-"))
            shutil.copytree(layers[0], d)
            for layer in layers[1:]:
                shutil.copytree(layer, d, dirs_exist_ok=True)
            self.charm_dirs[unit] = d
        self.steps = {}
        self.seq = 0
        self.base_env = {
            "PATH": os.pathsep.join([self.bin, "/usr/bin", "/bin"]),
            "LANG": "C.UTF-8",
            "HOME": workdir,
            "FAKEJUJU_MODEL": self.model.root,
            "JUJU_MODEL_NAME": "bench",
            "JUJU_MODEL_UUID": MODEL_UUID,
            "JUJU_VERSION": juju_version,
            "JUJU_AVAILABILITY_ZONE": "zone1",
            "JUJU_MACHINE_ID": "0",
        }
        try:
            import yaml  # the tools' fallback for ops 2.x, which sends YAML to relation-set

            self.base_env["FAKEJUJU_SITE"] = os.path.dirname(os.path.dirname(yaml.__file__))
        except ImportError:
            pass
        if variant.pythonpath:
            self.base_env["PYTHONPATH"] = variant.pythonpath
        if os.environ.get("FAKEJUJU_TRACE"):  # model/trace: each call with its arguments
            self.base_env["FAKEJUJU_TRACE"] = "1"

    @property
    def juju4(self):
        return int(self.juju_version.split(".")[0]) >= 4

    def step(self, label):
        if label not in self.steps:
            self.steps[label] = Step(label)
        return self.steps[label]

    def hook(
        self, label, hook, units=None, remote_unit=None, departing=None, relation=True, env=None
    ):
        """Fire ``hook`` on each running unit (leader first); account the measured one.

        ``env``: more of the hook's environment (``JUJU_SECRET_*``), or a function of the unit
        giving it.
        """
        step = self.step(label)
        for unit in units or self.running:
            before = self.model.load_meta().get("leader_settings", {})
            extra = env(unit) if callable(env) else env
            ms, calls = self._exec(unit, hook, remote_unit, departing, relation, extra)
            if unit == self.measured:
                step.hooks.append(hook)
                step.ms += ms
                for tool, n in calls.items():
                    step.calls[tool] = step.calls.get(tool, 0) + n
            after = self.model.load_meta().get("leader_settings", {})
            if after != before and not self.juju4:
                for other in self.running:
                    if other != unit:
                        self.hook(label, "leader-settings-changed", [other], relation=False)

    def _exec(self, unit, hook, remote_unit, departing, relation, extra=None):
        self.seq += 1
        env = dict(self.base_env)
        env.update(extra or {})
        env.update(
            {
                "JUJU_UNIT_NAME": unit,
                "JUJU_CHARM_DIR": self.charm_dirs[unit],
                "JUJU_DISPATCH_PATH": f"hooks/{hook}",
                "JUJU_HOOK_NAME": hook,
                "JUJU_CONTEXT_ID": f"{unit}-{hook}-{self.seq}",
                "JUJU_AGENT_SOCKET_ADDRESS": "@/var/lib/juju/agents/unit-myapp/agent.socket",
                "JUJU_AGENT_SOCKET_NETWORK": "unix",
            }
        )
        if relation and hook.startswith(f"{ENDPOINT}-relation-"):
            env.update(
                {
                    "JUJU_RELATION": ENDPOINT,
                    "JUJU_RELATION_ID": f"{ENDPOINT}:{REL_ID}",
                    "JUJU_REMOTE_APP": SERVER_APP,
                }
            )
            if remote_unit:
                env["JUJU_REMOTE_UNIT"] = remote_unit
            if departing:
                env["JUJU_DEPARTING_UNIT"] = departing
        self.model.take_calls()
        cmd = [self.variant.python, os.path.join(self.charm_dirs[unit], "src", "charm.py")]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        ms = (time.perf_counter() - t0) * 1000.0
        calls = self.model.take_calls()
        if proc.returncode != 0:
            raise HookError(
                f"{self.variant.name}: hook {hook} on {unit} (remote {remote_unit}) exited "
                f"{proc.returncode}\n--- stderr ---\n{proc.stderr[-3000:]}\n"
                f"--- juju.log (tail) ---\n{self.model.log_tail()}"
            )
        return ms, calls

    def stored(self, unit=None):
        """What a unit's charm knows: (db_uri, db_ro_uris).

        From the workload file the charm writes (``workload.json`` in its charm directory, for
        the charms that keep no StoredState of their own), else from its StoredState.
        """
        charm_dir = self.charm_dirs[unit or self.measured]
        workload = os.path.join(charm_dir, "workload.json")
        if os.path.exists(workload):
            with open(workload) as f:
                data = json.load(f)
            return data.get("db_uri"), list(data.get("db_ro_uris") or [])
        db = os.path.join(charm_dir, ".unit-state.db")
        con = sqlite3.connect(db)
        try:
            row = con.execute("SELECT data FROM snapshot WHERE handle=?", (STATE_KEY,)).fetchone()
        finally:
            con.close()
        data = pickle.loads(row[0]) if row else {}  # written by ops itself, in our work dir
        return data.get("db_uri"), list(data.get("db_ro_uris") or [])

    def check(self, label, server):
        """Record the measured unit's state after a step and compare it with the server's."""
        step = self.step(label)
        step.state = self.stored()
        step.expected = server.expected()
        if list(step.state) != list(step.expected):
            shown, wanted = _brief(step.state), _brief(step.expected)
            why = " (they differ in the password)" if shown == wanted else ""
            raise StateError(
                f"{self.variant.name}: after '{label}' the charm stored {shown}, "
                f"but the server published {wanted}{why}\n{self.model.log_tail()}"
            )

    def results(self):
        return [
            {
                "step": s.label,
                "hooks": s.hooks,
                "ms": round(s.ms, 3),
                "calls": dict(sorted(s.calls.items())),
                "state": s.state,
            }
            for s in self.steps.values()
        ]


# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------


def lifecycle(run, n_standbys, m_clients):
    """Install to relation-broken, firing every hook Juju would fire on the client."""
    servers = [f"{SERVER_APP}/{i}" for i in range(n_standbys + 1)]
    clients = [f"{CLIENT_APP}/{i}" for i in range(m_clients)]
    model = run.model
    for c in clients:
        model.set_bag(REL_ID, c, {})
    server = Server(model, servers, clients)

    run.hook("install", "install")
    run.hook("leader-elected", "leader-elected", [run.running[0]])
    if len(run.running) > 1 and not run.juju4:
        run.hook("leader-elected", "leader-settings-changed", run.running[1:])
    run.hook("config-changed", "config-changed")
    run.hook("start", "start")
    model.add_relation(REL_ID, ENDPOINT, SERVER_APP)
    for i, c in enumerate(clients):
        model.set_bag(REL_ID, c, juju_keys(client_addr(i)))
    run.hook("relation-created", f"{ENDPOINT}-relation-created")
    for u in servers:
        model.join(REL_ID, u)
        model.set_bag(REL_ID, u, server.bag_for(u))
        run.hook("relation-joined", f"{ENDPOINT}-relation-joined", remote_unit=u)
        run.hook("changed: nothing published", f"{ENDPOINT}-relation-changed", remote_unit=u)
    run.check("changed: nothing published", server)

    def changed(label, units):
        for u in units:
            run.hook(label, f"{ENDPOINT}-relation-changed", remote_unit=u)
        run.check(label, server)

    server.phase = "ungranted"
    changed("changed: not granted", server.publish())
    server.phase = "ready"
    changed("changed: ready", server.publish())
    changed("changed: nothing new", [servers[0]])
    server.master_visible = False
    changed("failover: master gone", server.publish())
    server.master, server.master_visible = servers[1] if len(servers) > 1 else servers[0], True
    changed("failover: new master", server.publish())

    new = f"{SERVER_APP}/{len(servers)}"
    model.join(REL_ID, new)
    server.units.append(new)
    others = [u for u in server.publish() if u != new]
    run.hook("standby added", f"{ENDPOINT}-relation-joined", remote_unit=new)
    changed("standby added", [new, *others])

    model.depart(REL_ID, new)
    server.units.remove(new)
    run.hook("standby removed", f"{ENDPOINT}-relation-departed", remote_unit=new, departing=new)
    changed("standby removed", server.publish())

    for u in list(server.units):
        model.depart(REL_ID, u)
        run.hook("departed", f"{ENDPOINT}-relation-departed", remote_unit=u, departing=u)
    server.units, server.phase = [], "none"
    run.hook("relation-broken", f"{ENDPOINT}-relation-broken")
    run.check("relation-broken", server)
    model.remove_relation(REL_ID)


def scale(run, n_standbys, m_clients):
    """1 master + N standbys, M client units, leader: every hook Juju fires after the setup.

    Set-up shortcut (unmeasured, bags hold only Juju's keys then): the relation starts with all
    server units joined and one joined/changed pair is fired, not one per unit. From then on a
    ``db-relation-changed`` is fired for every server bag that changed, as Juju does: a library
    may rely on that (reading only ``JUJU_REMOTE_UNIT``'s bag), so firing fewer would be wrong.
    """
    servers = [f"{SERVER_APP}/{i}" for i in range(n_standbys + 1)]
    clients = [f"{CLIENT_APP}/{i}" for i in range(m_clients)]
    model = run.model
    server = Server(model, servers, clients)
    run.hook("setup", "install")
    run.hook("setup", "leader-elected", [run.running[0]])
    run.hook("setup", "start")
    model.add_relation(REL_ID, ENDPOINT, SERVER_APP)
    for i, c in enumerate(clients):
        model.set_bag(REL_ID, c, juju_keys(client_addr(i)))
    for u in servers:
        model.join(REL_ID, u)
        model.set_bag(REL_ID, u, server.bag_for(u))
    run.hook("setup", f"{ENDPOINT}-relation-created")
    run.hook("setup", f"{ENDPOINT}-relation-joined", remote_unit=servers[0])
    run.hook("setup", f"{ENDPOINT}-relation-changed", remote_unit=servers[0])

    def changed(label, units):
        for u in units:
            run.hook(label, f"{ENDPOINT}-relation-changed", remote_unit=u)
        run.check(label, server)

    server.phase = "ungranted"
    changed("changed: not granted", server.publish())
    server.phase = "ready"
    changed("changed: ready", server.publish())
    changed("changed: nothing new", [servers[1]])
    extra = f"{CLIENT_APP}/{m_clients}"
    model.set_bag(REL_ID, extra, juju_keys(client_addr(m_clients)))
    server.client_units.append(extra)
    changed("client unit added", server.publish())
    server.master_visible = False
    changed("failover: master gone", server.publish())
    server.master, server.master_visible = servers[1], True
    changed("failover: new master", server.publish())
    new = f"{SERVER_APP}/{len(servers)}"
    model.join(REL_ID, new)
    server.units.append(new)
    others = [u for u in server.publish() if u != new]
    run.hook("standby added", f"{ENDPOINT}-relation-joined", remote_unit=new)
    changed("standby added", [new, *others])
    model.depart(REL_ID, new)
    server.units.remove(new)
    run.hook("standby removed", f"{ENDPOINT}-relation-departed", remote_unit=new, departing=new)
    changed("standby removed", server.publish())
    for u in list(server.units):
        model.depart(REL_ID, u)
    server.units, server.phase = [], "none"
    run.hook("relation-broken", f"{ENDPOINT}-relation-broken")
    run.check("relation-broken", server)


def modern(run, n_standbys, m_clients):
    """postgresql_client against Charmed PostgreSQL 16: install to relation-broken.

    The provider answers in its application bag once the requirer's names a database, with the
    credentials in Juju secrets; a password rotation and the user secret's new revision when a
    replica is added reach the client as ``secret-changed`` (only on units that read the secret).
    """
    servers = [f"{SERVER_APP}/{i}" for i in range(n_standbys + 1)]
    clients = [f"{CLIENT_APP}/{i}" for i in range(m_clients)]
    model = run.model
    server = ModernServer(model, servers)
    notified = {}  # (unit, secret) -> the revision Juju last told the unit about

    run.hook("install", "install")
    run.hook("leader-elected", "leader-elected", [run.running[0]])
    if len(run.running) > 1 and not run.juju4:
        run.hook("leader-elected", "leader-settings-changed", run.running[1:])
    run.hook("config-changed", "config-changed")
    run.hook("start", "start")
    model.add_relation(REL_ID, ENDPOINT, SERVER_APP)
    model.set_bag(REL_ID, SERVER_APP, {})
    for i, c in enumerate(clients):
        model.set_bag(REL_ID, c, juju_keys(client_addr(i)))
    run.hook("relation-created", f"{ENDPOINT}-relation-created")
    for u in servers:
        model.join(REL_ID, u)
        model.set_bag(REL_ID, u, juju_keys(server_addr(unit_num(u))))
        run.hook("relation-joined", f"{ENDPOINT}-relation-joined", remote_unit=u)
        run.hook("changed: not answered", f"{ENDPOINT}-relation-changed", remote_unit=u)
    run.check("changed: not answered", server)

    def secret_changed(label, revised):
        """Juju fires secret-changed on each unit that consumes a secret with a new revision."""
        for xid in revised:
            secret = model.secret(xid)
            latest = secret["latest"]
            for unit in run.running:
                seen = max(secret["tracked"].get(unit, 0), notified.get((unit, xid), 0))
                if unit not in secret["tracked"] or seen >= latest:
                    continue
                notified[(unit, xid)] = latest
                env = {
                    "JUJU_SECRET_ID": secret_uri(xid),
                    "JUJU_SECRET_LABEL": secret["labels"].get(unit, ""),
                    "JUJU_SECRET_REVISION": str(latest),
                }
                run.hook(label, "secret-changed", [unit], relation=False, env=env)

    def provider_changed(label):
        """The provider's hook: its app bag (relation-changed, no remote unit) and secrets."""
        bag_changed, revised = server.publish()
        if bag_changed:
            run.hook(label, f"{ENDPOINT}-relation-changed")
        secret_changed(label, revised)
        run.check(label, server)

    server.answered = True
    provider_changed("changed: answered")
    run.hook("changed: nothing new", f"{ENDPOINT}-relation-changed", remote_unit=servers[0])
    run.check("changed: nothing new", server)
    server.password = ROTATED_PASSWORD
    provider_changed("password rotated")

    new = f"{SERVER_APP}/{len(servers)}"
    model.join(REL_ID, new)
    model.set_bag(REL_ID, new, juju_keys(server_addr(unit_num(new))))
    server.units.append(new)
    run.hook("standby added", f"{ENDPOINT}-relation-joined", remote_unit=new)
    run.hook("standby added", f"{ENDPOINT}-relation-changed", remote_unit=new)
    provider_changed("standby added")

    for u in list(server.units):
        model.depart(REL_ID, u)
        run.hook("departed", f"{ENDPOINT}-relation-departed", remote_unit=u, departing=u)
    server.units, server.answered = [], False
    run.hook("relation-broken", f"{ENDPOINT}-relation-broken")
    run.check("relation-broken", server)
    model.remove_relation(REL_ID)


class Scenario:
    def __init__(
        self,
        name,
        title,
        body,
        leader,
        n,
        m,
        juju=JUJU3,
        variants=None,
        max_runs=None,
        charms=None,
    ):
        self.max_runs = max_runs  # the largest point fires ~800 hooks per variant and run
        # variant -> charm directories under charms/, laid one over the other (None: its own)
        self.charms = charms or {}
        self.name = name
        self.title = title
        self.body = body
        self.leader = leader
        self.n = n
        self.m = m
        self.juju = juju
        self.variants = variants  # None: all

    def run(self, variant, workdir, tool_python):
        layers = [os.path.join(CHARMS, d) for d in self.charms.get(variant.name, ())]
        r = Run(variant, workdir, self.juju, self.leader, tool_python, layers or None)
        self.body(r, self.n, self.m)
        return r.results()


#: postgresql_client: the hand-written requirer (the floor), data_interfaces' DatabaseRequires,
#: this library in its recommended style, and the 1.x seed charm with only its metadata changed
MODERN_CHARMS = {
    "bare": ("bare-modern",),
    "di": ("di-modern",),
    "pgsql": ("modern",),
    "pgsql-1x": ("seed", "seed-modern"),
}
MODERN_VARIANTS = tuple(MODERN_CHARMS)
#: the pgsql-interface scenarios (di and pgsql-1x have no charm of their own there)
PGSQL_VARIANTS = ("bare", "orig", "pgsql")

SCENARIOS = {
    s.name: s
    for s in [
        Scenario("leader", "leader lifecycle (1 master + 1 standby, 3 client units)",
                 lifecycle, True, 1, 3),
        Scenario("non-leader", "non-leader lifecycle (1 master + 1 standby, 3 client units; "
                 "the leader's hooks run too, unmeasured)", lifecycle, False, 1, 3),
        Scenario("scale-10", "scale: 1 master + 10 standbys, 100 client units (leader)",
                 scale, True, 10, 100),
        Scenario("scale-100", "scale: 1 master + 100 standbys, 1000 client units (leader)",
                 scale, True, 100, 1000, max_runs=1),
        Scenario("leader-juju4", "leader lifecycle on Juju 4 (no leader-get/leader-set); "
                 "1.4 needs leader-get, so no orig", lifecycle, True, 1, 3, JUJU4,
                 ("bare", "pgsql")),
        Scenario("modern-leader", "postgresql_client leader lifecycle against PostgreSQL 16 "
                 "(primary + 1 replica, secrets, 3 client units); 1.4 cannot speak it, so no orig",
                 modern, True, 1, 3, JUJU3, MODERN_VARIANTS, charms=MODERN_CHARMS),
        Scenario("modern-non-leader", "postgresql_client non-leader lifecycle (myapp/1; the "
                 "leader's hooks run too, unmeasured); no orig", modern, False, 1, 3, JUJU3,
                 MODERN_VARIANTS, charms=MODERN_CHARMS),
    ]
}  # fmt: skip
