"""Multipart checksums on the real Swift: every algorithm x type through boto3, the composite "-N" form and
the FULL_OBJECT CRC checked against checksums computed here over the whole data (botocore.httpchecksum's
implementations, and botocore's own response validation of GetObject), and the errors S3 answers for each
wrong request (exact codes and statuses, raw requests where an SDK would not send the mistake).

Parts: S3's minimum part size is 5 MiB (except the last); each upload here is one 5 MiB part plus a small one.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from botocore import httpchecksum

from gateway.protocol import errors
from gateway.s3 import multipart_checksums as mpc
from gateway.s3.checksums import ChecksumSpec

from .s3_support import aws_error, raw

MiB = 1024 * 1024
_FIRST = hashlib.sha256(b"first").digest() * (5 * MiB // 32)
_LAST = b"the last part, short" * 50

# The oracle: botocore's own checksum implementations (what SDKs send and validate with).
_BOTOCORE = {"CRC32": httpchecksum.Crc32Checksum, "CRC32C": httpchecksum.CrtCrc32cChecksum,
             "CRC64NVME": httpchecksum.CrtCrc64NvmeChecksum, "SHA1": httpchecksum.Sha1Checksum,
             "SHA256": httpchecksum.Sha256Checksum}


def _raw_digest(algorithm: str, data: bytes) -> bytes:
    running = _BOTOCORE[algorithm]()
    running.update(data)
    return running.digest()


_RAW = {name: (lambda d, name=name: _raw_digest(name, d)) for name in _BOTOCORE}


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def digest(algorithm: str, data: bytes) -> str:
    return b64(_RAW[algorithm](data))


def composite(algorithm: str, parts: list[bytes]) -> str:
    return digest(algorithm, b"".join(_RAW[algorithm](p) for p in parts)) + f"-{len(parts)}"


COMBOS = [("CRC32", "COMPOSITE"), ("CRC32", "FULL_OBJECT"), ("CRC32C", "COMPOSITE"), ("CRC32C", "FULL_OBJECT"),
          ("CRC64NVME", "FULL_OBJECT"), ("SHA1", "COMPOSITE"), ("SHA256", "COMPOSITE")]


# ---- units ---------------------------------------------------------------------------------------------
def test_creation_settings_as_s3_validates_them():
    assert mpc.creation_settings({}) == (None, None)
    assert mpc.creation_settings({"ChecksumAlgorithm": "crc32"}) == ("CRC32", "COMPOSITE")
    assert mpc.creation_settings({"ChecksumAlgorithm": "CRC64NVME"}) == ("CRC64NVME", "FULL_OBJECT")
    assert mpc.creation_settings({"ChecksumAlgorithm": "CRC32C", "ChecksumType": "FULL_OBJECT"}) == \
        ("CRC32C", "FULL_OBJECT")
    for params, message in (
            ({"ChecksumType": "COMPOSITE"}, "can only be used with the x-amz-checksum-algorithm header"),
            ({"ChecksumAlgorithm": "SHA1", "ChecksumType": "FULL_OBJECT"},
             "The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm."),
            ({"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": "COMPOSITE"},
             "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm."),
            ({"ChecksumAlgorithm": "CRC32", "ChecksumType": "PARTIAL"}, "x-amz-checksum-type header is invalid"),
            ({"ChecksumAlgorithm": "MD4"}, "Checksum algorithm provided is unsupported")):
        with pytest.raises(errors.InvalidRequest, match=message):
            mpc.creation_settings(params)


def test_part_spec_takes_the_upload_algorithm_and_refuses_another():
    spec = mpc.part_spec(ChecksumSpec(), {"checksum_algorithm": "CRC32C"})
    assert spec.algorithm == "CRC32C" and spec.expected is None
    with pytest.raises(errors.InvalidRequest, match="expected checksum Type: crc32c, actual checksum Type: sha1"):
        mpc.part_spec(ChecksumSpec(algorithm="SHA1"), {"checksum_algorithm": "CRC32C"})


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME"])
def test_full_object_crc_is_combined_from_parts(algorithm):
    parts = [b"a" * 1000, b"", b"bc" * 777, b"z"]
    combined = mpc._object_checksum(algorithm, "FULL_OBJECT", [(digest(algorithm, p), len(p)) for p in parts])
    assert combined == digest(algorithm, b"".join(parts))  # the oracle: the CRC of the whole data


def test_composite_is_checksum_of_part_checksums_dash_n():
    parts = [b"x" * 10, b"y" * 20, b"z"]
    got = mpc._object_checksum("SHA256", "COMPOSITE", [(digest("SHA256", p), len(p)) for p in parts])
    assert got == composite("SHA256", parts) and got.endswith("-3")


# ---- end to end -------------------------------------------------------------------------------------------
def _mpu(s3, name, key, algorithm, kind, parts=(_FIRST, _LAST), **complete):
    create = {"ChecksumAlgorithm": algorithm} if algorithm else {}
    if kind:
        create["ChecksumType"] = kind
    up = s3.create_multipart_upload(Bucket=name, Key=key, **create)
    done = []
    for n, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=name, Key=key, UploadId=up["UploadId"], PartNumber=n, Body=data,
                           **({"ChecksumAlgorithm": algorithm} if algorithm else {}))
        part = {"PartNumber": n, "ETag": r["ETag"]}
        if algorithm:
            member = f"Checksum{algorithm}"
            assert r[member] == digest(algorithm, data)
            part[member] = r[member]
        done.append(part)
    return up, done


@pytest.mark.parametrize("algorithm,kind", COMBOS)
def test_multipart_checksum_algorithm_by_type(s3_gateway, bucket, algorithm, kind):
    s3, name = s3_gateway.client_a(), bucket()
    up, done = _mpu(s3, name, "k", algorithm, kind)
    assert up["ChecksumAlgorithm"] == algorithm and up["ChecksumType"] == kind
    listed = s3.list_parts(Bucket=name, Key="k", UploadId=up["UploadId"])
    assert [p[f"Checksum{algorithm}"] for p in listed["Parts"]] == [digest(algorithm, _FIRST), digest(algorithm, _LAST)]
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == (algorithm, kind)
    uploads = s3.list_multipart_uploads(Bucket=name)["Uploads"]
    assert [(u["ChecksumAlgorithm"], u["ChecksumType"]) for u in uploads] == [(algorithm, kind)]
    expected = digest(algorithm, _FIRST + _LAST) if kind == "FULL_OBJECT" else composite(algorithm, [_FIRST, _LAST])
    member = f"Checksum{algorithm}"
    out = s3.complete_multipart_upload(Bucket=name, Key="k", UploadId=up["UploadId"],
                                       MultipartUpload={"Parts": done}, **{member: expected})
    assert (out[member], out["ChecksumType"]) == (expected, kind)
    head = s3.head_object(Bucket=name, Key="k", ChecksumMode="ENABLED")
    assert (head[member], head["ChecksumType"]) == (expected, kind)
    assert member not in s3.head_object(Bucket=name, Key="k")
    # botocore validates a FULL_OBJECT checksum against the body it reads (and skips "-N" ones)
    got = s3.get_object(Bucket=name, Key="k", ChecksumMode="ENABLED")
    assert got[member] == expected and got["Body"].read() == _FIRST + _LAST
    ranged = s3.get_object(Bucket=name, Key="k", ChecksumMode="ENABLED", Range="bytes=0-9")
    assert member not in ranged and ranged["Body"].read() == _FIRST[:10]


def test_complete_errors_for_part_checksums(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    up, done = _mpu(s3, name, "k", "CRC32", None)
    uid = up["UploadId"]

    def complete(parts, **kw):
        return s3.complete_multipart_upload(Bucket=name, Key="k", UploadId=uid, MultipartUpload={"Parts": parts}, **kw)

    with aws_error("InvalidRequest", 400) as e:  # COMPOSITE needs each part's checksum
        complete([{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in done])
    assert "It was missing for part 1 in the request." in str(e.value)
    wrong = [dict(done[0], ChecksumCRC32=digest("CRC32", b"other")), done[1]]
    with aws_error("InvalidPart", 400):
        complete(wrong)
    other = [{"PartNumber": 1, "ETag": done[0]["ETag"], "ChecksumSHA1": digest("SHA1", _FIRST)}, done[1]]
    with aws_error("BadDigest", 400) as e:
        complete(other)
    assert "The sha1 you specified for part 1 did not match what we received." in str(e.value)
    with aws_error("InvalidRequest", 400) as e:
        complete(done, ChecksumType="FULL_OBJECT")
    assert "created using the COMPOSITE checksum mode" in str(e.value)
    with aws_error("BadDigest", 400):
        complete(done, ChecksumCRC32=composite("CRC32", [b"x", b"y"]))
    with aws_error("InvalidRequest", 400) as e:
        complete(done, MpuObjectSize=5)
    assert f"header value 5 does not match what was computed: {len(_FIRST) + len(_LAST)}" in str(e.value)
    with aws_error("InvalidRequest", 400) as e:
        complete(done, ChecksumSHA256=digest("SHA256", b"x"))
    assert "expected checksum Type: crc32, actual checksum Type: sha256" in str(e.value)
    with aws_error("404", 404):  # nothing was stored by any of these (a HEAD has no error body)
        s3.head_object(Bucket=name, Key="k")
    assert complete(done, MpuObjectSize=len(_FIRST) + len(_LAST))["ChecksumType"] == "COMPOSITE"


def test_part_of_another_algorithm_and_create_errors_on_the_wire(s3_gateway, bucket):
    s3, name = s3_gateway.client_a(), bucket()
    uid = s3.create_multipart_upload(Bucket=name, Key="k", ChecksumAlgorithm="CRC32C")["UploadId"]
    with aws_error("InvalidRequest", 400) as e:
        s3.upload_part(Bucket=name, Key="k", UploadId=uid, PartNumber=1, Body=b"abc", ChecksumAlgorithm="SHA256")
    assert "expected checksum Type: crc32c, actual checksum Type: sha256" in str(e.value)
    with aws_error("BadDigest", 400):
        s3.upload_part(Bucket=name, Key="k", UploadId=uid, PartNumber=1, Body=b"abc",
                       ChecksumCRC32C=digest("CRC32C", b"abd"))
    # a part sent without a checksum gets the upload's, computed by the gateway
    plain = s3_gateway.client_a(request_checksum_calculation="when_required")
    r = plain.upload_part(Bucket=name, Key="k", UploadId=uid, PartNumber=1, Body=b"abc")
    assert r["ChecksumCRC32C"] == digest("CRC32C", b"abc")
    for create, code in (({"x-amz-checksum-type": "COMPOSITE"}, "InvalidRequest"),
                         ({"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-type": "FULL_OBJECT"},
                          "InvalidRequest"),
                         ({"x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "COMPOSITE"},
                          "InvalidRequest")):
        status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "POST", f"/{name}/k?uploads", headers=create)
        assert status == 400 and f"<Code>{code}</Code>".encode() in body, body


def test_single_part_upload_of_an_upload_with_full_object_crc64(s3_gateway, bucket):
    """The issue's case: a FULL_OBJECT CRC64NVME upload completed by boto3 with no part list checksums."""
    s3, name = s3_gateway.client_a(), bucket()
    up, done = _mpu(s3, name, "k", "CRC64NVME", None, parts=(b"only part",))
    s3.complete_multipart_upload(Bucket=name, Key="k", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": done[0]["ETag"]}]})
    head = s3.head_object(Bucket=name, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == digest("CRC64NVME", b"only part")
    assert head["ChecksumType"] == "FULL_OBJECT"


def test_copied_part_is_read_back_for_the_full_object_crc(s3_gateway, bucket):
    """UploadPartCopy records no checksum: completion computes it from the stored part."""
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="src", Body=_FIRST)
    uid = s3.create_multipart_upload(Bucket=name, Key="k", ChecksumAlgorithm="CRC32C",
                                     ChecksumType="FULL_OBJECT")["UploadId"]
    copied = s3.upload_part_copy(Bucket=name, Key="k", UploadId=uid, PartNumber=1,
                                 CopySource={"Bucket": name, "Key": "src"})["CopyPartResult"]["ETag"]
    last = s3.upload_part(Bucket=name, Key="k", UploadId=uid, PartNumber=2, Body=_LAST, ChecksumAlgorithm="CRC32C")
    out = s3.complete_multipart_upload(Bucket=name, Key="k", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": copied}, {"PartNumber": 2, "ETag": last["ETag"]}]})
    assert (out["ChecksumCRC32C"], out["ChecksumType"]) == (digest("CRC32C", _FIRST + _LAST), "FULL_OBJECT")


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_single_part_mismatch_is_bad_digest_and_malformed_is_invalid_request(s3_gateway, bucket, algorithm):
    """Raw PUTs (no SDK in the way): a wrong value of the right size is BadDigest, a value that is not a
    digest of this algorithm InvalidRequest; a right one is stored and returned FULL_OBJECT."""
    s3, name, low = s3_gateway.client_a(), bucket(), algorithm.lower()
    data = b"single part body" * 100
    header = f"x-amz-checksum-{low}"
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "PUT", f"/{name}/k", body=data,
                          headers={header: digest(algorithm, b"other")})
    assert status == 400 and b"<Code>BadDigest</Code>" in body, body
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "PUT", f"/{name}/k", body=data,
                          headers={header: b64(b"short")})
    assert status == 400 and b"<Code>InvalidRequest</Code>" in body, body
    status, body, headers = raw(s3_gateway.endpoint, s3_gateway.creds_a, "PUT", f"/{name}/k", body=data,
                                headers={header: digest(algorithm, data)})
    assert status == 200 and headers[header] == digest(algorithm, data), body
    head = s3.head_object(Bucket=name, Key="k", ChecksumMode="ENABLED")
    assert (head[f"Checksum{algorithm}"], head["ChecksumType"]) == (digest(algorithm, data), "FULL_OBJECT")


