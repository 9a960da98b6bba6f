"""Bucket policy evaluation without I/O: principals, actions, resources, every condition operator family,
...IfExists, ForAnyValue/ForAllValues, Deny over Allow, RestrictPublicBuckets, and AWS's "is public" rule."""

from __future__ import annotations

import json

import pytest

from gateway.protocol import errors
from gateway.s3 import policy as pol
from gateway.s3.policy_actions import action_for

BUCKET, OWNER, OTHER = "bkt", "111111111111", "222222222222"


def _parse(*statements: dict) -> pol.Policy:
    return pol.parse(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), BUCKET)


def _allow(principal="*", action="s3:GetObject", resource=f"arn:aws:s3:::{BUCKET}/*", condition=None,
           effect="Allow") -> dict:
    out = {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource}
    if condition:
        out["Condition"] = condition
    return out


def _facts(account=OTHER, action="s3:GetObject", key="k", **context) -> pol.Facts:
    resource = f"arn:aws:s3:::{BUCKET}" + (f"/{key}" if key is not None else "")
    arn = f"arn:aws:iam::{account}:user/u" if account else None
    return pol.Facts(account, arn, action, resource, {k.lower().replace("__", ":"): v for k, v in context.items()})


def test_principals() -> None:
    assert pol.evaluate(_parse(_allow("*")), _facts(account=None)) == "Allow"
    assert pol.evaluate(_parse(_allow({"AWS": "*"})), _facts(account=None)) == "Allow"
    p = _parse(_allow({"AWS": [f"arn:aws:iam::{OTHER}:root"]}))
    assert pol.evaluate(p, _facts()) == "Allow"
    assert pol.evaluate(p, _facts(account=None)) is None
    assert pol.evaluate(p, _facts(account=OWNER)) is None
    user = _parse(_allow({"AWS": f"arn:aws:iam::{OTHER}:user/u"}))
    assert pol.evaluate(user, _facts()) == "Allow"
    assert pol.evaluate(_parse(_allow({"CanonicalUser": OTHER})), _facts()) == "Allow"
    not_principal = _parse({"Effect": "Deny", "NotPrincipal": {"AWS": OWNER}, "Action": "s3:*",
                            "Resource": f"arn:aws:s3:::{BUCKET}/*"})
    assert pol.evaluate(not_principal, _facts()) == "Deny"
    assert pol.evaluate(not_principal, _facts(account=OWNER)) is None


def test_actions_and_resources_with_wildcards() -> None:
    p = _parse(_allow(action=["s3:Get*"], resource=f"arn:aws:s3:::{BUCKET}/docs/*.txt"))
    assert pol.evaluate(p, _facts(key="docs/a.txt")) == "Allow"
    assert pol.evaluate(p, _facts(key="docs/a.bin")) is None
    assert pol.evaluate(p, _facts(action="s3:PutObject", key="docs/a.txt")) is None
    not_action = _parse({"Effect": "Deny", "Principal": "*", "NotAction": "s3:GetObject",
                         "NotResource": f"arn:aws:s3:::{BUCKET}/public/*"})
    assert pol.evaluate(not_action, _facts(action="s3:PutObject", key="x")) == "Deny"
    assert pol.evaluate(not_action, _facts(action="s3:PutObject", key="public/x")) is None
    assert pol.evaluate(not_action, _facts(action="s3:GetObject", key="x")) is None
    assert pol.evaluate(_parse(_allow(action="S3:getobject")), _facts()) == "Allow"  # actions ignore case


def test_deny_wins_over_allow() -> None:
    p = _parse(_allow(), _allow(effect="Deny", resource=f"arn:aws:s3:::{BUCKET}/secret*"))
    assert pol.evaluate(p, _facts(key="open")) == "Allow"
    assert pol.evaluate(p, _facts(key="secret/x")) == "Deny"


def test_restrict_public_buckets_counts_only_the_owners_account() -> None:
    p = _parse(_allow())
    assert pol.evaluate(p, _facts(), only_account=OWNER) is None
    assert pol.evaluate(p, _facts(account=OWNER), only_account=OWNER) == "Allow"


