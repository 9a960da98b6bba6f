"""The caller's key pairs with the AWS fingerprint and key pair id the gateway holds (ec2:keypair)."""

from __future__ import annotations

from typing import Any

from backends.compute import KeyPair

from ...context import RequestContext
from ...protocol import errors
from ..error_map import backend_errors
from ..key_material import imported_fingerprint, key_type, load_public_key, same_key
from ..output import compact, iso
from ..records import NS_KEYPAIR, scan
from ..services import account, compute
from .ids import ec2_id
from .tags import tag_map


def matches(rec: dict[str, Any] | None, kp: KeyPair) -> bool:
    """The recorded key is the cloud's key of that name (not one deleted and recreated behind our back)."""
    if rec is None:
        return False
    if kp.public_key:
        return same_key(rec.get("public_key"), kp.public_key)
    return bool(kp.fingerprint) and rec.get("cloud_fingerprint") == kp.fingerprint


async def key_items(ctx: RequestContext, include_public: bool = False) -> list[dict[str, Any]]:
    c = await compute(ctx)
    with backend_errors("key-pair"):
        keypairs = await c.list_keypairs()
    records = await scan(ctx, NS_KEYPAIR)
    tags = await tag_map(ctx)
    items = []
    for kp in keypairs:
        rec = records.get(kp.name)
        if not matches(rec, kp):
            try:
                key = load_public_key(kp.public_key)
                rec = {"fingerprint": imported_fingerprint(key), "type": key_type(key),
                       "id": await ec2_id(ctx, "key-pair", f"{account(ctx)}/{kp.name}/{kp.public_key.split()[1]}")}
            except (errors.AwsError, IndexError):
                rec = {"fingerprint": kp.fingerprint, "type": "rsa",
                       "id": await ec2_id(ctx, "key-pair", f"{account(ctx)}/{kp.name}/{kp.fingerprint}")}
        items.append(compact({"KeyPairId": rec["id"], "KeyName": kp.name, "KeyFingerprint": rec["fingerprint"],
                              "KeyType": rec.get("type", "rsa"), "CreateTime": iso(kp.created),
                              "Tags": tags.get(rec["id"]),
                              "PublicKey": (kp.public_key or rec.get("public_key")) if include_public else None}))
    return items
