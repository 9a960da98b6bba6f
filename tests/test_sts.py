"""STS and IAM identity over HTTP with boto3: GetCallerIdentity, GetSessionToken (temporary credentials that
then drive EC2, S3 and STS on the same endpoint), IAM GetUser; routed by the credential scope's service.
Against the real devcloud OpenStack (the tenants' own Keystone EC2 keys) and a gateway with static keys."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from tests.ec2_os_support import Gateway, error_of, gw_fixture  # noqa: F401 - fixture
from tests.openstack_env import openstack_env_fixture  # noqa: F401 - fixture
from tests.server import AK, SK, in_process

RETRY = BotoConfig(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})


def client(service: str, endpoint: str, region: str, ak: str, sk: str, token: str | None = None) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id=ak,
                        aws_secret_access_key=sk, aws_session_token=token, config=RETRY)


@pytest.fixture(scope="module")
def static_endpoint():
    with in_process() as endpoint:
        yield endpoint


def test_caller_identity_and_user_from_static_keys(static_endpoint: str) -> None:
    sts = client("sts", static_endpoint, "us-east-1", AK, SK)
    who = sts.get_caller_identity()
    assert (who["Account"], who["Arn"]) == ("123456789012", "arn:aws:iam::123456789012:user/example")
    assert who["UserId"].startswith("AIDA") and len(who["UserId"]) == 21
    iam = client("iam", static_endpoint, "us-east-1", AK, SK)
    user = iam.get_user()["User"]
    assert (user["UserName"], user["Arn"], user["UserId"]) == ("example", who["Arn"], who["UserId"])
    assert iam.get_user()["User"]["CreateDate"] == user["CreateDate"]  # first seen once, then kept
    assert error_of(iam.get_user, UserName="someone-else") == ("NoSuchEntity", 404)


def test_sts_refuses_bad_credentials_in_its_own_words(static_endpoint: str) -> None:
    assert error_of(client("sts", static_endpoint, "us-east-1", "AKIDUNKNOWN", SK).get_caller_identity) == (
        "InvalidClientTokenId", 403)
    assert error_of(client("sts", static_endpoint, "us-east-1", AK, SK[:-1] + "x").get_caller_identity) == (
        "SignatureDoesNotMatch", 403)
    unchecked = boto3.client("sts", endpoint_url=static_endpoint, region_name="us-east-1", aws_access_key_id=AK,
                             aws_secret_access_key=SK, config=RETRY.merge(BotoConfig(parameter_validation=False)))
    assert error_of(unchecked.get_session_token, DurationSeconds=60) == ("ValidationError", 400)


def test_session_credentials_act_as_their_key_and_expire_as_sts_says(static_endpoint: str) -> None:
    creds = client("sts", static_endpoint, "us-east-1", AK, SK).get_session_token(DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    left = creds["Expiration"] - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=14) < left <= dt.timedelta(minutes=15)
    temp = client("sts", static_endpoint, "us-east-1", creds["AccessKeyId"], creds["SecretAccessKey"],
                  creds["SessionToken"])
    assert temp.get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/example"
    assert error_of(temp.get_session_token) == ("AccessDenied", 403)
    assert error_of(client("iam", static_endpoint, "us-east-1", creds["AccessKeyId"], creds["SecretAccessKey"],
                           creds["SessionToken"]).get_user) == ("AccessDenied", 403)
    forged = client("sts", static_endpoint, "us-east-1", creds["AccessKeyId"], creds["SecretAccessKey"],
                    creds["SessionToken"][:-4] + "AAAA")
    assert error_of(forged.get_caller_identity) == ("InvalidClientTokenId", 403)


# ---- one endpoint on the devcloud OpenStack ---------------------------------------------------------------------
def test_the_account_is_the_ec2_and_s3_owner_and_sessions_drive_ec2_and_s3(gw: Gateway) -> None:
    t, region = gw.env["tenants"]["a"], gw.env["region"]
    sts = client("sts", gw.endpoint, region, t["ec2_access"], t["ec2_secret"])
    who = sts.get_caller_identity()
    ec2 = gw.client("a")
    owner = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["OwnerId"]
    s3 = client("s3", gw.endpoint, region, t["ec2_access"], t["ec2_secret"])
    assert who["Account"] == owner == s3.list_buckets()["Owner"]["ID"]
    # a 12-digit AWS account number (Terraform validates it), not the Keystone project id
    assert re.fullmatch(r"[1-9]\d{11}", owner) and owner != t["project_id"]
    assert who["Arn"] == f"arn:aws:iam::{owner}:user/{t['user_name']}"
    assert who["UserId"] == t["user_id"]
    creds = sts.get_session_token()["Credentials"]
    temp = {"ak": creds["AccessKeyId"], "sk": creds["SecretAccessKey"], "token": creds["SessionToken"]}
    temp_ec2 = client("ec2", gw.endpoint, region, temp["ak"], temp["sk"], temp["token"])
    assert temp_ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["OwnerId"] == owner
    temp_s3 = client("s3", gw.endpoint, region, temp["ak"], temp["sk"], temp["token"])
    assert temp_s3.list_buckets()["Owner"]["ID"] == owner
    # a cold parent key (its cache forgotten) is found again through the service rights
    gw.backend.validator.forget(t["ec2_access"])
    assert client("sts", gw.endpoint, region, temp["ak"], temp["sk"], temp["token"]).get_caller_identity()[
        "Account"] == owner
    # tenant B's key is another account
    b = gw.env["tenants"]["b"]
    assert client("sts", gw.endpoint, region, b["ec2_access"], b["ec2_secret"]).get_caller_identity()[
        "Account"] != owner
