"""pgsql.testing.Model removes a unit as Juju does.

The unit being removed runs relation-departed for each remote unit it sees, naming itself as
the departing unit, then relation-broken; the remote units run relation-departed naming it.
Providers act on the difference (a unit leaving touches nothing of the requirers').
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Optional, Tuple

import ops
import ops.charm
import ops.framework
from needs import requires_scenario

from pgsql import testing as pgt

testing: Any = requires_scenario()

SERVER_META: Dict[str, Any] = {"name": "srv", "provides": {"db": {"interface": "x"}}}
CLIENT_META: Dict[str, Any] = {"name": "cli", "requires": {"db": {"interface": "x"}}}


class Recorder(ops.charm.CharmBase):
    """Records (unit, hook, remote unit, departing unit) of each departed and broken hook."""

    seen: ClassVar[List[Tuple[str, str, Optional[str], Optional[str]]]] = []

    def __init__(self, framework: ops.framework.Framework) -> None:
        super().__init__(framework)
        framework.observe(self.on.db_relation_departed, self._departed)
        framework.observe(self.on.db_relation_broken, self._broken)

    def _departed(self, event: ops.charm.RelationDepartedEvent) -> None:
        remote = event.unit.name if event.unit else None
        departing = event.departing_unit.name if event.departing_unit else None
        self.seen.append((self.unit.name, "departed", remote, departing))

    def _broken(self, event: ops.charm.RelationBrokenEvent) -> None:
        self.seen.append((self.unit.name, "broken", None, None))


def test_a_removed_unit_runs_departed_naming_itself_for_each_remote_unit_then_broken() -> None:
    Recorder.seen = []
    m = pgt.Model()
    m.add_app("cli", Recorder, units=2, meta=CLIENT_META)
    m.add_app("srv", Recorder, units=1, meta=SERVER_META)
    m.deploy()
    m.relate("cli:db", "srv:db")
    Recorder.seen.clear()
    m.remove_unit("srv/0")
    own = [s for s in Recorder.seen if s[0] == "srv/0"]
    assert own == [
        ("srv/0", "departed", "cli/0", "srv/0"),
        ("srv/0", "departed", "cli/1", "srv/0"),
        ("srv/0", "broken", None, None),
    ]
    others = sorted(s for s in Recorder.seen if s[0] != "srv/0")
    assert others == [
        ("cli/0", "departed", "srv/0", "srv/0"),
        ("cli/1", "departed", "srv/0", "srv/0"),
    ]
