"""No password in any output (logs, bags, StoredState, statuses, reprs) over every
provider variant, rotation and malformed provider data (``postgresql_client``).
"""

from __future__ import annotations

import dataclasses
import json

import ops
import pytest
from fix_client_postgresql_client import (
    JUJU_29,
    JUJU_36,
    META,
    TLS_PROVIDER,
    Declared,
    answered,
    changed,
    charm_class,
    everything,
    kinds,
    no_password,
    provide,
    rotate,
    run,
    secrets_of,
    started,
    testing,
)
from provider_double import (
    NEW_CA,
    NEW_PASSWORD,
    PASSWORD,
    TLS_SECRET,
    USER_SECRET,
    VARIANTS,
    Provider,
)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("juju", [JUJU_36, JUJU_29])
@pytest.mark.parametrize("leader", [True, False])
def test_no_password_in_any_output(variant: str, juju: str, leader: bool) -> None:
    ctx = testing.Context(Declared, meta=META, juju_version=juju, unit_id=0 if leader else 1)
    state, rel_id = started(ctx, leader=leader)
    provider = Provider(variant=variant, secrets=juju == JUJU_36)
    state, charm = changed(ctx, provide(state, rel_id, provider), rel_id)
    assert "MasterAvailableEvent" in kinds(charm)
    if juju == JUJU_36 and variant != "libpatch-17":
        rotated = provider.evolve(password=NEW_PASSWORD)
        state = dataclasses.replace(state, secrets=secrets_of(provider, latest=rotated))
        state, charm2 = run(ctx, ctx.on.secret_changed(state.get_secret(id=USER_SECRET)), state)
        assert "MasterChangedEvent" in kinds(charm2)
        charm.reprs += charm2.reprs
    state, charm3 = run(ctx, ctx.on.update_status(), state)
    r = charm3.db.readiness()
    assert r is not None
    text = everything(ctx, state, charm) + repr(r) + r.why + repr(r.reasons) + repr(r.bags)
    no_password(text)
    if leader:
        assert set(state.get_relation(rel_id).local_app_data) <= {
            "database",
            "extra-user-roles",
            "requested-secrets",
            "external-node-connectivity",
        }


_URI = f"postgresql://relation-7:{PASSWORD}@10.0.0.5:5432/mydbname"
_BASE = {"database": "mydbname", "endpoints": "10.0.0.5:5432", "version": "16.14"}
MALFORMED_BAGS = {
    "uri-in-endpoints": {**_BASE, "endpoints": _URI, "username": "u", "password": PASSWORD},
    "userinfo-in-endpoints": {
        **_BASE,
        "endpoints": f"relation-7:{PASSWORD}@10.0.0.5:5432",
        "username": "u",
        "password": PASSWORD,
    },
    "uris-only-doubled-port": {**_BASE, "uris": _URI.replace(":5432/", ":5432:5432/")},
    "uris-only-bad-escape": {**_BASE, "uris": _URI.replace(PASSWORD, PASSWORD + "%zz")},
    "uris-only-space": {**_BASE, "uris": _URI.replace(PASSWORD, PASSWORD + " x")},
    "nul-in-password": {**_BASE, "username": "u", "password": PASSWORD + "\x00"},
    "newline-in-password": {**_BASE, "username": "u", "password": PASSWORD + "\nhost=evil"},
    "ro-uris-garbage": {
        **_BASE,
        "read-only-endpoints": "10.0.0.6:5432",
        "username": "u",
        "password": PASSWORD,
        "read-only-uris": f"postgresql://u:{PASSWORD}@[::1/x",
    },
    "data-not-json": {**_BASE, "username": "u", "password": PASSWORD, "data": f"{{{PASSWORD}"},
    "secret-and-bag-both-garbage": {**_BASE, "secret-user": "secret:", "secret-tls": " "},
    "tls-garbage": {**_BASE, "username": "u", "password": PASSWORD, "tls": "yes", "tls-ca": "x"},
    "many-endpoints": {
        **_BASE,
        "endpoints": ",".join(f"10.0.{i // 250}.{i % 250}:5432" for i in range(300)),
        "username": "u",
        "password": PASSWORD,
    },
}


@pytest.mark.parametrize("case", sorted(MALFORMED_BAGS))
def test_malformed_provider_data_is_a_reason_without_the_password(case: str) -> None:
    ctx = testing.Context(Declared, meta=META, juju_version=JUJU_29)
    state, rel_id = started(ctx)
    rel = dataclasses.replace(state.get_relation(rel_id), remote_app_data=MALFORMED_BAGS[case])
    state = dataclasses.replace(state, relations={rel})
    state, charm = changed(ctx, state, rel_id)
    state, charm2 = run(ctx, ctx.on.update_status(), state)
    r = charm2.db.readiness()
    assert r is not None
    text = repr(r) + r.why + "".join(str(x) + repr(x) for x in r.reasons)
    text += everything(ctx, state, charm) + "".join(charm2.reprs)
    no_password(text)
    if not r.ready:
        assert isinstance(state.unit_status, ops.WaitingStatus)
        assert r.why


@pytest.mark.parametrize("secrets", [True, False])
def test_no_password_in_any_output_over_a_ca_and_password_rotation(secrets: bool) -> None:
    ctx = testing.Context(charm_class(), meta=META, juju_version=JUJU_36 if secrets else "2.9.50")
    first = TLS_PROVIDER.evolve(secrets=secrets)
    state, rel_id, charm = answered(ctx, first)
    texts = [everything(ctx, state, charm)]
    new = first.evolve(password=NEW_PASSWORD, ca=NEW_CA)
    if secrets:
        state = rotate(state, first, new)
        for uri in (USER_SECRET, TLS_SECRET):
            state, charm = run(ctx, ctx.on.secret_changed(state.get_secret(id=uri)), state)
            texts.append(everything(ctx, state, charm))
    else:
        state, charm = changed(ctx, provide(state, rel_id, new), rel_id)
        texts.append(everything(ctx, state, charm))
    master = charm.db.master()
    assert master is not None
    assert master.password == NEW_PASSWORD
    assert charm.db.tls_ca() == NEW_CA
    state, charm = run(ctx, ctx.on.update_status(), state)
    texts.append(
        everything(ctx, state, charm) + json.dumps([repr(r) for r in [charm.db.readiness()]])
    )
    no_password("\n".join(texts))
