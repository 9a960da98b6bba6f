"""The front ends chosen at routing (issue 10), over HTTP: the query front end picks the service model by
the SigV4 credential scope or `Version` (EC2 by default; STS/IAM answer InvalidAction while they have no
handler), the S3 front end runs the registered authorizers after resolution, before the handler."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from gateway.protocol import errors
from gateway.registry import Registry

from .server import AK, SK, in_process

NO_RETRY = BotoConfig(retries={"max_attempts": 1, "mode": "standard"})
handler_calls: list[str] = []


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg = Registry()

    @reg.register("s3", "HeadBucket", anonymous=True)
    async def head_bucket(ctx):
        handler_calls.append("HeadBucket")
        return {}

    @reg.register("s3", "ListBuckets")
    async def list_buckets(ctx):
        return {"Buckets": []}

    @reg.authorizer("s3")
    async def deny_locked(ctx):
        if ctx.route is not None and ctx.route.bucket == "locked":
            raise errors.AccessDenied()

    @reg.register("ec2", "DescribeRegions")
    async def describe_regions(ctx):
        return {"Regions": []}

    @reg.register("sts", "GetCallerIdentity")
    async def get_caller_identity(ctx):
        return {"Account": ctx.identity.account_id, "Arn": f"arn:aws:iam::{ctx.identity.account_id}:user/x",
                "UserId": ctx.identity.access_key}

    return reg


@pytest.fixture(scope="module")
def endpoint(registry) -> Iterator[str]:
    with in_process(registry=registry) as ep:
        yield ep


@pytest.fixture
def no_sts_endpoint() -> Iterator[str]:
    """A gateway whose registry has EC2 handlers but none for STS or IAM (the state before issue 11)."""
    reg = Registry()

    @reg.register("ec2", "DescribeRegions")
    async def describe_regions(ctx):
        return {"Regions": []}

    with in_process(registry=reg) as ep:
        yield ep


# ---- issue 10: the query front end picks the service model -------------------------------------------
def _client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=AK,
                        aws_secret_access_key=SK, config=NO_RETRY)


def test_sts_request_is_routed_by_its_credential_scope_to_the_sts_model(endpoint):
    ident = _client("sts", endpoint).get_caller_identity()
    assert ident["Account"] == "123456789012" and ident["UserId"] == AK
    assert ident["Arn"] == "arn:aws:iam::123456789012:user/x"


def test_sts_without_handlers_answers_invalid_action_in_the_sts_envelope(no_sts_endpoint):
    with pytest.raises(ClientError) as exc:
        _client("sts", no_sts_endpoint).get_caller_identity()
    err = exc.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidAction", 400)
    assert err["Error"]["Message"] == "Could not find operation GetCallerIdentity for version 2011-06-15"
    assert err["Error"]["Type"] == "Sender"  # the awsQuery <ErrorResponse>, not EC2's <Response>


def test_iam_by_version_without_a_scope_answers_in_the_iam_envelope(no_sts_endpoint):
    req = urllib.request.Request(no_sts_endpoint + "/", data=b"Action=GetUser&Version=2010-05-08",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    body = exc.value.read()
    assert exc.value.code == 400
    assert body.startswith(b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">')
    assert b"<Code>InvalidAction</Code>" in body


def test_ec2_is_still_the_default_query_service(no_sts_endpoint):
    assert _client("ec2", no_sts_endpoint).describe_regions()["Regions"] == []


def test_an_unknown_scope_service_is_refused_by_ec2_auth(no_sts_endpoint):
    with pytest.raises(ClientError) as exc:
        _client("sns", no_sts_endpoint).list_topics()  # query protocol, scope "sns"
    err = exc.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("AuthFailure", 401)


# ---- issue 10: the S3 front end's authorization step -------------------------------------------------
def test_s3_authorizers_run_after_resolution_and_before_the_handler(endpoint):
    handler_calls.clear()
    req = urllib.request.Request(endpoint + "/locked", method="HEAD")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req, timeout=10)
    assert exc.value.code == 403 and handler_calls == []
    with urllib.request.urlopen(urllib.request.Request(endpoint + "/open", method="HEAD"), timeout=10) as r:
        assert r.status == 200 and handler_calls == ["HeadBucket"]



# ---- issue 10: the pipeline holds only shared steps ----------------------------------------------------
def test_pipeline_has_no_service_branches_and_no_lazy_imports():
    import ast
    from pathlib import Path

    import gateway.pipeline

    tree = ast.parse(Path(gateway.pipeline.__file__).read_text())
    names = {"ec2", "s3", "sts", "iam", "internal"}
    literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in names]
    service_reads = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Compare)
                     and any(isinstance(x, ast.Attribute) and x.attr == "service" for x in [n.left, *n.comparators])]
    lazy = [n.lineno for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
            for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert (literals, service_reads, lazy) == ([], [], [])
