#!/usr/bin/env python3
"""Benchmark the pgsql client library against plain ops (``bare``) and ops-lib-pgsql 1.4 (``orig``).

Usage (from the repository root)::

    python3 benchmarks/run.py                 # everything, 5 runs; sets up its venvs first
    python3 benchmarks/run.py --quick         # 2 runs, no N=100/M=1000 point
    python3 benchmarks/run.py --scenario leader --scenario scale-10 --runs 3
    python3 benchmarks/run.py --json out.json # also write every number as JSON

See ``benchmarks/README.md`` for what is measured and how to read the tables.
"""

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import harness  # noqa: E402

WORK = os.path.join(HERE, ".work")
VARIANTS = ("bare", "orig", "di", "pgsql", "pgsql-1x")
OPS_SPEC = "ops>=3,<4"
ORIG_SPEC = "ops-lib-pgsql==1.4"
#: data_interfaces LIBPATCH 58 (single_kernel_postgresql/lib/charms/data_platform_libs/v0/)
DI_SPEC = "postgresql-charms-single-kernel==16.3.20"
DI_CLASS = (
    "from single_kernel_postgresql.lib.charms.data_platform_libs.v0.data_interfaces "
    "import DatabaseRequires"
)
#: ratios printed when both variants ran (a/b)
PAIRS = (
    ("pgsql", "bare"),
    ("pgsql", "di"),
    ("di", "bare"),
    ("pgsql-1x", "bare"),
    ("pgsql", "orig"),
    ("orig", "bare"),
)
LIB = "import ops.lib; ops.lib.use('pgsql', 1, 'postgresql-charmers@lists.launchpad.net')"
SHORT = {
    "relation-get": "rget",
    "relation-set": "rset",
    "relation-ids": "rids",
    "relation-list": "rlist",
    "is-leader": "lead?",
    "juju-log": "log",
    "leader-get": "lget",
    "leader-set": "lset",
    "config-get": "cfg",
    "status-set": "sset",
    "status-get": "sget",
    "application-version-set": "ver",
    "secret-get": "secget",
    "secret-info-get": "secinfo",
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Environments
# ---------------------------------------------------------------------------------------------


def _pip(venv, *args):
    subprocess.run(
        [
            os.path.join(venv, "bin", "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *args,
        ],
        check=True,
    )


def _venv(name, wanted, install):
    """Create/refresh ``.work/<name>`` unless its stamp already says ``wanted``."""
    venv = os.path.join(WORK, name)
    stamp = os.path.join(venv, ".bench-stamp")
    py = os.path.join(venv, "bin", "python")
    if os.path.exists(stamp) and os.path.exists(py):
        with open(stamp) as f:
            if f.read() == wanted:
                return py
    log(f"setting up {venv} ...")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    install(venv)
    with open(stamp, "w") as f:
        f.write(wanted)
    return py


def _sources_digest():
    h = hashlib.sha256()
    for base in (os.path.join(ROOT, "src"),):
        for dirpath, dirnames, files in sorted(os.walk(base)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".py", ".typed")):
                    path = os.path.join(dirpath, name)
                    h.update(os.path.relpath(path, ROOT).encode())
                    with open(path, "rb") as f:
                        h.update(f.read())
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def _ops_version(py):
    out = subprocess.run(
        [py, "-c", "import ops; print(ops.__version__)"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _probe_lib(py, env=None):
    """None if ``ops.lib.use('pgsql', 1, ...)`` gives a PostgreSQLClient, else why not."""
    code = f"{LIB}.PostgreSQLClient"
    proc = subprocess.run(
        [py, "-W", "ignore", "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode == 0:
        return None
    lines = proc.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit {proc.returncode}"


def setup_variants(args):
    """The variants to run, and notes on those that cannot run."""
    charms = os.path.join(HERE, "charms")
    variants, notes = {}, []
    if args.python:
        # one existing interpreter (with ops, and the project importable) for bare and pgsql
        py = args.python
        proc = subprocess.run(
            [py, "-c", "import os, pgsql; print(os.path.dirname(os.path.dirname(pgsql.__file__)))"],
            capture_output=True,
            text=True,
            check=False,
        )
        path = proc.stdout.strip() or os.path.join(ROOT, "src")
        env = dict(os.environ, PYTHONPATH=path)
        variants["bare"] = harness.Variant("bare", py, os.path.join(charms, "bare"))
        why = _probe_lib(py, env)
        if why is None:
            variants["pgsql"] = harness.Variant("pgsql", py, os.path.join(charms, "seed"), path)
        else:
            notes.append(f"pgsql: skipped, the library is not usable yet ({why})")
        ops_version = _ops_version(py)
        for name in ("orig", "di"):
            if name in args.variants:
                notes.append(f"{name}: skipped with --python (it needs its own venv)")
    else:
        os.makedirs(WORK, exist_ok=True)
        py_bare = _venv("venv-bare", args.ops, lambda v: _pip(v, args.ops))
        ops_version = _ops_version(py_bare)
        pin = f"ops=={ops_version}"
        variants["bare"] = harness.Variant("bare", py_bare, os.path.join(charms, "bare"))
        if "orig" in args.variants:
            py = _venv("venv-orig", f"{pin}\n{ORIG_SPEC}", lambda v: _pip(v, pin, ORIG_SPEC))
            why = _probe_lib(py)
            if why is None:
                variants["orig"] = harness.Variant("orig", py, os.path.join(charms, "seed"))
            else:
                notes.append(f"orig: skipped, 1.4 does not load ({why})")
        if "pgsql" in args.variants:

            def install_new(venv):
                _pip(venv, pin)
                _pip(venv, "--force-reinstall", "--no-deps", ROOT)

            py = _venv("venv-new", f"{pin}\n{_sources_digest()}", install_new)
            why = _probe_lib(py)
            if why is None:
                variants["pgsql"] = harness.Variant("pgsql", py, os.path.join(charms, "seed"))
            else:
                notes.append(f"pgsql: skipped, the library is not usable yet ({why})")
        if "di" in args.variants:
            py = _venv("venv-di", f"{pin}\n{DI_SPEC}", lambda v: _pip(v, pin, DI_SPEC))
            variants["di"] = harness.Variant("di", py, os.path.join(charms, "di-modern"))
    if "pgsql" in variants:
        # the same interpreter, the 1.x-style seed charm (postgresql_client scenarios only)
        new = variants["pgsql"]
        variants["pgsql-1x"] = harness.Variant("pgsql-1x", new.python, new.charm, new.pythonpath)
    selected = {k: v for k, v in variants.items() if k in args.variants}
    return selected, notes, ops_version


# ---------------------------------------------------------------------------------------------
# Running and summarising
# ---------------------------------------------------------------------------------------------


def _stats(xs):
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=4) if len(xs) >= 2 else [xs[0], xs[0], xs[0]]
    return {
        "median": statistics.median(xs),
        "min": xs[0],
        "max": xs[-1],
        "q1": q[0],
        "q3": q[2],
        "n": len(xs),
    }


def run_scenario(scenario, variants, runs, tool_python):
    names = [
        n for n in VARIANTS if n in variants and n in (scenario.variants or harness.PGSQL_VARIANTS)
    ]
    raw = {n: [] for n in names}
    runs = min(runs, scenario.max_runs or runs)
    for i in range(runs):
        order = names[i % len(names) :] + names[: i % len(names)]  # alternate who goes first
        for name in order:
            t0 = time.perf_counter()
            workdir = os.path.join(tool_python.workdir, scenario.name, name)
            raw[name].append(scenario.run(variants[name], workdir, tool_python.python))
            log(f"  {scenario.name} run {i + 1}/{runs} {name}: {time.perf_counter() - t0:.1f}s")
    return summarise(scenario, names, raw)


def summarise(scenario, names, raw):
    steps = [s["step"] for s in raw[names[0]][0]]
    out = {
        "scenario": scenario.name,
        "title": scenario.title,
        "juju": scenario.juju,
        "variants": names,
        "runs": len(raw[names[0]]),
        "steps": [],
        "warnings": [],
    }
    for idx, label in enumerate(steps):
        row = {"step": label, "by_variant": {}}
        for n in names:
            per_run = [r[idx] for r in raw[n]]
            assert all(s["step"] == label for s in per_run)
            calls = per_run[0]["calls"]
            if any(s["calls"] != calls for s in per_run):
                out["warnings"].append(f"{n}: call counts varied between runs at '{label}'")
            row["by_variant"][n] = {
                "hooks": len(per_run[0]["hooks"]),
                "calls": calls,
                "total_calls": sum(calls.values()),
                "ms": _stats([s["ms"] for s in per_run]),
                "state": per_run[0]["state"],
            }
        states = {json.dumps(row["by_variant"][n]["state"]) for n in names}
        if len(states) > 1:
            raise harness.StateError(f"variants disagree after '{label}': {sorted(states)}")
        out["steps"].append(row)
    totals = {}
    for n in names:
        per_run_ms = [sum(s["ms"] for s in r) for r in raw[n]]
        tools = {}
        for s in raw[n][0]:
            for tool, c in s["calls"].items():
                tools[tool] = tools.get(tool, 0) + c
        totals[n] = {
            "hooks": sum(len(s["hooks"]) for s in raw[n][0]),
            "calls": dict(sorted(tools.items())),
            "total_calls": sum(tools.values()),
            "ms": _stats(per_run_ms),
            "per_run_ms": per_run_ms,
        }
    out["totals"] = totals
    ratios = {}
    for a, b in PAIRS:
        if a in totals and b in totals:
            per_run = [x / y for x, y in zip(totals[a]["per_run_ms"], totals[b]["per_run_ms"])]
            ratios[f"{a}/{b}"] = {
                "calls": totals[a]["total_calls"] / totals[b]["total_calls"],
                "ms": _stats(per_run),
            }
    out["ratios"] = ratios
    return out


def _fmt_ms(s):
    return f"{s['median']:.0f} [{s['min']:.0f}-{s['max']:.0f}]"


def _ratio(a, b):
    return f"{a / b:.2f}" if b else "-"


def render(res):
    names = res["variants"]
    pairs = [p for p in PAIRS if p[0] in names and p[1] in names]
    lines = [f"== {res['scenario']}: {res['title']} -- Juju {res['juju']}, {res['runs']} run(s) =="]
    width = max(len(s["step"]) for s in res["steps"]) + 2
    head = f"{'step':<{width}}{'hooks':>7}" + "".join(f"{n:>7}" for n in names)
    head += "".join(f"{a + '/' + b:>12}" for a, b in pairs)
    lines += ["", "hook-tool calls (exact; the headline)", head]

    def calls_row(label, by):
        hooks = sorted({by[n]["hooks"] for n in names})
        h = str(hooks[0]) if len(hooks) == 1 else "/".join(str(by[n]["hooks"]) for n in names)
        row = f"{label:<{width}}{h:>7}" + "".join(f"{by[n]['total_calls']:>7}" for n in names)
        return row + "".join(
            f"{_ratio(by[a]['total_calls'], by[b]['total_calls']):>12}" for a, b in pairs
        )

    for s in res["steps"]:
        lines.append(calls_row(s["step"], s["by_variant"]))
    lines.append(calls_row("TOTAL", res["totals"]))

    col = 20
    lines += [
        "",
        "wall time per step, ms: median [min-max] over runs",
        f"{'step':<{width}}"
        + "".join(f"{n:>{col}}" for n in names)
        + "".join(f"{a + '/' + b:>12}" for a, b in pairs),
    ]
    for s in res["steps"]:
        by = s["by_variant"]
        row = f"{s['step']:<{width}}" + "".join(f"{_fmt_ms(by[n]['ms']):>{col}}" for n in names)
        row += "".join(
            f"{_ratio(by[a]['ms']['median'], by[b]['ms']['median']):>12}" for a, b in pairs
        )
        lines.append(row)
    t = res["totals"]
    row = f"{'TOTAL':<{width}}" + "".join(f"{_fmt_ms(t[n]['ms']):>{col}}" for n in names)
    row += "".join(f"{_ratio(t[a]['ms']['median'], t[b]['ms']['median']):>12}" for a, b in pairs)
    lines.append(row)
    for key, r in res["ratios"].items():
        m = r["ms"]
        lines.append(
            f"  {key}: calls {r['calls']:.2f}; wall time, per-run ratio of totals: median "
            f"{m['median']:.2f} [{m['min']:.2f}-{m['max']:.2f}], IQR {m['q1']:.2f}-{m['q3']:.2f}"
        )

    tools = sorted({tool for n in names for tool in t[n]["calls"]})
    lines += [
        "",
        "calls by tool over the whole scenario",
        f"{'tool':<26}" + "".join(f"{n:>7}" for n in names),
    ]
    for tool in tools:
        lines.append(f"{tool:<26}" + "".join(f"{t[n]['calls'].get(tool, 0):>7}" for n in names))
    lines += ["", "per step, by tool (" + ", ".join(f"{v}={k}" for k, v in SHORT.items()) + ")"]
    for s in res["steps"]:
        parts = []
        for n in names:
            c = s["by_variant"][n]["calls"]
            parts.append(f"{n}: " + " ".join(f"{SHORT.get(k, k)}={v}" for k, v in c.items()))
        lines.append(f"  {s['step']:<{width}}" + " | ".join(parts))
    for w in res["warnings"]:
        lines.append(f"WARNING: {w}")
    return "\n".join(lines)


def targets(res):
    """The issue's targets, as PASS/FAIL lines (informational)."""
    t, out = res["totals"], []
    if "pgsql" not in t or "bare" not in t:
        return out
    calls = res["ratios"]["pgsql/bare"]["calls"]
    ms = res["ratios"]["pgsql/bare"]["ms"]["median"]
    out.append(f"{'PASS' if calls <= 1.2 else 'FAIL'} calls pgsql/bare {calls:.2f} <= 1.2")
    out.append(f"{'PASS' if ms <= 1.2 else 'FAIL'} wall time pgsql/bare {ms:.2f} <= 1.2")
    for s in res["steps"]:
        if s["step"] == "changed: nothing new":
            p, b = (s["by_variant"][n]["total_calls"] for n in ("pgsql", "bare"))
            out.append(f"{'PASS' if p <= b + 1 else 'FAIL'} nothing-new calls {p} <= {b} + 1")
    if res["scenario"].startswith("modern-"):
        # issue #20: never costlier than data_interfaces, and within 1.1 x the floor
        p, b = t["pgsql"]["total_calls"], t["bare"]["total_calls"]
        out.append(f"{'PASS' if p <= 1.1 * b else 'FAIL'} calls pgsql/bare {p}/{b} <= 1.1")
        if "di" in t:
            d = t["di"]["total_calls"]
            out.append(f"{'PASS' if p <= d else 'FAIL'} calls pgsql <= di: {p} <= {d}")
    return [f"  target: {x}" for x in out]


# ---------------------------------------------------------------------------------------------
# In-process: import cost and the protocol core
# ---------------------------------------------------------------------------------------------


def import_cost(variants, reps):
    """Fresh-interpreter cost of ``import ops`` and of what ``import pgsql`` adds to it."""
    cases = [("bare", "python -c pass", "pass"), ("bare", "import ops", "import ops")]
    if "orig" in variants:
        cases.append(("orig", "import ops, pgsql (1.4)", "import ops, pgsql"))
    if "pgsql" in variants:
        cases += [
            ("pgsql", "import ops, pgsql", "import ops, pgsql"),
            (
                "pgsql",
                "import ops, pgsql; pgsql.PostgreSQLClient",
                "import ops, pgsql; pgsql.PostgreSQLClient",
            ),
            ("pgsql", "ops.lib.use('pgsql', ...)", LIB),
        ]
    if "orig" in variants:
        cases.append(("orig", "ops.lib.use('pgsql', ...) (1.4)", LIB))
    times = {label: [] for _, label, _ in cases}
    pgsql_us = {label: [] for _, label, _ in cases}
    for _ in range(reps):
        for name, label, code in cases:
            v = variants[name]
            env = dict(os.environ)
            if v.pythonpath:
                env["PYTHONPATH"] = v.pythonpath
            t0 = time.perf_counter()
            proc = subprocess.run(
                [v.python, "-X", "importtime", "-W", "ignore", "-c", code],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            times[label].append((time.perf_counter() - t0) * 1000)
            for line in proc.stderr.splitlines():
                parts = line.split("|")
                mod = parts[2].strip() if len(parts) == 3 else ""
                if mod == "pgsql" or (name == "orig" and mod in ("pgconnstr", "yaml")):
                    pgsql_us[label].append(int(parts[1].strip()))
    out = []
    for name, label, _ in cases:
        us = sum(pgsql_us[label]) / reps if pgsql_us[label] else None
        out.append({"variant": name, "case": label, "ms": _stats(times[label]), "pgsql_us": us})
    return out


def tool_cost(tool_python, workdir, reps):
    """Wall time of one fake hook-tool call (the harness's own overhead per counted call)."""
    import tempfile

    with tempfile.TemporaryDirectory(dir=workdir if os.path.isdir(workdir) else None) as tmp:
        model = harness.Model(os.path.join(tmp, "model"), leader="myapp/0")
        model.add_relation(harness.REL_ID, harness.ENDPOINT, harness.SERVER_APP)
        model.join(harness.REL_ID, "postgresql/0")
        model.set_bag(harness.REL_ID, "postgresql/0", harness.juju_keys("10.1.0.1"))
        bin_dir = os.path.join(tmp, "bin")
        harness.hooktool.write_bin(bin_dir, tool_python, harness.JUJU3)
        env = {"FAKEJUJU_MODEL": model.root, "JUJU_UNIT_NAME": "myapp/0", "PATH": bin_dir}
        cases = {
            "is-leader --format=json": ["is-leader", "--format=json"],
            "relation-get -r db:3 - postgresql/0": [
                "relation-get", "--format=json", "-r", "db:3", "-", "postgresql/0"
            ],
            "python -S -c pass (floor)": [tool_python, "-S", "-c", "pass"],
        }  # fmt: skip
        out = {}
        for label, cmd in cases.items():
            samples = []
            for _ in range(reps):
                t0 = time.perf_counter()
                subprocess.run([os.path.join(bin_dir, cmd[0]) if "/" not in cmd[0] else cmd[0],
                                *cmd[1:]], env=env, capture_output=True, check=True)  # fmt: skip
                samples.append((time.perf_counter() - t0) * 1000)
            out[label] = _stats(samples)
        return out


def render_tools(costs):
    lines = ["== fake hook tool, wall ms per call: median [min-max] =="]
    for label, s in costs.items():
        lines.append(f"  {label:<40}{_fmt_ms(s) if s['median'] >= 10 else _fmt_ms1(s):>20}")
    return "\n".join(lines)


def _fmt_ms1(s):
    return f"{s['median']:.1f} [{s['min']:.1f}-{s['max']:.1f}]"


def render_imports(rows):
    lines = [
        "== import cost: fresh interpreter per sample (python -X importtime) ==",
        f"{'case':<46}{'wall ms median [min-max]':>26}{'pgsql* cumulative us':>22}",
    ]
    base = next((r["ms"]["median"] for r in rows if r["case"] == "import ops"), None)
    for r in rows:
        us = "-" if r["pgsql_us"] is None else f"{r['pgsql_us']:.0f}"
        delta = ""
        if base is not None and r["case"] not in ("python -c pass", "import ops"):
            delta = f"  ({r['ms']['median'] - base:+.1f} ms vs import ops)"
        lines.append(f"{r['case']:<46}{_fmt_ms(r['ms']):>26}{us:>22}{delta}")
    lines.append(
        "  (pgsql* = -X importtime cumulative of the top-level pgsql import; "
        "for 1.4 plus pgconnstr and yaml)"
    )
    return "\n".join(lines)


def requirer_imports(variants, reps):
    """``core.py --imports``: pgsql.PostgreSQLClient against data_interfaces' DatabaseRequires."""
    new = variants["pgsql"]
    env = dict(os.environ)
    if new.pythonpath:
        env["PYTHONPATH"] = new.pythonpath
    di = variants["di"].python if "di" in variants else os.path.join(WORK, "venv-di/bin/python")
    cmd = [new.python, os.path.join(HERE, "core.py"), "--imports", "--json", "--reps", str(reps)]
    proc = subprocess.run(
        [*cmd, "--di-python", di], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(proc.stdout)


def core_cost(variant, quick):
    env = dict(os.environ)
    if variant.pythonpath:
        env["PYTHONPATH"] = variant.pythonpath
    cmd = [variant.python, os.path.join(HERE, "core.py"), "--json"] + (["--quick"] if quick else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(proc.stdout)


# ---------------------------------------------------------------------------------------------


def machine(ops_version):
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "ops": ops_version,
        "platform": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
    }


class _Tools:
    def __init__(self, python, workdir):
        self.python = python
        self.workdir = workdir


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--runs", type=int, default=None, help="runs per scenario (default 5, quick 2)")
    p.add_argument(
        "--scenario",
        action="append",
        choices=sorted(harness.SCENARIOS),
        help="scenario(s) to run (default: all; --quick skips scale-100)",
    )
    p.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset")
    p.add_argument("--quick", action="store_true", help="fewer runs, skip the largest point")
    p.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    p.add_argument("--ops", default=OPS_SPEC, help=f"ops requirement for every venv ({OPS_SPEC})")
    p.add_argument("--python", help="run bare and pgsql with this existing interpreter, no venvs")
    p.add_argument("--workdir", default=os.path.join(WORK, "runs"), help="scratch directory")
    p.add_argument("--no-imports", action="store_true", help="skip import-cost/core measurements")
    args = p.parse_args(argv)
    args.variants = [v for v in args.variants.split(",") if v]
    runs = args.runs or (2 if args.quick else 5)
    names = args.scenario or [n for n in harness.SCENARIOS if not (args.quick and n == "scale-100")]

    variants, notes, ops_version = setup_variants(args)
    info = machine(ops_version)
    for n in notes:
        log(f"NOTE {n}")
    tools = _Tools(os.path.realpath(sys.executable), args.workdir)
    report = {
        "machine": info,
        "notes": notes,
        "variants": {k: v.to_dict() for k, v in variants.items()},
        "scenarios": [],
    }
    print(
        f"# pgsql benchmark, {info['date']}: {info['nproc']} x {info['cpu']}; "
        f"Python {info['python']}, ops {ops_version}; variants {', '.join(variants)}; "
        f"load average at start {info['loadavg_at_start'][0]:.2f}"
    )
    for n in notes:
        print(f"# {n}")
    failed = False
    for name in names:
        scenario = harness.SCENARIOS[name]
        log(f"scenario {name} ...")
        try:
            res = run_scenario(scenario, variants, runs, tools)
        except (harness.HookError, harness.StateError) as e:
            print(f"\n== {name}: FAILED ==\n{e}", flush=True)
            report["scenarios"].append({"scenario": name, "error": str(e)})
            failed = True
            continue
        report["scenarios"].append(res)
        print("\n" + render(res))
        for line in targets(res):
            print(line)
        sys.stdout.flush()
    if not args.no_imports:
        reps = 5 if args.quick else 15
        report["tools"] = tool_cost(tools.python, args.workdir, reps * 2)
        print("\n" + render_tools(report["tools"]))
        report["imports"] = import_cost(variants, reps)
        print("\n" + render_imports(report["imports"]))
        if "pgsql" in variants:
            import core

            req = report["requirer_imports"] = requirer_imports(variants, 15)
            if "error" in req:
                print(f"\n== requirer imports: not measured ({req['error']})")
            else:
                print("\n" + core.render_imports(req))
            report["core"] = core_cost(variants["pgsql"], args.quick)
            print("\n" + render_core(report["core"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, sort_keys=True)
    return 1 if failed else 0


def render_core(core):
    if "error" in core:
        return f"== protocol core: not measured ({core['error']}) =="
    lines = [
        "== protocol core, in-process (pgsql.protocol), us per call: median [min-max] ==",
        f"{'point':<22}{'op':<34}{'cold':>22}{'warm':>22}",
    ]
    for row in core["rows"]:
        lines.append(
            f"{row['point']:<22}{row['op']:<34}"
            f"{_fmt_us(row['cold_us']):>22}{_fmt_us(row['warm_us']):>22}"
        )
    lines.append(
        "  cold: protocol caches cleared before each call (what a fresh hook pays); "
        "warm: repeated on the same input"
    )
    return "\n".join(lines)


def _fmt_us(s):
    return f"{s['median']:.0f} [{s['min']:.0f}-{s['max']:.0f}]"


if __name__ == "__main__":
    sys.exit(main())
