"""A charm reading ``readiness()`` then ``.master`` while the provider's relation-changed is
queued (it withdrew its answer): the documented window of a verdict kept between hooks.

The kept verdict says what the charm was last told (ready); its master is read live, and the
provider publishes none any more: ``master`` is None until the queued relation-changed runs and
tells the charm. ``is_ready()`` reads the master, so ``is_ready()`` and ``master()`` agree (not
ready, None). A charm checks ``master`` (typed Optional) before using it.
"""

from __future__ import annotations

from typing import Any, Dict, List

import ops
import ops.charm
import ops.framework
import test_model_secrets as model_secrets

import pgsql
from pgsql import testing as pgt

_CONFIG: Dict[str, Any] = {
    "options": {
        "password": {"type": "string", "default": "pw-1"},
        "withdraw": {"type": "boolean", "default": False},
    }
}

_SEEN: List[Any] = []


class _Withdraws(model_secrets.Provider):
    """The test provider, which withdraws its endpoints when configured to."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on.config_changed, self._reconfigure)

    def _reconfigure(self, _: ops.ConfigChangedEvent) -> None:
        if not self.unit.is_leader():
            return
        for rel in self.model.relations["database"]:
            bag = rel.data[self.app]
            if "secret-user" not in bag:
                continue
            if self.config.get("withdraw"):
                bag.pop("endpoints", None)
            else:
                bag["endpoints"] = "10.0.0.5:5432"


class _ReadsTheVerdict(ops.charm.CharmBase):
    """Looks at readiness() then its master in update-status, as charms do."""

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        self.db = pgsql.PostgreSQLClient(self, "database", database="mydb")
        framework.observe(self.on.update_status, self._configure)

    def _configure(self, _: ops.EventBase) -> None:
        r = self.db.readiness()
        assert r is not None
        _SEEN.append((r.ready, r.master is not None, self.db.is_ready(), self.db.master()))


def test_a_kept_ready_verdict_whose_provider_withdrew_has_no_master_until_its_changed_runs() -> (
    None
):
    _SEEN.clear()
    model = pgt.Model()
    model.add_app(
        "postgresql",
        _Withdraws,
        meta=model_secrets.PROVIDER_META,
        config=_CONFIG,
        actions=model_secrets.PROVIDER_ACTIONS,
    )
    model.add_app("myapp", _ReadsTheVerdict, meta=model_secrets.CLIENT_META)
    model.deploy()
    model.relate("myapp:database", "postgresql:database")
    model.run("myapp/0", "update_status")
    assert _SEEN[-1][:3] == (True, True, True)
    model.config("postgresql", withdraw=True, settle=False)
    model.run("postgresql/0", "config_changed")  # queues relation-changed on myapp/0
    model.run("myapp/0", "update_status")  # Juju may run it first
    assert _SEEN[-1] == (True, False, False, None)  # told ready; no master now; agree
    model.settle()  # the queued relation-changed tells the charm
    model.run("myapp/0", "update_status")
    assert _SEEN[-1] == (False, False, False, None)
