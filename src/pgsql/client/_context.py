"""What the running hook is, read from the environment once: :class:`HookContext`.

Juju names the hook, the relation, the remote and departing units and the secret in the
environment of the hook process (ops reads the same variables into ``ops.JujuContext``). The
client reads them here, once per entry (:class:`pgsql.client._scope.HookScope`), and nowhere
else: no other module of the client reads ``os.environ``.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional

from .. import protocol


class HookContext:
    """The hook this process runs, as far as the client needs to know.

    Attributes:
        hook: the hook's name as Juju spells it (``db-relation-changed``); "" outside a hook.
        relation_id: the relation the hook is about ("" when none), without the endpoint.
        remote_unit: the remote unit the hook names ("" when none).
        departing_unit: the unit relation-departed says is leaving ("" when none).
        secret_id: the unique part of the secret of a secret-changed hook ("" in other hooks).
        under_juju: whether a hook dispatch runs this (Juju, ``ops.testing``): one charm per
            hook. Not so under Harness, which drives one charm across events, so what one event
            cached is stale at the next.
    """

    # A plain class, not a dataclass: building a frozen dataclass costs every hook about half a
    # millisecond at import, for six attributes set once.
    __slots__ = ("departing_unit", "hook", "relation_id", "remote_unit", "secret_id", "under_juju")

    def __init__(
        self,
        hook: str = "",
        relation_id: str = "",
        remote_unit: str = "",
        departing_unit: str = "",
        secret_id: str = "",
        under_juju: bool = False,
    ) -> None:
        self.hook = hook
        self.relation_id = relation_id
        self.remote_unit = remote_unit
        self.departing_unit = departing_unit
        self.secret_id = secret_id
        self.under_juju = under_juju

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"HookContext({fields})"

    @classmethod
    def from_environ(cls, environ: Optional[Mapping[str, str]] = None) -> HookContext:
        """The context of the running hook, from ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        # Juju's dispatch path is ``hooks/<hook>``; some test runners write ``_`` for ``-``
        hook = env.get("JUJU_DISPATCH_PATH", "").rpartition("/")[2].replace("_", "-")
        secret = env.get("JUJU_SECRET_ID", "") if hook == "secret-changed" else ""
        return cls(
            hook=hook,
            # Juju says "db:5"; some test runners only "5"
            relation_id=env.get("JUJU_RELATION_ID", "").rpartition(":")[2],
            remote_unit=env.get("JUJU_REMOTE_UNIT", ""),
            departing_unit=env.get("JUJU_DEPARTING_UNIT", ""),
            secret_id=protocol.secret_id(secret) if secret else "",
            under_juju="JUJU_DISPATCH_PATH" in env,
        )

    def is_relation_hook(self, endpoint: str, relation_id: int, kind: str) -> bool:
        """Whether this is ``<endpoint>-relation-<kind>`` for that relation."""
        return self.relation_id == str(relation_id) and self.hook == (
            f"{endpoint.replace('_', '-')}-relation-{kind}"
        )
