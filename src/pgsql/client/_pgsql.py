"""The ``pgsql`` interface, requires side: :class:`PgsqlWire`.

The server answers in its unit bags (some servers in the application bag too), so the client
keeps a copy of the server's protocol keys (``remote`` in the relation's record) and re-reads
only the bag a relation-changed names. The request is published in the leader's application bag
and in every unit's own bag (older servers read one, newer the other).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, cast

from ops.model import Application, Relation

from .. import protocol
from ..protocol import Request
from ._compat import legacy
from ._records import ACCESS_CODES, Bag, catch_up, read_remote, shared_form, write_request_keys
from ._wire import Wire

if TYPE_CHECKING:  # pragma: no cover - loaded with a relation's first evaluation
    from ..protocol import Readiness


class PgsqlWire(Wire):
    """``pgsql``: :func:`pgsql.protocol.evaluate` over the cached server bags."""

    interface = "pgsql"
    logs_source = True

    def own_request(self, app_bag: Mapping[str, str]) -> Request:
        return Request.from_databag(app_bag)

    def readiness(self, relation: Relation, request: Optional[Request]) -> Readiness:
        host = self.host
        rec = host.record(relation.id)
        if not host.handled():
            remote = rec.get("remote")
            if remote is not None:
                # a deferred event re-run before our handler sees what this hook brings
                catch_up(
                    host.context,
                    host.model,
                    relation.name,
                    relation,
                    cast("Dict[str, Any]", remote),
                )
        remote = self._remote(relation, rec)
        readiness = self._judge(relation, rec, remote, request)
        if (
            not readiness.ready
            and relation.id not in host.fresh_egress
            and any(r.code in ACCESS_CODES for r in readiness.reasons)
        ):
            # Our egress may have changed (a re-created pod): re-read it once before blaming
            # the server.
            egress = self._read_egress(relation)
            if egress != rec.get("egress"):
                rec["egress"] = egress
                readiness = self._judge(relation, rec, remote, request)
        host.put(relation.id, rec)
        return readiness

    def _remote(self, relation: Relation, rec: Dict[str, Any]) -> Dict[str, Any]:
        remote = rec.get("remote")
        if remote is None:
            remote = rec["remote"] = read_remote(relation)
        if not rec.get("egress"):
            # Juju writes egress-subnets before the first relation hook; "" means "not yet"
            # (tests set it late), so it is read again until there is one.
            rec["egress"] = self._read_egress(relation)
        return cast("Dict[str, Any]", remote)

    def _read_egress(self, relation: Relation) -> str:
        self.host.fresh_egress.add(relation.id)
        return relation.data[self.host.model.unit].get("egress-subnets", "")

    def _judge(
        self,
        relation: Relation,
        rec: Dict[str, Any],
        remote: Dict[str, Any],
        request: Optional[Request],
    ) -> Readiness:
        model = self.host.model
        rel_app = cast("Optional[Application]", relation.app)
        app_name = rel_app.name if rel_app is not None else str(remote.get("name", ""))
        local = {"egress-subnets": str(rec.get("egress") or "")}
        accept: Optional[Callable[[str, Mapping[str, str]], bool]] = None
        if legacy("_patched")("_is_ready"):
            # 1.x tests patch _is_ready to force a verdict: let it judge every server bag
            is_ready = cast("Callable[..., bool]", legacy("_is_ready"))
            appdata = shared_form(request) if request is not None else {}
            locdata = relation.data[model.unit]
            log = self.host.log

            def _accept(name: str, data: Mapping[str, str]) -> bool:
                return bool(is_ready(log, appdata, locdata, data))

            accept = _accept

        return protocol.evaluate(
            request,
            model.unit.name,
            local,
            app_name,
            cast("Bag", remote.get("app") or {}),
            cast("Dict[str, Bag]", remote.get("units") or {}),
            accept=accept,
        )

    def migrate_unit_request(self, relation: Relation) -> None:
        """Pre-ops charms requested through the leader's unit databag; 1.x moved it up."""
        host = self.host
        app_bag = relation.data[host.model.app]
        if any(k in app_bag for k in protocol.REQUEST_KEYS):
            return
        unit_req = Request.from_databag(relation.data[host.model.unit])
        if unit_req:
            host.log.debug("moving the request of relation %s to the app databag", relation.id)
            write_request_keys(app_bag, unit_req.databag())
            rec = host.record(relation.id)
            rec["req"] = unit_req.databag()
            rec["pub_app"] = unit_req.databag()
            host.put(relation.id, rec)

    def publish(self, relation: Relation, request: Optional[Request], app_too: bool) -> None:
        host = self.host
        model = host.model
        rec = host.record(relation.id)
        if request is None:
            if rec.get("pub_unit"):
                # an ex-leader that can no longer know the request stops advertising its own
                write_request_keys(relation.data[model.unit], {})
                rec["pub_unit"] = {}
                host.put(relation.id, rec)
            return
        want = request.databag()
        if rec.get("pub_unit") != want:
            unit_bag = relation.data[model.unit]
            write_request_keys(unit_bag, want)
            rec["pub_unit"] = want
            host.fresh_egress.add(relation.id)
            rec["egress"] = unit_bag.get("egress-subnets", "")
        if app_too and rec.get("pub_app") != want and host.state.was_leader is not False:
            if model.unit.is_leader():
                host.state.was_leader = True
                write_request_keys(relation.data[model.app], want)
                rec["pub_app"] = want
                host.put(relation.id, rec)
                host.share(relation.id, request)
                return
            host.state.was_leader = False
        host.put(relation.id, rec)

    def write_request(self, relation: Relation, request: Request) -> None:
        host = self.host
        want = request.databag()
        rec = host.record(relation.id)
        write_request_keys(relation.data[host.model.app], want)
        write_request_keys(relation.data[host.model.unit], want)
        rec["pub_app"] = want
        rec["pub_unit"] = want
        host.put(relation.id, rec)
        host.share(relation.id, request)
