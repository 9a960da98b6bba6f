"""Suite "ec2", key pairs: create (PEM private key, SHA-1 fingerprint), import (MD5 fingerprint), describe,
delete, and the exact errors for duplicates, missing keys and bad key material."""

from __future__ import annotations

import base64
import hashlib
import re

from harness import Ctx, check

from . import scenario
from .ec2_common import SUITE, call, check_id, cleanup, expect, unique

# A 2048-bit RSA public key made for this suite (its private half was thrown away) and the two MD5
# fingerprints AWS documents for an imported RSA key: the EC2 API reference says "MD5 public key
# fingerprint as specified in section 4 of RFC 4716" (MD5 of the OpenSSH key blob); the user guide's
# "verify the fingerprint" recipe computes `openssl rsa -pubout -outform DER | openssl md5 -c` (MD5 of the
# DER SubjectPublicKeyInfo). Either is accepted; anything else is not.
IMPORT_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCpyZ3gnrErgV38fcDpfYdgdcCmshooPM/4PW710gLP4fDFXSUQ+XQA+oYzOFSY/9Q0"
    "QyLWlFMTLwhwzZAEQgr8EEMfFsFGWyPoFW1emawO2Pr5q1Q9yqnUhbsQEstxDPSBdFULKhd5yRQbQgFiNQP6nn/PXHbYivcEc82zQNa4"
    "W59ccZ/oWga1a6pJFTrFEqZA2QWWkgbcDtFpBxIFuvwcX/TFCiXqW1vSJ568M6BzilfvUY3rVIEU5bO7YZ/kbngEK9WLUP/OGIB9wJuW"
    "EsUJTlXJEJWZtSC1DP+TWmRgzyQgWAhzyqS/iGckgbh+qJY1U2GlYR8CVj6wVhcrtH2n compat-tests"
)
IMPORT_FINGERPRINTS = {
    "f2:8d:d0:08:22:02:38:6e:38:a3:26:01:af:03:3f:49": "MD5 of the DER public key",
    "59:95:56:e9:e1:a4:a6:67:85:36:e2:46:67:2a:cf:99": "MD5 of the OpenSSH key blob (RFC 4716)",
}
SHA1_FP = re.compile(r"^([0-9a-f]{2}:){19}[0-9a-f]{2}$")


def _created_rsa_fingerprint(pem: str) -> str | None:
    """AWS's fingerprint of a key it created: SHA-1 of the PKCS#8 DER private key (None without the
    `cryptography` package, which compat-tests does not require)."""
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        return None
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    digest = hashlib.sha1(der).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


@scenario(SUITE)
def ec2_keypair_create_describe_delete(ctx: Ctx) -> None:
    """CreateKeyPair returns an RSA PEM private key, a key-… id and AWS's SHA-1 fingerprint (20 bytes);
    DescribeKeyPairs agrees; DeleteKeyPair; then InvalidKeyPair.NotFound 400."""
    c = ctx.client("ec2")
    name = unique("kp")
    with cleanup(ctx) as res:
        res.key_pair(name)
        kp = call("CreateKeyPair", lambda: c.create_key_pair(KeyName=name))
        check(kp.get("KeyName") == name, f"KeyName is {kp.get('KeyName')!r}")
        material = kp.get("KeyMaterial") or ""
        check(material.startswith("-----BEGIN RSA PRIVATE KEY-----"),
              f"KeyMaterial is not a PEM RSA private key: {material[:40]!r}")
        fp = kp.get("KeyFingerprint") or ""
        check(SHA1_FP.match(fp), f"KeyFingerprint {fp!r} is not AWS's SHA-1 form (20 colon-separated bytes)")
        expected = _created_rsa_fingerprint(material)
        check(expected is None or fp == expected,
              f"KeyFingerprint {fp} is not the SHA-1 of the PKCS#8 private key ({expected})")
        check_id("keypair", kp.get("KeyPairId"), "KeyPairId")
        listed = call("DescribeKeyPairs", lambda: c.describe_key_pairs(KeyNames=[name]))["KeyPairs"]
        check(len(listed) == 1, f"DescribeKeyPairs by name lists {len(listed)} key pairs")
        check(listed[0].get("KeyFingerprint") == fp, f"described fingerprint {listed[0].get('KeyFingerprint')!r}")
        check(listed[0].get("KeyPairId") == kp.get("KeyPairId"), "described KeyPairId differs")
        check(listed[0].get("KeyType") in ("rsa", None), f"KeyType is {listed[0].get('KeyType')!r}")
        check("KeyMaterial" not in listed[0], "DescribeKeyPairs returns the private key")
        by_filter = c.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [name[:-3] + "*"]}])["KeyPairs"]
        check([k["KeyName"] for k in by_filter] == [name], f"key-name wildcard filter lists {by_filter}")
        call("DeleteKeyPair", lambda: c.delete_key_pair(KeyName=name))
        expect("InvalidKeyPair.NotFound", 400, "DescribeKeyPairs of the deleted key",
               lambda: c.describe_key_pairs(KeyNames=[name]))


