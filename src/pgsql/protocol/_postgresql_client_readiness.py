"""The ``postgresql_client`` interface, requirer side: is the provider's answer usable, and why.

:func:`evaluate_client` returns the same :class:`Readiness` as the ``pgsql`` interface's
:func:`~pgsql.protocol.evaluate`. It runs the rules of ``docs/protocol.md`` (section *The
postgresql_client interface*) in order, each one function below, and gathers what they find.
"""

from __future__ import annotations

import json
from typing import Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, cast

from ..connstr import ConnectionString, ConnectionStringError
from ._client_rules import roles_reasons, served_databases
from ._common import Databag, shown_in_reason, split_list, unit_sort_key
from ._postgresql_client_endpoints import Endpoint, build, endpoints, valid_port
from ._postgresql_client_secrets import read_fields
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


class _Findings:
    """Blocking reasons and notes, in the order the rules find them."""

    def __init__(self, notes: List[Reason]) -> None:
        self.blocking: List[Reason] = []
        self.notes = notes

    def add(self, reasons: Iterable[Reason]) -> None:
        """Each reason where its own ``blocking`` says."""
        for reason in reasons:
            (self.blocking if reason.blocking else self.notes).append(reason)

    def block(self, reasons: Iterable[Reason]) -> None:
        self.blocking.extend(reasons)

    def note(self, reasons: Iterable[Reason]) -> None:
        self.notes.extend(reasons)


class _Login(NamedTuple):
    fields: Mapping[str, str]  # every requested field, from the secrets or the bag
    user: str
    password: str


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

    1. **Answered** (:func:`_unanswered`): ``endpoints`` is published (``not-answered``, the
       same on every unit; a unit that knows no database was requested adds the
       ``database-pending`` note).
    2. **Request echo** (:func:`_request_echo`): the ``database``
       echo is the requested one (``database-mismatch``; without an echo the requested name is
       used, ``database-pending`` when neither is known); the provider's ``data`` snapshot of
       the request still matches it (``request-changed``: blocking for the database, a note for
       ``extra-user-roles``, which providers fix at creation).
    3. **Provider units** (:func:`_provider_units`): the provider has units (``no-remote-units``:
       none joined yet, or scaled to zero, its bag outlives them; without an answer either, it
       is the one blocking reason); with ``subordinated: "true"`` (PgBouncer VM) some
       provider unit bag says ``state: ready`` (``subordinate-not-ready``).
    4. **Credentials** (:func:`_login`): each field from its group's
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
    if not _answered(bag):
        return _unanswered(request, bag, name, units_present)
    found = _Findings(_notes(request, name))
    database = _request_echo(request, bag, name, found)
    subordinate, units = _provider_units(bag, provider_unit_bags, units_present, name, found)
    login = _login(request, bag, secrets, name, found)
    masters, readonly = _endpoint_entries(bag, name, found)
    found.note(_tls_notes(login.fields, name))
    database, databases, reasons = served_databases(database, bag, login.fields["uris"], name)
    found.block(reasons)
    master, standbys = _connect(login, database, masters, readonly, subordinate, name, found)
    return _verdict(
        found,
        bag,
        name,
        master,
        standbys,
        version=_version(bag),
        database=database,
        units=units,
        tls=login.fields,
        databases=databases,
    )


def _app_name(provider_unit_bags: Mapping[str, Databag]) -> str:
    for unit in sorted(provider_unit_bags, key=unit_sort_key):
        app = unit.rpartition("/")[0]
        if app:
            return app
    return "provider"


