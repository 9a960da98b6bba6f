"""Unit tests (no cloud) for what the devcloud EC2 runs found: OpenStack states during a resize, the device
name AttachVolume echoes when the cloud picks its own, and ExecutableUsers for images shared with the caller."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backends.compute import Attachment, Image, ServerState
from backends.openstack import mapping as m
from gateway.app import create_app
from gateway.config import parse_config
from gateway.ec2.block_devices import attached_device
from gateway.ec2.images import _executable_by
from tests.ec2_fake_cloud import A, FakeBackend, FakeCompute
from tests.ec2_fake_cloud import client_for as _client
from tests.ec2_fake_cloud import launch as _launch
from tests.server import serve_app


@pytest.mark.parametrize(("status", "task", "vm", "power", "expected"), [
    ("RESIZE", "resize_prep", "stopped", 4, ServerState.STOPPED),
    ("RESIZE", "resize_migrating", "active", 1, ServerState.ACTIVE),
    ("VERIFY_RESIZE", None, "resized", 4, ServerState.STOPPED),
    ("VERIFY_RESIZE", None, "resized", 1, ServerState.ACTIVE),
    ("MIGRATING", "migrating", "stopped", 4, ServerState.STOPPED),
    ("SHUTOFF", None, "stopped", 4, ServerState.STOPPED),
    ("ACTIVE", "powering-off", "active", 1, ServerState.STOPPING),
])
def test_a_stopped_server_being_resized_stays_stopped(status, task, vm, power, expected):
    assert m.server_state(status, task, vm, power) is expected
    assert m.server_from({"id": "s", "status": status, "OS-EXT-STS:task_state": task, "OS-EXT-STS:vm_state": vm,
                          "OS-EXT-STS:power_state": power}).state is expected


def test_attached_device_is_the_requested_one_while_the_cloud_keeps_its_attachment():
    record = {"devices": {"vol-1": {"device": "/dev/vdb", "cloud": "/dev/sdb"}}}
    assert attached_device(record, "vol-1", "/dev/sdb") == "/dev/vdb"
    assert attached_device(record, "vol-1", "/dev/sdc") == "/dev/sdc"  # re-attached elsewhere since
    assert attached_device(record, "vol-2", "/dev/sdd") == "/dev/sdd"
    assert attached_device(None, "vol-1", "/dev/sdb") == "/dev/sdb"
    assert attached_device({"devices": {"vol-1": {"device": "/dev/vdb", "cloud": None}}}, "vol-1", "/dev/x") \
        == "/dev/vdb"
    assert attached_device(record, "vol-1", None) == "/dev/vdb"  # still attaching: the cloud names no device yet
    launched = {"launch_devices": ["/dev/vdd", "vdh"]}  # RunInstances BlockDeviceMappings, as given
    assert [attached_device(launched, "v", d) for d in ("/dev/vdh", "/dev/vdd", "/dev/vde")] == \
        ["vdh", "/dev/vdd", "/dev/vde"]


def test_an_attachment_in_progress_shows_its_state():
    from backends.openstack import mapping as m

    server = {"id": "s", "status": "ACTIVE", "os-extended-volumes:volumes_attached": [{"id": "v"}]}
    volumes = {"v": {"id": "v", "status": "attaching", "attachments": []}}
    (att,) = m.server_from(server, (), {}, volumes).attachments
    assert (att.state, att.device) == ("attaching", None)
    volumes["v"]["status"] = "reserved"  # Nova has reserved it for the attachment
    assert m.server_from(server, (), {}, volumes).attachments[0].state == "attaching"
    volumes["v"]["status"] = "in-use"
    assert m.server_from(server, (), {}, volumes).attachments[0].state == "attached"


def test_executable_users_self_includes_images_shared_with_the_caller():
    def image(owner: str, public: bool) -> Image:  # members are listed to the owner only: none here
        return Image(id="img", name="n", state="available", owner=owner, public=public, shared_with=[])

    shared = image("owner-a", False)
    assert _executable_by(shared, ["self"], "tenant-b")
    assert _executable_by(shared, ["tenant-b"], "tenant-b")
    assert not _executable_by(image("owner-a", True), ["self"], "tenant-b")
    assert _executable_by(image("owner-a", True), ["all"], "tenant-b")
    assert _executable_by(image("tenant-b", False), ["self"], "tenant-b")


# ---- AttachVolume on a cloud that names the device itself (as Nova does) ---------------------------------------------
class NovaLikeCompute(FakeCompute):
    async def attach_volume(self, volume_id, server_id, device):
        att = await super().attach_volume(volume_id, server_id, device)
        att.device = "/dev/sdb"  # the cloud's own choice, whatever was asked
        return Attachment(volume_id, server_id, "/dev/sdb", att.attached_at)


class NovaLikeBackend(FakeBackend):
    async def compute(self, principal):
        return NovaLikeCompute(self.world, principal.account_id)


@pytest.fixture(scope="module")
def nova_like() -> Iterator[str]:
    config = parse_config({
        "region": "us-east-1", "logging": {"level": "warning"}, "state": {"url": "sqlite://:memory:"},
        "ec2": {"default_vpc": False},  # the fake has no VPC networking
        "auth": {"static": [{"access_key": A[0], "secret_key": A[1], "account_id": A[2]}]}}, "tests")
    with serve_app(create_app(config, backend=NovaLikeBackend())) as (endpoint, loop):
        yield endpoint


def test_attach_volume_echoes_the_requested_device_everywhere(nova_like):
    ec2 = _client(nova_like, A)
    ami = ec2.describe_images(Filters=[{"Name": "name", "Values": ["cirros"]}])["Images"][0]["ImageId"]
    (iid,) = _launch(ec2, ami)
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    vid = ec2.create_volume(AvailabilityZone="nova", Size=1)["VolumeId"]
    ec2.get_waiter("volume_available").wait(VolumeIds=[vid], WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    assert ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/vdb")["Device"] == "/dev/vdb"
    assert ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]["Attachments"][0]["Device"] == "/dev/vdb"
    bdm = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["BlockDeviceMappings"]
    assert [m["DeviceName"] for m in bdm] == ["/dev/vdb"]
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="blockDeviceMapping")[
        "BlockDeviceMappings"][0]["DeviceName"] == "/dev/vdb"
    assert ec2.detach_volume(VolumeId=vid, Device="/dev/vdb")["Device"] == "/dev/vdb"
