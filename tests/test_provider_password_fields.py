"""No password in clear beside secrets (issue #17, point 2).

A data_interfaces LIBPATCH 40 requirer on Juju 3.6 lists ``username``, ``password``, ``tls``,
``tls-ca``, ``uris`` in ``requested-secrets``, not ``read-only-uris``. The provider used to
publish ``read-only-uris`` in clear, password included. The rule now, for every field: when the
requirer reads secrets, a field holding the password goes only into the user secret, and one it
did not request is not published at all. Without secrets (Juju 2.9, or a requirer requesting
none) the bag is how the password travels.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any, Dict, Tuple

import pytest
from needs import needs_scenario
from test_server_postgresql_client import (
    JUJU_29,
    PASSWORD,
    PRIMARY,
    REPLICA,
    USER,
    _everything,  # pyright: ignore[reportPrivateUsage]
    _publish_again,  # pyright: ignore[reportPrivateUsage]
    _run,  # pyright: ignore[reportPrivateUsage]
    requirer_bag,
)

from pgsql import ConnectionString, Request, protocol
from pgsql.protocol import REQUESTED_SECRETS, DatabaseRequest, provider_answer
from pgsql.server_postgresql_client import secret_label

LIBPATCH_40 = ("username", "password", "tls", "tls-ca", "uris")
HOLDS_PASSWORD = ("password", "uris", "read-only-uris")
MYDB = Request.build(database="mydb", roles=["charmed_dml"])
STANDBY = ConnectionString(
    host="10.0.0.6", port="5432", dbname="mydb", user=USER, password=PASSWORD
)


def _libpatch_40_bag() -> Dict[str, str]:
    return requirer_bag(changes={"requested-secrets": json.dumps(list(LIBPATCH_40))})


def _read_back(out: Any, rel_id: int) -> Tuple[Dict[str, str], protocol.Readiness]:
    bag = dict(out.get_relation(rel_id).local_app_data)
    contents = {s.id: dict(s.latest_content) for s in out.secrets}
    return bag, protocol.evaluate_client(MYDB, bag, {"pg/0": {}}, contents)


@needs_scenario
def test_libpatch_40_on_juju_36_gets_no_read_only_uris_in_clear() -> None:
    out, _, rel_id = _run(bag=_libpatch_40_bag())
    bag, readiness = _read_back(out, rel_id)
    assert "read-only-uris" not in bag
    assert PASSWORD not in _everything(out)
    user = out.get_secret(label=secret_label("database", rel_id, "user"))
    assert set(user.latest_content) == {"username", "password", "uris"}
    # the requirer still gets its standby, from read-only-endpoints and the secret
    assert bag["read-only-endpoints"] == REPLICA
    assert readiness.ready, readiness.why
    assert readiness.standbys == (STANDBY,)


@needs_scenario
def test_libpatch_40_on_juju_29_gets_every_field_in_clear() -> None:
    out, _, rel_id = _run(bag=_libpatch_40_bag(), juju=JUJU_29)
    bag, readiness = _read_back(out, rel_id)
    assert ConnectionString(bag["read-only-uris"]) == STANDBY  # no secrets: plaintext is the way
    assert bag["password"] == PASSWORD
    assert readiness.ready, readiness.why


@needs_scenario
def test_a_read_only_uris_published_in_clear_before_is_withdrawn() -> None:
    # what an earlier version of this library left in the bag goes on the next publication
    out, _, rel_id = _run(bag=_libpatch_40_bag())
    rel = out.get_relation(rel_id)
    leaked = dataclasses.replace(
        rel, local_app_data={**rel.local_app_data, "read-only-uris": str(STANDBY.uri)}
    )
    state = dataclasses.replace(out, relations={leaked})
    again, charm, _ = _publish_again(state)
    assert charm.changed is True
    assert "read-only-uris" not in again.get_relation(rel_id).local_app_data
    assert PASSWORD not in _everything(again)


@needs_scenario
def test_a_requirer_asking_for_read_only_uris_later_gets_it_in_the_secret() -> None:
    out, _, rel_id = _run(bag=_libpatch_40_bag())
    out, _, _ = _run(bag=requirer_bag(), state=out)  # now lists read-only-uris too
    user = out.get_secret(label=secret_label("database", rel_id, "user"))
    assert ConnectionString(user.latest_content["read-only-uris"]) == STANDBY
    assert "read-only-uris" not in out.get_relation(rel_id).local_app_data


_SUBSETS = [
    subset
    for n in range(1, len(REQUESTED_SECRETS) + 1)
    for subset in itertools.combinations(REQUESTED_SECRETS, n)
]


@pytest.mark.parametrize("requested", _SUBSETS, ids=",".join)
def test_no_field_holding_the_password_is_in_clear_beside_secrets(
    requested: Tuple[str, ...],
) -> None:
    request = DatabaseRequest("mydb", requested_secrets=requested)
    answer = provider_answer(
        request,
        endpoints=[PRIMARY],
        read_only_endpoints=[REPLICA],
        username=USER,
        password=PASSWORD,
        tls=True,
    )
    assert not any(PASSWORD in value for value in answer.bag.values())
    for key in HOLDS_PASSWORD:
        in_secret = key in answer.secrets.get("user", {})
        assert in_secret == (key in requested)
        assert (key in answer.withheld) == (not in_secret)
    # without secrets, or for a requirer requesting none, the bag carries them all
    for plain in (
        provider_answer(
            request,
            endpoints=[PRIMARY],
            read_only_endpoints=[REPLICA],
            username=USER,
            password=PASSWORD,
            secrets_available=False,
        ),
        provider_answer(
            dataclasses.replace(request, requested_secrets=()),
            endpoints=[PRIMARY],
            read_only_endpoints=[REPLICA],
            username=USER,
            password=PASSWORD,
        ),
    ):
        assert set(HOLDS_PASSWORD) <= set(plain.bag)
        assert plain.withheld == ()
