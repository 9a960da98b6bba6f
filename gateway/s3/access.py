"""S3 authorization: the one entry point every S3 request passes (`authorize`), as AWS evaluates it.

Order (AWS's, and Ceph RGW's rgw_iam_policy): an explicit Deny in the bucket policy refuses the request,
whoever asks (the bucket owner too, except for the owner's own Get/Put/DeleteBucketPolicy: AWS never
locks the owner out of the policy); otherwise an Allow in the policy, or an ACL grant, or being the
bucket owner (the owner account's implicit rights) allows it; otherwise implicit deny: AccessDenied.

`authorize` runs once per request, after the handler is resolved: it evaluates the bucket policy for the
request's action and resource and records the decision on the context. The handlers' ACL checks
(`acl.require`, `acl.require_owner`) then read that decision: a policy Allow lets a non-owner through
without an ACL grant; no decision leaves it to the owner rule and the ACLs, which Object Ownership
(BucketOwnerEnforced: ACLs off) and Block Public Access (IgnorePublicAcls) narrow.

Everything a bucket's access control needs is one gateway-state record (bucket config kind "access"):
{"policy": "<json text>", "public_access_block": {...four flags...}, "ownership": "BucketOwnerEnforced"},
read once per request (and cached on the context for the rest of it).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from ..context import RequestContext
from ..protocol import errors
from ..registry import default_registry
from . import policy as pol
from . import policy_actions
from .common import NS_BUCKET_CONFIG, NS_BUCKET_OWNER, get_bucket_config, stored_account

ACCESS_KIND = "access"
BPA_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
OWNERSHIPS = ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter")
# The owner account's root may always manage the policy, even when a Deny names it (AWS: no lock-out).
_POLICY_ACTIONS = {"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"}


@dataclass(frozen=True)
class BucketAccess:
    owner: str                       # the bucket owner's account id
    policy_text: str | None
    block: dict[str, bool]           # the bucket's Block Public Access flags ({} = none configured)
    ownership: str | None            # Object Ownership (None = never set: ObjectWriter, AWS's old default)
    bucket: str = ""

    @property
    def policy(self) -> pol.Policy | None:
        return pol.parse(self.policy_text, self.bucket) if self.policy_text else None

    @property
    def acls_enabled(self) -> bool:
        return self.ownership != "BucketOwnerEnforced"

    def flag(self, name: str) -> bool:
        return bool(self.block.get(name))


# ---- the state record -------------------------------------------------------------------------------
async def read_record(ctx: RequestContext, bucket: str) -> dict[str, Any]:
    return dict(await get_bucket_config(ctx, bucket, ACCESS_KIND) or {})


async def update_record(ctx: RequestContext, bucket: str, **changes: Any) -> None:
    """Set (value) or remove (None) members of the bucket's access record, by compare-and-set: a policy and
    a Block Public Access change made at once (on two replicas) both stay."""
    def changed(current: dict[str, Any] | None) -> dict[str, Any] | None:
        record = dict(current or {})
        for name, value in changes.items():
            if value is None:
                record.pop(name, None)
            else:
                record[name] = value
        return record or None

    await ctx.gateway.store.update(NS_BUCKET_CONFIG, f"{bucket}/{ACCESS_KIND}", changed)
    _cache(ctx).pop(bucket, None)


def _cache(ctx: RequestContext) -> dict[str, BucketAccess | None]:
    cache = getattr(ctx, "_s3_access", None)
    if cache is None:
        cache = {}
        ctx._s3_access = cache  # type: ignore[attr-defined]
    return cache


async def bucket_access(ctx: RequestContext, bucket: str) -> BucketAccess | None:
    """The bucket's access settings, or None when it has none (no policy, Block Public Access or Object
    Ownership stored: ObjectWriter, ACLs in force) or the gateway has no record of the bucket (the
    handler then answers NoSuchBucket, or treats a backend-made bucket as the signed caller's)."""
    cache = _cache(ctx)
    if bucket in cache:
        return cache[bucket]
    result = None
    record = await read_record(ctx, bucket)
    if record:  # a bucket without access settings (most, in legacy mode) costs one state read
        owner = await ctx.gateway.store.get(NS_BUCKET_OWNER, bucket)
        if isinstance(owner, dict):
            owner = owner.get("account_id") or owner.get("owner") or owner.get("account")
        if owner:
            result = BucketAccess(str(await stored_account(ctx, str(owner))),
                                  await stored_policy(ctx, record.get("policy")), dict(record.get("public_access_block") or {}),
                                  record.get("ownership"), bucket)
    cache[bucket] = result
    return result


async def stored_policy(ctx: RequestContext, text: str | None) -> str | None:
    """The policy as evaluated: principals a policy written before account numbers named by their cloud account
    id (a 32-hex Keystone project) become those accounts' numbers (GetBucketPolicy still returns the text as
    stored). Only principals: the same text in a condition value may be anything (a user id)."""
    if not text or not _LEGACY_ID.search(text):
        return text
    try:
        doc = json.loads(text)
    except ValueError:
        return text

    async def mapped(item: Any) -> Any:
        if not isinstance(item, str):
            return item
        m = _LEGACY_ARN.match(item)
        if m:
            return f"{m.group(1)}{await stored_account(ctx, m.group(2))}{m.group(3)}"
        return await stored_account(ctx, item) if _LEGACY_ID.fullmatch(item) else item

    statements = doc.get("Statement") if isinstance(doc, dict) else None
    for st in statements if isinstance(statements, list) else [statements]:
        for key in ("Principal", "NotPrincipal"):
            who = st.get(key) if isinstance(st, dict) else None
            if not isinstance(who, dict):
                continue
            for kind in ("AWS", "CanonicalUser"):
                ids = who.get(kind)
                if isinstance(ids, list):
                    who[kind] = [await mapped(i) for i in ids]
                elif ids is not None:
                    who[kind] = await mapped(ids)
    return json.dumps(doc)


_LEGACY_ID = re.compile(r"[0-9a-f]{32}")
_LEGACY_ARN = re.compile(r"^(arn:aws:iam::)([0-9a-f]{32})(:.*)$")


# ---- the request as policies see it ------------------------------------------------------------------
def caller_account(ctx: RequestContext) -> str | None:
    return ctx.identity.account_id if ctx.identity is not None else None


def caller_arn(ctx: RequestContext) -> str | None:
    ident = ctx.identity
    return f"arn:aws:iam::{ident.account_id}:user/{ident.display_name}" if ident is not None else None


def request_context(ctx: RequestContext, owner: str) -> dict[str, list[str]]:
    """Condition keys (lower-case) of this request; a key the request lacks is absent."""
    req, p, ident = ctx.request, ctx.params, ctx.identity
    now = dt.datetime.now(dt.UTC)
    out: dict[str, list[str]] = {
        "aws:securetransport": ["true" if req.secure else "false"],
        "aws:currenttime": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
        "aws:epochtime": [str(int(now.timestamp()))],
        "s3:resourceaccount": [owner],
    }
    if req.remote:
        out["aws:sourceip"] = [req.remote]
    for header, key in (("Referer", "aws:referer"), ("User-Agent", "aws:useragent")):
        if header in req.headers:
            out[key] = [req.headers[header]]
    if ident is not None:
        out["aws:principalaccount"] = [ident.account_id]
        out["aws:principalarn"] = [caller_arn(ctx) or ""]
        out["aws:username"] = [ident.display_name]
        out["aws:userid"] = [ident.access_key]
        out["aws:principaltype"] = ["User"]
    else:
        out["aws:principaltype"] = ["Anonymous"]
    for member, key in (("Prefix", "s3:prefix"), ("Delimiter", "s3:delimiter"), ("MaxKeys", "s3:max-keys"),
                        ("ACL", "s3:x-amz-acl"), ("VersionId", "s3:versionid"),
                        ("ServerSideEncryption", "s3:x-amz-server-side-encryption"),
                        ("StorageClass", "s3:x-amz-storage-class"),
                        ("MetadataDirective", "s3:x-amz-metadata-directive"),
                        ("CopySource", "s3:x-amz-copy-source"), ("ObjectOwnership", "s3:x-amz-object-ownership")):
        value = p.get(member)
        if value is not None:
            out[key] = [str(value)]
    for member, key in (("GrantRead", "s3:x-amz-grant-read"), ("GrantWrite", "s3:x-amz-grant-write"),
                        ("GrantReadACP", "s3:x-amz-grant-read-acp"), ("GrantWriteACP", "s3:x-amz-grant-write-acp"),
                        ("GrantFullControl", "s3:x-amz-grant-full-control")):
        if p.get(member) is not None:
            out[key] = [p[member]]
    return out


# ---- decisions ----------------------------------------------------------------------------------------
async def decide(ctx: RequestContext, bucket: str, key: str | None, action: str) -> str | None:
    """The bucket policy's word on this request: "Allow", None (not mentioned) — or AccessDenied raised
    for an explicit Deny. RestrictPublicBuckets: a public policy allows only the owner's account."""
    access = await bucket_access(ctx, bucket)
    if access is None or not access.policy_text:
        return None
    policy = access.policy
    assert policy is not None
    resource = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")
    facts = pol.Facts(caller_account(ctx), caller_arn(ctx), action, resource, request_context(ctx, access.owner))
    only = access.owner if access.flag("RestrictPublicBuckets") and pol.is_public(policy) else None
    decision = pol.evaluate(policy, facts, only_account=only)
    if decision == "Deny":
        if action in _POLICY_ACTIONS and facts.account == access.owner:
            return None  # the owner's implicit right to manage the policy survives any Deny
        raise errors.AccessDenied()
    return decision


@default_registry().authorizer("s3")  # run by the S3 front end for every resolved request
async def authorize(ctx: RequestContext) -> None:
    """The S3 authorization entry point, once per request after its handler is resolved (pipeline).
    Raises AccessDenied on an explicit Deny; records an Allow for the handlers' checks (`policy_allows`)."""
    entry = policy_actions.action_for(ctx.operation, ctx.params)
    bucket = ctx.params.get("Bucket")
    if entry is None or not isinstance(bucket, str) or not bucket:
        return  # ListBuckets, CreateBucket: no bucket policy applies
    action, kind = entry
    key = ctx.params.get("Key") if kind == policy_actions.OBJECT else None
    decision = await decide(ctx, bucket, key, action)
    ctx._s3_decision = (bucket, decision)  # type: ignore[attr-defined]


def policy_allows(ctx: RequestContext, bucket: str) -> bool:
    """Did `authorize` find a policy Allow for this request on `bucket`?"""
    recorded = getattr(ctx, "_s3_decision", None)
    return recorded is not None and recorded[0] == bucket and recorded[1] == "Allow"


async def check_source(ctx: RequestContext, bucket: str, key: str, version_id: str | None) -> bool:
    """A copy's source is read with s3:GetObject(Version) on the source object: True on a policy Allow."""
    action = "s3:GetObjectVersion" if version_id is not None else "s3:GetObject"
    return await decide(ctx, bucket, key, action) == "Allow"


def new_bucket_defaults(ctx: RequestContext) -> dict[str, Any]:
    """The access record of a bucket created now (s3.new_bucket_defaults; CreateBucket's header wins)."""
    mode = ctx.gateway.config.s3.new_bucket_defaults
    ownership = ctx.params.get("ObjectOwnership")
    record: dict[str, Any] = {}
    if mode == "aws":
        record["ownership"] = ownership or "BucketOwnerEnforced"
        record["public_access_block"] = dict.fromkeys(BPA_FLAGS, True)
    elif ownership:
        record["ownership"] = ownership
    return record
