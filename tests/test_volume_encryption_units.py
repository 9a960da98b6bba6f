"""Volume encryption without a cloud: the OpenStack backend's choice of Cinder volume type (the configured
encrypted type, a snapshot's own, refusals), snapshots that show their volume's encryption, and the EC2
layer's answers (KmsKeyId rules; Unsupported, as before, from a cloud that cannot encrypt).
On the devcloud: tests/test_ec2_os_encryption.py."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from backends import base
from backends.compute import Volume
from backends.openstack.backend import OpenStackBackend
from backends.openstack.catalog import Catalog
from gateway.auth.credentials import Identity
from tests.ec2_fake_cloud import A
from tests.ec2_fake_cloud import client_for as _client
from tests.test_ec2_os_units import nova_like  # noqa: F401 - fixture (FakeCompute: a cloud without encryption)
from tests.test_openstack_units import OPTIONS


class FakeCinder:
    """Just what OpenStackCompute's volume and snapshot calls use, with Cinder's encryption rules."""

    def __init__(self) -> None:
        self.vols: dict[str, dict[str, Any]] = {
            "v-enc": {"id": "v-enc", "size": 1, "status": "available", "encrypted": True, "volume_type": "encrypted"},
            "v-plain": {"id": "v-plain", "size": 1, "status": "available", "encrypted": False,
                        "volume_type": "__DEFAULT__"}}
        self.snaps = {"s-enc": {"id": "s-enc", "volume_id": "v-enc", "size": 1, "status": "available"},
                      "s-plain": {"id": "s-plain", "volume_id": "v-plain", "size": 1, "status": "available"}}
        self.bodies: list[dict[str, Any]] = []

    async def create_volume(self, body: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        source = self.vols[self.snaps[body["snapshot_id"]]["volume_id"]] if body.get("snapshot_id") else {}
        vtype = body.get("volume_type") or source.get("volume_type") or "__DEFAULT__"
        vol = {"id": f"v{len(self.bodies)}", "size": body.get("size") or 1, "status": "creating",
               "volume_type": vtype, "encrypted": vtype == "encrypted"}
        self.vols[vol["id"]] = vol
        return vol

    async def volume(self, volume_id: str) -> dict[str, Any]:
        if volume_id not in self.vols:
            raise base.NotFound(kind="volume")
        return self.vols[volume_id]

    async def volumes(self) -> list[dict[str, Any]]:
        return list(self.vols.values())

    async def snapshot(self, snapshot_id: str) -> dict[str, Any]:
        if snapshot_id not in self.snaps:
            raise base.NotFound(kind="snapshot")
        return self.snaps[snapshot_id]

    async def snapshots(self) -> list[dict[str, Any]]:
        return list(self.snaps.values())

    async def create_snapshot(self, volume_id: str, description: str | None) -> dict[str, Any]:
        snap = {"id": f"s-{volume_id}", "volume_id": volume_id, "size": 1, "status": "creating"}
        self.snaps[snap["id"]] = snap
        return snap


async def _compute(encrypted_volume_type: str | None) -> tuple[Any, FakeCinder]:
    be = OpenStackBackend.from_options({**OPTIONS, "encrypted_volume_type": encrypted_volume_type})
    compute = await be.compute(Identity("AK", "proj", "tenant", {"token": "t", "catalog": Catalog.from_token([]),
                                                                 "project_id": "proj"}))
    cinder = FakeCinder()
    compute.caller.clients["block-storage"] = cinder
    return compute, cinder


@pytest.mark.parametrize("bad", [3, True, ["luks"]])
def test_the_option_is_a_string_or_absent(bad: Any) -> None:
    assert OpenStackBackend.from_options(OPTIONS).shared.encrypted_volume_type is None
    assert OpenStackBackend.from_options({**OPTIONS, "encrypted_volume_type": "luks"}).shared.encrypted_volume_type == "luks"
    with pytest.raises(ValueError, match="encrypted_volume_type"):
        OpenStackBackend.from_options({**OPTIONS, "encrypted_volume_type": bad})


async def test_encrypted_volumes_use_the_configured_type_which_wins_over_a_type_asked_for() -> None:
    compute, cinder = await _compute("encrypted")
    vol: Volume = await compute.create_volume(1, "nova", volume_type="gp2", encrypted=True)
    assert cinder.bodies[-1] == {"size": 1, "availability_zone": "nova", "volume_type": "encrypted"}
    assert vol.encrypted and vol.volume_type == "encrypted"
    plain = await compute.create_volume(1, "nova", volume_type="gp2")
    assert cinder.bodies[-1]["volume_type"] == "gp2" and not plain.encrypted


async def test_without_a_configured_type_encryption_is_not_supported_and_nothing_is_created() -> None:
    compute, cinder = await _compute(None)
    with pytest.raises(base.NotSupported, match=r"^Encrypted volumes are not supported\.$"):
        await compute.create_volume(1, "nova", encrypted=True)
    assert cinder.bodies == []


@pytest.mark.parametrize("configured", ["encrypted", None])
async def test_from_a_snapshot_the_snapshots_own_type_keeps_it_encrypted(configured: str | None) -> None:
    compute, cinder = await _compute(configured)
    # asked for or not: no type is sent (Cinder refuses one whose encryption differs) and Cinder keeps the source's
    for flag in (True, False):
        vol = await compute.create_volume(None, "nova", snapshot_id="s-enc", encrypted=flag)
        assert "volume_type" not in cinder.bodies[-1] and vol.encrypted
    with pytest.raises(base.NotSupported, match="unencrypted snapshot"):
        await compute.create_volume(None, "nova", snapshot_id="s-plain", encrypted=True)
    with pytest.raises(base.NotFound) as missing:
        await compute.create_volume(None, "nova", snapshot_id="s-gone", encrypted=True)
    assert missing.value.kind == "snapshot"
    assert len(cinder.bodies) == 2


async def test_snapshots_show_their_volumes_encryption() -> None:
    compute, cinder = await _compute("encrypted")
    assert {s.id: s.encrypted for s in await compute.list_snapshots()} == {"s-enc": True, "s-plain": False}
    assert [s.encrypted for s in await compute.list_snapshots(["s-enc"])] == [True]
    assert [s.encrypted for s in await compute.list_snapshots(["s-plain"])] == [False]
    assert (await compute.create_snapshot("v-enc")).encrypted
    assert not (await compute.create_snapshot("v-plain")).encrypted
    cinder.snaps["s-orphan"] = {"id": "s-orphan", "volume_id": "v-gone", "size": 1, "status": "available"}
    assert [s.encrypted for s in await compute.list_snapshots(["s-orphan"])] == [False]


# ---- the EC2 layer, on a cloud that cannot encrypt (the fake raises NotSupported, as CloudStack does) -------------
def _error(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    err = caught.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


def test_encrypted_on_a_cloud_without_encryption_is_unsupported(nova_like: str) -> None:  # noqa: F811
    ec2 = _client(nova_like, A)
    before = len(ec2.describe_volumes()["Volumes"])
    assert _error(ec2.create_volume, AvailabilityZone="nova", Size=1, Encrypted=True) == \
        ("Unsupported", 400, "Encrypted volumes are not supported.")
    for key in ("alias/aws/ebs", f"arn:aws:kms:us-east-1:{A[2]}:alias/aws/ebs"):  # the default key: accepted
        assert _error(ec2.create_volume, AvailabilityZone="nova", Size=1, Encrypted=True, KmsKeyId=key) == \
            ("Unsupported", 400, "Encrypted volumes are not supported.")
    assert len(ec2.describe_volumes()["Volumes"]) == before


def test_kms_key_id_needs_encrypted_and_only_the_default_ebs_key_exists(nova_like: str) -> None:  # noqa: F811
    ec2 = _client(nova_like, A)
    assert _error(ec2.create_volume, AvailabilityZone="nova", Size=1, KmsKeyId="alias/aws/ebs") == \
        ("InvalidParameterDependency", 400, "The parameter KmsKeyId requires the parameter Encrypted to be set.")
    assert _error(ec2.create_volume, AvailabilityZone="nova", Size=1, Encrypted=False, KmsKeyId="alias/aws/ebs")[:2] \
        == ("InvalidParameterDependency", 400)
    for key in ("alias/mine", "1234abcd-12ab-34cd-56ef-1234567890ab",
                "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "arn:aws:kms:eu-west-1:" + A[2] + ":alias/aws/ebs"):  # the default key of another region
        code, status, message = _error(ec2.create_volume, AvailabilityZone="nova", Size=1, Encrypted=True,
                                       KmsKeyId=key)
        assert (code, status) == ("InvalidParameterValue", 400) and key in message and "alias/aws/ebs" in message