def _verdict(
    found: _Findings,
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
    blocking, notes = found.blocking, found.notes
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


def _unanswered(
    request: Optional[Request], bag: Databag, name: str, units_present: Optional[bool]
) -> Readiness:
    """Not ready: the provider has not answered (no ``endpoints``), or has no unit to answer."""
    # One reason for every unit: what blocks is the provider's missing answer, which every
    # unit sees alike. Only a unit that knows the request (the leader) can tell that no
    # database was asked for: a note, as a unit that cannot know notes request-unknown.
    if units_present is False:  # nobody to answer: say why the answer cannot come
        why = _no_units(name)
    else:
        why = Reason(NOT_ANSWERED, "the provider has not answered the request yet", name)
    notes = _notes(request, name)
    notes += _pending(request, bag, name)
    notes += roles_reasons(request, False, name)
    notes += username_reasons(request, False, "", name)
    found = _Findings(notes)
    found.block([why])
    return _verdict(found, bag, name, None, (), version=_version(bag))


# Rule 2


def _request_echo(
    request: Optional[Request], bag: Databag, name: str, found: _Findings
) -> Optional[str]:
    """The database the master uses; whether the provider's echo of the request still holds."""
    database, reasons = _database_reasons(request, bag, name)
    found.block(reasons)
    found.add(_request_changed(request, bag, name))
    return database


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
                f"the provider serves another database: {shown_in_reason(echo)}, not the requested "
                f"{shown_in_reason(wanted)}",
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
    snap = _snapshot(raw)
    if snap is None:
        return [
            Reason(
                MALFORMED,
                "the provider's snapshot of the request ('data') is not a JSON object; ignored",
                name,
                False,
            )
        ]
    return _database_changed(request, snap, name) + _roles_changed(request, snap, name)


def _snapshot(raw: str) -> Optional[Dict[object, object]]:
    """The provider's ``data`` as a JSON object; None when it is not one."""
    try:
        loaded: object = json.loads(raw)
    except ValueError:
        return None
    return cast(Dict[object, object], loaded) if isinstance(loaded, dict) else None


def _database_changed(request: Request, snap: Mapping[object, object], name: str) -> List[Reason]:
    then_db = str(snap.get("database") or "").strip()
    if not (then_db and request.database and then_db != request.database):
        return []
    return [
        Reason(
            REQUEST_CHANGED,
            f"the database request changed after the provider answered: "
            f"{shown_in_reason(then_db)} then, {shown_in_reason(request.database)} now",
            name,
            advice="providers do not act on a changed request: remove the relation and "
            "relate again",
        )
    ]


def _roles_changed(request: Request, snap: Mapping[object, object], name: str) -> List[Reason]:
    then_roles = set(split_list(str(snap.get("extra-user-roles") or "")))
    if then_roles == set(request.roles):
        return []
    then = ",".join(sorted(then_roles)) or "none"
    now = ",".join(request.roles) or "none"
    return [
        Reason(
            REQUEST_CHANGED,
            f"extra-user-roles changed after the provider answered: {shown_in_reason(then)} then, "
            f"{shown_in_reason(now)} now; providers keep the roles given at creation",
            name,
            False,
            advice="remove the relation and relate again to get other roles",
        )
    ]


# Rule 3


def _provider_units(
    bag: Databag,
    unit_bags: Mapping[str, Databag],
    units_present: Optional[bool],
    name: str,
    found: _Findings,
) -> Tuple[bool, List[BagVerdict]]:
    """Whether the provider is a subordinate, and its units' verdicts; why it cannot serve."""
    subordinate, verdicts, waiting = _subordinate(bag, unit_bags, name)
    found.block(waiting)
    if units_present is False:
        found.block([_no_units(name)])
    return subordinate, verdicts


def _no_units(name: str) -> Reason:
    return Reason(
        NO_REMOTE,
        "the provider has no units in the relation (none joined yet, scaled to zero, or the "
        "relation is being removed)",
        name,
    )


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


def _login(
    request: Optional[Request],
    bag: Databag,
    secrets: Mapping[str, Optional[Mapping[str, str]]],
    name: str,
    found: _Findings,
) -> _Login:
    """The credential fields, and the user and password to log in with; why they cannot be used."""
    fields, unreadable = read_fields(bag, secrets)
    secret_reasons = _secret_reasons(unreadable, name)
    found.add(secret_reasons)
    user, password, reasons = _credentials(
        fields, name, unreadable=any(r.blocking for r in secret_reasons)
    )
    found.add(reasons)
    found.block(username_reasons(request, True, user, name))  # user-mismatch
    return _Login(fields, user, password)


def _secret_reasons(unreadable: Sequence[str], name: str) -> List[Reason]:
    """``secret-not-granted`` for each unreadable group; a note for ``tls``.

    The provider grants its secrets to the relation, possibly after publishing their URIs. The
    ``tls`` secret only says whether TLS is on and with which CA: unreadable, it is a note
    (``tls`` and ``tls_ca`` stay unknown), not a reason to withhold the credentials.
    """
    return [
        Reason(
            SECRET_NOT_GRANTED,
            f"the provider's {group} secret cannot be read yet (not granted?)",
            name,
            blocking=group != "tls",
            advice="wait for the provider to grant it to the relation; if it stays, "
            "check `juju secrets` and the provider's logs",
        )
        for group in unreadable
    ]


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


def _endpoint_entries(
    bag: Databag, name: str, found: _Findings
) -> Tuple[List[Endpoint], List[Endpoint]]:
    """The usable ``endpoints`` and ``read-only-endpoints`` entries; why others were skipped."""
    masters, reasons = endpoints(bag, "endpoints", name, blocking=True)
    found.add(reasons)
    readonly, reasons = endpoints(bag, "read-only-endpoints", name, blocking=False)
    found.note(reasons)
    return masters, readonly


def _connect(
    login: _Login,
    database: Optional[str],
    masters: Sequence[Endpoint],
    readonly: Sequence[Endpoint],
    subordinate: bool,
    name: str,
    found: _Findings,
) -> Tuple[Optional[ConnectionString], Tuple[ConnectionString, ...]]:
    """The master (to every ``endpoints`` entry) and a standby per read-only entry.

    None and none while a rule blocks or something is missing.
    """
    if found.blocking or not (database and login.user and login.password and masters):
        return None, ()
    ro_db, notes = _readonly_database(login.fields, database, subordinate, name)
    found.note(notes)
    user, password = login.user, login.password
    try:
        master = build(masters, database, user, password)
        built = {build([e], ro_db, user, password): None for e in readonly}
    except ConnectionStringError as e:
        found.block([Reason(MALFORMED, f"unusable connection details: {e}", name)])
        return None, ()
    return master, tuple(built)


def _readonly_database(
    fields: Mapping[str, str], database: str, subordinate: bool, name: str
) -> Tuple[str, List[Reason]]:
    """The database standbys use: ``read-only-uris``' path, else PgBouncer's, else the same."""
    named, notes = _readonly_uri_database(fields["read-only-uris"], name)
    if named:
        return named, notes
    if subordinate:
        readonly = database + _READONLY_SUFFIX
        if len(readonly.encode("utf-8", "surrogatepass")) <= _MAX_IDENTIFIER:
            return readonly, notes
    return database, notes


def _readonly_uri_database(raw: str, name: str) -> Tuple[Optional[str], List[Reason]]:
    """The database ``read-only-uris`` names (None when none), and why it is unusable."""
    if not raw:
        return None, []
    try:
        uri = ConnectionString(raw)
    except ConnectionStringError as e:
        return None, [Reason(MALFORMED, f"unusable read-only-uris: {e}", name, False)]
    notes: List[Reason] = []
    ports = (uri.port or "").split(",")
    if not all(p == "" or valid_port(p) for p in ports):
        # PostgreSQL 16 K8s writes the port twice ("host:5432:5432/db")
        notes.append(
            Reason(
                MALFORMED,
                "read-only-uris has an unusable port; standbys are built from read-only-endpoints",
                name,
                False,
            )
        )
    return uri.dbname, notes


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
                f"extension {shown_in_reason(ext)} cannot be requested over postgresql_client: the "
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
