"""Pure parts of the EC2 semantics: fingerprints, IpPermissions parsing, state mapping, error mapping."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from backends import base
from backends.compute import SecurityRule, Server, ServerState
from gateway.ec2 import error_map, key_material, model, security_groups
from gateway.ec2.lookups.ids import check_id
from gateway.protocol import errors


# ---- fingerprints -----------------------------------------------------------------------------------------------
def test_created_rsa_fingerprint_is_sha1_of_der_pkcs8_private_key():
    material, public, fingerprint = key_material.generate("rsa")
    private = serialization.load_pem_private_key(material.encode(), None)
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    assert fingerprint == ":".join(f"{b:02x}" for b in hashlib.sha1(der).digest())
    assert public.startswith("ssh-rsa ") and material.startswith("-----BEGIN RSA PRIVATE KEY-----")


def test_imported_rsa_fingerprint_is_md5_of_der_public_key_as_openssl_prints_it(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "k.pem"
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption()))
    ours = key_material.imported_fingerprint(key_material.load_public_key(key_material.openssh(key.public_key())))
    try:  # AWS's documented recipe: openssl rsa -pubout -outform DER | openssl md5 -c
        der = subprocess.run(["openssl", "rsa", "-in", str(pem), "-pubout", "-outform", "DER"],
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        der = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    assert ours == ":".join(f"{b:02x}" for b in hashlib.md5(der).digest())


def test_ed25519_fingerprint_is_base64_sha256_of_the_openssh_blob():
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    line = key_material.openssh(key)
    blob = base64.b64decode(line.split()[1])
    assert key_material.imported_fingerprint(key_material.load_public_key(line + " me@host")) == \
        base64.b64encode(hashlib.sha256(blob).digest()).decode()
    assert key_material.key_type(key) == "ed25519"


def test_public_key_formats_pem_and_rfc4716_are_accepted():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    blob = key_material.openssh(key).split()[1]
    rfc4716 = f'---- BEGIN SSH2 PUBLIC KEY ----\nComment: "x"\n{blob}\n---- END SSH2 PUBLIC KEY ----\n'
    expected = key_material.imported_fingerprint(key)
    for material in (pem, rfc4716.encode(), key_material.openssh(key).encode()):
        assert key_material.imported_fingerprint(key_material.load_public_key(material)) == expected


@pytest.mark.parametrize("material", [b"ssh-rsa JUNK x", b"not a key", b"-----BEGIN PUBLIC KEY-----\nxx\n"])
def test_bad_public_keys_are_invalid_key_pair_format(material):
    with pytest.raises(errors.InvalidKeyFormat):
        key_material.load_public_key(material)


# ---- security group rules -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [("tcp", "tcp"), ("6", "tcp"), ("UDP", "udp"), ("17", "udp"),
                                                 ("icmp", "icmp"), ("1", "icmp"), ("-1", None), ("47", "47")])
def test_protocols(value, expected):
    assert security_groups.parse_protocol(value) == expected


@pytest.mark.parametrize("value", ["bogus", "256", "-2"])
def test_bad_protocols(value):
    with pytest.raises(errors.InvalidParameterValue):
        security_groups.parse_protocol(value)


@pytest.mark.parametrize(("protocol", "lo", "hi", "expected"), [
    ("tcp", 22, 22, (22, 22)), ("tcp", -1, -1, (0, 65535)), ("icmp", -1, -1, (None, None)),
    ("icmp", 8, 0, (8, 0)), ("icmp", 8, -1, (8, None)), (None, 5, 9, (None, None)),
])
def test_ports(protocol, lo, hi, expected):
    assert security_groups.parse_ports(protocol, lo, hi) == expected


@pytest.mark.parametrize(("protocol", "lo", "hi"), [("tcp", None, 22), ("tcp", 30, 20), ("udp", 0, 70000),
                                                    ("icmp", -1, 3), ("icmp", 300, 0)])
def test_bad_ports(protocol, lo, hi):
    with pytest.raises(errors.InvalidParameterValue):
        security_groups.parse_ports(protocol, lo, hi)


def test_legacy_form_and_source_group_alone_grants_tcp_udp_icmp():
    perms = security_groups.legacy_permissions({"SourceSecurityGroupName": "web"})
    assert [p["IpProtocol"] for p in perms] == ["tcp", "udp", "icmp"]
    (perm,) = security_groups.legacy_permissions({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                                  "CidrIp": "10.0.0.0/8"})
    assert perm["IpRanges"] == [{"CidrIp": "10.0.0.0/8"}]
    with pytest.raises(errors.InvalidParameterCombination):
        security_groups.legacy_permissions({"IpProtocol": "tcp", "IpPermissions": [{"IpProtocol": "tcp"}]})


def test_rule_keys_identify_the_same_rule_across_spellings():
    a = SecurityRule("1", "g", False, "6", 0, 65535, cidr="10.0.0.1/8")
    b = SecurityRule("2", "g", False, "tcp", None, None, cidr="10.0.0.0/8")
    assert security_groups.rule_key(a) == security_groups.rule_key(b)
    assert security_groups.rule_key(a) != security_groups.rule_key(SecurityRule("3", "g", True, "tcp", 0, 65535,
                                                                                cidr="10.0.0.0/8"))


# ---- instance states -------------------------------------------------------------------------------------------------
def _server(state: ServerState, launched: bool = True) -> Server:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return Server("s", "n", state, "t2.micro", "img", now, launched_at=now if launched else None)


@pytest.mark.parametrize(("state", "launched", "expected"), [
    (ServerState.BUILDING, False, ("pending", 0)), (ServerState.STARTING, True, ("pending", 0)),
    (ServerState.ACTIVE, True, ("running", 16)), (ServerState.REBOOTING, True, ("running", 16)),
    (ServerState.STOPPING, True, ("stopping", 64)), (ServerState.STOPPED, True, ("stopped", 80)),
    (ServerState.DELETING, True, ("shutting-down", 32)), (ServerState.DELETED, True, ("terminated", 48)),
    (ServerState.ERROR, False, ("terminated", 48)), (ServerState.ERROR, True, ("stopped", 80)),
])
def test_server_states_map_to_ec2_states_and_codes(state, launched, expected):
    assert model.ec2_state(_server(state, launched)) == expected


# ---- neutral errors -> EC2 errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("exc", "kind", "code"), [
    (base.NotFound(kind="server"), "", "InvalidInstanceID.NotFound"),
    (base.NotFound(kind="volume"), "", "InvalidVolume.NotFound"),
    (base.NotFound(kind="snapshot"), "", "InvalidSnapshot.NotFound"),
    (base.NotFound(kind="image"), "instance", "InvalidAMIID.NotFound"),
    (base.NotFound(kind="keypair"), "", "InvalidKeyPair.NotFound"),
    (base.NotFound(kind="group"), "", "InvalidGroup.NotFound"),
    (base.NotFound(kind="address"), "", "InvalidAllocationID.NotFound"),
    (base.NotFound(), "volume", "InvalidVolume.NotFound"),
    (base.AlreadyExists(), "keypair", "InvalidKeyPair.Duplicate"),
    (base.AlreadyExists(), "group", "InvalidGroup.Duplicate"),
    (base.AlreadyExists(), "rule", "InvalidPermission.Duplicate"),
    (base.AlreadyExists(), "subnet", "InvalidSubnet.Conflict"),
    (base.Conflict(), "volume", "VolumeInUse"),
    (base.Conflict(), "server", "IncorrectInstanceState"),
    (base.Conflict(), "group", "DependencyViolation"),
    (base.Conflict(), "image", "IncorrectState"),
    (base.QuotaExceeded(), "server", "InstanceLimitExceeded"),
    (base.QuotaExceeded(), "volume", "VolumeLimitExceeded"),
    (base.QuotaExceeded(), "address", "AddressLimitExceeded"),
    (base.Unavailable(), "server", "ServiceUnavailable"),
    (base.InvalidInput("bad"), "volume", "InvalidParameterValue"),
])
def test_backend_errors_map_to_exact_ec2_errors(exc, kind, code):
    with pytest.raises(errors.AwsError) as e, error_map.backend_errors(kind):
        raise exc
    assert e.value.code == code
    assert e.value.status == (503 if code == "ServiceUnavailable" else 400)


def test_not_found_names_every_missing_id():
    err = error_map.not_found("instance", ["i-1", "i-2"])
    assert err.code == "InvalidInstanceID.NotFound" and "'i-1, i-2'" in err.message
    assert error_map.not_found("elastic-ip", "1.2.3.4").code == "InvalidAddress.NotFound"


def test_malformed_ids_per_kind():
    for kind, code in (("instance", "InvalidInstanceID.Malformed"), ("volume", "InvalidVolumeID.Malformed"),
                       ("snapshot", "InvalidSnapshotID.Malformed"), ("image", "InvalidAMIID.Malformed"),
                       ("security-group", "InvalidGroupId.Malformed")):
        with pytest.raises(errors.AwsError) as e:
            check_id(kind, "x-1")
        assert e.value.code == code


def test_every_describe_with_dry_run_in_its_model_declares_it():
    import gateway.ec2  # noqa: F401
    from gateway.protocol.models import service_model
    from gateway.registry import default_registry

    reg = default_registry()
    for op in reg.operations("ec2"):
        shape = service_model("ec2").operation_model(op).input_shape
        assert reg.get("ec2", op).dry_run == ("DryRun" in shape.members), op
