"""Multipart uploads below the wire: ETag arithmetic, upload ids, part naming, request checks, and the
10,000-part bound end to end through the Complete handler on a metadata-only store (no 50 GB of parts)."""

from __future__ import annotations

import datetime as dt
import hashlib
from types import SimpleNamespace

import pytest

from backends import base
from backends.base import Listing, ObjectInfo
from gateway.protocol import errors
from gateway.s3 import multipart, multipart_copy
from gateway.s3 import multipart_state as state
from gateway.s3.common import NS_BUCKET_OWNER
from gateway.session import Session
from gateway.store import open_store

MiB = 1024 * 1024


# ---- arithmetic and names ---------------------------------------------------------------------------
def test_multipart_etag_is_md5_of_binary_part_md5s_with_count():
    parts = [hashlib.md5(b"a" * 10).hexdigest(), hashlib.md5(b"b").hexdigest()]
    joined = bytes.fromhex(parts[0]) + bytes.fromhex(parts[1])
    assert state.multipart_etag(parts) == hashlib.md5(joined).hexdigest() + "-2"


def test_upload_ids_are_unguessable_and_sort_in_creation_order():
    ids = [state.new_upload_id() for _ in range(200)]
    assert len(set(ids)) == 200
    assert ids == sorted(ids)
    assert all(state.valid_upload_id(i) for i in ids)
    # 128 random bits after the time prefix: two ids made in the same instant still differ there
    assert len({i[16:] for i in ids}) == 200
    assert not state.valid_upload_id("../../etc") and not state.valid_upload_id(ids[0].upper())


def test_part_names_sort_numerically_and_long_keys_fall_back_to_a_digest():
    prefix = state._segment_prefix("dir/file.bin", "u" * 48)
    assert prefix == "dir/file.bin/" + "u" * 48 + "/"
    names = [state.part_name(prefix, n) for n in (1, 2, 10, 9999, 10000)]
    assert names == sorted(names)
    long_key = "k" * 1024
    fallback = state._segment_prefix(long_key, "u" * 48)
    assert fallback.startswith(hashlib.sha256(long_key.encode()).hexdigest() + "/")
    assert len(state.part_name(fallback, 10000).encode()) <= state.MAX_NAME_BYTES


@pytest.mark.parametrize("number", [1, 5000, 10000])
def test_part_numbers_within_bounds_are_accepted(number):
    assert multipart.part_number({"PartNumber": number}) == number


@pytest.mark.parametrize("number", [0, -1, 10001, None])
def test_part_numbers_outside_1_to_10000_are_invalid_argument(number):
    with pytest.raises(errors.InvalidArgument) as e:
        multipart.part_number({"PartNumber": number})
    assert e.value.status == 400 and "between 1 and 10000" in e.value.message


def test_copy_source_forms():
    assert multipart_copy.parse_copy_source("b/dir/k%20x") == ("b", "dir/k x", None)
    assert multipart_copy.parse_copy_source("/b/k%3Fq?versionId=v1") == ("b", "k?q", "v1")
    for bad in ("b", "/b/", "", "b?versionId=1"):
        with pytest.raises(errors.InvalidArgument):
            multipart_copy.parse_copy_source(bad)


def test_copy_source_range_forms():
    assert multipart_copy.parse_copy_range(None) is None
    assert multipart_copy.parse_copy_range("bytes=0-0") == (0, 0)
    assert multipart_copy.parse_copy_range("bytes=5-10") == (5, 10)
    for bad in ("bytes=5-", "bytes=-5", "bytes=10-5", "5-10", "bytes=1-2,4-5"):
        with pytest.raises(errors.InvalidArgument) as e:
            multipart_copy.parse_copy_range(bad)
        assert e.value.extra["ArgumentName"] == "x-amz-copy-source-range"


def _parts_ctx(parts):
    return SimpleNamespace(params={"UploadId": "u", "MultipartUpload": {"Parts": parts}})


def test_complete_part_list_must_be_present_and_strictly_ascending():
    with pytest.raises(errors.MalformedXML):
        multipart._requested_parts(SimpleNamespace(params={"UploadId": "u"}))
    with pytest.raises(errors.MalformedXML):
        multipart._requested_parts(_parts_ctx([]))
    with pytest.raises(errors.MalformedXML):
        multipart._requested_parts(_parts_ctx([{"PartNumber": 1}]))
    for order in ([2, 1], [1, 1]):
        with pytest.raises(errors.InvalidPartOrder):
            multipart._requested_parts(_parts_ctx([{"PartNumber": n, "ETag": '"x"'} for n in order]))
    got = multipart._requested_parts(_parts_ctx([{"PartNumber": 1, "ETag": '"AB"'}, {"PartNumber": 3, "ETag": "cd"}]))
    assert got == [(1, "ab"), (3, "cd")]