@scenario(SUITE)
def ec2_keypair_import(ctx: Ctx) -> None:
    """ImportKeyPair of an OpenSSH RSA public key: AWS's MD5 fingerprint (16 bytes), described alike."""
    c = ctx.client("ec2")
    name = unique("imp")
    with cleanup(ctx) as res:
        res.key_pair(name)
        kp = call("ImportKeyPair", lambda: c.import_key_pair(KeyName=name, PublicKeyMaterial=IMPORT_KEY.encode()))
        fp = kp.get("KeyFingerprint")
        check(fp in IMPORT_FINGERPRINTS,
              f"KeyFingerprint {fp!r} is neither AWS form: {', '.join(IMPORT_FINGERPRINTS)}")
        check("KeyMaterial" not in kp, "ImportKeyPair returned key material")
        listed = call("DescribeKeyPairs", lambda: c.describe_key_pairs(KeyNames=[name]))["KeyPairs"]
        check([k.get("KeyFingerprint") for k in listed] == [fp], f"described: {listed}")


@scenario(SUITE)
def ec2_keypair_errors(ctx: Ctx) -> None:
    """A second create or import under a taken name is InvalidKeyPair.Duplicate 400 (the first key is
    kept); undecodable key material is InvalidKey.Format 400; DeleteKeyPair of a missing key succeeds."""
    c = ctx.client("ec2")
    name = unique("dup")
    with cleanup(ctx) as res:
        res.key_pair(name)
        fp = call("CreateKeyPair", lambda: c.create_key_pair(KeyName=name))["KeyFingerprint"]
        expect("InvalidKeyPair.Duplicate", 400, "CreateKeyPair under a taken name",
               lambda: c.create_key_pair(KeyName=name))
        expect("InvalidKeyPair.Duplicate", 400, "ImportKeyPair under a taken name",
               lambda: c.import_key_pair(KeyName=name, PublicKeyMaterial=IMPORT_KEY.encode()))
        kept = c.describe_key_pairs(KeyNames=[name])["KeyPairs"]
        check([k["KeyFingerprint"] for k in kept] == [fp], "the refused duplicate replaced the key")
        bad = unique("bad")
        res.key_pair(bad)
        # AWS answers InvalidKey.Format 400 "Key is not in valid OpenSSH public key format" (its error list
        # also names an InvalidKeyPair.Format, which ImportKeyPair does not send: see the AWS answers
        # quoted in aws/aws-cli#4969 and aws/aws-sdk-go#176; ec2api-tempest-plugin expects the same).
        expect("InvalidKey.Format", 400, "ImportKeyPair of garbage",
               lambda: c.import_key_pair(KeyName=bad, PublicKeyMaterial=b"ssh-rsa " +
                                         base64.b64encode(b"not a key") + b" x"))
        # AWS's DeleteKeyPair is idempotent: a name that does not exist is not an error.
        call("DeleteKeyPair of a missing key", lambda: c.delete_key_pair(KeyName=unique("absent")))