def test_raw_complete_with_whole_object_sha1_header(s3_gateway, bucket):
    """The issue's case: a Complete carrying x-amz-checksum-sha1 (the object's "-N" value) was refused as a
    bad checksum of its XML body; it completes, and a wrong value is BadDigest."""
    s3, name = s3_gateway.client_a(), bucket()
    up, done = _mpu(s3, name, "k", "SHA1", None, parts=(b"just one part",))
    xml = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag><ChecksumSHA1>{}</ChecksumSHA1>"
           "</Part></CompleteMultipartUpload>").format(done[0]["ETag"], done[0]["ChecksumSHA1"]).encode()
    path = f"/{name}/k?uploadId={up['UploadId']}"
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "POST", path, body=xml,
                          headers={"x-amz-checksum-sha1": composite("SHA1", [b"other"])})
    assert status == 400 and b"<Code>BadDigest</Code>" in body, body
    expected = composite("SHA1", [b"just one part"])
    status, body, _ = raw(s3_gateway.endpoint, s3_gateway.creds_a, "POST", path, body=xml,
                          headers={"x-amz-checksum-sha1": expected})
    assert status == 200 and f"<ChecksumSHA1>{expected}</ChecksumSHA1>".encode() in body, body
    assert b"<ChecksumType>COMPOSITE</ChecksumType>" in body


