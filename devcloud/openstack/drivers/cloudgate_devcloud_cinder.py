"""Cinder volume driver for devcloud: Cinder's own fake driver, completed where it still touches LVM.

``cinder.tests.fake_driver.FakeLoggingVolumeDriver`` fakes create/delete/snapshot/attach but inherits
the rest from the LVM driver, which then fails on a machine without volume groups: extending a volume
(EC2 ModifyVolume), creating a volume from an image (EBS-backed instances), uploading a volume to an
image, reverting to a snapshot. Here those succeed without storage: volumes have no content, an
uploaded image gets a few zero KiB (like devcloud's public image).
"""

import io

from cinder.tests.fake_driver import FakeLoggingVolumeDriver
from cinder.volume import volume_utils
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
IMAGE_PAYLOAD = b"\0" * (64 * 1024)


class DevcloudVolumeDriver(FakeLoggingVolumeDriver):
    @volume_utils.trace_method
    def extend_volume(self, volume, new_size):
        LOG.info("devcloud: volume %s extended to %s GiB (no storage)", volume.id, new_size)

    @volume_utils.trace_method
    def clone_image(self, context, volume, image_location, image_meta, image_service):
        # "Cloned": Cinder then skips downloading the image and inspecting it with qemu-img (as root,
        # through sudo and privsep, neither of which devcloud has) and marks the volume bootable.
        LOG.info("devcloud: volume %s made from image %s (no storage)", volume.id, image_meta.get("id"))
        return {}, True

    @volume_utils.trace_method
    def copy_image_to_volume(self, context, volume, image_service, image_id, disable_sparse=False):
        LOG.info("devcloud: image %s 'copied' to volume %s (no storage)", image_id, volume.id)

    @volume_utils.trace_method
    def copy_volume_to_image(self, context, volume, image_service, image_meta):
        # Glance needs data to make the image active; the volume has none, so a small raw payload.
        image_service.update(context, image_meta["id"], {}, io.BytesIO(IMAGE_PAYLOAD))

    @volume_utils.trace_method
    def revert_to_snapshot(self, context, volume, snapshot):
        LOG.info("devcloud: volume %s reverted to snapshot %s (no storage)", volume.id, snapshot.id)
