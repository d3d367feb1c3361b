"""A fake Juju hook-tool backend: one implementation behind every tool on PATH.

Each tool on PATH is a two-line wrapper (see :func:`write_bin`) started with ``python -S`` that
calls :func:`main` with its own name. State lives in a *model directory* named by
``FAKEJUJU_MODEL``:

- ``meta.json``: the local application, its leader, the relations (endpoint, remote
  application, joined remote units), config, leadership settings, statuses;
- ``bags/<relation id>/<name>.json``: one databag per application or unit (``/`` spelt ``@``);
- ``secrets/<id>.json``: one Juju secret (see :func:`secret_file`): its owner application, its
  revisions' contents, the relations it is granted on, and per consuming unit the revision it
  tracks and the label it gave the secret;
- ``calls``: one line per tool call (the tool's name), appended by every call;
- ``juju.log``: what ``juju-log`` was asked to log.

Writes take an ``fcntl`` lock on ``lock``. Juju's databag access rules are enforced, and a
refused call exits non-zero with a Juju-like ``ERROR`` line on stderr, as the real tools do:

- only the leader may read or write its own application's databag (lp:1869915);
- a unit writes only its own unit bag (``relation-set`` has no unit argument) or, as leader,
  its application bag; never a remote bag;
- a remote unit's bag can be read only while that unit is in the relation (or is the
  ``JUJU_REMOTE_UNIT`` of the running hook, as in ``relation-departed``);
- a secret can be read (``secret-get``) only by units of an application it is granted to (here:
  through a relation to its owner that still exists), else ``ERROR permission denied``; a
  consumer reads the revision it tracks (its first read tracks the latest), ``--refresh`` moves
  it to the latest, ``--peek`` reads the latest without tracking it; ``secret-info-get`` answers
  only the owner (``ERROR secret ... not found`` for a consumer, as Juju says).

Unknown tools are not installed at all, and unknown options fail: a charm that needs something
this fake does not do fails loudly instead of being measured doing nothing.
"""

# This module is imported by tools started with ``python -S``: standard library only, and
# nothing heavier than json/fcntl at import time.

import fcntl
import json
import os
import sys

#: Tools provided for each Juju major version; Juju 4 has no leader-get/leader-set.
TOOLS_COMMON = (
    "relation-get",
    "relation-set",
    "relation-ids",
    "relation-list",
    "is-leader",
    "juju-log",
    "config-get",
    "status-set",
    "status-get",
    "application-version-set",
    "secret-get",
    "secret-info-get",
)
TOOLS_JUJU3 = (*TOOLS_COMMON, "leader-get", "leader-set")


def tools_for(juju_version):
    """The hook tools a Juju of this version provides (``'3.6.8'`` -> leader-* included)."""
    return TOOLS_JUJU3 if int(juju_version.split(".")[0]) < 4 else TOOLS_COMMON


