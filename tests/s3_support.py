"""Helpers shared by the S3 core tests: error assertions, raw signed requests, aws-cli calls."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def aws_error(code: str, status: int):
    """Assert the block raises ClientError with exactly this AWS code and HTTP status."""
    with pytest.raises(ClientError) as e:
        yield e
    got = (e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"])
    assert got == (code, status), e.value.response


def raw(endpoint: str, creds, method: str, path: str, *, body: bytes | None = b"", headers: dict | None = None,
        sign_body: bool = True, drop: tuple[str, ...] = (), unsigned: dict | None = None
        ) -> tuple[int, bytes, dict[str, str]]:
    """One SigV4-signed request over http.client (no SDK behaviour in the way); `drop` removes headers
    after signing (e.g. Content-Length), `unsigned` adds some."""
    req = AWSRequest(method, endpoint + path, data=body or b"", headers=dict(headers or {}))
    if not sign_body:
        req.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    S3SigV4Auth(Credentials(creds.access_key, creds.secret_key), "s3", "us-east-1").add_auth(req)
    sent = {k: v for k, v in req.prepare().headers.items() if k not in drop}
    sent.update(unsigned or {})
    u = urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in sent.items():
            conn.putheader(k, v)
        if body and "Content-Length" not in sent and "Content-Length" not in drop:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        if body and "Content-Length" not in drop:
            conn.send(body)
        resp = conn.getresponse()
        return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def aws_cli(gateway, creds, *args: str) -> tuple[int, dict | None, str]:
    """Run `aws --endpoint-url <gateway> s3api ...`; (exit code, parsed JSON or None, stderr)."""
    exe = ROOT / ".venv" / "bin" / "aws"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": creds.access_key, "AWS_SECRET_ACCESS_KEY": creds.secret_key,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    proc = subprocess.run([str(exe), "--endpoint-url", gateway.endpoint, "--output", "json", *args],
                          capture_output=True, text=True, timeout=120, env=env)
    out = proc.stdout.strip()
    return proc.returncode, (json.loads(out) if out else None), proc.stderr
