"""Suite "s3", multipart uploads: create / upload part / upload part copy / complete / abort / list parts /
list uploads, the `-N` ETag, and EntityTooSmall, InvalidPart, InvalidPartOrder, NoSuchUpload."""

from __future__ import annotations

import hashlib
import io

from boto3.s3.transfer import TransferConfig
from harness import Ctx, check, expect_error

from . import scenario
from .s3_common import (
    PART,
    SUITE,
    MiB,
    blob,
    expect_success,
    get_body,
    md5_hex,
    multipart_etag,
    object_absent,
    temp_bucket,
    unquote_etag,
)

FAKE_UPLOAD_ID = "compat-no-such-upload-0000"


def _upload_parts(s3, bucket: str, key: str, upload_id: str, parts: list[bytes]) -> list[dict]:
    done = []
    for number, data in enumerate(parts, start=1):
        resp = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data)
        check(unquote_etag(resp["ETag"]) == md5_hex(data), f"part {number} ETag {resp['ETag']} is not its MD5")
        done.append({"PartNumber": number, "ETag": resp["ETag"]})
    return done


@scenario(SUITE)
def s3_mpu_complete(ctx: Ctx) -> None:
    """Two parts (5 MiB + 1 KiB) complete into one object with ETag md5(part md5s)-2 and its metadata."""
    s3 = ctx.client("s3")
    parts = [blob(PART, seed=20), blob(1024, seed=21)]
    with temp_bucket(ctx, "mpu") as bucket:
        up = s3.create_multipart_upload(Bucket=bucket, Key="big", ContentType="application/x-big",
                                        Metadata={"kind": "multipart"})
        check(up.get("UploadId") and up.get("Key") == "big" and up.get("Bucket") == bucket,
              f"CreateMultipartUpload answered {up.get('Bucket')}/{up.get('Key')} {up.get('UploadId')}")
        done = _upload_parts(s3, bucket, "big", up["UploadId"], parts)
        check(object_absent(s3, bucket, "big"), "the object is visible before CompleteMultipartUpload")
        resp = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=up["UploadId"],
                                            MultipartUpload={"Parts": done})
        want = multipart_etag(parts)
        check(resp.get("ETag") == want, f"CompleteMultipartUpload ETag {resp.get('ETag')} != {want}")
        check(resp.get("Key") == "big" and resp.get("Bucket") == bucket, "Complete result lacks Bucket/Key")
        head = s3.head_object(Bucket=bucket, Key="big")
        check(head["ETag"] == want, f"HEAD ETag {head['ETag']} != {want}")
        check(head["ContentLength"] == sum(map(len, parts)), f"HEAD ContentLength {head['ContentLength']}")
        check(head["Metadata"] == {"kind": "multipart"}, f"HEAD Metadata {head['Metadata']}")
        check(head["ContentType"] == "application/x-big", f"HEAD ContentType {head['ContentType']}")
        body = get_body(s3, bucket, "big")
        check(hashlib.sha256(body).digest() == hashlib.sha256(b"".join(parts)).digest(),
              "GET of the completed object differs from the parts")
        tail = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={PART - 10}-{PART + 9}")["Body"].read()
        check(tail == (parts[0] + parts[1])[PART - 10:PART + 10], "a range across the part boundary is wrong")
        listing = s3.list_objects_v2(Bucket=bucket)
        check([o["Key"] for o in listing.get("Contents", [])] == ["big"],
              f"listing shows {[o['Key'] for o in listing.get('Contents', [])]} (segments must stay hidden)")
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        check(not uploads, f"the completed upload is still listed: {uploads}")


@scenario(SUITE)
def s3_mpu_single_small_part(ctx: Ctx) -> None:
    """One part smaller than 5 MiB is allowed (it is the last); the ETag ends in -1."""
    s3 = ctx.client("s3")
    part = b"just one small part"
    with temp_bucket(ctx, "mpu1") as bucket:
        up = s3.create_multipart_upload(Bucket=bucket, Key="one")
        done = _upload_parts(s3, bucket, "one", up["UploadId"], [part])
        resp = s3.complete_multipart_upload(Bucket=bucket, Key="one", UploadId=up["UploadId"],
                                            MultipartUpload={"Parts": done})
        check(resp.get("ETag") == multipart_etag([part]), f"ETag {resp.get('ETag')}")
        check(get_body(s3, bucket, "one") == part, "content differs")


