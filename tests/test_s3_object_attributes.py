"""GetObjectAttributes and GetObject/HeadObject ?partNumber= on the real Swift: attributes of plain and
multipart objects (parts paged, sizes and checksums checked against the uploaded bytes), each part read
back by number (206, Content-Range, x-amz-mp-parts-count), encrypted multipart parts, and every error with
S3's exact code and status (delete markers included)."""

from __future__ import annotations

import base64
import hashlib
import zlib

from tests.s3_support import aws_error, raw

MiB = 1024 * 1024
P1 = hashlib.sha256(b"one").digest() * (5 * MiB // 32)
P2 = b"second and last part " * 100


def b64(raw_bytes: bytes) -> str:
    return base64.b64encode(raw_bytes).decode()


def crc32(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def _multipart(s3, name, key, algorithm=None, parts=(P1, P2)):
    up = s3.create_multipart_upload(Bucket=name, Key=key, **({"ChecksumAlgorithm": algorithm} if algorithm else {}))
    done = []
    for n, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=name, Key=key, UploadId=up["UploadId"], PartNumber=n, Body=data,
                           **({"ChecksumAlgorithm": algorithm} if algorithm else {}))
        done.append({"PartNumber": n, "ETag": r["ETag"], **({f"Checksum{algorithm}": r[f"Checksum{algorithm}"]}
                                                           if algorithm else {})})
    return s3.complete_multipart_upload(Bucket=name, Key=key, UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": done})


ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def test_attributes_of_a_plain_object(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    put = s3.put_object(Bucket=name, Key="k", Body=b"hello", ChecksumAlgorithm="CRC32")
    got = s3.get_object_attributes(Bucket=name, Key="k", ObjectAttributes=ALL)
    assert got["ETag"] == put["ETag"].strip('"') == hashlib.md5(b"hello").hexdigest()
    assert got["Checksum"] == {"ChecksumCRC32": crc32(b"hello"), "ChecksumType": "FULL_OBJECT"}
    assert (got["StorageClass"], got["ObjectSize"]) == ("STANDARD", 5)
    assert "ObjectParts" not in got and got["LastModified"]
    only = s3.get_object_attributes(Bucket=name, Key="k", ObjectAttributes=["ObjectSize"])
    assert only["ObjectSize"] == 5 and "ETag" not in only and "Checksum" not in only
    s3_gateway.client_a(request_checksum_calculation="when_required").put_object(Bucket=name, Key="plain", Body=b"x")
    assert "Checksum" not in s3.get_object_attributes(Bucket=name, Key="plain", ObjectAttributes=["Checksum"])
    # partNumber on an object that was not uploaded in parts: 1 is a range over all of it (206, as S3),
    # 2 does not exist
    whole = s3.get_object(Bucket=name, Key="k", PartNumber=1)
    assert whole["Body"].read() == b"hello" and whole["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert whole["ContentRange"] == "bytes 0-4/5" and "PartsCount" not in whole
    head = s3.head_object(Bucket=name, Key="k", PartNumber=1)
    assert (head["ResponseMetadata"]["HTTPStatusCode"], head["ContentRange"]) == (206, "bytes 0-4/5")
    with aws_error("InvalidPartNumber", 416):
        s3.get_object(Bucket=name, Key="k", PartNumber=2)


def test_attribute_errors(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket(versioned=True)
    s3.put_object(Bucket=name, Key="k", Body=b"v1")
    with aws_error("InvalidArgument", 400) as e:
        s3.get_object_attributes(Bucket=name, Key="k", ObjectAttributes=["ETag", "Colour"])
    assert e.value.response["Error"]["ArgumentValue"] == "Colour"
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "GET", f"/{name}/k?attributes")
    assert status == 400 and b"<Code>InvalidRequest</Code>" in body, body
    with aws_error("NoSuchKey", 404):
        s3.get_object_attributes(Bucket=name, Key="missing", ObjectAttributes=["ETag"])
    with aws_error("NoSuchVersion", 404):
        s3.get_object_attributes(Bucket=name, Key="k", VersionId="nosuchversion", ObjectAttributes=["ETag"])
    with aws_error("NoSuchBucket", 404):
        s3.get_object_attributes(Bucket=name + "-gone", Key="k", ObjectAttributes=["ETag"])
    marker = s3.delete_object(Bucket=name, Key="k")["VersionId"]
    with aws_error("NoSuchKey", 404) as e:
        s3.get_object_attributes(Bucket=name, Key="k", ObjectAttributes=["ETag"])
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with aws_error("MethodNotAllowed", 405) as e:
        s3.get_object_attributes(Bucket=name, Key="k", VersionId=marker, ObjectAttributes=["ETag"])
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with aws_error("AccessDenied", 403):
        s3_gateway.client_b().get_object_attributes(Bucket=name, Key="k", ObjectAttributes=["ETag"])


def test_multipart_attributes_parts_paged_and_read_by_number(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket(versioned=True)
    done = _multipart(s3, name, "mp", "CRC32")
    attrs = s3.get_object_attributes(Bucket=name, Key="mp", ObjectAttributes=ALL)
    assert attrs["ETag"] == done["ETag"].strip('"') and attrs["ETag"].endswith("-2")
    assert attrs["VersionId"] == done["VersionId"]
    assert attrs["ObjectSize"] == len(P1) + len(P2)
    assert attrs["Checksum"]["ChecksumType"] == "COMPOSITE" and attrs["Checksum"]["ChecksumCRC32"].endswith("-2")
    parts = attrs["ObjectParts"]
    assert (parts["TotalPartsCount"], parts["IsTruncated"], parts["PartNumberMarker"]) == (2, False, 0)
    assert parts["Parts"] == [{"PartNumber": 1, "Size": len(P1), "ChecksumCRC32": crc32(P1)},
                              {"PartNumber": 2, "Size": len(P2), "ChecksumCRC32": crc32(P2)}]
    page = s3.get_object_attributes(Bucket=name, Key="mp", ObjectAttributes=["ObjectParts"], MaxParts=1)["ObjectParts"]
    assert (page["IsTruncated"], page["NextPartNumberMarker"], [p["PartNumber"] for p in page["Parts"]]) == \
        (True, 1, [1])
    rest = s3.get_object_attributes(Bucket=name, Key="mp", ObjectAttributes=["ObjectParts"],
                                    PartNumberMarker=1)["ObjectParts"]
    assert (rest["IsTruncated"], [p["PartNumber"] for p in rest["Parts"]]) == (False, [2])

    total = len(P1) + len(P2)
    for number, data, first in ((1, P1, 0), (2, P2, len(P1))):
        # ChecksumMode: the part's own CRC32, which botocore validates against the part's body
        got = s3.get_object(Bucket=name, Key="mp", PartNumber=number, ChecksumMode="ENABLED")
        meta = got["ResponseMetadata"]
        assert meta["HTTPStatusCode"] == 206 and got["PartsCount"] == 2
        assert got["ContentRange"] == f"bytes {first}-{first + len(data) - 1}/{total}"
        assert got["ContentLength"] == len(data) and got["ETag"] == done["ETag"]
        assert got["ChecksumCRC32"] == crc32(data) and got["Body"].read() == data
        head = s3.head_object(Bucket=name, Key="mp", PartNumber=number)
        assert (head["ResponseMetadata"]["HTTPStatusCode"], head["PartsCount"], head["ContentLength"]) == \
            (206, 2, len(data))
        assert head["ContentRange"] == got["ContentRange"]
    assert "PartsCount" not in s3.head_object(Bucket=name, Key="mp")
    with aws_error("InvalidPartNumber", 416):
        s3.get_object(Bucket=name, Key="mp", PartNumber=3)
    with aws_error("416", 416):
        s3.head_object(Bucket=name, Key="mp", PartNumber=3)
    with aws_error("InvalidArgument", 400):
        s3.get_object(Bucket=name, Key="mp", PartNumber=10001)
    with aws_error("InvalidRequest", 400):
        s3.get_object(Bucket=name, Key="mp", PartNumber=1, Range="bytes=0-1")
    with aws_error("PreconditionFailed", 412):
        s3.get_object(Bucket=name, Key="mp", PartNumber=1, IfMatch='"0123"')


def test_multipart_without_checksums_has_a_part_count_but_no_part_list(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(request_checksum_calculation="when_required"), bucket()
    _multipart(s3, name, "mp")
    attrs = s3.get_object_attributes(Bucket=name, Key="mp", ObjectAttributes=["ObjectParts", "Checksum"])
    assert attrs["ObjectParts"]["TotalPartsCount"] == 2 and "Parts" not in attrs["ObjectParts"]
    assert "Checksum" not in attrs


def test_encrypted_multipart_part_read_by_number(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    _multipart(s3, name, "enc", "SHA256")
    got = s3.get_object(Bucket=name, Key="enc", PartNumber=2, ChecksumMode="ENABLED")
    assert got["Body"].read() == P2 and got["ContentRange"].startswith(f"bytes {len(P1)}-")
    assert got["ChecksumSHA256"] == b64(hashlib.sha256(P2).digest()) and got["ServerSideEncryption"] == "AES256"
    attrs = s3.get_object_attributes(Bucket=name, Key="enc", ObjectAttributes=["ObjectParts", "ObjectSize"])
    assert [p["Size"] for p in attrs["ObjectParts"]["Parts"]] == [len(P1), len(P2)]
    assert attrs["ObjectSize"] == len(P1) + len(P2)


def test_sse_s3_part_etags_are_plaintext_md5s(s3_gateway, bucket):
    """As S3: an SSE-S3 part's ETag is the MD5 of its plaintext, and the object's is md5(part md5s)-N."""
    s3, name = s3_gateway.client_a(), bucket()
    uid = s3.create_multipart_upload(Bucket=name, Key="k", ServerSideEncryption="AES256")["UploadId"]
    etags = [s3.upload_part(Bucket=name, Key="k", UploadId=uid, PartNumber=n, Body=data)["ETag"]
             for n, data in enumerate((P1, P2), 1)]
    assert etags == [f'"{hashlib.md5(P1).hexdigest()}"', f'"{hashlib.md5(P2).hexdigest()}"']
    listed = s3.list_parts(Bucket=name, Key="k", UploadId=uid)["Parts"]
    assert [p["ETag"] for p in listed] == etags
    with aws_error("InvalidPart", 400):  # the ciphertext MD5 is not the part's ETag
        s3.complete_multipart_upload(Bucket=name, Key="k", UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": etags[0]}, {"PartNumber": 2, "ETag": '"' + "0" * 32 + '"'}]})
    done = s3.complete_multipart_upload(Bucket=name, Key="k", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]})
    expected = hashlib.md5(hashlib.md5(P1).digest() + hashlib.md5(P2).digest()).hexdigest() + "-2"
    assert done["ETag"] == f'"{expected}"' and s3.head_object(Bucket=name, Key="k")["ETag"] == done["ETag"]
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == P1 + P2


def test_empty_last_part(s3_gateway, bucket):
    """An empty last part: its checksum is the empty data's, and reading it by number sends no bytes."""
    s3, name = s3_gateway.client_a(), bucket()
    _multipart(s3, name, "k", "CRC32", parts=(P1, b""))
    head = s3.head_object(Bucket=name, Key="k", PartNumber=2)
    assert (head["ContentLength"], head["PartsCount"], "ContentRange" in head) == (0, 2, False)
    got = s3.get_object(Bucket=name, Key="k", PartNumber=2, ChecksumMode="ENABLED")
    assert got["Body"].read() == b"" and got["ChecksumCRC32"] == crc32(b"")
    first = s3.get_object(Bucket=name, Key="k", PartNumber=1)
    assert first["ContentRange"] == f"bytes 0-{len(P1) - 1}/{len(P1)}" and first["Body"].read() == P1
