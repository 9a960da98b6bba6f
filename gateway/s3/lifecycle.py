"""Bucket lifecycle: Put/Get/DeleteBucketLifecycle(Configuration), the rules' evaluation, and the
`x-amz-expiration` header. The expiring itself is done by the sweeper in `expiry.py`.

Stored form (bucket config kind "lifecycle"):

    {"rules": [<botocore LifecycleRule shape>, ...], "v2": bool, "min_size": "all_storage_classes_128K"}

each rule as sent (botocore member names: ID, Status, Filter | Prefix, Expiration,
NoncurrentVersionExpiration, AbortIncompleteMultipartUpload), with an ID generated when none was given
and Expiration.Date as an ISO 8601 string (always midnight UTC). "v2": the rules use Filter (else the
deprecated rule-level Prefix; S3 does not mix the two).

When an action falls due (as S3 documents it): `Days` counts from the object's last-modified time and
rounds up to the next midnight UTC (a time already at midnight stays); `Date` is that midnight. Noncurrent
versions count from the time their successor was written. Transitions are refused (NotImplemented): the
gateway has one storage class, and a rule it cannot honour must not be accepted silently.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from email.utils import formatdate
from typing import Any

from ..context import RequestContext
from ..protocol import errors
from . import acl
from .common import get_bucket_config, get_object_extra, s3_handler, set_bucket_config

UTC = dt.UTC
MAX_RULES = 1000
MAX_ID = 255
MAX_SIZE = 1099511627776000  # 50 TB, S3's largest size filter
MIN_SIZE_DEFAULT = "all_storage_classes_128K"
MIN_SIZE_VALUES = ("varies_by_storage_class", MIN_SIZE_DEFAULT)
ACTIONS = ("Expiration", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload", "Transitions",
           "NoncurrentVersionTransitions", "Transition", "NoncurrentVersionTransition")


# ---- validation ------------------------------------------------------------------------------------------
def _positive(value: Any, message: str) -> None:
    if value is None:
        raise errors.MalformedXML()
    if value <= 0:
        raise errors.InvalidArgument(message)


def filter_parts(rule: dict[str, Any]) -> tuple[str, dict[str, str], int | None, int | None]:
    """(prefix, tags, size greater than, size less than) a rule applies to."""
    if "Filter" not in rule:
        return rule.get("Prefix") or "", {}, None, None
    f = rule["Filter"] or {}
    src = f.get("And") or f
    tags = list(src.get("Tags") or ()) + ([f["Tag"]] if f.get("Tag") else [])
    return (src.get("Prefix") or "", {t["Key"]: t.get("Value", "") for t in tags},
            src.get("ObjectSizeGreaterThan"), src.get("ObjectSizeLessThan"))


def _check_filter(f: dict[str, Any]) -> None:
    present = [k for k in ("Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan", "And") if k in f]
    if len(present) > 1:
        raise errors.MalformedXML()  # a Filter holds exactly one predicate (several go in an And)
    src = f.get("And")
    tags = []
    if src is not None:
        tags = list(src.get("Tags") or ())
        count = len(tags) + sum(k in src for k in ("Prefix", "ObjectSizeGreaterThan", "ObjectSizeLessThan"))
        if count < 2:
            raise errors.MalformedXML()
        if len({t.get("Key") for t in tags}) != len(tags):
            raise errors.InvalidRequest("Duplicate Tag Keys are not allowed.")
    else:
        src = f
        if "Tag" in f:
            tags = [f["Tag"]]
    for tag in tags:
        if not tag.get("Key") or tag.get("Value") is None:
            raise errors.MalformedXML()
    gt, lt = src.get("ObjectSizeGreaterThan"), src.get("ObjectSizeLessThan")
    if gt is not None and not 0 <= gt <= MAX_SIZE:
        raise errors.InvalidRequest(f"'ObjectSizeGreaterThan' should be between 0 and {MAX_SIZE}.")
    if lt is not None and not 1 <= lt <= MAX_SIZE:
        raise errors.InvalidRequest(f"'ObjectSizeLessThan' should be between 1 and {MAX_SIZE}.")
    if gt is not None and lt is not None and gt >= lt:
        raise errors.InvalidRequest("'ObjectSizeLessThan' has to be a value greater than "
                                    "'ObjectSizeGreaterThan'.")


def _check_actions(rule: dict[str, Any], v2: bool) -> None:
    if not any(rule.get(k) is not None for k in ACTIONS):
        raise errors.InvalidRequest("At least one action needs to be specified in a rule")
    if any(rule.get(k) for k in ACTIONS[3:]):
        raise errors.S3NotImplemented("Lifecycle transitions are not supported: this gateway stores every "
                                      "object in the STANDARD storage class.")
    _, tags, gt, lt = filter_parts(rule)
    sized = gt is not None or lt is not None
    exp = rule.get("Expiration")
    if exp is not None:
        kinds = [k for k in ("Days", "Date", "ExpiredObjectDeleteMarker") if exp.get(k) is not None]
        if len(kinds) != 1:
            raise errors.MalformedXML()  # exactly one of Days, Date, ExpiredObjectDeleteMarker
        if "Days" in kinds:
            _positive(exp["Days"], "'Days' for Expiration action must be a positive integer")
        elif "Date" in kinds:
            date = exp["Date"].astimezone(UTC)
            if (date.hour, date.minute, date.second, date.microsecond) != (0, 0, 0, 0):
                raise errors.InvalidArgument("'Date' must be at midnight GMT")
        elif tags:
            raise errors.InvalidRequest("ExpiredObjectDeleteMarker cannot be specified with Tags.")
        elif sized:
            raise errors.InvalidRequest("ExpiredObjectDeleteMarker cannot be specified with Object Size.")
    nve = rule.get("NoncurrentVersionExpiration")
    if nve is not None:
        _positive(nve.get("NoncurrentDays"),
                  "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
        if nve.get("NewerNoncurrentVersions") is not None:
            if not v2:
                raise errors.InvalidRequest("NewerNoncurrentVersions element can only be used in Lifecycle V2.")
            if nve["NewerNoncurrentVersions"] <= 0:
                raise errors.InvalidArgument("'NewerNoncurrentVersions' must be a positive integer")
    abort = rule.get("AbortIncompleteMultipartUpload")
    if abort is not None:
        _positive(abort.get("DaysAfterInitiation"),
                  "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
        if tags:
            raise errors.InvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.")
        if sized:
            raise errors.InvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Object Size.")


def new_rule_id() -> str:
    """IDs S3 makes for rules sent without one: base64 of a version 4 UUID (48 characters)."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


