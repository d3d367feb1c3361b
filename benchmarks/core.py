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
    return [
        obj
        for mod in modules
        for obj in vars(mod).values()
        if callable(obj) and hasattr(obj, "cache_clear")
    ]


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
    args = p.parse_args()
    result = measure(args.quick)
    if args.json:
        json.dump(result, sys.stdout)
    else:
        import run

        print(run.render_core(result))


if __name__ == "__main__":
    main()
