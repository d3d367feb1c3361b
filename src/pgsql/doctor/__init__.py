"""``pgsql doctor``: explain live PostgreSQL relations from ``juju show-unit`` output.

Feed it the ``juju show-unit`` output of the client unit and the server units (YAML or JSON,
files or stdin)::

    juju show-unit myapp/0 postgresql/0 --format json | pgsql doctor

For every ``pgsql`` relation it finds it tells which server databags publish ``master`` /
``standbys``, whether the client unit is ready, and why not, with the values involved. The
verdict comes from :func:`pgsql.protocol.evaluate`, the very code the client library runs in the
charm; this package only reassembles the databags that ``show-unit`` scatters over several
documents (which application's data ``application-data`` holds depends on the Juju version) and
adds operator advice for causes the client cannot see from its side (a server blocked on a
request, an extension syntax the server misreads).

For every ``postgresql_client`` relation it tells what was requested (database,
``extra-user-roles``, ``requested-secrets``, ``external-node-connectivity``, extensions the
interface cannot carry), which secrets the provider references, what it published, a password
left in clear, the PgBouncer subordinate's state; the verdict comes from
:func:`pgsql.protocol.evaluate_client`, with each referenced secret handed in as unreadable
(``show-unit`` never shows a secret's content: :data:`SECRET_NOT_VISIBLE`); when stand-ins for
that content make it ready, the unit is :data:`READY_AS_SHOWN` (the stand-ins are never shown).

Exit status: 0 every client unit examined is ready (a ``postgresql_client`` one whose
credentials are in Juju secrets: ready as far as ``show-unit`` shows, :data:`READY_AS_SHOWN`),
1 something is not ready or cannot be told from the input, 2 the input is not usable.

Modules, each importing only those listed above it (and :mod:`pgsql.connstr`,
:mod:`pgsql.protocol`):

- ``_bags``: what a databag's keys tell: written by a server or a client, of which interface
  (:data:`~pgsql.doctor._bags.PGSQL`, :data:`~pgsql.doctor._bags.POSTGRESQL_CLIENT` kinds).
- ``_read``: ``show-unit`` documents (YAML or JSON, every Juju version's shape) into units and
  their relation-info items; :class:`InputError` for anything else.
- ``_group``: the items of all units matched into relations; which side is the server; each
  relation's unit and application databags under one reading of ``application-data``.
- ``_mask``: how values from the input are shown: masked (:func:`target`); the passwords to
  :func:`redact` are found by ``pgsql._passwords`` (shared with ``pgsql demo``).
- ``_judge``: one client unit on one ``pgsql`` relation: :func:`pgsql.protocol.evaluate`'s
  verdict plus the doctor-only findings and reason codes (:class:`UnitVerdict`).
- ``_postgresql_client``: one ``postgresql_client`` relation: the request as written
  (:class:`WireRequest`), what the provider published (:class:`ProviderView`), the relation's
  findings.
- ``_client_verdict``: each requirer unit's verdict on a ``postgresql_client`` relation, from
  :func:`pgsql.protocol.evaluate_client` (the secrets' content stood in for).
- ``_migration``: a client application related on several endpoints: the relation a client
  serving them all serves (the others: ``endpoint-conflict``, as the library says).
- ``_diagnose``: :func:`diagnose`: every ``pgsql`` and ``postgresql_client`` relation under each
  possible reading of ``application-data``, into a :class:`Diagnosis` and its exit status.
- ``_render``: the report as text (:func:`render`) or JSON (:func:`to_json`).
- ``_cli``: the command line, ``pgsql doctor`` (:func:`add_arguments`, :func:`run`).

Everything is imported from this package, never from its modules.
"""

from __future__ import annotations

from .._passwords import redact

