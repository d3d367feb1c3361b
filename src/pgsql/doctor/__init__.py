"""``pgsql doctor``: explain a live ``pgsql`` relation from ``juju show-unit`` output.

The module moved whole to ``pgsql/doctor/_judge.py``; this package re-exports its names. The
split into modules follows.
"""

from __future__ import annotations

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
from ._judge import (
    CANNOT_TELL,
    EGRESS_FROM_PEER,
    EGRESS_UNKNOWN,
    EXIT_BAD_INPUT,
    EXIT_NOT_READY,
    EXIT_READY,
    EXTENSION_SYNTAX,
    LIKELY_BLOCKED_EXTENSIONS,
    LIKELY_BLOCKED_ROLES,
    LIKELY_NO_DATABASE,
    MASTERS_DISAGREE,
    NOT_READY,
    ORIENTATION_AMBIGUOUS,
    OWN,
    READY,
    REMOTE,
    REQUEST_INCONSISTENT,
    REQUEST_NOT_VISIBLE,
    ROLES_UNKNOWN,
    SERVER_APP_BAG_NOT_VISIBLE,
    SERVER_UNITS_NOT_VISIBLE,
    STALE_APP_BAG,
    Bag,
    Diagnosis,
    InputError,
    RelationReport,
    UnitVerdict,
    add_arguments,
    diagnose,
    load_documents,
    parse_units,
    redact,
    render,
    run,
    target,
    to_json,
)

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
    "RelationReport",
    "UnitVerdict",
    "diagnose",
    "load_documents",
    "parse_units",
    "redact",
    "render",
    "target",
    "to_json",
    # verdicts, application-data orientations, doctor-only reason codes
    "CANNOT_TELL",
    "NOT_READY",
    "READY",
    "OWN",
    "REMOTE",
    "EGRESS_FROM_PEER",
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
]