def write_bin(bin_dir, python, juju_version):
    """Create one executable wrapper per tool in ``bin_dir`` (an empty or new directory)."""
    os.makedirs(bin_dir, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    for tool in tools_for(juju_version):
        path = os.path.join(bin_dir, tool)
        with open(path, "w") as f:
            f.write(
                f"#!{python} -S\n"
                f"import sys; sys.path.insert(0, {here!r})\n"
                f"import hooktool; hooktool.main({tool!r})\n"
            )
        os.chmod(path, 0o755)


class ToolError(Exception):
    """A refused call: message for stderr and exit status."""

    def __init__(self, message, status=1):
        super().__init__(message)
        self.status = status


def bag_file(model, rel_id, name):
    return os.path.join(model, "bags", str(rel_id), name.replace("/", "@") + ".json")


def secret_file(model, secret_id):
    """The file of one secret, by its ID (the 20-character xid of ``secret:<xid>``).

    Its JSON: ``owner`` (application), ``revisions`` (revision number as a string -> content),
    ``latest`` (int), ``grants`` (relation ids, as strings), ``tracked`` (consumer unit ->
    revision it tracks), ``labels`` (consumer unit -> its label for the secret).
    """
    return os.path.join(model, "secrets", secret_id + ".json")


_XID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuv")


def secret_xid(ref):
    """``secret://<model-uuid>/<xid>``, ``secret:<xid>`` or ``<xid>`` -> ``<xid>`` (else None)."""
    ref = ref.strip()
    if ref.startswith("secret://"):
        ref = ref[len("secret://") :].partition("/")[2]
    elif ref.startswith("secret:"):
        ref = ref[len("secret:") :]
    if len(ref) == 20 and set(ref) <= _XID_CHARS:
        return ref
    return None


def _load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        if default is None:
            raise
        return default


def _save(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, sort_keys=True)
    os.replace(tmp, path)


class _Locked:
    def __init__(self, model):
        self.path = os.path.join(model, "lock")

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _parse(argv, flags, options):
    """Split argv into (set flags, option values, positionals); unknown options fail."""
    seen = set()
    values = {}
    rest = []
    i = 0
    only_positional = False
    while i < len(argv):
        arg = argv[i]
        if only_positional or not arg.startswith("-") or arg == "-":
            rest.append(arg)
        elif arg == "--":
            only_positional = True
        elif "=" in arg and arg.split("=", 1)[0] in options:
            key, value = arg.split("=", 1)
            values[key] = value
        elif arg in options:
            if i + 1 >= len(argv):
                raise ToolError(f"ERROR flag needs an argument: {arg}", 2)
            values[arg] = argv[i + 1]
            i += 1
        elif arg in flags:
            seen.add(arg)
        else:
            raise ToolError(f"ERROR flag provided but not defined: {arg}", 2)
        i += 1
    fmt = values.get("--format")
    if fmt is not None and fmt not in ("json", "yaml", "smart"):
        raise ToolError(f"ERROR unknown format {fmt!r}", 2)
    return seen, values, rest


class Context:
    """What one tool call sees: the model and the hook's environment."""

    def __init__(self, model):
        self.model = model
        self.meta = _load(os.path.join(model, "meta.json"))
        self.unit = os.environ["JUJU_UNIT_NAME"]
        self.app = self.unit.split("/")[0]
        self.leader = self.meta["leader"] == self.unit

    def relation(self, ref):
        """The relation named by ``-r`` (``3`` or ``db:3``), else the hook's own."""
        if ref is None:
            ref = os.environ.get("JUJU_RELATION_ID", "")
            if not ref:
                raise ToolError("ERROR no relation id specified", 2)
        endpoint, _, num = ref.rpartition(":")
        rel = self.meta["relations"].get(num)
        if rel is None or (endpoint and rel["endpoint"] != endpoint):
            raise ToolError(f'ERROR invalid value "{ref}" for option -r: relation not found', 2)
        return num, rel


def _out(data, fmt):
    if fmt in ("json", "yaml"):
        # JSON is valid YAML for the plain strings/maps/lists these tools return
        sys.stdout.write(json.dumps(data) + "\n")
    elif isinstance(data, dict):
        for k in sorted(data):
            sys.stdout.write(f"{k}: {data[k]}\n")
    elif isinstance(data, list):
        sys.stdout.write("".join(f"{x}\n" for x in data))
    elif data is not None:
        sys.stdout.write(f"{data}\n")


def _read_settings(text):
    """Settings given as ``--file``: ops 3 sends JSON, ops 2 YAML (needs PyYAML)."""
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        site = os.environ.get("FAKEJUJU_SITE")
        if site:
            sys.path.extend(site.split(os.pathsep))
        import yaml  # only for ops 2.x

        data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ToolError("ERROR expected a map of settings", 2)
    return {str(k): "" if v is None else str(v) for k, v in data.items()}


def relation_get(ctx, argv):
    flags, opts, pos = _parse(argv, {"--app"}, {"--format", "-r", "--relation"})
    num, rel = ctx.relation(opts.get("-r", opts.get("--relation")))
    key = pos[0] if pos else "-"
    is_app = "--app" in flags
    if len(pos) > 1:
        target = pos[1]
    else:
        target = os.environ.get("JUJU_REMOTE_APP" if is_app else "JUJU_REMOTE_UNIT", "")
        if not target:
            raise ToolError("ERROR no unit id specified", 2)
    if is_app:
        if target == ctx.app:
            if not ctx.leader:
                raise ToolError("ERROR permission denied")
        elif target != rel["remote_app"]:
            raise ToolError(f'ERROR application "{target}" not found in relation {num}')
    elif "/" not in target:
        raise ToolError(f'ERROR "{target}" is not a valid unit name', 2)
    elif target != ctx.unit:
        in_relation = target in rel["units"] or target == os.environ.get("JUJU_REMOTE_UNIT")
        if target.split("/")[0] != rel["remote_app"] or not in_relation:
            raise ToolError(
                f'ERROR cannot read settings for unit "{target}" in relation '
                f'"{rel["endpoint"]}:{num}": unit "{target}": settings not found'
            )
    bag = _load(bag_file(ctx.model, num, target), {})
    _out(bag if key == "-" else bag.get(key), opts.get("--format"))


def relation_set(ctx, argv):
    flags, opts, pos = _parse(argv, {"--app"}, {"--format", "-r", "--relation", "--file"})
    num, _rel = ctx.relation(opts.get("-r", opts.get("--relation")))
    settings = {}
    if "--file" in opts:
        src = opts["--file"]
        if src == "-":
            settings.update(_read_settings(sys.stdin.read()))
        else:
            with open(src) as f:
                settings.update(_read_settings(f.read()))
    for item in pos:
        if "=" not in item:
            raise ToolError(f'ERROR expected "key=value", got "{item}"', 2)
        k, v = item.split("=", 1)
        settings[k] = v
    if "--app" in flags:
        if not ctx.leader:
            raise ToolError("ERROR cannot write relation settings: permission denied")
        target = ctx.app
    else:
        target = ctx.unit
    with _Locked(ctx.model):
        path = bag_file(ctx.model, num, target)
        bag = _load(path, {})
        for k, v in settings.items():
            if v == "":
                bag.pop(k, None)
            else:
                bag[k] = v
        _save(path, bag)


def relation_ids(ctx, argv):
    _flags, opts, pos = _parse(argv, set(), {"--format"})
    if len(pos) != 1:
        raise ToolError("ERROR expected an endpoint name", 2)
    ids = [
        f"{rel['endpoint']}:{num}"
        for num, rel in sorted(ctx.meta["relations"].items(), key=lambda kv: int(kv[0]))
        if rel["endpoint"] == pos[0]
    ]
    _out(ids, opts.get("--format"))


def relation_list(ctx, argv):
    flags, opts, pos = _parse(argv, {"--app"}, {"--format", "-r", "--relation"})
    if pos:
        raise ToolError(f"ERROR unrecognized args: {pos}", 2)
    _num, rel = ctx.relation(opts.get("-r", opts.get("--relation")))
    _out(rel["remote_app"] if "--app" in flags else rel["units"], opts.get("--format"))


def is_leader(ctx, argv):
    _flags, opts, _pos = _parse(argv, set(), {"--format"})
    _out(ctx.leader, opts.get("--format") or "json")


def config_get(ctx, argv):
    _flags, opts, pos = _parse(argv, {"--all", "-a"}, {"--format"})
    config = ctx.meta.get("config", {})
    _out(config.get(pos[0]) if pos else config, opts.get("--format"))


def juju_log(ctx, argv):
    _flags, opts, pos = _parse(argv, {"--debug"}, {"--log-level", "-l", "--format"})
    level = opts.get("--log-level", opts.get("-l", "INFO"))
    with open(os.path.join(ctx.model, "juju.log"), "a") as f:
        f.write(f"{ctx.unit} {level} {' '.join(pos)}\n")


def leader_get(ctx, argv):
    _flags, opts, pos = _parse(argv, set(), {"--format"})
    settings = ctx.meta.get("leader_settings", {})
    key = pos[0] if pos else "-"
    value = settings if key == "-" else settings.get(key)
    if value is not None:
        _out(value, opts.get("--format") or "smart")


def leader_set(ctx, argv):
    _flags, _opts, pos = _parse(argv, set(), set())
    if not ctx.leader:
        raise ToolError(
            "ERROR cannot write leadership settings: cannot write settings: not the leader"
        )
    _update_meta(ctx, "leader_settings", pos)


def _update_meta(ctx, section, items):
    with _Locked(ctx.model):
        path = os.path.join(ctx.model, "meta.json")
        meta = _load(path)
        data = meta.setdefault(section, {})
        for item in items:
            if "=" not in item:
                raise ToolError(f'ERROR expected "key=value", got "{item}"', 2)
            k, v = item.split("=", 1)
            if v == "":
                data.pop(k, None)
            else:
                data[k] = v
        _save(path, meta)


def _bool_flag(argv, name):
    """Go's ``--flag=true|false`` spelling of a boolean flag (ops 3.x's hookcmds send it)."""
    out = []
    for arg in argv:
        key, eq, value = arg.partition("=")
        if key == name and eq:
            if value.lower() not in ("true", "false", "1", "0", "t", "f"):
                raise ToolError(f"ERROR invalid boolean value {value!r} for -{name}", 2)
            if value.lower() in ("true", "1", "t"):
                out.append(name)
            continue
        out.append(arg)
    return out


def status_set(ctx, argv):
    flags, _opts, pos = _parse(_bool_flag(argv, "--application"), {"--application"}, set())
    if not pos or pos[0] not in ("active", "blocked", "maintenance", "waiting"):
        raise ToolError(f"ERROR invalid status {pos[:1]}", 2)
    is_app = "--application" in flags
    if is_app and not ctx.leader:
        raise ToolError("ERROR setting application status: this unit is not the leader")
    who = ctx.app if is_app else ctx.unit
    _update_meta(ctx, "status", [f"{who}={pos[0]}: {' '.join(pos[1:])}"])


def status_get(ctx, argv):
    argv = _bool_flag(argv, "--application")
    flags, opts, _pos = _parse(argv, {"--application", "--include-data"}, {"--format"})
    who = ctx.app if "--application" in flags else ctx.unit
    raw = ctx.meta.get("status", {}).get(who, "unknown: ")
    status, _, message = raw.partition(": ")
    _out({"status": status, "message": message, "status-data": {}}, opts.get("--format"))


def application_version_set(ctx, argv):
    _flags, _opts, pos = _parse(argv, set(), set())
    _update_meta(ctx, "workload_version", [f"{ctx.app}={' '.join(pos)}"])


def _find_secret(ctx, ref, label):
    """(xid, secret) named by an ID, else by this unit's label for it."""
    if ref is not None:
        xid = secret_xid(ref)
        if xid is None:
            raise ToolError(f'ERROR secret URI "{ref}" not valid')
        try:
            return xid, _load(secret_file(ctx.model, xid))
        except FileNotFoundError:
            raise ToolError(f'ERROR secret "{xid}" not found') from None
    folder = os.path.join(ctx.model, "secrets")
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        secret = _load(os.path.join(folder, name))
        if secret.get("labels", {}).get(ctx.unit) == label:
            return name[: -len(".json")], secret
    raise ToolError(f'ERROR secret with label "{label}" not found')


def _granted(ctx, secret):
    """A consumer may read a secret granted on a relation (still there) to its owner."""
    if secret["owner"] == ctx.app:
        return True
    for num in secret.get("grants", []):
        rel = ctx.meta["relations"].get(str(num))
        if rel is not None and rel["remote_app"] == secret["owner"]:
            return True
    return False


def secret_get(ctx, argv):
    flags, opts, pos = _parse(argv, {"--refresh", "--peek"}, {"--format", "--label"})
    if "--refresh" in flags and "--peek" in flags:
        raise ToolError("ERROR specify one of --peek or --refresh but not both", 2)
    if len(pos) > 2:
        raise ToolError(f"ERROR unrecognized args: {pos[2:]}", 2)
    label = opts.get("--label") or None  # ops 2.x passes JUJU_SECRET_LABEL, maybe empty
    ref = pos[0] if pos else None
    if ref is None and label is None:
        raise ToolError("ERROR require either a secret URI or label", 2)
    with _Locked(ctx.model):
        xid, secret = _find_secret(ctx, ref, label if ref is None else None)
        if not _granted(ctx, secret):
            raise ToolError("ERROR permission denied")
        tracked = secret.setdefault("tracked", {})
        latest = secret["latest"]
        if "--peek" in flags or "--refresh" in flags or ctx.unit not in tracked:
            revision = latest  # a first read tracks the latest revision
        else:
            revision = tracked[ctx.unit]
        changed = False
        if "--peek" not in flags and tracked.get(ctx.unit) != revision:
            tracked[ctx.unit] = revision
            changed = True
        if ref is not None and label is not None:
            labels = secret.setdefault("labels", {})
            changed = changed or labels.get(ctx.unit) != label
            labels[ctx.unit] = label
        if changed:
            _save(secret_file(ctx.model, xid), secret)
    content = secret["revisions"][str(revision)]
    if len(pos) > 1:
        if pos[1] not in content:
            raise ToolError(f'ERROR secret key "{pos[1]}" not found')
        _out(content[pos[1]], opts.get("--format"))
    else:
        _out(content, opts.get("--format"))


def secret_info_get(ctx, argv):
    _flags, opts, pos = _parse(argv, set(), {"--format", "--label"})
    if len(pos) > 1 or (pos and "--label" in opts) or not (pos or opts.get("--label")):
        raise ToolError("ERROR specify either a secret URI or label but not both", 2)
    try:
        xid, secret = _find_secret(ctx, pos[0] if pos else None, opts.get("--label"))
    except ToolError:
        secret = None
    if secret is None or secret["owner"] != ctx.app:
        # Juju lists only the secrets the unit's application owns
        raise ToolError(f'ERROR secret "{pos[0] if pos else opts["--label"]}" not found')
    info = {"revision": secret["latest"], "owner": "application", "rotation": "never"}
    _out({xid: info}, opts.get("--format"))


HANDLERS = {
    "relation-get": relation_get,
    "relation-set": relation_set,
    "relation-ids": relation_ids,
    "relation-list": relation_list,
    "is-leader": is_leader,
    "juju-log": juju_log,
    "config-get": config_get,
    "leader-get": leader_get,
    "leader-set": leader_set,
    "status-set": status_set,
    "status-get": status_get,
    "application-version-set": application_version_set,
    "secret-get": secret_get,
    "secret-info-get": secret_info_get,
}


def main(tool):
    model = os.environ.get("FAKEJUJU_MODEL")
    if not model:
        sys.stderr.write(f"ERROR {tool}: not running in a (fake) Juju hook context\n")
        sys.exit(1)
    with open(os.path.join(model, "calls"), "a") as f:
        f.write(tool + "\n")
    if os.environ.get("FAKEJUJU_TRACE"):  # a debugging aid: every call with its arguments
        with open(os.path.join(model, "trace"), "a") as f:
            hook = os.environ.get("JUJU_HOOK_NAME", "?")
            f.write(f"{os.environ.get('JUJU_UNIT_NAME')} {hook}: {tool} {' '.join(sys.argv[1:])}\n")
    try:
        handler = HANDLERS[tool]
        handler(Context(model), sys.argv[1:])
    except ToolError as e:
        sys.stderr.write(f"{e}\n")
        sys.exit(e.status)
