"""The ``postgresql_client`` interface's Juju secrets: which fields they hold, how they are read.

A requirer asks for every credential field in secrets (:data:`REQUESTED_SECRETS`); the provider
puts each in its group's secret (:data:`SECRET_GROUPS`) and references the secret from its
application bag (``secret-<group>``). Pure: the caller reads the secrets and hands in their
contents.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Tuple

from ._common import Databag

#: The fields this library asks the provider to put in Juju secrets (``requested-secrets``):
#: every credential field, so that no password is ever published in clear where Juju has secrets.
REQUESTED_SECRETS = ("username", "password", "tls", "tls-ca", "uris", "read-only-uris")

#: Secret groups and the fields each holds; a requested field of no group goes to ``extra``.
#: The provider publishes one secret per group, its URI under the key ``secret-<group>``.
SECRET_GROUPS: Mapping[str, Tuple[str, ...]] = {
    "user": ("username", "password", "uris", "read-only-uris"),
    "tls": ("tls", "tls-ca"),
    "extra": (),
}


def secret_fields(provider_app_bag: Databag) -> Dict[str, str]:
    """The Juju secret URIs the provider's application bag references, by group.

    Keys are group names (``user``, ``tls``, ``extra``: see :data:`SECRET_GROUPS`), read from
    the bag keys ``secret-user``, ``secret-tls`` and ``secret-extra``; a blank value is absent.

    >>> secret_fields({"secret-user": "secret://0f1e/d7f0", "endpoints": "10.0.0.5:5432"})
    {'user': 'secret://0f1e/d7f0'}
    """
    out: Dict[str, str] = {}
    for group in SECRET_GROUPS:
        uri = provider_app_bag.get(f"secret-{group}", "").strip()
        if uri:
            out[group] = uri
    return out


def secret_id(uri: str) -> str:
    """A Juju secret's unique id, however its URI is spelt.

    Juju and ops write ``secret:ID``, ``secret://MODEL-UUID/ID`` or the bare ``ID``; compare
    secrets by this.

    >>> secret_id("secret://2f4c9e1a-7b3d-4e8f-9a6b-1c2d3e4f5a6b/d7f1qk8mp25c77bn3k0g")
    'd7f1qk8mp25c77bn3k0g'
    >>> secret_id("secret:d7f1qk8mp25c77bn3k0g")
    'd7f1qk8mp25c77bn3k0g'
    """
    return uri.strip().rstrip("/").rpartition("/")[2].rpartition(":")[2]


def group_of(field: str) -> str:
    """The secret group a field goes in: ``extra`` for a field of no group."""
    for group, fields in SECRET_GROUPS.items():
        if field in fields:
            return group
    return "extra"


def read_fields(
    bag: Databag, secrets: Mapping[str, Optional[Mapping[str, str]]]
) -> Tuple[Dict[str, str], List[str]]:
    """The credential fields, each from its group's secret when referenced, else from the bag.

    Returns:
        Every field of :data:`REQUESTED_SECRETS` (``""`` when not published), and the groups
        whose secret is referenced but unreadable (its content None, or not handed in): their
        fields are read from the bag.
    """
    unreadable: List[str] = []
    contents: Dict[str, Mapping[str, str]] = {}
    for group, uri in secret_fields(bag).items():
        content = secrets.get(uri)
        if content is None:
            unreadable.append(group)
        else:
            contents[group] = content
    values: Dict[str, str] = {}
    for field in REQUESTED_SECRETS:
        value = contents.get(group_of(field), {}).get(field, "")
        if not value.strip():
            value = bag.get(field, "")
        # a PEM ends with a newline: the CA is handed over as published
        values[field] = value if field == "tls-ca" and value.strip() else value.strip()
    return values, unreadable
