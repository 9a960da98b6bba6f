"""Bucket and object tagging: the validation rules (unit) and the operations through boto3 on Swift."""

from __future__ import annotations

import pytest

from gateway.protocol import errors
from gateway.s3.tagging import parse_tagging_header, validate_tags

from .s3cfg_support import assert_error


# ---- unit: validation and the x-amz-tagging header ------------------------------------------------------
def _tags(n: int) -> list[dict[str, str]]:
    return [{"Key": f"k{i}", "Value": f"v{i}"} for i in range(n)]


def test_ten_object_tags_pass_eleven_are_bad_request() -> None:
    assert len(validate_tags(_tags(10))) == 10
    with pytest.raises(errors.BadRequest, match="Object tags cannot be greater than 10"):
        validate_tags(_tags(11))


def test_fifty_bucket_tags_pass_fifty_one_are_bad_request() -> None:
    assert len(validate_tags(_tags(50), bucket=True)) == 50
    with pytest.raises(errors.BadRequest, match="Bucket tag count cannot be greater than 50"):
        validate_tags(_tags(51), bucket=True)


@pytest.mark.parametrize("key, value", [
    ("k" * 129, "v"), ("", "v"), ("k", "v" * 257), ("bad{key}", "v"), ("k", "bad\x00value"),
    ("aws:reserved", "v"), ("AWS:reserved", "v"),
])
def test_invalid_tags_are_invalid_tag(key: str, value: str) -> None:
    with pytest.raises(errors.InvalidTag):
        validate_tags([{"Key": key, "Value": value}])


def test_limits_count_utf16_units_and_allow_unicode_letters() -> None:
    assert validate_tags([{"Key": "k" * 128, "Value": "é" * 256}])
    assert validate_tags([{"Key": "ключ_1 .:/=+-@", "Value": ""}])
    with pytest.raises(errors.InvalidTag):  # 65 astral characters are 130 UTF-16 units
        validate_tags([{"Key": "\U0001d400" * 65, "Value": "v"}])


def test_duplicate_keys_are_invalid_tag() -> None:
    with pytest.raises(errors.InvalidTag, match="multiple Tags with the same key"):
        validate_tags([{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}])


def test_missing_value_is_malformed_xml() -> None:
    with pytest.raises(errors.MalformedXML):
        validate_tags([{"Key": "a"}])


def test_tagging_header_is_url_query_encoded_in_key_order() -> None:
    assert parse_tagging_header("foo=bar&bar") == [{"Key": "bar", "Value": ""}, {"Key": "foo", "Value": "bar"}]
    assert parse_tagging_header("a%20b=c+d&e=%C3%A9") == [{"Key": "a b", "Value": "c d"},
                                                          {"Key": "e", "Value": "é"}]
    assert parse_tagging_header("") == []


@pytest.mark.parametrize("header", ["a=1&a=2", "TagSet=[{Key=string,Value=string}]", "a=%FF"])
def test_malformed_tagging_header_is_invalid_argument(header: str) -> None:
    with pytest.raises(errors.InvalidArgument, match="x-amz-tagging"):
        parse_tagging_header(header)


def test_tagging_header_applies_the_tag_rules() -> None:
    with pytest.raises(errors.BadRequest):
        parse_tagging_header("&".join(f"k{i}=v" for i in range(11)))
    with pytest.raises(errors.InvalidTag):
        parse_tagging_header("aws%3Ax=1")


