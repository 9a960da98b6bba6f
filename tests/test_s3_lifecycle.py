"""Lifecycle: configuration validation and expiry arithmetic (unit); the operations through boto3; expiration
enforced on a real Swift by one sweeper pass run against a clock moved forward; x-amz-expiration."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import pytest

from gateway.protocol import errors
from gateway.s3.lifecycle import earliest_expiry, next_midnight, validate_configuration

from .s3cfg_support import assert_error
from .server import serve_app

UTC = dt.UTC


def _rule(**kw):
    return {"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}, **kw}


# ---- unit ------------------------------------------------------------------------------------------------
def test_days_round_up_to_the_next_midnight_utc() -> None:
    written = dt.datetime(2014, 1, 15, 10, 30, tzinfo=UTC)  # AWS's own example: 3 days -> 1/19 00:00
    assert earliest_expiry([_rule(Expiration={"Days": 3})], "k", 1, written, None)[0] == \
        dt.datetime(2014, 1, 19, tzinfo=UTC)
    assert next_midnight(dt.datetime(2014, 1, 19, tzinfo=UTC)) == dt.datetime(2014, 1, 19, tzinfo=UTC)


def test_shortest_matching_expiration_wins() -> None:
    rules = validate_configuration({"Rules": [
        _rule(ID="long", Expiration={"Days": 30}),
        _rule(ID="logs", Filter={"Prefix": "logs/"}, Expiration={"Days": 7}),
        _rule(ID="tagged", Filter={"Tag": {"Key": "tmp", "Value": "1"}}, Expiration={"Days": 1}),
        _rule(ID="off", Status="Disabled", Expiration={"Days": 1}),
        _rule(ID="big", Filter={"ObjectSizeGreaterThan": 100}, Expiration={"Days": 2})]})["rules"]
    now = dt.datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert earliest_expiry(rules, "a", 1, now, {})[1] == "long"
    assert earliest_expiry(rules, "logs/x", 1, now, {})[1] == "logs"
    assert earliest_expiry(rules, "logs/x", 1, now, {"tmp": "1"})[1] == "tagged"
    assert earliest_expiry(rules, "a", 101, now, {})[1] == "big"
    assert earliest_expiry(rules, "a", 100, now, {})[1] == "long"  # size bounds are exclusive


@pytest.mark.parametrize("rules, error", [
    ([], errors.MalformedXML),
    ([_rule(Status="enabled")], errors.MalformedXML),
    ([{"ID": "r", "Status": "Enabled", "Expiration": {"Days": 1}}], errors.MalformedXML),
    ([_rule(Filter={"Prefix": "a", "ObjectSizeGreaterThan": 1})], errors.MalformedXML),
    ([_rule(Filter={"And": {"Prefix": "a"}})], errors.MalformedXML),
    ([_rule(Expiration={"Days": 0})], errors.InvalidArgument),
    ([_rule(Expiration={"Days": 1, "ExpiredObjectDeleteMarker": True})], errors.MalformedXML),
    ([_rule(Expiration={"Date": dt.datetime(2030, 1, 1, 10, tzinfo=UTC)})], errors.InvalidArgument),
    ([_rule(ID="x" * 256)], errors.InvalidArgument),
    ([_rule(), _rule()], errors.InvalidArgument),
    ([{"ID": "r", "Status": "Enabled", "Filter": {}}], errors.InvalidRequest),
    ([_rule(Filter={"Tag": {"Key": "a", "Value": "b"}}, AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1})],
     errors.InvalidRequest),
    ([_rule(Filter={"ObjectSizeGreaterThan": 10},
            Expiration={"ExpiredObjectDeleteMarker": True})], errors.InvalidRequest),
    ([_rule(Filter={"And": {"ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 10}})], errors.InvalidRequest),
    ([_rule(Filter={"And": {"Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}})],
     errors.InvalidRequest),
    ([_rule(ID="a"), {"ID": "b", "Status": "Enabled", "Prefix": "x", "Expiration": {"Days": 1}}],
     errors.InvalidRequest),
    ([_rule(NoncurrentVersionExpiration={"NoncurrentDays": 0})], errors.InvalidArgument),
    ([_rule(Transitions=[{"Days": 30, "StorageClass": "GLACIER"}])], errors.S3NotImplemented),
])
def test_invalid_configurations(rules: list, error: type) -> None:
    with pytest.raises(error):
        validate_configuration({"Rules": rules})


def test_rule_ids_are_generated_and_dates_stored_as_midnight() -> None:
    stored = validate_configuration({"Rules": [
        {"Status": "Enabled", "Prefix": "old/", "Expiration": {"Date": dt.datetime(2020, 1, 1, tzinfo=UTC)}}]})
    rule = stored["rules"][0]
    assert len(rule["ID"]) == 48 and stored["v2"] is False
    assert rule["Expiration"]["Date"] == "2020-01-01T00:00:00Z"


def test_sweeper_settings_are_validated() -> None:
    from gateway.config import ConfigError, parse_config

    assert parse_config({}).s3.lifecycle_interval_seconds == 3600
    assert parse_config({"s3": {"lifecycle_interval_seconds": 0}}).s3.lifecycle_interval_seconds == 0
    with pytest.raises(ConfigError, match="s3.lifecycle_interval_seconds"):
        parse_config({"s3": {"lifecycle_interval_seconds": -1}})
    with pytest.raises(ConfigError, match="s3.lifecycle_max_keys_per_pass"):
        parse_config({"s3": {"lifecycle_max_keys_per_pass": 0}})


# ---- through boto3 on Swift -------------------------------------------------------------------------------
RULES = [{"ID": "tmp-files", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}},
         {"ID": "aborts", "Filter": {}, "Status": "Enabled",
          "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}]


def test_lifecycle_put_get_delete(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    assert_error(lambda: s3.get_bucket_lifecycle_configuration(Bucket=name), "NoSuchLifecycleConfiguration", 404)
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": RULES})
    got = s3.get_bucket_lifecycle_configuration(Bucket=name)
    assert got["Rules"] == RULES
    assert got["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    assert s3.delete_bucket_lifecycle(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert_error(lambda: s3.get_bucket_lifecycle_configuration(Bucket=name), "NoSuchLifecycleConfiguration", 404)


def test_lifecycle_errors(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()

    def put(rules):
        return lambda: s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})

    base_rule = {"ID": "r", "Filter": {"Prefix": ""}, "Status": "Enabled"}
    assert_error(put([{**base_rule, "Status": "enabled", "Expiration": {"Days": 1}}]), "MalformedXML", 400)
    assert_error(put([{**base_rule, "Expiration": {"Days": 0}}]), "InvalidArgument", 400)
    assert_error(put([{**base_rule, "Expiration": {"Date": dt.datetime(2030, 1, 1, 12, tzinfo=UTC)}}]),
                 "InvalidArgument", 400)
    assert_error(put([base_rule]), "InvalidRequest", 400)
    assert_error(put([{**base_rule, "Expiration": {"Days": 1}}, {**base_rule, "Expiration": {"Days": 2}}]),
                 "InvalidArgument", 400)
    assert_error(put([{**base_rule, "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}]),
                 "NotImplemented", 501)
    assert_error(lambda: s3.put_bucket_lifecycle_configuration(
        Bucket=name + "-missing", LifecycleConfiguration={"Rules": RULES}), "NoSuchBucket", 404)
    assert_error(lambda: s3_gateway.client_b().get_bucket_lifecycle_configuration(Bucket=name), "AccessDenied", 403)


def test_x_amz_expiration_header(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": RULES})
    before = dt.datetime.now(UTC)
    put = s3.put_object(Bucket=name, Key="tmp/scratch", Body=b"x")
    for value in (put.get("Expiration"), s3.head_object(Bucket=name, Key="tmp/scratch").get("Expiration"),
                  s3.get_object(Bucket=name, Key="tmp/scratch").get("Expiration")):
        assert value is not None and value.endswith('rule-id="tmp-files"')
        date = parsedate_to_datetime(value.split('"')[1])
        assert date == next_midnight(before + dt.timedelta(days=1)) or date == next_midnight(
            dt.datetime.now(UTC) + dt.timedelta(days=1))
    s3.put_object(Bucket=name, Key="keep/this", Body=b"x")
    assert s3.head_object(Bucket=name, Key="keep/this").get("Expiration") is None


# ---- the sweeper, on its own gateway (the test needs the Gateway object to run a pass) ---------------------
class _Served:
    def __init__(self, endpoint: str, gateway, loop: asyncio.AbstractEventLoop) -> None:
        self.endpoint, self.gateway, self.loop = endpoint, gateway, loop

    def sweep(self, now: dt.datetime):
        return asyncio.run_coroutine_threadsafe(self.gateway.lifecycle_sweeper.run_once(now), self.loop).result(60)


@pytest.fixture(scope="module")
def sweeping_gateway(swift_endpoint) -> Iterator[_Served]:
    from gateway.app import GATEWAY_KEY, create_app
    from gateway.config import parse_config

    from .conftest import gateway_config

    cfg = gateway_config(swift_endpoint)
    cfg["s3"] = {**cfg.get("s3", {}), "lifecycle_interval_seconds": 0}  # passes are run by the tests
    app = create_app(parse_config(cfg, "test_s3_lifecycle"))
    with serve_app(app) as (endpoint, loop):
        yield _Served(endpoint, app[GATEWAY_KEY], loop)


@pytest.fixture
def sweep_env(sweeping_gateway, s3_gateway, swift_endpoint, request):
    """(served gateway, tenant A's client on it, a new bucket name); the bucket is purged afterwards."""
    import secrets

    from .conftest import S3Gateway

    gw = S3Gateway(endpoint=sweeping_gateway.endpoint, swift=swift_endpoint, creds_a=s3_gateway.creds_a,
                   creds_b=s3_gateway.creds_b, swift_a=s3_gateway.swift_a, swift_b=s3_gateway.swift_b)
    s3, name = gw.client_a(), f"cg-lifecycle-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=name)
    yield sweeping_gateway, s3, name
    for container in [name, *s3_gateway.swift_a.containers(prefix=name + "+")]:
        s3_gateway.swift_a.purge_container(container)
    try:
        s3.delete_bucket(Bucket=name)
    except Exception:
        pass


def _keys(s3, name: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", []))


def test_sweeper_expires_objects_by_days_prefix_and_tag(sweep_env) -> None:
    served, s3, name = sweep_env
    for key in ("tmp/a", "tmp/b", "keep/c", "tagged"):
        s3.put_object(Bucket=name, Key=key, Body=b"x")
    s3.put_object_tagging(Bucket=name, Key="tagged", Tagging={"TagSet": [{"Key": "expire", "Value": "yes"}]})
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
        {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}},
        {"ID": "tag", "Filter": {"Tag": {"Key": "expire", "Value": "yes"}}, "Status": "Enabled",
         "Expiration": {"Days": 3}}]})
    now = dt.datetime.now(UTC)
    stats = served.sweep(now)  # nothing is due yet
    assert stats.expired == 0 and _keys(s3, name) == ["keep/c", "tagged", "tmp/a", "tmp/b"]
    stats = served.sweep(now + dt.timedelta(days=2))
    assert stats.expired == 2 and _keys(s3, name) == ["keep/c", "tagged"]
    stats = served.sweep(now + dt.timedelta(days=5))
    assert stats.expired == 1 and _keys(s3, name) == ["keep/c"]


