"""Key pairs: Create (generated here), Import, Delete, Describe — with AWS's fingerprints.

AWS fingerprints differ from what clouds report (Nova: MD5 of the OpenSSH blob), so the gateway computes
them: a key created here is the colon-hex SHA-1 of its DER (PKCS#8) private key, an imported RSA key the
colon-hex MD5 of its DER public key, an ED25519 key the base64 SHA-256 of its OpenSSH blob. The
fingerprint of a created key can't be recomputed from the public key, so it is recorded with the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from backends.compute import KeyPair

from ..context import RequestContext
from ..protocol import errors
from . import filters
from .error_map import backend_errors
from .lookups.ids import ec2_id
from .lookups.tags import apply_tags, tag_map
from .output import compact, iso, tag_specs
from .records import NS_KEYPAIR
from .registration import ec2_handler
from .services import account, compute, tags_of

MAX_NAME = 255


def _colon(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def load_public_key(material: bytes | str) -> Any:
    """An OpenSSH, PEM/DER (SubjectPublicKeyInfo) or RFC 4716 public key; InvalidKey.Format if none."""
    data = material.encode() if isinstance(material, str) else bytes(material)
    text = data.strip()
    try:
        if text.startswith(b"---- BEGIN SSH2 PUBLIC KEY ----"):
            lines = [ln for ln in text.splitlines()[1:-1] if b":" not in ln and not ln.endswith(b"\\")]
            blob = base64.b64decode(b"".join(lines))
            kind = blob[4:4 + int.from_bytes(blob[:4], "big")]
            return serialization.load_ssh_public_key(kind + b" " + base64.b64encode(blob))
        if text.startswith(b"-----BEGIN"):
            return serialization.load_pem_public_key(text)
        if text.startswith((b"ssh-", b"ecdsa-")):
            return serialization.load_ssh_public_key(b" ".join(text.split()[:2]))
        return serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, IndexError, binascii.Error, UnsupportedAlgorithm):
        raise errors.InvalidKeyFormat("Key is not in valid OpenSSH public key format") from None


def key_type(key: Any) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 1024:
            raise errors.InvalidKeyFormat("RSA keys must be at least 1024 bits long.")
        return "rsa"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    raise errors.InvalidKeyFormat("Only RSA and ED25519 keys are supported.")


def openssh(key: Any) -> str:
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def imported_fingerprint(key: Any) -> str:
    """AWS's fingerprint of an imported key: MD5 of the DER public key (RSA), SHA-256 of the blob (ED25519)."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        blob = base64.b64decode(openssh(key).split()[1])
        return base64.b64encode(hashlib.sha256(blob).digest()).decode()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _colon(hashlib.md5(der).digest())  # noqa: S324 - AWS's fingerprint format, not security


def generate(kind: str) -> tuple[str, str, str]:
    """A new key pair: (private key material as AWS returns it, OpenSSH public key, AWS fingerprint)."""
    if kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
        material = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                         serialization.NoEncryption()).decode()
        public = openssh(private.public_key())
        return material, public, imported_fingerprint(private.public_key())
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    material = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()).decode()
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return material.rstrip("\n"), openssh(private.public_key()), _colon(hashlib.sha1(der).digest())  # noqa: S324


def _check_name(name: str) -> None:
    if not name or not name.strip():
        raise errors.MissingParameter("The request must contain the parameter KeyName")
    if len(name) > MAX_NAME:
        raise errors.InvalidParameterValue(
            f"Value ({name}) for parameter keyName is invalid. Length exceeds maximum of {MAX_NAME}.")
    if not name.isascii():
        raise errors.InvalidParameterValue(
            f"Value ({name}) for parameter keyName is invalid. Character sets beyond ASCII are not supported.")


def _same_key(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.split()[:2] == b.split()[:2]  # type: ignore[union-attr]


async def _record(ctx: RequestContext, name: str, public_key: str, fingerprint: str, ktype: str,
                  cloud_fingerprint: str = "") -> str:
    """Record the AWS fingerprint and a new key pair id (a recreated name gets a new id, as on AWS), and the
    cloud's own fingerprint: a cloud that lists no public keys (CloudStack) is matched by it."""
    import os

    kid = await ec2_id(ctx, "key-pair", f"{account(ctx)}/{name}/{os.urandom(8).hex()}")
    await ctx.gateway.store.put(NS_KEYPAIR, f"{account(ctx)}/{name}",
                                {"id": kid, "fingerprint": fingerprint, "public_key": public_key, "type": ktype,
                                 "cloud_fingerprint": cloud_fingerprint})
    return kid  # type: ignore[return-value]


def _matches(rec: dict[str, Any] | None, kp: KeyPair) -> bool:
    """The recorded key is the cloud's key of that name (not one deleted and recreated behind our back)."""
    if rec is None:
        return False
    if kp.public_key:
        return _same_key(rec.get("public_key"), kp.public_key)
    return bool(kp.fingerprint) and rec.get("cloud_fingerprint") == kp.fingerprint


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


async def key_items(ctx: RequestContext, include_public: bool = False) -> list[dict[str, Any]]:
    c = await compute(ctx)
    with backend_errors("key-pair"):
        keypairs = await c.list_keypairs()
    prefix = f"{account(ctx)}/"
    records = {k[len(prefix):]: v for k, v in await ctx.gateway.store.scan(NS_KEYPAIR, prefix)}
    tags = await tag_map(ctx)
    items = []
    for kp in keypairs:
        rec = records.get(kp.name)
        if not _matches(rec, kp):
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
