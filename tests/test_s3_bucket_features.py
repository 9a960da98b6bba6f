"""The bucket sub-resources tools read on every bucket (Terraform's aws_s3_bucket read path) on a real Swift:
each answers S3's own answer for a bucket without the feature, website configuration round-trips, and
switching on what the gateway cannot do is refused, never accepted and silently ignored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .s3cfg_support import assert_error

pytestmark = pytest.mark.usefixtures("s3_gateway")


@pytest.fixture()
def s3(s3_gateway: Any) -> Any:
    return s3_gateway.client_a()


def test_a_fresh_bucket_answers_every_read_as_s3_does(s3: Any, bucket: Callable[..., str]) -> None:
    name = bucket()
    assert_error(lambda: s3.get_bucket_website(Bucket=name), "NoSuchWebsiteConfiguration", 404)
    assert_error(lambda: s3.get_bucket_replication(Bucket=name), "ReplicationConfigurationNotFoundError", 404)
    assert_error(lambda: s3.get_bucket_encryption(Bucket=name),
                 "ServerSideEncryptionConfigurationNotFoundError", 404)
    assert_error(lambda: s3.get_object_lock_configuration(Bucket=name),
                 "ObjectLockConfigurationNotFoundError", 404)
    accelerate = s3.get_bucket_accelerate_configuration(Bucket=name)
    assert "Status" not in accelerate
    assert s3.get_bucket_request_payment(Bucket=name)["Payer"] == "BucketOwner"
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=name)
    notifications = s3.get_bucket_notification_configuration(Bucket=name)
    assert not any(k.endswith("Configurations") for k in notifications)


def test_website_configuration_round_trips_and_is_deleted(s3: Any, bucket: Callable[..., str]) -> None:
    name = bucket()
    config = {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "err.html"},
              "RoutingRules": [{"Condition": {"KeyPrefixEquals": "docs/"},
                                "Redirect": {"ReplaceKeyPrefixWith": "documents/"}}]}
    s3.put_bucket_website(Bucket=name, WebsiteConfiguration=config)
    got = s3.get_bucket_website(Bucket=name)
    assert {k: got[k] for k in config} == config
    s3.delete_bucket_website(Bucket=name)
    assert_error(lambda: s3.get_bucket_website(Bucket=name), "NoSuchWebsiteConfiguration", 404)
    redirect = {"RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "https"}}
    s3.put_bucket_website(Bucket=name, WebsiteConfiguration=redirect)
    assert s3.get_bucket_website(Bucket=name)["RedirectAllRequestsTo"] == redirect["RedirectAllRequestsTo"]


@pytest.mark.parametrize("config", [
    {"ErrorDocument": {"Key": "err.html"}},
    {"IndexDocument": {"Suffix": "a/index.html"}},
    {"RedirectAllRequestsTo": {"HostName": "example.com"}, "IndexDocument": {"Suffix": "index.html"}},
])
def test_a_website_configuration_s3_would_refuse_is_refused(s3: Any, bucket: Callable[..., str],
                                                             config: dict[str, Any]) -> None:
    name = bucket()
    assert_error(lambda: s3.put_bucket_website(Bucket=name, WebsiteConfiguration=config), "InvalidArgument", 400)
    assert_error(lambda: s3.get_bucket_website(Bucket=name), "NoSuchWebsiteConfiguration", 404)


def test_what_the_gateway_cannot_do_is_refused_and_the_defaults_are_accepted(s3: Any,
                                                                            bucket: Callable[..., str]) -> None:
    name = bucket()
    assert_error(lambda: s3.put_bucket_accelerate_configuration(
        Bucket=name, AccelerateConfiguration={"Status": "Enabled"}), "NotImplemented", 501)
    s3.put_bucket_accelerate_configuration(Bucket=name, AccelerateConfiguration={"Status": "Suspended"})
    assert_error(lambda: s3.put_bucket_request_payment(
        Bucket=name, RequestPaymentConfiguration={"Payer": "Requester"}), "NotImplemented", 501)
    s3.put_bucket_request_payment(Bucket=name, RequestPaymentConfiguration={"Payer": "BucketOwner"})
    assert_error(lambda: s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={
        "LoggingEnabled": {"TargetBucket": name, "TargetPrefix": "logs/"}}), "NotImplemented", 501)
    s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={})
    assert_error(lambda: s3.put_bucket_notification_configuration(
        Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}), "NotImplemented", 501)
    s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={})
    assert s3.get_bucket_request_payment(Bucket=name)["Payer"] == "BucketOwner"
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=name)


def test_only_the_owner_reads_them_and_a_missing_bucket_is_no_such_bucket(s3_gateway: Any, s3: Any,
                                                                         bucket: Callable[..., str]) -> None:
    name = bucket()
    other = s3_gateway.client_b()
    assert_error(lambda: other.get_bucket_website(Bucket=name), "AccessDenied", 403)
    assert_error(lambda: other.get_bucket_logging(Bucket=name), "AccessDenied", 403)
    assert_error(lambda: other.put_bucket_website(
        Bucket=name, WebsiteConfiguration={"IndexDocument": {"Suffix": "i.html"}}), "AccessDenied", 403)
    assert_error(lambda: s3.get_bucket_request_payment(Bucket=name + "-none"), "NoSuchBucket", 404)
    assert_error(lambda: s3.get_bucket_replication(Bucket=name + "-none"), "NoSuchBucket", 404)


@pytest.mark.parametrize("query, root", [("logging", "BucketLoggingStatus"), ("accelerate", "AccelerateConfiguration"),
                                         ("notification", "NotificationConfiguration")])
def test_an_unset_feature_still_answers_its_empty_document(s3_gateway: Any, bucket: Callable[..., str],
                                                           query: str, root: str) -> None:
    # SDKs that parse the body (the Go SDK behind Terraform) get the element S3 sends, not an empty body
    from xml.etree import ElementTree as ET

    from .s3_support import raw

    status, body, headers = raw(s3_gateway.endpoint, s3_gateway.creds_a, "GET", f"/{bucket()}?{query}")
    assert status == 200 and headers["content-type"] == "application/xml"
    doc = ET.fromstring(body)
    assert doc.tag == "{http://s3.amazonaws.com/doc/2006-03-01/}" + root and len(doc) == 0