def test_sweeper_honours_a_past_date_and_disabled_rules(sweep_env) -> None:
    served, s3, name = sweep_env
    s3.put_object(Bucket=name, Key="old", Body=b"x")
    rule = {"ID": "past", "Filter": {}, "Status": "Disabled",
            "Expiration": {"Date": dt.datetime(2020, 1, 1, tzinfo=UTC)}}
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [rule]})
    assert served.sweep(dt.datetime.now(UTC)).expired == 0 and _keys(s3, name) == ["old"]
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
        {**rule, "Status": "Enabled"}]})
    assert served.sweep(dt.datetime.now(UTC)).expired == 1 and _keys(s3, name) == []


def test_sweeper_expires_noncurrent_versions_and_lone_delete_markers(sweep_env) -> None:
    served, s3, name = sweep_env
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=name, Key="doc", Body=b"v1")["VersionId"]
    new = s3.put_object(Bucket=name, Key="doc", Body=b"v2")["VersionId"]
    gone = s3.put_object(Bucket=name, Key="gone", Body=b"x")["VersionId"]
    s3.delete_object(Bucket=name, Key="gone")  # a delete marker over one noncurrent version
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
        {"ID": "noncurrent", "Filter": {}, "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        {"ID": "markers", "Filter": {}, "Status": "Enabled", "Expiration": {"ExpiredObjectDeleteMarker": True}}]})

    def versions():
        listing = s3.list_object_versions(Bucket=name)
        return sorted((v["Key"], v["VersionId"]) for v in listing.get("Versions", [])), \
            [m["Key"] for m in listing.get("DeleteMarkers", [])]

    stats = served.sweep(dt.datetime.now(UTC))  # not due yet: the successors are minutes old
    assert stats.noncurrent_expired == 0 and versions() == (sorted([("doc", old), ("doc", new), ("gone", gone)]),
                                                            ["gone"])
    stats = served.sweep(dt.datetime.now(UTC) + dt.timedelta(days=3))
    assert stats.noncurrent_expired == 2 and stats.markers_removed == 1
    assert versions() == ([("doc", new)], [])
    assert s3.get_object(Bucket=name, Key="doc")["Body"].read() == b"v2"


def test_sweeper_work_per_pass_is_bounded_and_resumes(sweep_env) -> None:
    served, s3, name = sweep_env
    for i in range(5):
        s3.put_object(Bucket=name, Key=f"tmp/{i}", Body=b"x")
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
        {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 1}}]})
    sweeper, later = served.gateway.lifecycle_sweeper, dt.datetime.now(UTC) + dt.timedelta(days=2)
    saved, sweeper.max_keys = sweeper.max_keys, 2
    try:
        first, second, third = served.sweep(later), served.sweep(later), served.sweep(later)
    finally:
        sweeper.max_keys = saved
    assert [(s.expired, s.complete) for s in (first, second, third)] == [(2, False), (2, False), (1, True)]
    assert _keys(s3, name) == []
