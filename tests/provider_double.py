"""A ``postgresql_client`` provider double, written from the interface facts.

What each real provider publishes (../shared/interface/postgresql_client.md), as plain data:
the application bag, the unit bags (only PgBouncer VM writes one), and the content of each Juju
secret it references. Tests turn it into Scenario or Harness state; nothing here imports the
library under test, so the library cannot agree with itself by construction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Mapping, Optional, Tuple

PASSWORD = "s3cr3t-Pa55"  # a test vector
NEW_PASSWORD = "r0tated-Pa55"
USER = "relation-7"
CA = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----"
NEW_CA = "-----BEGIN CERTIFICATE-----\nMIIBrotated\n-----END CERTIFICATE-----"
MODEL = "cafef00d-0000-4000-8000-000000000001"
USER_SECRET = f"secret://{MODEL}/d7f0user000000000001"
TLS_SECRET = f"secret://{MODEL}/d7f0tls0000000000002"

#: The variants of the facts file's table.
PG16_VM = "postgresql-16-vm"
PG14_VM = "postgresql-14-vm"
PG16_K8S = "postgresql-16-k8s"
PGB_VM = "pgbouncer-vm"
PGB_K8S = "pgbouncer-k8s"
OLD_LIBPATCH = "libpatch-17"  # data_interfaces < 18: no secrets, no read-only-uris, no subordinated
VARIANTS = (PG16_VM, PG14_VM, PG16_K8S, PGB_VM, PGB_K8S, OLD_LIBPATCH)


@dataclass(frozen=True)
class Provider:
    """One provider application in one state.

    Attributes:
        variant: one of :data:`VARIANTS`.
        secrets: the provider puts credentials in Juju secrets (Juju >= 3.0.3, LIBPATCH >= 18,
            and the requirer listed them in ``requested-secrets``).
        answered: the provider acted on the request.
        database: the database it created (its echo).
        password: the current password.
        tls: TLS enabled, with ``ca`` published.
        ca: the CA certificate when TLS is on.
        unit_ready: PgBouncer VM only: the co-located unit bag says ``state: ready``.
        request: the requirer's request as the provider snapshotted it (``data``).
    """

    variant: str = PG16_VM
    secrets: bool = True
    answered: bool = True
    database: str = "mydbname"
    password: str = PASSWORD
    tls: bool = False
    ca: str = ""
    unit_ready: bool = True
    request: Mapping[str, str] = field(default_factory=lambda: {"database": "mydbname"})

    def evolve(self, **changes: object) -> Provider:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        return "pgbouncer" if self.variant in (PGB_VM, PGB_K8S) else "postgresql"

    def endpoints(self) -> Tuple[str, str]:
        """``endpoints`` and ``read-only-endpoints`` as the variant writes them."""
        if self.variant in (PG16_VM, PG14_VM, OLD_LIBPATCH):
            return "10.0.0.5:5432", "10.0.0.6:5432,10.0.0.7:5432"
        if self.variant == PG16_K8S:
            svc = "postgresql-k8s-{}.dev.svc.cluster.local:5432"
            return svc.format("primary"), svc.format("replicas")
        if self.variant == PGB_VM:
            return "localhost:6432", "localhost:6432"
        service = "pgbouncer-k8s.dev.svc.cluster.local:6432"
        return service, service

    def readonly_uri(self) -> str:
        host_ro = self.endpoints()[1].split(",")[0]
        if self.variant == PG16_K8S:
            # PostgreSQL 16 K8s writes the port twice
            return f"postgresql://{USER}:{self.password}@{host_ro}:5432/{self.database}"
        if self.variant in (PGB_VM, PGB_K8S):
            return f"postgresql://{USER}:{self.password}@{host_ro}/{self.database}_readonly"
        return f"postgresql://{USER}:{self.password}@{host_ro}/{self.database}"

    def user_content(self) -> Dict[str, str]:
        host = self.endpoints()[0]
        content = {
            "username": USER,
            "password": self.password,
            "uris": f"postgresql://{USER}:{self.password}@{host}/{self.database}",
        }
        if self.variant != OLD_LIBPATCH:
            content["read-only-uris"] = self.readonly_uri()
        return content

    def tls_content(self) -> Dict[str, str]:
        return {"tls": "True" if self.tls else "False", "tls-ca": self.ca if self.tls else ""}

    def app_bag(self) -> Dict[str, str]:
        """The provider application's bag."""
        if not self.answered:
            return {}
        endpoints, readonly = self.endpoints()
        bag = {
            "database": self.database,
            "endpoints": endpoints,
            "read-only-endpoints": readonly,
            "version": "14.12" if self.variant in (PG14_VM, OLD_LIBPATCH) else "16.14",
            "data": json.dumps(dict(self.request)),
        }
        if self.variant == PGB_VM:
            bag["subordinated"] = "true"
        if self.secrets and self.variant != OLD_LIBPATCH:
            bag["secret-user"] = USER_SECRET
            bag["secret-tls"] = TLS_SECRET
        else:
            bag.update(self.user_content())
            bag.update(self.tls_content())
        return bag

    def unit_bags(self, units: int = 1) -> Dict[int, Dict[str, str]]:
        """The provider units' bags (by unit number): only PgBouncer VM writes ``state``."""
        if self.variant != PGB_VM:
            return {n: {} for n in range(units)}
        return {n: {"state": "ready" if self.unit_ready else "waiting"} for n in range(units)}

    def secret_contents(self) -> Dict[str, Dict[str, str]]:
        """The content of each secret the bag references, by URI."""
        if not self.answered or not self.secrets or self.variant == OLD_LIBPATCH:
            return {}
        return {USER_SECRET: self.user_content(), TLS_SECRET: self.tls_content()}

    def passwords(self) -> Tuple[str, ...]:
        return (self.password,)


def plaintext(provider: Provider) -> Provider:
    """The same provider under Juju 2.9 (no secrets)."""
    return provider.evolve(secrets=False)


def secret_spec(provider: Provider, uri: str) -> Optional[Dict[str, str]]:
    return provider.secret_contents().get(uri)


def relate_harness(
    harness: Any, endpoint: str, provider: Provider, grant: bool = True
) -> Tuple[int, Dict[str, str]]:
    """Relate a begun Harness to ``provider``: one unit, its secrets and its application bag.

    Each secret is added as the provider's (and granted to ``myapp`` unless ``grant`` is
    False); the bag names it by the id Harness gave it. Returns the relation id and the Harness
    secret id of each of the provider's secret URIs.
    """
    rel_id = harness.add_relation(endpoint, provider.name)
    harness.add_relation_unit(rel_id, f"{provider.name}/0")
    ids: Dict[str, str] = {}
    bag = provider.app_bag()
    for uri, content in provider.secret_contents().items():
        secret_id = harness.add_model_secret(provider.name, content)
        if grant:
            harness.grant_secret(secret_id, "myapp")
        ids[uri] = secret_id
        bag = {key: (secret_id if value == uri else value) for key, value in bag.items()}
    harness.update_relation_data(rel_id, provider.name, bag)
    return rel_id, ids