@pytest.mark.parametrize("condition, context, expected", [
    ({"StringEquals": {"s3:prefix": ["a/", "b/"]}}, {"s3__prefix": ["b/"]}, True),
    ({"StringEquals": {"s3:prefix": "a/"}}, {"s3__prefix": ["A/"]}, False),
    ({"StringEqualsIgnoreCase": {"s3:prefix": "a/"}}, {"s3__prefix": ["A/"]}, True),
    ({"StringNotEquals": {"s3:x-amz-acl": "public-read"}}, {"s3__x-amz-acl": ["private"]}, True),
    ({"StringNotEquals": {"s3:x-amz-acl": "public-read"}}, {}, True),       # negated, key absent: true
    ({"StringEquals": {"s3:x-amz-acl": "private"}}, {}, False),             # key absent: false
    ({"StringEqualsIfExists": {"s3:x-amz-acl": "private"}}, {}, True),      # ...IfExists: absent is true
    ({"StringLike": {"aws:Referer": ["https://*.example.com/*"]}}, {"aws__referer": ["https://www.example.com/p"]},
     True),
    ({"StringNotLike": {"aws:Referer": "https://*.example.com/*"}}, {"aws__referer": ["https://evil.test/"]}, True),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws__sourceip": ["10.2.3.4"]}, True),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws__sourceip": ["127.0.0.1"]}, False),
    ({"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}, {"aws__sourceip": ["127.0.0.1"]}, True),
    ({"IpAddress": {"aws:SourceIp": "::1/128"}}, {"aws__sourceip": ["::1"]}, True),
    ({"Bool": {"aws:SecureTransport": "false"}}, {"aws__securetransport": ["false"]}, True),
    ({"Bool": {"aws:SecureTransport": True}}, {"aws__securetransport": ["false"]}, False),
    ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
     {"aws__currenttime": ["2026-12-06T03:00:00Z"]}, True),
    ({"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
     {"aws__currenttime": ["2026-12-06T03:00:00Z"]}, False),
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3__max-keys": ["10"]}, True),
    ({"Null": {"s3:x-amz-acl": "true"}}, {}, True),
    ({"Null": {"s3:x-amz-acl": "false"}}, {}, False),
    ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/u"}}, {"aws__principalarn": [
        f"arn:aws:iam::{OTHER}:user/u"]}, True),
    ({"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{OWNER}:user/u"}}, {"aws__principalarn": [
        f"arn:aws:iam::{OTHER}:user/u"]}, False),
    ({"ForAnyValue:StringEquals": {"s3:prefix": ["x", "y"]}}, {"s3__prefix": ["a", "y"]}, True),
    ({"ForAllValues:StringEquals": {"s3:prefix": ["x", "y"]}}, {"s3__prefix": ["a", "y"]}, False),
    ({"ForAllValues:StringEquals": {"s3:prefix": ["x", "y"]}}, {}, True),
    # several keys and operators: all must hold
    ({"StringEquals": {"s3:prefix": "a"}, "Bool": {"aws:SecureTransport": "true"}},
     {"s3__prefix": ["a"], "aws__securetransport": ["false"]}, False),
])
def test_conditions(condition: dict, context: dict, expected: bool) -> None:
    p = _parse(_allow(condition=condition))
    assert (pol.evaluate(p, _facts(**context)) == "Allow") is expected


@pytest.mark.parametrize("statement, public", [
    (_allow(), True),
    (_allow({"AWS": OTHER}), False),
    (_allow(effect="Deny"), False),
    (_allow(condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), False),
    (_allow(condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), True),
    (_allow(condition={"StringEquals": {"aws:SourceAccount": OTHER}}), False),
    (_allow(condition={"StringLike": {"aws:SourceArn": "arn:aws:*"}}), True),
    (_allow(condition={"StringEquals": {"aws:Referer": "https://x.test/"}}), True),  # a header anyone sends
    ({"Effect": "Allow", "NotPrincipal": {"AWS": OTHER}, "Action": "s3:GetObject",
      "Resource": f"arn:aws:s3:::{BUCKET}/*"}, True),
])
def test_is_public(statement: dict, public: bool) -> None:
    assert pol.is_public(_parse(statement)) is public


def test_validation_messages() -> None:
    def message(text: str) -> str:
        with pytest.raises(errors.MalformedPolicy) as e:
            pol.parse(text, BUCKET)
        return e.value.message

    assert message("[]") == "Policies must be valid JSON and the first byte must be '{'"
    assert message(json.dumps({"Statement": [_allow(resource="arn:aws:s3:::other/*")]})) == \
        "Policy has invalid resource"
    assert message(json.dumps({"Statement": [_allow(principal={"AWS": "bob"})]})) == "Invalid principal in policy"
    assert message(json.dumps({"Statement": [{**_allow(), "Principal": "*", "NotPrincipal": "*"}]})) == \
        "Statement cannot have both Principal and NotPrincipal"
    assert message(json.dumps({"Statement": [_allow(action="s3:ListBucket")]})) == \
        "Action does not apply to any resource(s) in statement"
    assert message(json.dumps({"Statement": [{**_allow(), "Extra": 1}]})) == "Unknown field Extra"
    assert message("{" + " " * pol.MAX_POLICY_BYTES + "}") == "Policies must be less than 20 KB in size"
    assert pol.parse(json.dumps({"Statement": _allow({"AWS": OTHER})}), BUCKET).accounts == {OTHER}


def test_action_table() -> None:
    assert action_for("GetObject", {}) == ("s3:GetObject", "object")
    assert action_for("GetObject", {"VersionId": "v1"}) == ("s3:GetObjectVersion", "object")
    assert action_for("ListObjectsV2", {}) == ("s3:ListBucket", "bucket")
    assert action_for("DeleteObject", {"VersionId": "v"}) == ("s3:DeleteObjectVersion", "object")
    assert action_for("ListBuckets", {}) is None


def test_new_bucket_defaults_config_key() -> None:
    from gateway.config import ConfigError, parse_config

    assert parse_config({}).s3.new_bucket_defaults == "legacy"  # the shipped default (docs/s3-access-control.md)
    assert parse_config({"s3": {"new_bucket_defaults": "aws"}}).s3.new_bucket_defaults == "aws"
    with pytest.raises(ConfigError, match="s3.new_bucket_defaults"):
        parse_config({"s3": {"new_bucket_defaults": "strict"}})
