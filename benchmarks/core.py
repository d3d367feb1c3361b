#!/usr/bin/env python3
"""In-process cost of the pure protocol core (:mod:`pgsql.protocol`) at the scale points.

Runs with the interpreter of the ``pgsql`` variant (``run.py`` starts it); prints a table, or
JSON with ``--json``. The server bags are the ones the hook-level benchmark's server writes
(:class:`harness.Server`), built in memory.

Measured per call, in microseconds (median [min-max] over repetitions):

- ``parse``: what reading the server bags costs: every ``master`` and ``standbys`` connection
  string, ``allowed-units`` and ``allowed-subnets`` of every server unit bag;
- ``evaluate``: the readiness verdict over all bags (:func:`pgsql.protocol.evaluate`);
- ``snapshot + transitions``: the event diff against the previous state (a failover);
- ``whole hook``: evaluate, snapshot and transitions together, as a relation-changed hook does.

*cold* clears the protocol's parse caches before every call (a hook is a fresh process, so this
is what it pays); *warm* repeats the call on the same input.

``--imports`` measures instead what every hook pays to import the requirer it uses, after
``import ops``: ``import pgsql; pgsql.PostgreSQLClient`` against data_interfaces'
``DatabaseRequires`` (LIBPATCH 58, from ``postgresql-charms-single-kernel``, in the interpreter
given by ``--di-python``, by default the benchmark's ``di`` venv): the median (min-max) of 15
fresh processes each, bytecode cached (one unmeasured warm-up process first), timed inside the
process from just after ``import ops`` to just after the requirer class is loaded.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness

POINTS = ((1, 3), (10, 100), (100, 1000))
HERE = os.path.dirname(os.path.abspath(__file__))
DI_PYTHON = os.path.join(HERE, ".work", "venv-di", "bin", "python")
#: what a requirer charm imports, after ``import ops``: (label, code)
REQUIRERS = (
    ("import pgsql; pgsql.PostgreSQLClient", "import pgsql; pgsql.PostgreSQLClient"),
    (
        "data_interfaces DatabaseRequires",
        "from single_kernel_postgresql.lib.charms.data_platform_libs.v0.data_interfaces "
        "import DatabaseRequires",
    ),
)
_TIMED = (
    "import time, ops; t0 = time.perf_counter(); {code}; print((time.perf_counter() - t0) * 1000)"
)


def import_cost(python, code, reps=15):
    """Milliseconds ``code`` takes after ``import ops``, in ``reps`` fresh ``python`` processes."""
    import subprocess

    cmd = [python, "-W", "ignore", "-c", _TIMED.format(code=code)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(cmd, check=True, capture_output=True, env=env)  # warm-up: bytecode cached
    samples = sorted(
        float(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout)
        for _ in range(reps)
    )
    return {"median": statistics.median(samples), "min": samples[0], "max": samples[-1], "n": reps}


def imports(di_python=DI_PYTHON, reps=15):
    """The requirers' import cost (see the module docstring); a missing interpreter is noted."""
    rows = []
    for (label, code), python in zip(REQUIRERS, (sys.executable, di_python)):
        if not os.path.exists(python):
            rows.append({"case": label, "error": f"{python} not found (run benchmarks/run.py)"})
            continue
        rows.append({"case": label, "python": python, "ms": import_cost(python, code, reps)})
    return {"imports": rows, "loadavg": os.getloadavg()}


def render_imports(result):
    lines = [
        "== requirer import after `import ops`, ms: median [min-max] of "
        f"fresh processes (load average {result['loadavg'][0]:.2f}) =="
    ]
    for row in result["imports"]:
        if "error" in row:
            lines.append(f"{row['case']:<44}not measured: {row['error']}")
        else:
            m = row["ms"]
            lines.append(
                f"{row['case']:<44}{m['median']:6.1f} [{m['min']:.1f}-{m['max']:.1f}]  n={m['n']}"
            )
    return "\n".join(lines)


class _MemoryModel:
    """Just enough of :class:`harness.Model` for :class:`harness.Server`, in memory."""

    def __init__(self):
        self.bags = {}

    def bag(self, rel_id, name):
        return self.bags.get(name, {})

    def set_bag(self, rel_id, name, data):
        changed = self.bags.get(name) != data
        self.bags[name] = data
        return changed