# ---- Complete with 10,000 parts on a metadata-only store --------------------------------------------
class PartsOnlyStore(base.ObjectStore):
    """Knows part sizes and etags without holding bytes; records the manifest it is asked to write."""

    def __init__(self, container: str, parts: dict[str, ObjectInfo]) -> None:
        self.container = container
        self.parts = parts
        self.manifest: list[base.Segment] | None = None
        self.private: dict[str, str] = {}
        self.listing_calls = 0
        self.deleted: list[str] = []

    async def list_objects(self, container, *, prefix="", delimiter=None, marker=None, version_marker=None,
                           limit=1000, versions=False):
        assert container == self.container and limit <= 10000
        self.listing_calls += 1
        names = sorted(n for n in self.parts if n.startswith(prefix) and (marker is None or n > marker))
        page = names[:limit]
        return Listing([self.parts[n] for n in page], [], truncated=len(names) > limit)

    async def put_manifest(self, container, key, segments, *, content_type=None, metadata=None, private=None,
                           headers=None):
        self.manifest, self.private = segments, dict(private or {})
        return ObjectInfo(key=key, size=sum(s.size for s in segments), etag="m", last_modified=_NOW)

    async def delete_object(self, container, key, *, version_id=None):
        self.deleted.append(key)
        self.parts.pop(key, None)

    async def head_container(self, name):
        return base.ContainerInfo(name)

    async def head_object(self, container, key, *, version_id=None):
        raise base.NotFound(kind="object")

    # not used by Complete
    list_containers = create_container = set_container_metadata = set_versioning = None  # type: ignore
    delete_container = put_object = get_object = copy_object = None  # type: ignore


PartsOnlyStore.__abstractmethods__ = frozenset()
_NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
async def gateway_store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/state.db")
    yield s
    await s.close()


async def test_complete_accepts_exactly_10000_parts_and_writes_one_manifest(gateway_store):
    account, bucket, key = "111122223333", "bkt", "big/object"
    await gateway_store.put(NS_BUCKET_OWNER, bucket, account)
    identity = SimpleNamespace(account_id=account, display_name="a", access_key="AK")
    ctx = SimpleNamespace(params={"Bucket": bucket, "Key": key}, identity=identity, route=None, session=None,
                          request=SimpleNamespace(scheme="http", host="gw:1"),
                          gateway=SimpleNamespace(store=gateway_store))
    upload = await state.create_upload(ctx, account, bucket, key, {
        "owner": {}, "initiator": {}, "storage_class": "STANDARD", "content_type": None, "metadata": {},
        "headers": {}, "tags": None, "acl": None})
    md5s, parts = [], {}
    for n in range(1, state.MAX_PART_NUMBER + 1):
        md5 = hashlib.md5(str(n).encode()).hexdigest()
        md5s.append(md5)
        size = 5 * MiB if n < state.MAX_PART_NUMBER else 1
        parts[upload.part(n)] = ObjectInfo(key=upload.part(n), size=size, etag=md5, last_modified=_NOW)
    parts[upload.part(1) + "x"] = ObjectInfo(key=upload.part(1) + "x", size=1, etag="0" * 32, last_modified=_NOW)
    store = PartsOnlyStore(state.segments_container(bucket), parts)
    ctx.session = Session(ctx)
    ctx.session.act_on_object_store(store)  # the request's object store: the parts-only fake
    ctx.params.update(UploadId=upload.upload_id, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": f'"{md5s[n - 1]}"'} for n in range(1, state.MAX_PART_NUMBER + 1)]})

    out = await multipart.complete_multipart_upload(ctx)

    assert out["ETag"] == f'"{state.multipart_etag(md5s)}"' and out["ETag"].endswith('-10000"')
    assert len(store.manifest) == 10000 and store.manifest[-1].size == 1
    assert [s.key for s in store.manifest] == sorted(s.key for s in store.manifest)
    assert store.private == {"s3-etag": out["ETag"].strip('"'), "s3-upload-id": upload.upload_id}
    assert store.listing_calls >= 10  # paged through the backend 1,000 at a time
    assert await state.find_upload(ctx, account, bucket, key, upload.upload_id) is None
    assert out["Location"] == "http://gw:1/bkt/big/object"


async def test_complete_refuses_a_small_middle_part_with_entity_too_small(gateway_store):
    account, bucket, key = "111122223333", "bkt", "k"
    await gateway_store.put(NS_BUCKET_OWNER, bucket, account)
    ctx = SimpleNamespace(params={"Bucket": bucket, "Key": key},
                          identity=SimpleNamespace(account_id=account, display_name="a", access_key="AK"),
                          route=None, session=None, request=SimpleNamespace(scheme="http", host="gw"),
                          gateway=SimpleNamespace(store=gateway_store))
    upload = await state.create_upload(ctx, account, bucket, key, {"owner": {}, "initiator": {},
                                                                   "storage_class": "STANDARD"})
    sizes = {1: 5 * MiB, 2: 5 * MiB - 1, 3: 10}
    parts = {upload.part(n): ObjectInfo(key=upload.part(n), size=s, etag=f"{n:032x}", last_modified=_NOW)
             for n, s in sizes.items()}
    ctx.session = Session(ctx)
    ctx.session.act_on_object_store(PartsOnlyStore(state.segments_container(bucket), parts))
    ctx.params.update(UploadId=upload.upload_id,
                      MultipartUpload={"Parts": [{"PartNumber": n, "ETag": f"{n:032x}"} for n in sizes]})
    with pytest.raises(errors.EntityTooSmall) as e:
        await multipart.complete_multipart_upload(ctx)
    assert e.value.extra["PartNumber"] == 2 and e.value.extra["MinSizeAllowed"] == 5 * MiB
    # the upload is still there, and not left locked
    assert await state.find_upload(ctx, account, bucket, key, upload.upload_id) is not None
    assert await gateway_store.get(state.NS_UPLOAD_LEASE, upload.store_key) is None