# Names of pgsql.connstr and pgsql.protocol that pgsql.doctor has always had (tests use
# doctor.ConnectionString); they stay reachable here.
from ..connstr import MASK as MASK
from ..connstr import SECRET_KEYWORDS as SECRET_KEYWORDS
from ..connstr import ConnectionString as ConnectionString
from ..connstr import ConnectionStringError as ConnectionStringError
from ..connstr import mask_value as mask_value
from ..protocol import JUJU_KEYS as JUJU_KEYS
from ..protocol import REQUEST_KEYS as REQUEST_KEYS
from ..protocol import Readiness as Readiness
from ..protocol import Reason as Reason
from ..protocol import Request as Request
from ..protocol import evaluate as evaluate
from ..protocol import parse_extension as parse_extension
from ..protocol import read_request as read_request
from ..protocol import split_standbys as split_standbys
from ..protocol import split_units as split_units
from ..protocol import unit_sort_key as unit_sort_key
from ._bags import Bag
from ._cli import add_arguments, run
from ._diagnose import (
    CLIENT_INTERFACE,
    EXIT_BAD_INPUT,
    EXIT_NOT_READY,
    EXIT_READY,
    PGSQL_INTERFACE,
    Diagnosis,
    RelationReport,
    diagnose,
)
from ._group import OWN, REMOTE, UNNAMED_APP
from ._judge import (
    CANNOT_TELL,
    EGRESS_FROM_PEER,
    EGRESS_UNKNOWN,
    NOT_READY,
    ORIENTATION_AMBIGUOUS,
    READY,
    READY_AS_SHOWN,
    REQUEST_NOT_VISIBLE,
    ROLES_UNKNOWN,
    SERVER_APP_BAG_NOT_VISIBLE,
    SERVER_UNITS_NOT_VISIBLE,
    UnitVerdict,
)
from ._mask import target
from ._migration import ENDPOINT_CONFLICT, ENDPOINT_SERVED
from ._pgsql_findings import (
    EXTENSION_SYNTAX,
    LIKELY_BLOCKED_EXTENSIONS,
    LIKELY_BLOCKED_ROLES,
    LIKELY_NO_DATABASE,
    MASTERS_DISAGREE,
    REQUEST_INCONSISTENT,
    STALE_APP_BAG,
)
from ._postgresql_client import (
    LIKELY_V1_REQUEST,
    PLAINTEXT_PASSWORD,
    SECRET_NOT_VISIBLE,
    SECRETS_NOT_REQUESTED,
    ProviderView,
    WireRequest,
)
from ._read import InputError, load_documents, parse_units
from ._render import render, to_json

__all__ = [
    # the command (pgsql.cli) and its exit statuses
    "EXIT_BAD_INPUT",
    "EXIT_NOT_READY",
    "EXIT_READY",
    "add_arguments",
    "run",
    # reading, diagnosing, reporting
    "Bag",
    "Diagnosis",
    "InputError",
    "ProviderView",
    "RelationReport",
    "UnitVerdict",
    "WireRequest",
    "diagnose",
    "load_documents",
    "parse_units",
    "redact",
    "render",
    "target",
    "to_json",
    # interfaces, verdicts, application-data orientations, doctor-only reason codes
    "CLIENT_INTERFACE",
    "PGSQL_INTERFACE",
    "CANNOT_TELL",
    "NOT_READY",
    "READY",
    "READY_AS_SHOWN",
    "OWN",
    "REMOTE",
    "UNNAMED_APP",
    "EGRESS_FROM_PEER",
    "ENDPOINT_CONFLICT",
    "ENDPOINT_SERVED",
    "EGRESS_UNKNOWN",
    "EXTENSION_SYNTAX",
    "LIKELY_BLOCKED_EXTENSIONS",
    "LIKELY_BLOCKED_ROLES",
    "LIKELY_NO_DATABASE",
    "MASTERS_DISAGREE",
    "ORIENTATION_AMBIGUOUS",
    "REQUEST_INCONSISTENT",
    "REQUEST_NOT_VISIBLE",
    "ROLES_UNKNOWN",
    "SERVER_APP_BAG_NOT_VISIBLE",
    "SERVER_UNITS_NOT_VISIBLE",
    "STALE_APP_BAG",
    # postgresql_client, doctor-only reason codes
    "LIKELY_V1_REQUEST",
    "PLAINTEXT_PASSWORD",
    "SECRETS_NOT_REQUESTED",
    "SECRET_NOT_VISIBLE",
]