@scenario(SUITE)
def s3_mpu_list_parts_and_uploads(ctx: Ctx) -> None:
    """ListParts shows each part's number, ETag and size; ListMultipartUploads shows the upload."""
    s3 = ctx.client("s3")
    parts = [b"a" * 1000, b"b" * 2000, b"c" * 3000]
    with temp_bucket(ctx, "mpul") as bucket:
        up = s3.create_multipart_upload(Bucket=bucket, Key="dir/listed")
        other = s3.create_multipart_upload(Bucket=bucket, Key="other")
        _upload_parts(s3, bucket, "dir/listed", up["UploadId"], parts)
        resp = s3.list_parts(Bucket=bucket, Key="dir/listed", UploadId=up["UploadId"])
        got = [(p["PartNumber"], unquote_etag(p["ETag"]), p["Size"]) for p in resp.get("Parts", [])]
        want = [(n, md5_hex(d), len(d)) for n, d in enumerate(parts, start=1)]
        check(got == want, f"ListParts {got} != {want}")
        check(resp.get("UploadId") == up["UploadId"] and resp.get("Key") == "dir/listed", "ListParts echo")
        page = s3.list_parts(Bucket=bucket, Key="dir/listed", UploadId=up["UploadId"], MaxParts=2)
        check(page["IsTruncated"] and [p["PartNumber"] for p in page["Parts"]] == [1, 2],
              f"MaxParts=2: {[p['PartNumber'] for p in page.get('Parts', [])]} truncated={page.get('IsTruncated')}")
        page2 = s3.list_parts(Bucket=bucket, Key="dir/listed", UploadId=up["UploadId"],
                              PartNumberMarker=int(page["NextPartNumberMarker"]))
        check([p["PartNumber"] for p in page2.get("Parts", [])] == [3], "PartNumberMarker paging")
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        listed = sorted((u["Key"], u["UploadId"]) for u in uploads)
        check(listed == sorted([("dir/listed", up["UploadId"]), ("other", other["UploadId"])]),
              f"ListMultipartUploads {listed}")
        prefixed = s3.list_multipart_uploads(Bucket=bucket, Prefix="dir/").get("Uploads", [])
        check([u["Key"] for u in prefixed] == ["dir/listed"], f"Prefix=dir/: {[u['Key'] for u in prefixed]}")
        for u in (up, other):
            s3.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])


@scenario(SUITE)
def s3_mpu_abort(ctx: Ctx) -> None:
    """AbortMultipartUpload answers 204; afterwards the upload is NoSuchUpload 404 and leaves nothing."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "mpua") as bucket:
        up = s3.create_multipart_upload(Bucket=bucket, Key="gone")
        _upload_parts(s3, bucket, "gone", up["UploadId"], [b"x" * 100])
        resp = s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=up["UploadId"])
        check(resp["ResponseMetadata"]["HTTPStatusCode"] == 204, "AbortMultipartUpload did not answer 204")
        expect_error("NoSuchUpload", 404, lambda: s3.list_parts(Bucket=bucket, Key="gone", UploadId=up["UploadId"]))
        expect_error("NoSuchUpload", 404, lambda: s3.upload_part(Bucket=bucket, Key="gone", UploadId=up["UploadId"],
                                                                 PartNumber=2, Body=b"late"))
        check(not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), "aborted upload still listed")
        check(object_absent(s3, bucket, "gone"), "an aborted upload left an object")
        expect_success(lambda: s3.delete_bucket(Bucket=bucket), "DeleteBucket after the abort (nothing left)")


@scenario(SUITE)
def s3_mpu_no_such_upload(ctx: Ctx) -> None:
    """UploadPart, ListParts, Complete and Abort with an unknown upload id are NoSuchUpload 404."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "mpun") as bucket:
        kw = {"Bucket": bucket, "Key": "k", "UploadId": FAKE_UPLOAD_ID}
        expect_error("NoSuchUpload", 404, lambda: s3.upload_part(PartNumber=1, Body=b"x", **kw))
        expect_error("NoSuchUpload", 404, lambda: s3.list_parts(**kw))
        expect_error("NoSuchUpload", 404, lambda: s3.complete_multipart_upload(
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]}, **kw))
        expect_error("NoSuchUpload", 404, lambda: s3.abort_multipart_upload(**kw))
        check(object_absent(s3, bucket, "k"), "an unknown upload id created an object")


