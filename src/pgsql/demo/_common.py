"""What every part of ``pgsql demo`` shares: its names, its applications and its error."""

from __future__ import annotations

SIMULATED = (
    "Juju is simulated with ops.testing: each hook runs the example charms' real code "
    "in-process and the demo carries the databags between the units as Juju would. "
    "PostgreSQL is real."
)
MASK = "******"
CLIENT_APP = "myapp"  # the seed charm on pgsql
MODERN_APP = "myapp-modern"  # the same charm, its db endpoint declared postgresql_client
SERVER_APP = "postgresql"
MODERN_ENDPOINT = "database"  # the provider's postgresql_client endpoint
CLIENT_UNITS = 2
DATABASE = "mydbname"  # what the seed example requests
EXTENSION = "citext"
PLUGIN = "plugin-citext-enable"  # the provider's option creating it on postgresql_client
ROTATE = "rotate-password"  # the provider's action
REL_ID = 3
INTERFACES = ("pgsql", "postgresql_client")
BOTH = "both"
CHOICES = (*INTERFACES, BOTH)
NEW_CHARM = "new"  # --charm: examples/postgresql-client-charm, the default
OLD_CHARM = "1.x"  # --charm: examples/pgsql-client, the 1.0.0 README charm


class DemoError(Exception):
    """The demo cannot run or did not reach its end; the message says why."""
