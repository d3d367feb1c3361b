"""The seam between :class:`pgsql.PostgreSQLClient` and one interface: :class:`Wire`.

The client is a facade: the public API, the events and the hook lifecycle are the same for every
interface. What differs (which bags and secrets to read, what to publish and where, which hooks
matter) is one :class:`Wire` per endpoint, chosen once in the client's ``__init__`` from the
endpoint's ``interface:`` (:data:`WIRES`), as psycopg picks its copy formatter once in
``BaseCopy.__init__``. Adding an interface is a module with a :class:`Wire` and a line in
:data:`WIRES` (see docs/architecture.md).
"""

from __future__ import annotations

import abc
import logging
from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, Mapping, Optional, Set

import ops.model
from ops.model import Relation

from ..protocol import Request
from ._context import HookContext
from ._scope import HookScope
from ._sharing import RequestSharing

if TYPE_CHECKING:  # pragma: no cover - loaded with a relation's first evaluation
    from ..protocol import Readiness

Secrets = Dict[str, Optional[Dict[str, str]]]


class WireHost:
    """What a wire uses of its client: the model, the running scope and the per-hook caches.

    Args:
        model: the charm's model.
        log: the client's logger.
        state: the client's StoredState (``was_leader``).
        sharing: how the leader shares its request with non-leaders.
        scope: the running entry's scope.
        handled: whether one of the client's handlers ran in this process yet.
        declared: whether the request is declared (every unit computes it; nothing to share).
    """

    def __init__(
        self,
        model: ops.model.Model,
        log: logging.Logger,
        state: Any,
        sharing: RequestSharing,
        scope: Callable[[], HookScope],
        handled: Callable[[], bool],
        declared: Callable[[], bool],
    ):
        self.model = model
        self.log = log
        self.state = state
        self.sharing = sharing
        self._scope = scope
        self.handled = handled
        self._declared = declared
        #: secret contents read in this hook, by secret id (None: not readable)
        self.secrets: Secrets = {}
        #: relations whose egress-subnets was read in this hook
        self.fresh_egress: Set[int] = set()

    @property
    def context(self) -> HookContext:
        """The running hook."""
        return self._scope().context

    def record(self, relid: int) -> Dict[str, Any]:
        """A copy of the relation's record (see :class:`HookScope`)."""
        return self._scope().record(relid)

    def put(self, relid: int, rec: Dict[str, Any]) -> None:
        """Keep a relation's record, saved at the end of the scope."""
        self._scope().put(relid, rec)

    def share(self, relid: int, request: Request) -> None:
        """The leader's copy of the request for non-leaders."""
        self.sharing.share(relid, request, declared=self._declared())


class Wire(abc.ABC):
    """One interface's behaviour behind the client facade.

    Only :meth:`readiness`, :meth:`echoed_request`, :meth:`follow_secret`, :meth:`settle`,
    :meth:`forget` and the writers read or write Juju; :meth:`own_request` and
    :meth:`departure_matters` are functions of values.

    Args:
        host: what the wire uses of its client.
        external: the application runs outside the model's network (for interfaces that can
            say so).
    """

    #: the ``interface:`` this wire speaks
    interface: str = ""
    #: hooks besides the relation's own that matter (``secret-changed``)
    hooks: FrozenSet[str] = frozenset()
    #: only the leader publishes (nothing in the unit bag)
    leader_only = False
    #: which server bag made the relation ready is a decision worth a DEBUG line
    logs_source = False
    #: under Harness (one charm across events), a cached verdict is judged again on each read:
    #: secrets and the provider's bag may have changed without any of our handlers running
    rereads_under_harness = False
    #: the verdict holds until the provider's data changes (a relation-changed, a
    #: secret-changed), the request changes or the provider's units come or all go: it is kept
    #: between hooks (without connection strings) rather than judged again in each
    verdict_lasts = False

    def __init__(self, host: WireHost, external: bool = False):
        self.host = host
        self.external = external

    @abc.abstractmethod
    def readiness(self, relation: Relation, request: Optional[Request]) -> Readiness:
        """Read what the remote side says (bags, secrets, egress) and judge it."""

    @abc.abstractmethod
    def own_request(self, app_bag: Mapping[str, str]) -> Request:
        """What this application's bag requests, in this interface's spelling."""

    def echoed_request(self, relation: Relation) -> Optional[Request]:
        """The request as the server echoed it, for a unit that cannot know it otherwise."""
        return None

    def departure_matters(self, rec: Dict[str, Any], relation: Relation) -> bool:
        """Whether a remote unit's departure can change the verdict."""
        return True

    def follow_secret(self, relation: Relation, secret: ops.model.Secret, key: str) -> bool:
        """secret-changed: whether the relation references that secret (its content read)."""
        return False

    def migrate_unit_request(self, relation: Relation) -> None:
        """upgrade-charm on the leader: move a request a pre-ops charm left in its unit bag."""
        return None  # no such charm on most interfaces

    def check(self, request: Request) -> None:
        """Refuse what this interface's providers cannot be asked here (RequestError).

        :func:`pgsql.protocol.check_request` has judged the request's names already.
        """
        return None

    def settle(self, relation: Relation, readiness: Readiness, declared: Request) -> None:
        """After a verdict on a declared request: tidy what the answer made useless."""
        return None

    def forget(self, relation: Relation, request: Request) -> None:
        """relation-broken: remove what this unit owns for the relation."""
        return None

    @abc.abstractmethod
    def publish(self, relation: Relation, request: Optional[Request], app_too: bool) -> None:
        """Write the known request where it is not yet (``app_too``: the app bag as well)."""

    @abc.abstractmethod
    def write_request(self, relation: Relation, request: Request) -> None:
        """The leader's write after a 1.x setter: every bag and the copy for non-leaders."""