def server_bags(n, m, master_visible=True, master=0):
    """(local unit bag, remote unit bags) for 1 master + n standbys and m client units."""
    model = _MemoryModel()
    clients = [f"{harness.CLIENT_APP}/{i}" for i in range(m)]
    servers = [f"{harness.SERVER_APP}/{i}" for i in range(n + 1)]
    model.set_bag(
        harness.REL_ID, harness.CLIENT_APP, {"database": "mydbname", "extensions": "citext"}
    )
    server = harness.Server(model, servers, clients)
    server.phase = "ready"
    server.master = servers[master]
    server.master_visible = master_visible
    server.publish()
    local = harness.juju_keys(harness.client_addr(0))
    return local, {u: model.bags[u] for u in servers}


def _caches(*modules):
    """Every lru cache of the modules and of their loaded submodules (the protocol's are lazy)."""
    names = tuple(m.__name__ for m in modules)
    found = {}
    for name, mod in list(sys.modules.items()):
        if mod is None or not name.startswith(names):
            continue
        for obj in vars(mod).values():
            if callable(obj) and hasattr(obj, "cache_clear"):
                found[id(obj)] = obj
    return list(found.values())


def _time(fn, reps, clear):
    samples = []
    for _ in range(reps):
        for c in clear:
            c.cache_clear()
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    return {"median": statistics.median(samples), "min": samples[0], "max": samples[-1], "n": reps}


def measure(quick=False):
    from pgsql import connstr, protocol

    protocol.evaluate  # noqa: B018 - loads the pgsql interface's module (lazy) before scanning
    caches = _caches(protocol, connstr)
    request = protocol.Request.build(database="mydbname", extensions=["citext"])
    unit = f"{harness.CLIENT_APP}/0"
    rows = []
    for n, m in POINTS:
        if quick and n > 10:
            continue
        reps = 30 if n >= 100 else 200
        local, bags = server_bags(n, m)
        _, before = server_bags(n, m, master_visible=False)

        def parse(bags=bags):
            for bag in bags.values():
                connstr.ConnectionString(bag["master"])
                for s in protocol.split_standbys(bag.get("standbys")):
                    connstr.ConnectionString(s)
                protocol.split_units(bag.get("allowed-units"))
                protocol.split_list(bag.get("allowed-subnets"))

        def evaluate(bags=bags, local=local):
            return protocol.evaluate(request, unit, local, harness.SERVER_APP, {}, bags)

        ready = evaluate()
        assert ready.ready, ready.why() if hasattr(ready, "why") else ready
        prev = protocol.evaluate(request, unit, local, harness.SERVER_APP, {}, before).snapshot()

        def diff(ready=ready, prev=prev):
            return protocol.transitions(prev, ready.snapshot())

        def whole(prev=prev):
            return protocol.transitions(prev, evaluate().snapshot())

        point = f"N={n} M={m}"
        for op, fn in (
            ("parse (all server bags)", parse),
            ("evaluate (readiness)", evaluate),
            ("snapshot + transitions", diff),
            ("whole hook", whole),
        ):
            rows.append(
                {
                    "point": point,
                    "op": op,
                    "cold_us": _time(fn, reps, caches),
                    "warm_us": _time(fn, reps, []),
                }
            )
    return {"rows": rows}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--json", action="store_true")
    p.add_argument("--quick", action="store_true", help="skip the N=100, M=1000 point")
    p.add_argument("--imports", action="store_true", help="the requirers' import cost instead")
    p.add_argument("--di-python", default=DI_PYTHON, help="interpreter with data_interfaces")
    p.add_argument("--reps", type=int, default=15, help="fresh processes per import case")
    args = p.parse_args()
    if args.imports:
        result = imports(args.di_python, args.reps)
        print(json.dumps(result) if args.json else render_imports(result))
        return
    result = measure(args.quick)
    if args.json:
        json.dump(result, sys.stdout)
    else:
        import run

        print(run.render_core(result))


if __name__ == "__main__":
    main()
