"""The ``postgresql_client`` interface, requirer side: the request it writes and readiness.

This is the interface Charmed PostgreSQL (every track; track 16 speaks nothing else) and
Charmed PgBouncer offer on their ``database`` endpoint, as the v0 ``data_interfaces`` library
speaks it. Everything here is pure: databags are plain ``Mapping[str, str]`` and the contents of
Juju secrets are handed in by the caller (URI to content, None when not readable yet).

- :func:`requirer_databag`: what the requirer leader writes into its application bag.
- :func:`secret_fields`: which Juju secrets the provider's application bag references, per group.
- :func:`evaluate_client`: the same :class:`Readiness` as the ``pgsql`` interface's
  :func:`~pgsql.protocol.evaluate`, so :func:`~pgsql.protocol.transitions` and the eleven client
  events serve both interfaces unchanged.

The contract is written down in ``docs/protocol.md`` (section *The postgresql_client
interface*).
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, cast

from ..connstr import ConnectionString, ConnectionStringError
from ._client_rules import roles_reasons, served_databases
from ._common import Databag, mask_userinfo, parse_connstr, split_list, unit_sort_key
from ._readiness import (
    DATABASE_MISMATCH,
    DATABASE_PENDING,
    MALFORMED,
    NO_REMOTE,
    REQUEST_UNKNOWN,
    BagVerdict,
    Readiness,
    Reason,
    dedupe_reasons,
)
from ._request import Request, RequestError, parse_extension
from ._username import username_reasons

#: The fields this library asks the provider to put in Juju secrets (``requested-secrets``):
#: every credential field, so that no password is ever published in clear where Juju has secrets.
REQUESTED_SECRETS = ("username", "password", "tls", "tls-ca", "uris", "read-only-uris")

#: Secret groups and the fields each holds; a requested field of no group goes to ``extra``.
#: The provider publishes one secret per group, its URI under the key ``secret-<group>``.
SECRET_GROUPS: Mapping[str, Tuple[str, ...]] = {
    "user": ("username", "password", "uris", "read-only-uris"),
    "tls": ("tls", "tls-ca"),
    "extra": (),
}

#: Reason codes of this interface (the codes shared with ``pgsql`` are reused: ``malformed``,
#: ``database-mismatch``, ``database-pending``, ``request-unknown``).
NOT_ANSWERED = "not-answered"
NO_CREDENTIALS = "no-credentials"
SECRET_NOT_GRANTED = "secret-not-granted"  # noqa: S105 (a reason code)
SUBORDINATE_NOT_READY = "subordinate-not-ready"
REQUEST_CHANGED = "request-changed"
EXTENSIONS_BY_CONFIG = "extensions-by-config"
TLS_ENABLED = "tls-enabled"

# PostgreSQL identifiers are at most 63 bytes: PgBouncer K8s falls back to the database itself
# when "<db>_readonly" would be longer.
_MAX_IDENTIFIER = 63
_READONLY_SUFFIX = "_readonly"
_SOCKET_FILE = re.compile(r"\.s\.PGSQL\.(\d+)")
_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?")
_PORT = re.compile(r"[0-9]{1,5}")
# libpq ends a path at "?"; a socket directory with whitespace or quotes is not a provider's
_SOCKET_DIR = re.compile(r"/[^\s'\"\\?#,]*")
_SHOWN = 60


# ---------------------------------------------------------------------------------------------
# What the requirer writes
# ---------------------------------------------------------------------------------------------


def requirer_databag(request: Request, *, external: bool = False) -> Dict[str, str]:
    """The requirer leader's application bag for ``request``.

    ``database``; ``extra-user-roles`` (the request's roles, comma-joined) when roles are
    requested; ``requested-secrets``, a JSON list naming every credential field
    (:data:`REQUESTED_SECRETS`); ``external-node-connectivity: "true"`` when ``external`` (the
    client runs outside the model's network: PgBouncer then publishes a reachable address).
    Extensions are not part of this interface (the server enables them by config), so they are
    not written; :func:`evaluate_client` notes them.

    >>> bag = requirer_databag(Request.build(database="mydb", roles="charmed_read"))
    >>> bag["database"], bag["extra-user-roles"]
    ('mydb', 'charmed_read')
    >>> json.loads(bag["requested-secrets"])
    ['username', 'password', 'tls', 'tls-ca', 'uris', 'read-only-uris']

    Raises:
        RequestError: no database is requested: providers act only once ``database`` is set,
            and have no default.
    """
    if not request.database:
        raise RequestError(
            "postgresql_client needs a database name: providers act only once 'database' is set"
        )
    bag = {"database": request.database, "requested-secrets": json.dumps(list(REQUESTED_SECRETS))}
    if request.roles:
        bag["extra-user-roles"] = ",".join(request.roles)
    if external:
        bag["external-node-connectivity"] = "true"
    return bag


def requirer_request(bag: Databag) -> Request:
    """What a requirer application bag asks for, read back as a :class:`Request`.

    The inverse of :func:`requirer_databag` for ``database`` and ``extra-user-roles`` (the
    other keys are not part of a request). Lenient: names this library would refuse are
    dropped, so a hand-edited or foreign bag never raises.

    >>> requirer_request({"database": "mydb", "extra-user-roles": "a, b"})
    Request(database='mydb', roles=('a', 'b'), extensions=())
    """
    database = bag.get("database", "").strip()
    roles = split_list(bag.get("extra-user-roles", ""))
    try:
        return Request.build(database, roles)
    except RequestError:
        try:
            return Request.build(database)
        except RequestError:
            return Request()


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------


def secret_fields(provider_app_bag: Databag) -> Dict[str, str]:
    """The Juju secret URIs the provider's application bag references, by group.

    Keys are group names (``user``, ``tls``, ``extra``: see :data:`SECRET_GROUPS`), read from
    the bag keys ``secret-user``, ``secret-tls`` and ``secret-extra``; a blank value is absent.

    >>> secret_fields({"secret-user": "secret://0f1e/d7f0", "endpoints": "10.0.0.5:5432"})
    {'user': 'secret://0f1e/d7f0'}
    """
    out: Dict[str, str] = {}
    for group in SECRET_GROUPS:
        uri = provider_app_bag.get(f"secret-{group}", "").strip()
        if uri:
            out[group] = uri
    return out


def secret_id(uri: str) -> str:
    """A Juju secret's unique id, however its URI is spelt.

    Juju and ops write ``secret:ID``, ``secret://MODEL-UUID/ID`` or the bare ``ID``; compare
    secrets by this.

    >>> secret_id("secret://2f4c9e1a-7b3d-4e8f-9a6b-1c2d3e4f5a6b/d7f1qk8mp25c77bn3k0g")
    'd7f1qk8mp25c77bn3k0g'
    >>> secret_id("secret:d7f1qk8mp25c77bn3k0g")
    'd7f1qk8mp25c77bn3k0g'
    """
    return uri.strip().rstrip("/").rpartition("/")[2].rpartition(":")[2]


def _group_of(field: str) -> str:
    for group, fields in SECRET_GROUPS.items():
        if field in fields:
            return group
    return "extra"


def _read_fields(
    bag: Databag, secrets: Mapping[str, Optional[Mapping[str, str]]], name: str
) -> Tuple[Dict[str, str], List[Reason]]:
    """The credential fields, each from its group's secret when referenced, else from the bag.

    A referenced secret whose content is unknown (None, or not handed in) is a blocking
    ``secret-not-granted``: the provider grants it to the relation, possibly after publishing
    its URI. The ``tls`` secret only says whether TLS is on and with which CA: unreadable, it is
    a note (``tls`` and ``tls_ca`` stay unknown), not a reason to withhold the credentials.
    """
    refs = secret_fields(bag)
    reasons: List[Reason] = []
    contents: Dict[str, Mapping[str, str]] = {}
    for group, uri in refs.items():
        content = secrets.get(uri)
        if content is None:
            reasons.append(
                Reason(
                    SECRET_NOT_GRANTED,
                    f"the provider's {group} secret cannot be read yet (not granted?)",
                    name,
                    blocking=group != "tls",
                    advice="wait for the provider to grant it to the relation; if it stays, "
                    "check `juju secrets` and the provider's logs",
                )
            )
        else:
            contents[group] = content
    values: Dict[str, str] = {}
    for field in REQUESTED_SECRETS:
        value = contents.get(_group_of(field), {}).get(field, "")
        if not value.strip():
            value = bag.get(field, "")
        # a PEM ends with a newline: the CA is handed over as published
        values[field] = value if field == "tls-ca" and value.strip() else value.strip()
    return values, reasons


# ---------------------------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------------------------


class _Endpoint(NamedTuple):
    host: str  # a host name, an IP address, or a unix socket directory
    port: str  # "" when the entry gives none (libpq's default)


def _shown(value: str) -> str:
    """A remote value as it may appear in a reason: secrets masked, shortened.

    Beyond :func:`~pgsql.connstr.mask_value`, a ``user:password@`` before a host without a
    ``scheme://`` (a mangled endpoints entry) is hidden whole: everything up to the last ``@``
    of each comma-separated part.
    """
    text = mask_userinfo(value)
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


def _valid_port(port: str) -> bool:
    return bool(_PORT.fullmatch(port)) and 0 < int(port) < 65536


def _parse_endpoint(item: str) -> Optional[_Endpoint]:
    """One ``endpoints`` entry: ``host:port``, ``[v6]:port``, ``v6:port``, a socket path."""
    if item.startswith("/"):
        return _parse_socket(item)
    if item.startswith("["):
        m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?", item)
        if m is None or not _is_ip(m.group(1)) or not _valid_port(m.group(2) or "1"):
            return None
        return _Endpoint(m.group(1), m.group(2) or "")
    head, colon, port = item.rpartition(":")
    if not colon:
        return _Endpoint(item, "") if _HOSTNAME.fullmatch(item) else None
    if ":" in head:  # an IPv6 address without brackets: with a port (as providers write it)
        if _is_ip(head) and _valid_port(port):
            return _Endpoint(head, port)
        return _Endpoint(item, "") if _is_ip(item) else None
    if _HOSTNAME.fullmatch(head) and _valid_port(port):
        return _Endpoint(head, port)
    return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _parse_socket(item: str) -> Optional[_Endpoint]:
    """A unix socket: its directory (``/dir:6432``, ``/dir``) or its file (``/dir/.s.PGSQL.6432``).

    libpq takes the directory as ``host`` and finds ``.s.PGSQL.<port>`` in it.
    """
    path, port = item, ""
    head, colon, tail = item.rpartition(":")
    if colon and _PORT.fullmatch(tail):
        path, port = head, tail
    directory, _, leaf = path.rstrip("/").rpartition("/")
    m = _SOCKET_FILE.fullmatch(leaf)
    if m is not None:
        path, port = directory or "/", m.group(1)
    path = path.rstrip("/") or "/"
    if not _SOCKET_DIR.fullmatch(path) or (port and not _valid_port(port)):
        return None
    return _Endpoint(path, port)


def _endpoints(
    bag: Databag, key: str, name: str, blocking: bool
) -> Tuple[List[_Endpoint], List[Reason]]:
    """The usable entries of a comma-separated endpoints value, and why others were skipped."""
    raw = bag.get(key, "")
    found: List[_Endpoint] = []
    skipped: List[str] = []
    for item in split_list(raw):
        endpoint = _parse_endpoint(item)
        if endpoint is None:
            skipped.append(item)
        elif endpoint not in found:
            found.append(endpoint)
    if skipped and not found and blocking:
        return [], [Reason(MALFORMED, f"no usable {key} entry in {_shown(raw)}", name)]
    reasons = [
        Reason(MALFORMED, f"skipped an unusable {key} entry {_shown(item)}", name, False)
        for item in skipped
    ]
    return found, reasons


def _build(
    endpoints: Sequence[_Endpoint], dbname: str, user: str, password: str
) -> ConnectionString:
    """A connection string to all ``endpoints`` (libpq multi-host when several).

    Raises:
        ConnectionStringError: a value libpq cannot take (a NUL, unencodable text), or one that
            would read back as something else.
    """
    ports = [e.port for e in endpoints]
    cs = ConnectionString(
        host=",".join(e.host for e in endpoints),
        port=",".join(ports) if any(ports) else None,
        dbname=dbname,
        user=user,
        password=password,
    )
    # the wire spelling must read back as built, and not hide a secret in another value
    if parse_connstr(str(cs)) != cs:
        raise ConnectionStringError("the connection string does not read back as built")
    return cs


# ---------------------------------------------------------------------------------------------
# Readiness
# ---------------------------------------------------------------------------------------------


def evaluate_client(
    request: Optional[Request],
    provider_app_bag: Databag,
    provider_unit_bags: Mapping[str, Databag],
    secrets: Mapping[str, Optional[Mapping[str, str]]],
    *,
    remote_app: Optional[str] = None,
    units_present: Optional[bool] = None,
) -> Readiness:
    """Decide what a requirer unit may use on one ``postgresql_client`` relation.

    The provider answers in its application bag only. Each rule below is one step:

    1. **Answered** (:func:`_answered`): ``endpoints`` is published (``not-answered``, the
       same on every unit; a unit that knows no database was requested adds the
       ``database-pending`` note).
    2. **Request echo** (:func:`_database_reasons`, :func:`_request_changed`): the ``database``
       echo is the requested one (``database-mismatch``; without an echo the requested name is
       used, ``database-pending`` when neither is known); the provider's ``data`` snapshot of
       the request still matches it (``request-changed``: blocking for the database, a note for
       ``extra-user-roles``, which providers fix at creation).
    3. **Provider units** (:func:`_subordinate`): the provider has units (``no-remote-units``:
       scaled to zero, its bag outlives them); with ``subordinated: "true"`` (PgBouncer VM) some
       provider unit bag says ``state: ready`` (``subordinate-not-ready``).
    4. **Credentials** (:func:`_read_fields`, :func:`_credentials`): each field from its group's
       secret when the bag references one (``secret-not-granted`` while unreadable, a note for
       the ``tls`` secret), else from
       the bag; ``username`` and ``password`` (else those of ``uris``) are required
       (``no-credentials``).
    5. **Connection strings**: the master reaches every ``endpoints`` entry (libpq multi-host),
       a standby each ``read-only-endpoints`` entry, on the read-only database
       (:func:`_readonly_database`: the path of ``read-only-uris``, else ``<db>_readonly``
       behind a subordinate PgBouncer, else the database); unusable entries are skipped with a
       note (``malformed``, blocking when no ``endpoints`` entry is usable).
    6. **Notes**: extensions requested (``extensions-by-config``: the server's
       ``plugin-<name>-enable`` option), ``tls`` on (``tls-enabled``), the request unknown
       (``request-unknown``).

    Args:
        request: what the requirer application asked for, or None when this unit cannot know
            (the provider's echo is then trusted).
        provider_app_bag: the provider application's bag (``{}`` when empty or unreadable).
        provider_unit_bags: the provider units' bags, by unit name (only PgBouncer writes them).
        secrets: the content of each secret URI referenced by the bag (see
            :func:`secret_fields`), None (or absent) while it cannot be read.
        remote_app: the provider application's name, for ``source`` and the reasons; else taken
            from the unit names.
        units_present: whether the provider has units in the relation now (False: not ready);
            None when the caller cannot tell (the check is skipped).

    Returns:
        The verdict: ``master`` and ``standbys`` only when ready. Never raises on remote data,
        and no reason holds a password.
    """
    name = remote_app or _app_name(provider_unit_bags)
    bag = provider_app_bag
    notes = _notes(request, name)
    if not _answered(bag):
        # One reason for every unit: what blocks is the provider's missing answer, which every
        # unit sees alike. Only a unit that knows the request (the leader) can tell that no
        # database was asked for: a note, as a unit that cannot know notes request-unknown.
        why = Reason(NOT_ANSWERED, "the provider has not answered the request yet", name)
        notes += _pending(request, bag, name)
        notes += roles_reasons(request, False, name)
        notes += username_reasons(request, False, "", name)
        return _verdict([why], notes, bag, name, None, (), version=_version(bag))

    database, blocking = _database_reasons(request, bag, name)
    changed = _request_changed(request, bag, name)
    blocking += [r for r in changed if r.blocking]
    notes += [r for r in changed if not r.blocking]
    subordinate, unit_verdicts, waiting = _subordinate(bag, provider_unit_bags, name)
    blocking += waiting
    if units_present is False:
        blocking.append(
            Reason(NO_REMOTE, "the provider has no units in the relation (scaled to zero?)", name)
        )
    fields, secret_reasons = _read_fields(bag, secrets, name)
    blocking += [r for r in secret_reasons if r.blocking]
    notes += [r for r in secret_reasons if not r.blocking]
    unreadable = any(r.blocking for r in secret_reasons)
    user, password, cred_reasons = _credentials(fields, name, unreadable=unreadable)
    blocking += [r for r in cred_reasons if r.blocking]
    notes += [r for r in cred_reasons if not r.blocking]
    blocking += username_reasons(request, True, user, name)  # user-mismatch
    masters, found = _endpoints(bag, "endpoints", name, blocking=True)
    blocking += [r for r in found if r.blocking]
    notes += [r for r in found if not r.blocking]
    readonly, found = _endpoints(bag, "read-only-endpoints", name, blocking=False)
    notes += found
    notes += _tls_notes(fields, name)
    database, databases, found = served_databases(database, bag, fields["uris"], name)
    blocking += found

    master: Optional[ConnectionString] = None
    standbys: Tuple[ConnectionString, ...] = ()
    if not blocking and database and user and password and masters:
        ro_db, ro_notes = _readonly_database(fields, database, subordinate, name)
        notes += ro_notes
        try:
            master = _build(masters, database, user, password)
            built = {_build([e], ro_db, user, password): None for e in readonly}
        except ConnectionStringError as e:
            master = None
            blocking.append(Reason(MALFORMED, f"unusable connection details: {e}", name))
        else:
            standbys = tuple(built)
    return _verdict(
        blocking,
        notes,
        bag,
        name,
        master,
        standbys,
        version=_version(bag),
        database=database,
        units=unit_verdicts,
        tls=fields,
        databases=databases,
    )


def _app_name(provider_unit_bags: Mapping[str, Databag]) -> str:
    for unit in sorted(provider_unit_bags, key=unit_sort_key):
        app = unit.rpartition("/")[0]
        if app:
            return app
    return "provider"


def _verdict(
    blocking: List[Reason],
    notes: List[Reason],
    bag: Databag,
    name: str,
    master: Optional[ConnectionString],
    standbys: Tuple[ConnectionString, ...],
    *,
    version: Optional[str],
    database: Optional[str] = None,
    units: Sequence[BagVerdict] = (),
    tls: Optional[Mapping[str, str]] = None,
    databases: Tuple[str, ...] = (),
) -> Readiness:
    ready = master is not None and not blocking
    tls_on: Optional[bool] = None
    tls_ca: Optional[str] = None
    if ready and tls is not None:
        flag = tls["tls"].lower()
        tls_on = True if flag == "true" else False if flag == "false" else None
        tls_ca = tls["tls-ca"] or None
    if not ready:
        master, standbys = None, ()
    if not blocking and not ready:  # nothing explains it: say so rather than "not ready"
        blocking = [Reason(NO_CREDENTIALS, "the provider has not published credentials", name)]
    publishes_standbys = bool(bag.get("read-only-endpoints", "").strip())
    app = BagVerdict(name, True, _answered(bag), publishes_standbys, ready, tuple(blocking))
    return Readiness(
        ready=ready,
        master=master,
        standbys=standbys,
        version=version,
        database=database if ready else (bag.get("database", "").strip() or None),
        databases=databases if ready else (),
        source=name if ready else None,
        reasons=tuple(dedupe_reasons(blocking) + dedupe_reasons(notes)),
        bags=(app, *units),
        tls=tls_on,
        tls_ca=tls_ca,
    )


# Rule 1


def _answered(bag: Databag) -> bool:
    return bool(bag.get("endpoints", "").strip())


def _version(bag: Databag) -> Optional[str]:
    return bag.get("version", "").strip() or None


# Rule 2


def _database_reasons(
    request: Optional[Request], bag: Databag, name: str
) -> Tuple[Optional[str], List[Reason]]:
    """The database the master uses, and why it cannot be used."""
    echo = bag.get("database", "").strip()
    wanted = request.database if request is not None else ""
    if echo and wanted and echo != wanted:
        return None, [
            Reason(
                DATABASE_MISMATCH,
                f"the provider serves another database: {_shown(echo)}, not the requested "
                f"{_shown(wanted)}",
                name,
                advice="providers fix the database when the relation is created: "
                "remove the relation and relate again",
            )
        ]
    if echo:
        return echo, []
    if wanted:  # providers echo it with the credentials; use what was asked
        return wanted, []
    return None, [Reason(DATABASE_PENDING, "the provider has not said which database", name)]


def _request_changed(request: Optional[Request], bag: Databag, name: str) -> List[Reason]:
    """Compare the provider's ``data`` snapshot of the request with the request now."""
    raw = bag.get("data", "").strip()
    if not raw or request is None:
        return []
    try:
        loaded: object = json.loads(raw)
    except ValueError:
        loaded = None
    if not isinstance(loaded, dict):
        return [
            Reason(
                MALFORMED,
                "the provider's snapshot of the request ('data') is not a JSON object; ignored",
                name,
                False,
            )
        ]
    snap = cast(Dict[object, object], loaded)
    reasons: List[Reason] = []
    then_db = str(snap.get("database") or "").strip()
    if then_db and request.database and then_db != request.database:
        reasons.append(
            Reason(
                REQUEST_CHANGED,
                f"the database request changed after the provider answered: "
                f"{_shown(then_db)} then, {_shown(request.database)} now",
                name,
                advice="providers do not act on a changed request: remove the relation and "
                "relate again",
            )
        )
    then_roles = set(split_list(str(snap.get("extra-user-roles") or "")))
    if then_roles != set(request.roles):
        then = ",".join(sorted(then_roles)) or "none"
        now = ",".join(request.roles) or "none"
        reasons.append(
            Reason(
                REQUEST_CHANGED,
                f"extra-user-roles changed after the provider answered: {_shown(then)} then, "
                f"{_shown(now)} now; providers keep the roles given at creation",
                name,
                False,
                advice="remove the relation and relate again to get other roles",
            )
        )
    return reasons


# Rule 3


def _subordinate(
    bag: Databag, unit_bags: Mapping[str, Databag], name: str
) -> Tuple[bool, List[BagVerdict], List[Reason]]:
    """Whether the provider is a subordinate (PgBouncer VM), its units' verdicts, why waiting."""
    if bag.get("subordinated", "").strip().lower() != "true":
        return False, [], []
    verdicts: List[BagVerdict] = []
    for unit in sorted(unit_bags, key=unit_sort_key):
        ok = unit_bags[unit].get("state", "").strip() == "ready"
        why = () if ok else (Reason(SUBORDINATE_NOT_READY, "state is not 'ready'", unit),)
        verdicts.append(BagVerdict(unit, False, False, False, ok, why))
    if any(v.ready for v in verdicts):
        return True, verdicts, []
    waiting = Reason(
        SUBORDINATE_NOT_READY,
        "the subordinate provider (PgBouncer) has not said its unit is ready (state: ready)",
        name,
    )
    return True, verdicts, [waiting]


# Rule 4


def _credentials(
    fields: Mapping[str, str], name: str, *, unreadable: bool
) -> Tuple[str, str, List[Reason]]:
    """``username`` and ``password``, else those in ``uris``."""
    user, password = fields["username"], fields["password"]
    reasons: List[Reason] = []
    if (not user or not password) and fields["uris"]:
        try:
            uri = ConnectionString(fields["uris"])
        except ConnectionStringError as e:
            reasons.append(Reason(MALFORMED, f"unusable uris: {e}", name, False))
        else:
            user, password = user or uri.user or "", password or uri.password or ""
    if (not user or not password) and not unreadable:
        reasons.append(
            Reason(NO_CREDENTIALS, "the provider has not published credentials yet", name)
        )
    return user, password, reasons


# Rule 5


def _readonly_database(
    fields: Mapping[str, str], database: str, subordinate: bool, name: str
) -> Tuple[str, List[Reason]]:
    """The database standbys use: ``read-only-uris``' path, else PgBouncer's, else the same."""
    raw = fields["read-only-uris"]
    notes: List[Reason] = []
    if raw:
        try:
            uri = ConnectionString(raw)
        except ConnectionStringError as e:
            uri = None
            notes.append(Reason(MALFORMED, f"unusable read-only-uris: {e}", name, False))
        if uri is not None:
            ports = (uri.port or "").split(",")
            if not all(p == "" or _valid_port(p) for p in ports):
                # PostgreSQL 16 K8s writes the port twice ("host:5432:5432/db")
                notes.append(
                    Reason(
                        MALFORMED,
                        "read-only-uris has an unusable port; standbys are built from "
                        "read-only-endpoints",
                        name,
                        False,
                    )
                )
            if uri.dbname:
                return uri.dbname, notes
    if subordinate:
        readonly = database + _READONLY_SUFFIX
        if len(readonly.encode("utf-8", "surrogatepass")) <= _MAX_IDENTIFIER:
            return readonly, notes
    return database, notes


# Rule 6


def _pending(request: Optional[Request], bag: Databag, name: str) -> List[Reason]:
    """The ``database-pending`` note of a request known to name no database (none echoed)."""
    if request is None or request.database or bag.get("database", "").strip():
        return []
    return [
        Reason(
            DATABASE_PENDING,
            "no database requested yet: postgresql_client providers act only once a "
            "database name is published",
            name,
            False,
            advice="set event.database, or pass database=... to PostgreSQLClient",
        )
    ]


def _notes(request: Optional[Request], name: str) -> List[Reason]:
    if request is None:
        return [
            Reason(
                REQUEST_UNKNOWN,
                "what the leader requested is not known to this unit; trusting the provider's echo",
                blocking=False,
            )
        ]
    notes: List[Reason] = []
    for item in request.extensions:
        ext = parse_extension(item)[0] if _extension_ok(item) else item.strip()
        option = f"plugin-{ext.lower().replace('_', '-')}-enable"
        notes.append(
            Reason(
                EXTENSIONS_BY_CONFIG,
                f"extension {_shown(ext)} cannot be requested over postgresql_client: the "
                f"server enables it with its {option} option",
                name,
                False,
                advice=f"juju config {name} {option}=true",
            )
        )
    return notes


def _extension_ok(item: str) -> bool:
    try:
        parse_extension(item)
    except RequestError:
        return False
    return True


def _tls_notes(fields: Mapping[str, str], name: str) -> List[Reason]:
    if fields["tls"].lower() != "true":
        return []
    ca = "its CA is in tls-ca" if fields["tls-ca"] else "no CA published (tls-ca)"
    return [Reason(TLS_ENABLED, f"the provider has TLS enabled; {ca}", name, False)]
