"""The real aws-cli (`.venv/bin/aws`) against cloudgate on a real Swift: the high-level `aws s3` commands
(mb, cp with multipart, sync, ls, rm --recursive, rb) and `aws s3api` calls, with content checked by hash.

The cli runs isolated from any user configuration (environment credentials, AWS_CONFIG_FILE=/dev/null) and
with retries off, so an error the gateway returns is the error the test sees."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest

from .server import ROOT

AWS = ROOT / ".venv" / "bin" / "aws"
MiB = 1024 * 1024
CLI_TIMEOUT = 180  # one cli invocation, 20 MiB included, on loopback

pytestmark = pytest.mark.skipif(not AWS.exists(), reason=f"aws-cli not installed at {AWS}")


def aws(gw, *args: str, ok: bool = True, creds=None) -> subprocess.CompletedProcess[str]:
    creds = creds or gw.creds_a
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": creds.access_key, "AWS_SECRET_ACCESS_KEY": creds.secret_key,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_MAX_ATTEMPTS": "1",
                "AWS_RETRY_MODE": "standard", "AWS_PAGER": ""})
    proc = subprocess.run([str(AWS), "--endpoint-url", gw.endpoint, *args], capture_output=True, text=True,
                          timeout=CLI_TIMEOUT, env=env, check=False)
    if ok:
        assert proc.returncode == 0, f"aws {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
    return proc


def s3api(gw, *args: str) -> dict:
    out = aws(gw, "s3api", "--output", "json", *args).stdout.strip()
    return json.loads(out) if out else {}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return h.hexdigest()


def write_random(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        for offset in range(0, size, MiB):
            f.write(os.urandom(min(MiB, size - offset)))
    return path


def keys(gw, bucket: str, prefix: str = "") -> list[str]:
    pages = gw.client_a().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


# ---- aws s3 ----------------------------------------------------------------------------------------------
def test_mb_ls_rb(s3_gateway) -> None:
    name = f"cg-cli-mb-{secrets.token_hex(4)}"
    try:
        out = aws(s3_gateway, "s3", "mb", f"s3://{name}").stdout
        assert f"make_bucket: {name}" in out
        assert name in aws(s3_gateway, "s3", "ls").stdout.split()
        s3_gateway.client_a().put_object(Bucket=name, Key="kept", Body=b"kept")
        # us-east-1: re-creating your own bucket is AWS's legacy 200, and must not empty it.
        aws(s3_gateway, "s3", "mb", f"s3://{name}")
        assert keys(s3_gateway, name) == ["kept"]
        taken = aws(s3_gateway, "s3", "mb", f"s3://{name}", creds=s3_gateway.creds_b, ok=False)
        assert taken.returncode != 0 and "(BucketAlreadyExists)" in taken.stderr, taken.stderr
        s3_gateway.client_a().delete_object(Bucket=name, Key="kept")
        out = aws(s3_gateway, "s3", "rb", f"s3://{name}").stdout
        assert f"remove_bucket: {name}" in out
        assert name not in aws(s3_gateway, "s3", "ls").stdout.split()
        gone = aws(s3_gateway, "s3", "rb", f"s3://{name}", ok=False)
        assert gone.returncode != 0 and "(NoSuchBucket)" in gone.stderr, gone.stderr
    finally:
        s3_gateway.swift_a.purge_container(name)


def test_rb_refuses_non_empty_bucket_then_force(s3_gateway, bucket, tmp_path: Path) -> None:
    name = bucket()
    aws(s3_gateway, "s3", "cp", str(write_random(tmp_path / "f", 10)), f"s3://{name}/f")
    full = aws(s3_gateway, "s3", "rb", f"s3://{name}", ok=False)
    assert full.returncode != 0 and "(BucketNotEmpty)" in full.stderr, full.stderr
    aws(s3_gateway, "s3", "rb", f"s3://{name}", "--force")
    assert name not in aws(s3_gateway, "s3", "ls").stdout.split()


def test_cp_20_mib_multipart_up_and_down(s3_gateway, bucket, tmp_path: Path) -> None:
    name = bucket()
    src = write_random(tmp_path / "big.bin", 20 * MiB)
    out = aws(s3_gateway, "s3", "cp", str(src), f"s3://{name}/dir/big.bin", "--no-progress").stdout
    assert re.fullmatch(rf"upload: \S*big\.bin to s3://{name}/dir/big\.bin\s*", out), out
    head = s3_gateway.client_a().head_object(Bucket=name, Key="dir/big.bin")
    assert head["ContentLength"] == 20 * MiB
    # aws-cli's default 8 MiB chunks: 20 MiB goes up as a 3-part multipart upload.
    assert re.fullmatch(r'"[0-9a-f]{32}-3"', head["ETag"]), head["ETag"]
    dst = tmp_path / "down" / "big.bin"
    aws(s3_gateway, "s3", "cp", f"s3://{name}/dir/big.bin", str(dst))
    assert sha256_file(dst) == sha256_file(src)
    # A small file goes up in one PUT; its ETag is the MD5.
    small = write_random(tmp_path / "small.bin", 1000)
    aws(s3_gateway, "s3", "cp", str(small), f"s3://{name}/small.bin")
    etag = s3_gateway.client_a().head_object(Bucket=name, Key="small.bin")["ETag"]
    assert etag == f'"{hashlib.md5(small.read_bytes()).hexdigest()}"'
    # Server-side copy of the multipart object, then download the copy.
    aws(s3_gateway, "s3", "cp", f"s3://{name}/dir/big.bin", f"s3://{name}/copy.bin")
    aws(s3_gateway, "s3", "cp", f"s3://{name}/copy.bin", str(tmp_path / "copy.bin"))
    assert sha256_file(tmp_path / "copy.bin") == sha256_file(src)


def test_cp_missing_key_fails(s3_gateway, bucket, tmp_path: Path) -> None:
    name = bucket()
    proc = aws(s3_gateway, "s3", "cp", f"s3://{name}/absent", str(tmp_path / "x"), ok=False)
    assert proc.returncode != 0
    assert "404" in proc.stderr or "Not Found" in proc.stderr, proc.stderr
    assert not (tmp_path / "x").exists()


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _age(root: Path) -> None:
    """Date every local file an hour back. `aws s3 sync` re-uploads a file whose mtime is newer than the
    object's LastModified, which has whole-second precision, so a file written in the same second as its
    upload would look changed on the next sync."""
    past = time.time() - 3600
    for p in root.rglob("*"):
        if p.is_file():
            os.utime(p, (past, past))


def _uploaded(stdout: str, prefix: str) -> list[str]:
    return sorted(m.group(1) for m in re.finditer(rf"^upload: .* to {re.escape(prefix)}(.+)$", stdout, re.M))


def test_sync_uploads_only_changes_and_deletes(s3_gateway, bucket, tmp_path: Path) -> None:
    name = bucket()
    local = tmp_path / "tree"
    for rel, size in (("a.txt", 100), ("sub/b.txt", 2000), ("sub/deeper/c.bin", 3 * MiB),
                      ("sub/deeper/d e.txt", 10)):
        write_random(local / rel, size)
    _age(local)
    dest = f"s3://{name}/backup/"
    first = aws(s3_gateway, "s3", "sync", str(local), dest).stdout
    assert _uploaded(first, dest) == ["a.txt", "sub/b.txt", "sub/deeper/c.bin", "sub/deeper/d e.txt"], first
    assert sorted(keys(s3_gateway, name)) == [f"backup/{k}" for k in sorted(_tree(local))]

    nothing = aws(s3_gateway, "s3", "sync", str(local), dest).stdout
    assert _uploaded(nothing, dest) == [], f"an unchanged tree was uploaded again:\n{nothing}"

    write_random(local / "sub" / "b.txt", 2500)  # changed (size differs)
    write_random(local / "new.txt", 42)           # added
    _age(local)
    second = aws(s3_gateway, "s3", "sync", str(local), dest).stdout
    assert _uploaded(second, dest) == ["new.txt", "sub/b.txt"], second

    (local / "a.txt").unlink()
    third = aws(s3_gateway, "s3", "sync", str(local), dest, "--delete").stdout
    assert f"delete: {dest}a.txt" in third, third
    assert _uploaded(third, dest) == []
    assert "backup/a.txt" not in keys(s3_gateway, name)

    down = tmp_path / "restored"
    aws(s3_gateway, "s3", "sync", dest, str(down))
    assert _tree(down) == _tree(local)


def test_ls_recursive_human_readable(s3_gateway, bucket, tmp_path: Path) -> None:
    name = bucket()
    client = s3_gateway.client_a()
    client.put_object(Bucket=name, Key="top.txt", Body=b"x" * 10)
    client.put_object(Bucket=name, Key="dir/one.bin", Body=b"y" * 2048)
    client.put_object(Bucket=name, Key="dir/sub/two.bin", Body=b"z" * (3 * MiB))
    flat = aws(s3_gateway, "s3", "ls", f"s3://{name}/").stdout
    assert re.search(r"^\s+PRE dir/$", flat, re.M) and "top.txt" in flat and "one.bin" not in flat, flat
    out = aws(s3_gateway, "s3", "ls", f"s3://{name}", "--recursive", "--human-readable", "--summarize").stdout
    assert re.search(r"^\S+ \S+\s+10 Bytes top\.txt$", out, re.M), out
    assert re.search(r"^\S+ \S+\s+2\.0 KiB dir/one\.bin$", out, re.M), out
    assert re.search(r"^\S+ \S+\s+3\.0 MiB dir/sub/two\.bin$", out, re.M), out
    assert re.search(r"Total Objects: 3\s*$", out, re.M), out
    assert re.search(r"Total Size: 3\.0 MiB", out), out


def test_rm_recursive(s3_gateway, bucket) -> None:
    name = bucket()
    client = s3_gateway.client_a()
    doomed = [f"logs/{i:02d}.log" for i in range(12)] + ["logs/deep/x.log"]
    for key in doomed + ["keep/me.txt"]:
        client.put_object(Bucket=name, Key=key, Body=key.encode())
    out = aws(s3_gateway, "s3", "rm", f"s3://{name}/logs/", "--recursive").stdout
    deleted = sorted(re.findall(rf"^delete: s3://{re.escape(name)}/(\S+)$", out, re.M))
    assert deleted == sorted(doomed), out
    assert keys(s3_gateway, name) == ["keep/me.txt"]


# ---- aws s3api -------------------------------------------------------------------------------------------
def test_s3api_object_calls(s3_gateway, bucket, tmp_path: Path) -> None:
    name = bucket()
    body = write_random(tmp_path / "body.bin", 5000)
    put = s3api(s3_gateway, "put-object", "--bucket", name, "--key", "doc", "--body", str(body),
                "--metadata", "owner=alice,purpose=test", "--content-type", "application/x-doc",
                "--tagging", "team=storage")
    assert put["ETag"] == f'"{hashlib.md5(body.read_bytes()).hexdigest()}"'
    head = s3api(s3_gateway, "head-object", "--bucket", name, "--key", "doc")
    assert head["Metadata"] == {"owner": "alice", "purpose": "test"}
    assert head["ContentType"] == "application/x-doc" and head["ContentLength"] == 5000
    tags = s3api(s3_gateway, "get-object-tagging", "--bucket", name, "--key", "doc")
    assert tags["TagSet"] == [{"Key": "team", "Value": "storage"}]
    out = tmp_path / "out.bin"
    got = s3api(s3_gateway, "get-object", "--bucket", name, "--key", "doc", "--range", "bytes=0-99", str(out))
    assert got["ContentRange"] == "bytes 0-99/5000" and out.read_bytes() == body.read_bytes()[:100]
    s3api(s3_gateway, "copy-object", "--bucket", name, "--key", "doc2", "--copy-source", f"{name}/doc",
          "--metadata-directive", "REPLACE", "--metadata", "owner=bob")
    assert s3api(s3_gateway, "head-object", "--bucket", name, "--key", "doc2")["Metadata"] == {"owner": "bob"}
    listed = s3api(s3_gateway, "list-objects-v2", "--bucket", name)
    assert [o["Key"] for o in listed["Contents"]] == ["doc", "doc2"]


def test_s3api_versions(s3_gateway, bucket) -> None:
    name = bucket()
    s3api(s3_gateway, "put-bucket-versioning", "--bucket", name, "--versioning-configuration", "Status=Enabled")
    assert s3api(s3_gateway, "get-bucket-versioning", "--bucket", name)["Status"] == "Enabled"
    client = s3_gateway.client_a()
    v1 = client.put_object(Bucket=name, Key="k", Body=b"one")["VersionId"]
    v2 = client.put_object(Bucket=name, Key="k", Body=b"two")["VersionId"]
    marker = s3api(s3_gateway, "delete-object", "--bucket", name, "--key", "k")
    assert marker["DeleteMarker"] is True
    listing = s3api(s3_gateway, "list-object-versions", "--bucket", name)
    assert [(v["VersionId"], v["IsLatest"]) for v in listing["Versions"]] == [(v2, False), (v1, False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [(marker["VersionId"], True)]


def test_s3api_errors_name_the_code(s3_gateway, bucket, tmp_path: Path) -> None:
    name = bucket()
    missing_key = aws(s3_gateway, "s3api", "get-object", "--bucket", name, "--key", "absent",
                      str(tmp_path / "x"), ok=False)
    assert missing_key.returncode != 0 and "(NoSuchKey)" in missing_key.stderr, missing_key.stderr
    missing_bucket = aws(s3_gateway, "s3api", "list-objects-v2", "--bucket", f"{name}-absent", ok=False)
    assert missing_bucket.returncode != 0 and "(NoSuchBucket)" in missing_bucket.stderr, missing_bucket.stderr
    no_tags = aws(s3_gateway, "s3api", "get-bucket-tagging", "--bucket", name, ok=False)
    assert no_tags.returncode != 0 and "(NoSuchTagSet)" in no_tags.stderr, no_tags.stderr
    upload = aws(s3_gateway, "s3api", "list-parts", "--bucket", name, "--key", "k", "--upload-id", "nope", ok=False)
    assert upload.returncode != 0 and "(NoSuchUpload)" in upload.stderr, upload.stderr
