"""Key pair material: parsing public keys, AWS's fingerprints, generating keys (pure functions).

AWS fingerprints a key created here as the colon-hex SHA-1 of its DER (PKCS#8) private key, an imported RSA
key as the MD5 of its DER public key, an ed25519 key as the base64 SHA-256 of its OpenSSH blob."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ..protocol import errors


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


def same_key(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.split()[:2] == b.split()[:2]  # type: ignore[union-attr]
