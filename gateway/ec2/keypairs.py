"""Key pairs: Create (generated here), Import, Delete, Describe — with AWS's fingerprints.

AWS fingerprints differ from what clouds report (Nova: MD5 of the OpenSSH blob), so the gateway computes
them: a key created here is the colon-hex SHA-1 of its DER (PKCS#8) private key, an imported RSA key the
colon-hex MD5 of its DER public key, an ED25519 key the base64 SHA-256 of its OpenSSH blob. The
fingerprint of a created key can't be recomputed from the public key, so it is recorded with the key.
"""

from __future__ import annotations

import os
from typing import Any

from backends.compute import KeyPair

from ..context import RequestContext
from ..protocol import errors
from . import filters
from .error_map import backend_errors
from .key_material import generate, imported_fingerprint, key_type, load_public_key, openssh
from .lookups.ids import ec2_id
from .lookups.keypairs import key_items
from .lookups.tags import apply_tags
from .output import compact, tag_specs
from .records import NS_KEYPAIR
from .registration import ec2_handler
from .services import account, compute, tags_of

MAX_NAME = 255














def _check_name(name: str) -> None:
    if not name or not name.strip():
        raise errors.MissingParameter("The request must contain the parameter KeyName")
    if len(name) > MAX_NAME:
        raise errors.InvalidParameterValue(
            f"Value ({name}) for parameter keyName is invalid. Length exceeds maximum of {MAX_NAME}.")
    if not name.isascii():
        raise errors.InvalidParameterValue(
            f"Value ({name}) for parameter keyName is invalid. Character sets beyond ASCII are not supported.")




async def _record(ctx: RequestContext, name: str, public_key: str, fingerprint: str, ktype: str,
                  cloud_fingerprint: str = "") -> str:
    """Record the AWS fingerprint and a new key pair id (a recreated name gets a new id, as on AWS), and the
    cloud's own fingerprint: a cloud that lists no public keys (CloudStack) is matched by it."""
    kid = await ec2_id(ctx, "key-pair", f"{account(ctx)}/{name}/{os.urandom(8).hex()}")
    await ctx.gateway.store.put(NS_KEYPAIR, f"{account(ctx)}/{name}",
                                {"id": kid, "fingerprint": fingerprint, "public_key": public_key, "type": ktype,
                                 "cloud_fingerprint": cloud_fingerprint})
    return kid  # type: ignore[return-value]




async def _create(ctx: RequestContext, name: str, public_key: str, fingerprint: str, ktype: str
                  ) -> tuple[KeyPair, str, list | None]:
    tagging = tag_specs(ctx.params, "key-pair")
    c = await compute(ctx)
    with backend_errors("key-pair", name):
        if any(k.name == name for k in await c.list_keypairs()):
            raise errors.InvalidKeyPairDuplicate(f"The keypair '{name}' already exists.")
        keypair = await c.import_keypair(name, public_key)
    kid = await _record(ctx, name, public_key, fingerprint, ktype, keypair.fingerprint)
    return keypair, kid, await apply_tags(ctx, [kid], tagging.get("key-pair"))


@ec2_handler("CreateKeyPair")
async def create_key_pair(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    name = p["KeyName"]
    _check_name(name)
    ktype = p.get("KeyType") or "rsa"
    if ktype not in ("rsa", "ed25519"):
        raise errors.InvalidParameterValue(f"Value ({ktype}) for parameter keyType is invalid.")
    if (p.get("KeyFormat") or "pem") != "pem":
        raise errors.Unsupported("Only the pem key format is supported.")
    material, public, fingerprint = generate(ktype)
    _, kid, tags = await _create(ctx, name, public, fingerprint, ktype)
    return compact({"KeyName": name, "KeyFingerprint": fingerprint, "KeyMaterial": material,
                    "KeyPairId": kid, "Tags": tags})


@ec2_handler("ImportKeyPair")
async def import_key_pair(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    name, material = p["KeyName"], p.get("PublicKeyMaterial")
    _check_name(name)
    if not material or not bytes(material).strip():
        raise errors.MissingParameter("The request must contain the parameter PublicKeyMaterial")
    key = load_public_key(material)
    ktype = key_type(key)
    fingerprint = imported_fingerprint(key)
    _, kid, tags = await _create(ctx, name, openssh(key), fingerprint, ktype)
    return compact({"KeyName": name, "KeyFingerprint": fingerprint, "KeyPairId": kid, "Tags": tags})




FILTERS = {
    "key-pair-id": filters.field("KeyPairId"),
    "key-name": filters.field("KeyName"),
    "fingerprint": filters.field("KeyFingerprint"),
    "key-type": filters.field("KeyType"),
}


@ec2_handler("DescribeKeyPairs")
async def describe_key_pairs(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    filters.validate(p.get("Filters"), FILTERS)
    items = await key_items(ctx, bool(p.get("IncludePublicKey")))
    names, kids = p.get("KeyNames") or [], p.get("KeyPairIds") or []
    if names:
        missing = [n for n in names if n not in {i["KeyName"] for i in items}]
        if missing:
            raise errors.InvalidKeyPairNotFound(f"The key pair '{', '.join(missing)}' does not exist")
        items = [i for i in items if i["KeyName"] in names]
    if kids:
        missing = [k for k in kids if k not in {i["KeyPairId"] for i in items}]
        if missing:
            raise errors.InvalidKeyPairNotFound(f"The key pair '{', '.join(missing)}' does not exist")
        items = [i for i in items if i["KeyPairId"] in kids]
    return {"KeyPairs": filters.apply(items, p.get("Filters"), FILTERS)}


@ec2_handler("DeleteKeyPair")
async def delete_key_pair(ctx: RequestContext) -> dict[str, Any]:
    """Idempotent, as on AWS: deleting an absent key pair succeeds."""
    p = ctx.params
    name, kid = p.get("KeyName"), p.get("KeyPairId")
    if not name and not kid:
        raise errors.MissingParameter("The request must contain the parameter KeyName or KeyPairId")
    if kid and not name:
        match = [i for i in await key_items(ctx) if i["KeyPairId"] == kid]
        if not match:
            raise errors.InvalidKeyPairNotFound(f"The key pair '{kid}' does not exist")
        name = match[0]["KeyName"]
    c = await compute(ctx)
    record = await ctx.gateway.store.get(NS_KEYPAIR, f"{account(ctx)}/{name}")
    try:
        with backend_errors("key-pair", name):
            await c.delete_keypair(name)
    except errors.InvalidKeyPairNotFound:
        pass
    await ctx.gateway.store.delete(NS_KEYPAIR, f"{account(ctx)}/{name}")
    kid = kid or (record or {}).get("id")
    if kid:
        await tags_of(ctx).remove([kid], None)
    return compact({"Return": True, "KeyPairId": kid})
