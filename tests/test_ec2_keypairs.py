"""EC2 key pairs: handlers end to end over HTTP with boto3, against the in-memory cloud of
tests/ec2_fake_cloud.py.

These prove the backend-neutral semantics (states, errors with exact codes and HTTP statuses, filters, paging,
idempotency, tenant isolation); the same scenarios run against the real OpenStack in the devcloud suite.
"""

from __future__ import annotations

from tests.ec2_fake_cloud import (  # noqa: F401 - fixtures
    ami_fixture,
    cloud_fixture,
    ec2_b_fixture,
    ec2_fixture,
    error,
)


# ---- key pairs --------------------------------------------------------------------------------------------------
def test_key_pairs(ec2):
    created = ec2.create_key_pair(KeyName="Test key")
    assert created["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert len(created["KeyFingerprint"].split(":")) == 20 and created["KeyPairId"].startswith("key-")
    assert error(ec2.create_key_pair, KeyName="Test key") == ("InvalidKeyPair.Duplicate", 400)
    desc = ec2.describe_key_pairs(Filters=[{"Name": "fingerprint", "Values": [created["KeyFingerprint"]]}])
    assert [k["KeyName"] for k in desc["KeyPairs"]] == ["Test key"]
    assert "KeyMaterial" not in desc["KeyPairs"][0]
    assert error(ec2.describe_key_pairs, KeyNames=["fake key"]) == ("InvalidKeyPair.NotFound", 400)
    ec2.delete_key_pair(KeyName="Test key")
    ec2.delete_key_pair(KeyName="Test key")  # idempotent, as on AWS
    assert error(ec2.import_key_pair, KeyName="k", PublicKeyMaterial=b"") == ("MissingParameter", 400)
    assert error(ec2.import_key_pair, KeyName="k", PublicKeyMaterial=b"ssh-rsa JUNK x") == \
        ("InvalidKey.Format", 400)
