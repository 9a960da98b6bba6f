"""End to end over HTTP: real boto3 and aws-cli against a running gateway, exact AWS errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import boto3
import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth, S3SigV4QueryAuth, SigV2Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from gateway.registry import Registry

from .server import AK, SK, in_process, subprocess_server

CREDS = Credentials(AK, SK)
NO_RETRY = BotoConfig(retries={"max_attempts": 1, "mode": "standard"})


def _client(service: str, endpoint: str, secret: str = SK, key: str = AK, **cfg):
    config = NO_RETRY.merge(BotoConfig(**cfg)) if cfg else NO_RETRY
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=config)


def _error(exc: pytest.ExceptionInfo) -> tuple[str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def _send(req: AWSRequest) -> tuple[int, bytes, dict]:
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=prepared.body or None, method=prepared.method,
                               headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def _ec2_form(endpoint: str, params: dict, signer=SigV4Auth, creds: Credentials = CREDS) -> tuple[int, bytes]:
    req = AWSRequest("POST", endpoint + "/", data=urlencode(params).encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    if signer is SigV2Auth:  # botocore's v2 signer adds its fields to a dict body
        req.data = dict(params)
        signer(creds).add_auth(req)
        req.data = urlencode(req.data).encode()
    elif signer is not None:
        signer(creds, "ec2", "us-east-1").add_auth(req)
    status, body, _ = _send(req)
    return status, body


def _code(body: bytes) -> str:
    return body.split(b"<Code>", 1)[1].split(b"</Code>", 1)[0].decode()


@pytest.fixture(scope="module")
def registry() -> Registry:
    """Handlers that exist only to exercise the pipeline (no backend in this issue)."""
    reg = Registry()

    @reg.register("ec2", "DescribeRegions", dry_run=True)
    async def describe_regions(ctx):
        return {"Regions": [{"RegionName": "us-east-1", "Endpoint": "ec2.local", "OptInStatus": "x"}]}

    @reg.register("ec2", "DescribeKeyPairs")
    async def broken(ctx):
        raise RuntimeError("backend exploded with secret " + SK)

    @reg.register("s3", "PutObject")
    async def put_object(ctx):
        import hashlib
        md5 = hashlib.md5()
        async for chunk in ctx.body:
            md5.update(chunk)
        return {"ETag": f'"{md5.hexdigest()}"'}

    return reg


@pytest.fixture(scope="module")
def endpoint(registry) -> str:
    with in_process(registry=registry) as ep:
        yield ep


# ---- health ------------------------------------------------------------------------------------------
def test_healthz_answers_200(endpoint):
    with urllib.request.urlopen(endpoint + "/healthz", timeout=5) as r:
        assert r.status == 200
        assert json.loads(r.read())["status"] == "ok"


# ---- EC2 ---------------------------------------------------------------------------------------------
def test_ec2_known_operation_without_handler_is_unsupported(endpoint):
    with pytest.raises(ClientError) as exc:
        _client("ec2", endpoint).describe_instances()
    assert _error(exc) == ("Unsupported", 400)
    assert exc.value.response["ResponseMetadata"]["RequestId"]


def test_ec2_handler_result_is_serialized_from_the_model(endpoint):
    regions = _client("ec2", endpoint).describe_regions()["Regions"]
    assert regions == [{"RegionName": "us-east-1", "Endpoint": "ec2.local", "OptInStatus": "x"}]


def test_ec2_dry_run_answers_dry_run_operation(endpoint):
    with pytest.raises(ClientError) as exc:
        _client("ec2", endpoint).describe_regions(DryRun=True)
    assert _error(exc) == ("DryRunOperation", 412)


def test_ec2_dry_run_on_undeclared_handler_is_unsupported(endpoint):
    with pytest.raises(ClientError) as exc:
        _client("ec2", endpoint).describe_key_pairs(DryRun=True)
    assert _error(exc) == ("Unsupported", 400)


def test_ec2_unknown_action_is_invalid_action(endpoint):
    status, body = _ec2_form(endpoint, {"Action": "LaunchRockets", "Version": "2016-11-15"})
    assert (status, _code(body)) == (400, "InvalidAction")
    assert b"<Response><Errors><Error>" in body and b"<RequestID>" in body


def test_ec2_bad_parameter_value_names_the_parameter(endpoint):
    status, body = _ec2_form(endpoint, {"Action": "RunInstances", "Version": "2016-11-15", "ImageId": "ami-1",
                                        "MinCount": "one", "MaxCount": "1"})
    assert (status, _code(body)) == (400, "InvalidParameterValue")
    assert b"MinCount" in body


def test_ec2_wrong_secret_is_auth_failure(endpoint):
    with pytest.raises(ClientError) as exc:
        _client("ec2", endpoint, secret="not-the-secret").describe_instances()
    assert _error(exc) == ("AuthFailure", 401)


def test_ec2_unknown_access_key_is_auth_failure(endpoint):
    with pytest.raises(ClientError) as exc:
        _client("ec2", endpoint, key="AKIDUNKNOWN").describe_instances()
    assert _error(exc) == ("AuthFailure", 401)


def test_ec2_unsigned_request_is_missing_authentication_token(endpoint):
    status, body = _ec2_form(endpoint, {"Action": "DescribeInstances", "Version": "2016-11-15"}, signer=None)
    assert (status, _code(body)) == (401, "MissingAuthenticationToken")


def test_ec2_sigv2_is_accepted_and_checked(endpoint):
    params = {"Action": "DescribeRegions", "Version": "2016-11-15"}
    status, body = _ec2_form(endpoint, params, signer=SigV2Auth)
    assert status == 200 and b"<regionName>us-east-1</regionName>" in body
    status, body = _ec2_form(endpoint, params, signer=SigV2Auth, creds=Credentials(AK, "wrong"))
    assert (status, _code(body)) == (401, "AuthFailure")


def test_ec2_handler_crash_is_internal_error_without_details(endpoint):
    status, body = _ec2_form(endpoint, {"Action": "DescribeKeyPairs", "Version": "2016-11-15"})
    assert (status, _code(body)) == (500, "InternalError")
    assert b"exploded" not in body and SK.encode() not in body


def test_ec2_oversized_form_body_is_rejected(endpoint):
    params = {"Action": "DescribeInstances", "Version": "2016-11-15", "InstanceId.1": "i-" + "0" * (1 << 20)}
    status, body = _ec2_form(endpoint, params)
    assert (status, _code(body)) == (413, "RequestEntityTooLarge")


def test_ec2_oversized_chunked_form_body_is_cut_off_while_reading(endpoint):
    """No Content-Length (chunked transfer): the cap applies while reading, not after buffering."""
    import http.client
    from urllib.parse import urlsplit
    params = {"Action": "DescribeInstances", "Version": "2016-11-15", "InstanceId.1": "i-" + "0" * (1 << 20)}
    req = AWSRequest("POST", endpoint + "/", data=urlencode(params).encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(CREDS, "ec2", "us-east-1").add_auth(req)
    p = req.prepare()
    headers = {k: v for k, v in p.headers.items() if k.lower() != "content-length"}
    u = urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        body = p.body
        conn.request("POST", "/", body=(body[i:i + 65536] for i in range(0, len(body), 65536)),
                     headers=headers, encode_chunked=True)
        resp = conn.getresponse()
        assert (resp.status, _code(resp.read())) == (413, "RequestEntityTooLarge")
    finally:
        conn.close()


# ---- S3 ----------------------------------------------------------------------------------------------
def _s3_request(endpoint: str, method: str, path: str, signer=S3SigV4Auth, data: bytes = b"",
                headers: dict | None = None, creds: Credentials = CREDS, **kw) -> tuple[int, bytes, dict]:
    req = AWSRequest(method, endpoint + path, data=data, headers=headers or {})
    if signer is HmacV1Auth:
        signer(creds).add_auth(req)
    elif signer is S3SigV4QueryAuth:
        signer(creds, "s3", "us-east-1", **kw).add_auth(req)
    elif signer is not None:
        signer(creds, "s3", "us-east-1").add_auth(req)
    return _send(req)


def test_s3_known_operation_without_handler_is_not_implemented(endpoint):
    with pytest.raises(ClientError) as exc:
        _client("s3", endpoint).list_buckets()
    assert _error(exc) == ("NotImplemented", 501)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST"])
def test_s3_unknown_subresource_is_not_implemented(endpoint, method):
    status, body, _ = _s3_request(endpoint, method, "/bucket/key?retentionx")
    assert (status, _code(body)) == (501, "NotImplemented")


def test_s3_put_object_streams_through_the_handler(endpoint):
    import hashlib
    data = os.urandom(3 << 20)
    resp = _client("s3", endpoint).put_object(Bucket="bucket", Key="dir/a b+c", Body=data)
    assert resp["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'


def test_s3_put_object_body_not_matching_signed_hash_is_rejected(endpoint):
    req = AWSRequest("PUT", endpoint + "/bucket/key", data=b"hello")
    S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)  # signs sha256(b"hello")
    req.data = b"jello"
    status, body, _ = _send(req)
    assert (status, _code(body)) == (400, "XAmzContentSHA256Mismatch")


def test_s3_unknown_key_is_invalid_access_key_id(endpoint):
    with pytest.raises(ClientError) as exc:
        _client("s3", endpoint, key="AKIDUNKNOWN").list_buckets()
    assert _error(exc) == ("InvalidAccessKeyId", 403)


def test_s3_wrong_secret_is_signature_does_not_match(endpoint):
    with pytest.raises(ClientError) as exc:
        _client("s3", endpoint, secret="wrong").list_buckets()
    assert _error(exc) == ("SignatureDoesNotMatch", 403)


def test_s3_sigv2_header_is_accepted_and_checked(endpoint):
    status, body, _ = _s3_request(endpoint, "GET", "/", signer=HmacV1Auth)
    assert (status, _code(body)) == (501, "NotImplemented")
    status, body, _ = _s3_request(endpoint, "GET", "/", signer=HmacV1Auth, creds=Credentials(AK, "x"))
    assert (status, _code(body)) == (403, "SignatureDoesNotMatch")


def test_s3_expired_presigned_url_is_access_denied(endpoint, monkeypatch):
    import botocore.auth
    two_hours_ago = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=2)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: two_hours_ago)  # sign in the past
    req = AWSRequest("GET", endpoint + "/bucket/key")
    S3SigV4QueryAuth(CREDS, "s3", "us-east-1", expires=60).add_auth(req)
    status, body, _ = _send(req)
    assert (status, _code(body)) == (403, "AccessDenied")


def test_s3_presigned_url_is_accepted(endpoint):
    url = _client("s3", endpoint).generate_presigned_url("list_buckets", ExpiresIn=300)
    try:
        urllib.request.urlopen(url, timeout=5)
        raise AssertionError("expected an error")
    except urllib.error.HTTPError as e:  # authenticated, then no ListBuckets handler
        assert (e.code, _code(e.read())) == (501, "NotImplemented")


def test_s3_anonymous_request_is_access_denied(endpoint):
    status, body, _ = _s3_request(endpoint, "PUT", "/bucket/key", signer=None, data=b"x")
    assert (status, _code(body)) == (403, "AccessDenied")


def test_s3_error_envelope_and_request_id_header(endpoint):
    status, body, headers = _s3_request(endpoint, "GET", "/bucket/key?retentionx")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code>')
    rid = {k.lower(): v for k, v in headers.items()}["x-amz-request-id"]
    assert f"<RequestId>{rid}</RequestId>".encode() in body


# ---- aws-cli and the real `cloudgate serve` ----------------------------------------------------------------
def _aws(endpoint: str, *args: str, secret: str = SK) -> subprocess.CompletedProcess:
    aws = Path(sys.executable).with_name("aws")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    return subprocess.run([str(aws), "--endpoint-url", endpoint, *args], capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with subprocess_server(tmp_path_factory.mktemp("srv")) as (ep, proc):
        yield ep, proc


def test_aws_cli_against_cloudgate_serve(served):
    endpoint, _ = served
    r = _aws(endpoint, "ec2", "describe-instances")
    assert r.returncode != 0 and "(Unsupported)" in r.stderr
    r = _aws(endpoint, "ec2", "describe-instances", secret="wrong")
    assert r.returncode != 0 and "(AuthFailure)" in r.stderr
    r = _aws(endpoint, "s3api", "list-buckets")
    assert r.returncode != 0 and "(NotImplemented)" in r.stderr
    r = _aws(endpoint, "s3api", "get-object-retention", "--bucket", "b", "--key", "k")
    assert r.returncode != 0 and "(NotImplemented)" in r.stderr


def test_serve_logs_json_without_secrets_and_stops_gracefully(tmp_path):
    with subprocess_server(tmp_path, {"logging": {"level": "info", "format": "json"}}) as (endpoint, proc):
        with pytest.raises(ClientError):
            _client("ec2", endpoint).describe_instances()
        url = _client("s3", endpoint).generate_presigned_url("list_buckets", ExpiresIn=300)
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url, timeout=5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    log = proc.stderr.read().decode()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [x for x in lines if x["logger"] == "cloudgate.access"]
    assert {(x["service"], x["operation"], x["status"]) for x in access} >= {
        ("ec2", "DescribeInstances", 400), ("s3", "ListBuckets", 501)}
    assert SK not in log and "X-Amz-Signature" not in log and "Signature=" not in log