def validate_configuration(config: dict[str, Any] | None) -> dict[str, Any]:
    """A LifecycleConfiguration (botocore shape) -> the stored form, or the AWS error S3 gives."""
    rules = (config or {}).get("Rules") or []
    if not rules:
        raise errors.MalformedXML()
    if len(rules) > MAX_RULES:
        raise errors.InvalidRequest(f"The number of lifecycle rules must not exceed the allowed limit of "
                                    f"{MAX_RULES} rules.")
    v2: bool | None = None
    ids: set[str] = set()
    out = []
    for rule in rules:
        if rule.get("Status") not in ("Enabled", "Disabled"):
            raise errors.MalformedXML()
        has_filter, has_prefix = "Filter" in rule, "Prefix" in rule
        if has_filter == has_prefix:
            raise errors.MalformedXML()  # exactly one of Filter and the rule-level Prefix
        if v2 is not None and v2 != has_filter:
            raise errors.InvalidRequest("Filter element can only be used in Lifecycle V2." if has_filter else
                                        "Base level prefix cannot be used in Lifecycle V2, prefixes are only "
                                        "supported in the Filter.")
        v2 = has_filter
        if has_filter:
            _check_filter(rule["Filter"] or {})
        rule_id = rule.get("ID")
        if rule_id is None or rule_id == "":
            rule_id = new_rule_id()
        if len(rule_id) > MAX_ID:
            raise errors.InvalidArgument(f"ID length should not exceed allowed limit of {MAX_ID}")
        if rule_id in ids:
            raise errors.InvalidArgument("Rule ID must be unique. Found same ID for more than one rule")
        ids.add(rule_id)
        _check_actions(rule, bool(has_filter))
        stored = {"ID": rule_id, **{k: v for k, v in rule.items() if k != "ID"}}
        if stored.get("Expiration", {}).get("Date") is not None:
            date = stored["Expiration"]["Date"].astimezone(UTC)
            stored["Expiration"] = {**stored["Expiration"], "Date": date.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if has_filter and stored["Filter"] is None:
            stored["Filter"] = {}
        out.append(stored)
    return {"rules": out, "v2": bool(v2)}


# ---- evaluation --------------------------------------------------------------------------------------------
def applies(rule: dict[str, Any], key: str, size: int, tags: dict[str, str] | None) -> bool:
    """Does an (enabled) rule's filter select this object? tags None: not loaded (tag filters fail)."""
    if rule.get("Status") != "Enabled":
        return False
    prefix, want, gt, lt = filter_parts(rule)
    if not key.startswith(prefix):
        return False
    if gt is not None and size <= gt or lt is not None and size >= lt:
        return False
    return not want or (tags is not None and all(tags.get(k) == v for k, v in want.items()))


def needs_tags(rule: dict[str, Any]) -> bool:
    return bool(filter_parts(rule)[1])


def next_midnight(moment: dt.datetime) -> dt.datetime:
    """Round up to midnight UTC (a moment already at midnight stays)."""
    moment = moment.astimezone(UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if day == moment else day + dt.timedelta(days=1)


def expiry_date(rule: dict[str, Any], last_modified: dt.datetime) -> dt.datetime | None:
    """When the rule's Expiration (Days or Date) expires a current version written at last_modified."""
    exp = rule.get("Expiration") or {}
    if exp.get("Days") is not None:
        return next_midnight(last_modified + dt.timedelta(days=exp["Days"]))
    if exp.get("Date") is not None:
        return dt.datetime.fromisoformat(exp["Date"].replace("Z", "+00:00"))
    return None


def noncurrent_due(rule: dict[str, Any], successor_written: dt.datetime) -> dt.datetime | None:
    nve = rule.get("NoncurrentVersionExpiration") or {}
    if nve.get("NoncurrentDays") is None:
        return None
    return next_midnight(successor_written + dt.timedelta(days=nve["NoncurrentDays"]))


def earliest_expiry(rules: list[dict[str, Any]], key: str, size: int, last_modified: dt.datetime,
                    tags: dict[str, str] | None) -> tuple[dt.datetime, str] | None:
    """(date, rule id) of the first expiry among the rules selecting this object (S3 honours the
    shorter of overlapping expirations; a tie goes to the rule listed first)."""
    best: tuple[dt.datetime, str] | None = None
    for rule in rules:
        if not applies(rule, key, size, tags):
            continue
        due = expiry_date(rule, last_modified)
        if due is not None and (best is None or due < best[0]):
            best = (due, rule["ID"])
    return best


def _header_safe(text: str) -> str:
    """The rule id as S3 writes it in a header: as is, with what a header cannot carry %-encoded."""
    return "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"%' else
                   "".join(f"%{b:02X}" for b in c.encode()) for c in text)


async def expiration(ctx: RequestContext, bucket: str, info: Any,
                     tags: list[dict[str, str]] | None = None) -> str | None:
    """The `x-amz-expiration` value for the current version of an object (neutral ObjectInfo), or None:
    `expiry-date="Fri, 23 Dec 2012 00:00:00 GMT", rule-id="<id>"`. For GetObject, HeadObject, PutObject,
    CopyObject and CompleteMultipartUpload (set the output member "Expiration"). `tags`: the object's tag
    set when the caller has it (else read when a rule filters on tags). None for a request that names a
    version, as S3 does."""
    if ctx.params.get("VersionId") or getattr(info, "delete_marker", False) or not getattr(info, "is_latest", True):
        return None
    config = await get_bucket_config(ctx, bucket, "lifecycle")
    if not config:
        return None
    rules = config["rules"]
    tag_map = None
    if any(needs_tags(r) for r in rules):
        if tags is None:
            tags = (await get_object_extra(ctx, bucket, info.key, info.version_id)).get("tags", [])
        tag_map = {t["Key"]: t["Value"] for t in tags}
    best = earliest_expiry(rules, info.key, info.size, info.last_modified, tag_map)
    if best is None:
        return None
    return f'expiry-date="{formatdate(best[0].timestamp(), usegmt=True)}", rule-id="{_header_safe(best[1])}"'


# ---- handlers ------------------------------------------------------------------------------------------------
def _min_size(ctx: RequestContext) -> str:
    value = ctx.params.get("TransitionDefaultMinimumObjectSize") or MIN_SIZE_DEFAULT
    if value not in MIN_SIZE_VALUES:
        raise errors.InvalidRequest(f"Invalid TransitionDefaultMinimumObjectSize found: {value}")
    return value


@s3_handler("PutBucketLifecycleConfiguration")
async def put_bucket_lifecycle_configuration(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    min_size = _min_size(ctx)
    stored = validate_configuration(ctx.params.get("LifecycleConfiguration"))
    stored["min_size"] = min_size
    await set_bucket_config(ctx, bucket, "lifecycle", stored)
    return {"TransitionDefaultMinimumObjectSize": min_size}


@s3_handler("GetBucketLifecycleConfiguration")
async def get_bucket_lifecycle_configuration(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    config = await get_bucket_config(ctx, bucket, "lifecycle")
    if not config:
        raise errors.NoSuchLifecycleConfiguration(BucketName=bucket)
    return {"Rules": config["rules"],
            "TransitionDefaultMinimumObjectSize": config.get("min_size", MIN_SIZE_DEFAULT)}


@s3_handler("DeleteBucketLifecycle")
async def delete_bucket_lifecycle(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    await set_bucket_config(ctx, bucket, "lifecycle", None)
    return {}


# The deprecated operations share the wire form (the router picks the current ones unless x-id names
# these); their Rule has a rule-level Prefix and single Transition members, the same store serves them.
@s3_handler("PutBucketLifecycle")
async def put_bucket_lifecycle(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    stored = validate_configuration(ctx.params.get("LifecycleConfiguration"))
    stored["min_size"] = MIN_SIZE_DEFAULT
    await set_bucket_config(ctx, bucket, "lifecycle", stored)
    return {}


@s3_handler("GetBucketLifecycle")
async def get_bucket_lifecycle(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await acl.require_owner(ctx, bucket)
    config = await get_bucket_config(ctx, bucket, "lifecycle")
    if not config:
        raise errors.NoSuchLifecycleConfiguration(BucketName=bucket)
    rules = []
    for r in config["rules"]:
        prefix = filter_parts(r)[0]
        rules.append({k: v for k, v in r.items() if k not in ("Filter", "Prefix")} | {"Prefix": prefix})
    return {"Rules": rules}