# ---- through boto3 on Swift ---------------------------------------------------------------------------------
def test_bucket_tagging_put_get_delete(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    assert_error(lambda: s3.get_bucket_tagging(Bucket=name), "NoSuchTagSet", 404)
    tags = [{"Key": "team", "Value": "storage"}, {"Key": "cost center", "Value": "42"}]
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == tags
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags[:1]})  # replaces, not merges
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == tags[:1]
    assert s3.delete_bucket_tagging(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert_error(lambda: s3.get_bucket_tagging(Bucket=name), "NoSuchTagSet", 404)


def test_bucket_tagging_errors(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    put = s3.put_bucket_tagging
    assert_error(lambda: put(Bucket=name, Tagging={"TagSet": _tags(51)}), "BadRequest", 400)
    assert_error(lambda: put(Bucket=name, Tagging={"TagSet": [{"Key": "aws:x", "Value": "1"}]}), "InvalidTag", 400)
    assert_error(lambda: put(Bucket=name, Tagging={"TagSet": [{"Key": "k" * 129, "Value": "1"}]}),
                 "InvalidTag", 400)
    assert_error(lambda: put(Bucket=name, Tagging={"TagSet": [{"Key": "a", "Value": "1"},
                                                               {"Key": "a", "Value": "2"}]}), "InvalidTag", 400)
    assert_error(lambda: s3.get_bucket_tagging(Bucket=name + "-missing"), "NoSuchBucket", 404)
    assert_error(lambda: put(Bucket=name + "-missing", Tagging={"TagSet": []}), "NoSuchBucket", 404)
    other = s3_gateway.client_b()
    assert_error(lambda: other.get_bucket_tagging(Bucket=name), "AccessDenied", 403)
    assert_error(lambda: other.put_bucket_tagging(Bucket=name, Tagging={"TagSet": []}), "AccessDenied", 403)


def test_object_tagging_put_get_delete(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="doc.txt", Body=b"x")
    assert s3.get_object_tagging(Bucket=name, Key="doc.txt")["TagSet"] == []
    tags = [{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": ""}]
    s3.put_object_tagging(Bucket=name, Key="doc.txt", Tagging={"TagSet": tags})
    assert s3.get_object_tagging(Bucket=name, Key="doc.txt")["TagSet"] == tags
    resp = s3.delete_object_tagging(Bucket=name, Key="doc.txt")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_object_tagging(Bucket=name, Key="doc.txt")["TagSet"] == []


def test_object_tagging_errors(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    put = s3.put_object_tagging
    assert_error(lambda: put(Bucket=name, Key="k", Tagging={"TagSet": _tags(11)}), "BadRequest", 400)
    assert_error(lambda: put(Bucket=name, Key="k", Tagging={"TagSet": [{"Key": "k", "Value": "v" * 257}]}),
                 "InvalidTag", 400)
    assert_error(lambda: put(Bucket=name, Key="k", Tagging={"TagSet": [{"Key": "aws:k", "Value": "v"}]}),
                 "InvalidTag", 400)
    assert_error(lambda: put(Bucket=name, Key="missing", Tagging={"TagSet": []}), "NoSuchKey", 404)
    assert_error(lambda: s3.get_object_tagging(Bucket=name, Key="missing"), "NoSuchKey", 404)
    assert_error(lambda: s3.delete_object_tagging(Bucket=name, Key="missing"), "NoSuchKey", 404)
    assert_error(lambda: s3_gateway.client_b().get_object_tagging(Bucket=name, Key="k"), "AccessDenied", 403)


def test_tags_follow_the_version(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=name, Key="k", Body=b"1")["VersionId"]
    s3.put_object_tagging(Bucket=name, Key="k", Tagging={"TagSet": [{"Key": "gen", "Value": "1"}]})
    v2 = s3.put_object(Bucket=name, Key="k", Body=b"2")["VersionId"]
    assert s3.get_object_tagging(Bucket=name, Key="k")["TagSet"] == []
    got = s3.get_object_tagging(Bucket=name, Key="k", VersionId=v1)
    assert got["TagSet"] == [{"Key": "gen", "Value": "1"}] and got["VersionId"] == v1
    resp = s3.put_object_tagging(Bucket=name, Key="k", VersionId=v2, Tagging={"TagSet": [{"Key": "g", "Value": "2"}]})
    assert resp["VersionId"] == v2
    assert s3.get_object_tagging(Bucket=name, Key="k")["TagSet"] == [{"Key": "g", "Value": "2"}]


def test_x_amz_tagging_header_on_put_object(s3_gateway, bucket) -> None:
    s3, name = s3_gateway.client_a(), bucket()
    s3.put_object(Bucket=name, Key="k", Body=b"x", Tagging="b=2&a=1")
    assert s3.get_object_tagging(Bucket=name, Key="k")["TagSet"] == [{"Key": "a", "Value": "1"},
                                                                     {"Key": "b", "Value": "2"}]
    assert_error(lambda: s3.put_object(Bucket=name, Key="k2", Body=b"x", Tagging="a=1&a=2"), "InvalidArgument", 400)