def test_part_checksum_in_an_aws_chunked_trailer(s3_gateway, bucket):
    """UploadPart as SDKs stream it (aws-chunked, checksum in a trailer): recorded and listed; a trailer of
    another algorithm than the upload's is InvalidRequest, a wrong value BadDigest."""
    from .test_s3_checksums import _raw_trailer_put

    s3, name = s3_gateway.client_a(), bucket()
    uid = s3.create_multipart_upload(Bucket=name, Key="k", ChecksumAlgorithm="CRC64NVME")["UploadId"]
    path = f"/{name}/k?partNumber=1&uploadId={uid}"
    data = b"trailed part" * 1000
    status, body, headers = _raw_trailer_put(s3_gateway.endpoint, path, data, "x-amz-checksum-crc32",
                                             digest("CRC32", data))
    assert status == 400 and b"<Code>InvalidRequest</Code>" in body, body
    status, body, _ = _raw_trailer_put(s3_gateway.endpoint, path, data, "x-amz-checksum-crc64nvme",
                                       digest("CRC64NVME", b"other"))
    assert status == 400 and b"<Code>BadDigest</Code>" in body, body
    status, body, headers = _raw_trailer_put(s3_gateway.endpoint, path, data, "x-amz-checksum-crc64nvme",
                                             digest("CRC64NVME", data))
    assert status == 200 and headers["x-amz-checksum-crc64nvme"] == digest("CRC64NVME", data), body
    part = s3.list_parts(Bucket=name, Key="k", UploadId=uid)["Parts"][0]
    assert part["ChecksumCRC64NVME"] == digest("CRC64NVME", data)
    out = s3.complete_multipart_upload(Bucket=name, Key="k", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": part["ETag"]}]})
    assert out["ChecksumCRC64NVME"] == digest("CRC64NVME", data)


def test_declared_whole_object_checksum_with_or_without_dash_n():
    whole = composite("SHA1", [b"a", b"b"])
    mpc._check_declared({"ChecksumSHA1": whole}, "SHA1", whole)
    mpc._check_declared({"ChecksumSHA1": whole.rpartition("-")[0]}, "SHA1", whole)
    with pytest.raises(errors.BadDigest):
        mpc._check_declared({"ChecksumSHA1": composite("SHA1", [b"a"])}, "SHA1", whole)
    with pytest.raises(errors.InvalidRequest, match="expected checksum Type: sha1, actual checksum Type: crc32"):
        mpc._check_declared({"ChecksumCRC32": digest("CRC32", b"a")}, "SHA1", whole)