@scenario(SUITE)
def s3_mpu_entity_too_small(ctx: Ctx) -> None:
    """Completing with a non-last part under 5 MiB is EntityTooSmall 400 and creates nothing."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "mpus") as bucket:
        up = s3.create_multipart_upload(Bucket=bucket, Key="small")
        done = _upload_parts(s3, bucket, "small", up["UploadId"], [b"1" * 1024, b"2" * 1024])
        expect_error("EntityTooSmall", 400, lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key="small", UploadId=up["UploadId"], MultipartUpload={"Parts": done}))
        check(object_absent(s3, bucket, "small"), "a refused completion created the object")


@scenario(SUITE)
def s3_mpu_invalid_part(ctx: Ctx) -> None:
    """Completing with a wrong ETag or a part never uploaded is InvalidPart 400; the upload survives."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "mpui") as bucket:
        up = s3.create_multipart_upload(Bucket=bucket, Key="k")
        # Part 1 is full-sized, so EntityTooSmall cannot be the answer to the completions below.
        first = blob(PART, seed=25)
        done = _upload_parts(s3, bucket, "k", up["UploadId"], [first])
        kw = {"Bucket": bucket, "Key": "k", "UploadId": up["UploadId"]}
        wrong_etag = [{"PartNumber": 1, "ETag": '"' + "f" * 32 + '"'}]
        expect_error("InvalidPart", 400, lambda: s3.complete_multipart_upload(
            MultipartUpload={"Parts": wrong_etag}, **kw))
        missing = done + [{"PartNumber": 7, "ETag": done[0]["ETag"]}]
        expect_error("InvalidPart", 400, lambda: s3.complete_multipart_upload(
            MultipartUpload={"Parts": missing}, **kw))
        check(object_absent(s3, bucket, "k"), "a refused completion created the object")
        expect_success(lambda: s3.complete_multipart_upload(MultipartUpload={"Parts": done}, **kw),
                       "the right completion after refused ones")
        check(get_body(s3, bucket, "k") == first, "content differs")


@scenario(SUITE)
def s3_mpu_invalid_part_order(ctx: Ctx) -> None:
    """Parts listed out of ascending order in Complete are InvalidPartOrder 400."""
    s3 = ctx.client("s3")
    with temp_bucket(ctx, "mpuo") as bucket:
        up = s3.create_multipart_upload(Bucket=bucket, Key="k")
        # Both parts full-sized: whichever is listed last, EntityTooSmall cannot apply.
        done = _upload_parts(s3, bucket, "k", up["UploadId"], [blob(PART, seed=22), blob(PART, seed=26)])
        expect_error("InvalidPartOrder", 400, lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=up["UploadId"], MultipartUpload={"Parts": done[::-1]}))
        check(object_absent(s3, bucket, "k"), "a refused completion created the object")


@scenario(SUITE)
def s3_mpu_upload_part_copy(ctx: Ctx) -> None:
    """UploadPartCopy copies a whole object and a byte range into parts; the result is their concatenation."""
    s3 = ctx.client("s3")
    source = blob(PART + 4096, seed=23)
    with temp_bucket(ctx, "mpuc") as bucket:
        s3.put_object(Bucket=bucket, Key="src", Body=source)
        up = s3.create_multipart_upload(Bucket=bucket, Key="dst")
        src = {"Bucket": bucket, "Key": "src"}
        p1 = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=up["UploadId"], PartNumber=1, CopySource=src)
        p2 = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=up["UploadId"], PartNumber=2, CopySource=src,
                                 CopySourceRange="bytes=100-1123")
        e1, e2 = p1["CopyPartResult"]["ETag"], p2["CopyPartResult"]["ETag"]
        check(unquote_etag(e1) == md5_hex(source), f"copied part 1 ETag {e1}")
        check(unquote_etag(e2) == md5_hex(source[100:1124]), f"copied range part 2 ETag {e2}")
        s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=up["UploadId"], MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
        body = get_body(s3, bucket, "dst")
        check(body == source + source[100:1124], f"UploadPartCopy result differs ({len(body)} bytes)")


@scenario(SUITE)
def s3_mpu_transfer_manager(ctx: Ctx) -> None:
    """boto3's transfer manager (threads, 5 MiB parts) uploads 12 MiB as 3 parts and downloads it intact."""
    s3 = ctx.client("s3")
    data = blob(12 * MiB, seed=24)
    config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4)
    with temp_bucket(ctx, "xfer") as bucket:
        s3.upload_fileobj(io.BytesIO(data), bucket, "managed", Config=config)
        head = s3.head_object(Bucket=bucket, Key="managed")
        check(head["ETag"].endswith('-3"'), f"ETag {head['ETag']} is not a 3-part ETag")
        out = io.BytesIO()
        s3.download_fileobj(bucket, "managed", out, Config=config)
        check(hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(data).digest(),
              "downloaded bytes differ from the uploaded ones")
