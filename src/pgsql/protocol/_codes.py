"""The reason codes of :class:`pgsql.protocol.Reason` shared by both interfaces.

Plain strings, apart from :mod:`._readiness` and its dataclasses, so that code naming a reason
(the client's records, at import) does not pay for building those classes in every hook.
"""

#: Reason codes. Blocking ones explain why a bag (or the relation) is not ready.
WAITING = "waiting-for-server"
NO_REMOTE = "no-remote-units"
MALFORMED = "malformed"
EGRESS_NOT_ALLOWED = "egress-not-allowed"
UNIT_NOT_ALLOWED = "unit-not-allowed"
NAME_PREFIX_BUG = "name-prefix-bug"
DATABASE_PENDING = "database-pending"
DATABASE_MISMATCH = "database-mismatch"
ROLES_PENDING = "roles-pending"
ROLES_IGNORED = "roles-ignored"
EXTENSIONS_PENDING = "extensions-pending"
REQUEST_UNKNOWN = "request-unknown"
STALE_APP_BAG = "stale-app-bag"
MASTERS_DISAGREE = "masters-disagree"
EXTENSIONS_NOT_ECHOED = "extensions-not-echoed"
REJECTED = "rejected"
