"""Access control lists: Put/GetBucketAcl, Put/GetObjectAcl, and their enforcement (`require`).

Stored form (bucket config kind "acl", and the "acl" member of an object's extras):

    {"owner": "<account id>",
     "grants": [{"grantee": {"type": "CanonicalUser", "id": "<account id>"}, "permission": "FULL_CONTROL"},
                {"grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"},
                 "permission": "READ"}]}

Canned ACLs are expanded when written. `{"canned": "<name>"}` (what CreateBucket/PutObject store for an
`x-amz-acl` header) is accepted on read and expanded then; a missing ACL is `private` to the bucket owner.
Canonical user ids are the gateway's account ids; groups are AllUsers (anyone, signed or not),
AuthenticatedUsers (any signed caller) and LogDelivery (no caller of this gateway is ever that group).

Enforcement: the bucket owner may do anything in their bucket (ACLs grant others access; the owner's
own access is never narrowed). Anyone else needs a grant: bucket READ lists, bucket WRITE writes and
deletes keys, object READ reads an object, READ_ACP/WRITE_ACP read/replace an ACL, FULL_CONTROL is all
of these. An object's owner is the one its ACL names (Object Ownership decides it at write:
ownership.py); with BucketOwnerEnforced ACLs grant nothing, IgnorePublicAcls drops public grants
(`effective`), and a bucket policy's Allow or Deny comes first (access.py).

Reaching the owner's data on someone else's behalf needs the owner's backend identity: the backend
object store is per principal. Once a grant allows the request, `require` binds the request's store to
the owner's (`CredentialProvider.identity_for_account`), so handlers keep calling `object_store(ctx)`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from backends import base

from ..context import RequestContext
from ..protocol import errors
from ..session import session
from . import access
from .common import (
    NS_BUCKET_OWNER,
    backend_errors,
    get_bucket_config,
    get_object_extra,
    object_store,
    s3_handler,
    set_bucket_config,
    stored_account,
    stored_acl,
    update_object_extra,
)

log = logging.getLogger("cloudgate.s3.acl")

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY})
PERMISSIONS = ("FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP")
CANNED = ("private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
          "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write")
MAX_GRANTS = 100
# x-amz-grant-* request headers (botocore member names) -> permission
GRANT_MEMBERS = {"GrantFullControl": "FULL_CONTROL", "GrantRead": "READ", "GrantReadACP": "READ_ACP",
                 "GrantWrite": "WRITE", "GrantWriteACP": "WRITE_ACP"}
_GRANT_ITEM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s"]+))\s*(?:,|$)')


# ---- building ACLs --------------------------------------------------------------------------------
def _user(account_id: str, permission: str) -> dict[str, Any]:
    return {"grantee": {"type": "CanonicalUser", "id": account_id}, "permission": permission}


def _group(uri: str, permission: str) -> dict[str, Any]:
    return {"grantee": {"type": "Group", "uri": uri}, "permission": permission}


def canned_acl(name: str, owner_id: str, bucket_owner_id: str | None = None) -> dict[str, Any]:
    """The ACL a canned name stands for (InvalidArgument for an unknown name). bucket_owner_id: the
    bucket's owner, for the bucket-owner-* names on an object (on a bucket they equal `private`)."""
    if name not in CANNED:
        raise errors.InvalidArgument("Invalid canned ACL", ArgumentName="x-amz-acl", ArgumentValue=name)
    grants = [_user(owner_id, "FULL_CONTROL")]
    if name in ("public-read", "public-read-write"):
        grants.append(_group(ALL_USERS, "READ"))
    if name == "public-read-write":
        grants.append(_group(ALL_USERS, "WRITE"))
    if name == "authenticated-read":
        grants.append(_group(AUTHENTICATED_USERS, "READ"))
    if name == "log-delivery-write":
        grants += [_group(LOG_DELIVERY, "WRITE"), _group(LOG_DELIVERY, "READ_ACP")]
    if bucket_owner_id and bucket_owner_id != owner_id:
        if name == "bucket-owner-read":
            grants.append(_user(bucket_owner_id, "READ"))
        elif name == "bucket-owner-full-control":
            grants.append(_user(bucket_owner_id, "FULL_CONTROL"))
    return {"owner": owner_id, "grants": grants}


def normalize(stored: dict[str, Any] | None, owner_id: str, bucket_owner_id: str | None = None) -> dict[str, Any]:
    """A stored ACL in the full form: None -> private; {"canned": name} -> expanded."""
    if not stored:
        return canned_acl("private", owner_id)
    if "canned" in stored:
        try:
            return canned_acl(stored["canned"], stored.get("owner") or owner_id, bucket_owner_id)
        except errors.AwsError:
            log.warning("stored ACL names an unknown canned ACL %r; treating it as private", stored["canned"])
            return canned_acl("private", stored.get("owner") or owner_id)
    return {"owner": stored.get("owner") or owner_id, "grants": list(stored.get("grants", ()))}


def parse_grant_header(value: str, permission: str) -> list[dict[str, Any]]:
    """`id="111", uri="http://...", emailAddress="a@b"` (quotes optional) -> grants."""
    grants, pos = [], 0
    value = value.strip()
    while pos < len(value):
        m = _GRANT_ITEM.match(value, pos)
        if m is None or m.end() == pos:
            raise errors.InvalidArgument("Invalid grant header value", ArgumentName="x-amz-grant-"
                                         + permission.lower().replace("_", "-"), ArgumentValue=value)
        kind, text = m.group(1).lower(), m.group(2) if m.group(2) is not None else m.group(3)
        pos = m.end()
        if kind == "id":
            if not text:
                raise errors.InvalidArgument("Invalid id", ArgumentName="CanonicalUser/ID", ArgumentValue=text)
            grants.append(_user(text, permission))
        elif kind == "uri":
            if text not in GROUPS:
                raise errors.InvalidArgument("Invalid group uri", ArgumentName="Group/URI", ArgumentValue=text)
            grants.append(_group(text, permission))
        elif kind == "emailaddress":
            raise errors.UnresolvableGrantByEmailAddress(EmailAddress=text)
        else:
            raise errors.InvalidArgument("Argument format not recognized", ArgumentName="x-amz-grant-"
                                         + permission.lower().replace("_", "-"), ArgumentValue=value)
    return grants


def parse_policy(policy: dict[str, Any], owner_id: str) -> dict[str, Any]:
    """An AccessControlPolicy body (botocore shape) -> stored form. The owner cannot be changed."""
    body_owner = (policy.get("Owner") or {}).get("ID")
    if body_owner is not None and body_owner != owner_id:
        raise errors.AccessDenied()
    grants = policy.get("Grants") or []
    if len(grants) > MAX_GRANTS:
        raise errors.MalformedACLError()
    out = []
    for grant in grants:
        grantee, permission = grant.get("Grantee"), grant.get("Permission")
        if not isinstance(grantee, dict) or permission not in PERMISSIONS:
            raise errors.MalformedACLError()
        kind = grantee.get("Type")
        if kind == "CanonicalUser":
            if not grantee.get("ID"):
                raise errors.MalformedACLError()
            out.append(_user(grantee["ID"], permission))
        elif kind == "Group":
            uri = grantee.get("URI")
            if not uri:
                raise errors.MalformedACLError()
            if uri not in GROUPS:
                raise errors.InvalidArgument("Invalid group uri", ArgumentName="Group/URI", ArgumentValue=uri)
            out.append(_group(uri, permission))
        elif kind == "AmazonCustomerByEmail":
            raise errors.UnresolvableGrantByEmailAddress(EmailAddress=grantee.get("EmailAddress"))
        else:
            raise errors.MalformedACLError()
    return {"owner": owner_id, "grants": out}


def acl_from_request(params: dict[str, Any], owner_id: str, bucket_owner_id: str | None = None,
                     *, allow_body: bool = False) -> dict[str, Any] | None:
    """The ACL a request sets: the x-amz-acl header, x-amz-grant-* headers, or (PutBucketAcl,
    PutObjectAcl) an AccessControlPolicy body; None when it sets none. For PutObject/CreateBucket
    too: they may store the result as their object/bucket "acl"."""
    canned = params.get("ACL")
    header_grants = [(m, params[m]) for m in GRANT_MEMBERS if params.get(m) is not None]
    policy = params.get("AccessControlPolicy") if allow_body else None
    if canned is not None and header_grants:
        raise errors.InvalidRequest("Specifying both Canned ACLs and Header Grants is not allowed")
    if policy is not None and (canned is not None or header_grants):
        raise errors.InvalidRequest("Specifying both an ACL in the request body and ACL request headers "
                                    "is not allowed")
    if canned is not None:
        return canned_acl(canned, owner_id, bucket_owner_id)
    if header_grants:
        grants: list[dict[str, Any]] = []  # exactly the grants listed (the owner's rights are implicit)
        for member, value in header_grants:
            grants += parse_grant_header(value, GRANT_MEMBERS[member])
        if len(grants) > MAX_GRANTS:
            raise errors.MalformedACLError()
        return {"owner": owner_id, "grants": grants}
    if policy is not None:
        return parse_policy(policy, owner_id)
    return None


# ---- evaluating ACLs ---------------------------------------------------------------------------------
def allows(acl: dict[str, Any], account_id: str | None, permission: str) -> bool:
    """Does `acl` give `permission` to this caller (None = anonymous)?"""
    for grant in acl.get("grants", ()):
        if grant.get("permission") not in (permission, "FULL_CONTROL"):
            continue
        grantee = grant.get("grantee") or {}
        if grantee.get("type") == "CanonicalUser":
            if account_id is not None and grantee.get("id") == account_id:
                return True
        elif grantee.get("uri") == ALL_USERS or (grantee.get("uri") == AUTHENTICATED_USERS
                                                  and account_id is not None):
            return True
    return False


async def bucket_owner(ctx: RequestContext, bucket: str) -> str | None:
    """The owning account recorded at CreateBucket (S3 names are global), or None."""
    value = await ctx.gateway.store.get(NS_BUCKET_OWNER, bucket)
    if isinstance(value, dict):
        value = value.get("account_id") or value.get("owner") or value.get("account")
    return await stored_account(ctx, str(value)) if value else None


async def resolve_owner(ctx: RequestContext, bucket: str) -> str:
    """The bucket's owner; NoSuchBucket when there is no such bucket. A bucket the gateway has no
    record of (made directly in the backend) belongs to a signed caller who can see it. Resolved once per
    request (the access check and the handler both ask; an unrecorded bucket costs a backend HEAD)."""
    known = session(ctx).bucket_owners
    if bucket in known:
        return known[bucket]
    owner_id = await bucket_owner(ctx, bucket)
    if owner_id is None:
        if ctx.identity is None:
            raise errors.NoSuchBucket(BucketName=bucket)
        store = await object_store(ctx)
        with backend_errors(bucket=bucket):
            await store.head_container(bucket)
        owner_id = ctx.identity.account_id
    known[bucket] = owner_id
    return owner_id


async def require_owner(ctx: RequestContext, bucket: str, *, strict: bool = False) -> str:
    """Bucket configuration (tagging, CORS, lifecycle...) is the owner's: NoSuchBucket or AccessDenied
    otherwise, unless the bucket policy allows this request (then it acts on the owner's storage).
    strict: the owner's account alone, whatever the policy says (AWS: the bucket policy, Block Public
    Access and Object Ownership are managed by the owner's account only). Returns the owner's id."""
    owner_id = await resolve_owner(ctx, bucket)
    if ctx.identity is not None and ctx.identity.account_id == owner_id:
        return owner_id
    if not strict and access.policy_allows(ctx, bucket):
        await act_as_owner(ctx, owner_id)
        return owner_id
    raise errors.AccessDenied()


async def get_bucket_acl_doc(ctx: RequestContext, bucket: str, owner_id: str) -> dict[str, Any]:
    return normalize(await stored_acl(ctx, await get_bucket_config(ctx, bucket, "acl")), owner_id)


def effective(acl: dict[str, Any], settings: access.BucketAccess | None) -> dict[str, Any]:
    """The grants that count: none when ACLs are disabled (BucketOwnerEnforced), no public ones under
    IgnorePublicAcls."""
    if settings is None:
        return acl
    if not settings.acls_enabled:
        return {"owner": settings.owner, "grants": []}
    if settings.flag("IgnorePublicAcls"):
        return {"owner": acl["owner"], "grants": [g for g in acl["grants"] if not is_public_grant(g)]}
    return acl


def is_public_grant(grant: dict[str, Any]) -> bool:
    return (grant.get("grantee") or {}).get("uri") in (ALL_USERS, AUTHENTICATED_USERS)


def is_public_acl(acl: dict[str, Any] | None) -> bool:
    return bool(acl) and any(is_public_grant(g) for g in acl.get("grants", ()))  # type: ignore[union-attr]


async def require(ctx: RequestContext, bucket: str, key: str | None = None, permission: str = "READ", *,
                  version_id: str | None = None, action: str | None = None) -> None:
    """Raise AccessDenied (or NoSuchBucket/NoSuchKey where S3 would say so) unless the caller owns the
    bucket, the bucket policy allows the request, or an ACL grants `permission` — on the bucket when
    key is None, else on the object (version). Called first by every handler that accepts anonymous
    or cross-account callers; when the policy or a grant (not ownership) allows the request, the
    request then acts on the owner's storage. action: the IAM action when it is not the request's own
    (a copy's source: s3:GetObject); the request's own decision comes from `access.authorize`."""
    owner_id = await resolve_owner(ctx, bucket)
    caller = ctx.identity.account_id if ctx.identity is not None else None
    if caller == owner_id:
        return
    if action is not None:
        by_policy = await access.decide(ctx, bucket, key, action) == "Allow"
    else:
        by_policy = access.policy_allows(ctx, bucket)
    settings = await access.bucket_access(ctx, bucket)
    bucket_acl = effective(await get_bucket_acl_doc(ctx, bucket, owner_id), settings)
    if key is None:
        if not by_policy and not allows(bucket_acl, caller, permission):
            raise errors.AccessDenied()
        await act_as_owner(ctx, owner_id)
        return
    store = await _owner_store(ctx, owner_id)
    with backend_errors(bucket=bucket, key=key, version_id=version_id):
        try:
            info = await store.head_object(bucket, key, version_id=version_id)
        except base.NotFound:
            # Only a caller who may list the bucket learns that a key does not exist.
            if not allows(bucket_acl, caller, "READ") and \
                    await access.decide(ctx, bucket, None, "s3:ListBucket") != "Allow":
                raise errors.AccessDenied() from None
            raise
    if not by_policy:
        stored = await stored_acl(ctx, (await get_object_extra(ctx, bucket, key, info.version_id)).get("acl"))
        acl = effective(normalize(stored, owner_id, owner_id), settings)
        if acl["owner"] != caller and not allows(acl, caller, permission):
            raise errors.AccessDenied()
    _bind(ctx, store)


async def act_as_owner(ctx: RequestContext, owner_id: str) -> None:
    _bind(ctx, await _owner_store(ctx, owner_id))


async def _owner_store(ctx: RequestContext, owner_id: str) -> base.ObjectStore:
    backend = ctx.gateway.backend
    if backend is None:
        raise errors.S3NotImplemented("No object storage backend is configured.")
    identity = await ctx.gateway.credentials.identity_for_account(owner_id)
    if identity is None:
        # The ACL allows it, but the gateway cannot act as the owner: refuse rather than guess.
        log.warning("no identity to act for bucket owner %s; denying a granted request", owner_id)
        raise errors.AccessDenied()
    with backend_errors():
        return await backend.object_store(identity.principal())


def _bind(ctx: RequestContext, store: base.ObjectStore) -> None:
    # The request's store (see common.object_store) becomes the owner's for the rest of the request.
    session(ctx).act_on_object_store(store)


# ---- rendering -----------------------------------------------------------------------------------------
async def _display_name(ctx: RequestContext, account_id: str) -> str | None:
    if ctx.identity is not None and ctx.identity.account_id == account_id:
        return ctx.identity.display_name
    identity = await ctx.gateway.credentials.identity_for_account(account_id)
    return identity.display_name if identity is not None else None


async def render(ctx: RequestContext, acl: dict[str, Any]) -> dict[str, Any]:
    """The GetBucketAcl/GetObjectAcl output shape."""
    names: dict[str, str | None] = {}

    async def user(account_id: str) -> dict[str, Any]:
        if account_id not in names:
            names[account_id] = await _display_name(ctx, account_id)
        out = {"ID": account_id}
        if names[account_id]:
            out["DisplayName"] = names[account_id]
        return out

    grants = []
    for g in acl["grants"]:
        grantee = g["grantee"]
        if grantee["type"] == "CanonicalUser":
            shape = {"Type": "CanonicalUser", **await user(grantee["id"])}
        else:
            shape = {"Type": "Group", "URI": grantee["uri"]}
        grants.append({"Grantee": shape, "Permission": g["permission"]})
    return {"Owner": await user(acl["owner"]), "Grants": grants}


# ---- handlers ----------------------------------------------------------------------------------------
def _acl_to_set(ctx: RequestContext, owner_id: str, bucket_owner_id: str | None) -> dict[str, Any]:
    acl = acl_from_request(ctx.params, owner_id, bucket_owner_id, allow_body=True)
    if acl is None:
        raise errors.MissingSecurityHeader(MissingHeaderName="x-amz-acl")
    return acl


async def _checked_acl(ctx: RequestContext, bucket: str, owner_id: str, bucket_owner_id: str) -> dict[str, Any]:
    """The ACL a Put*Acl request sets, refused where Object Ownership or Block Public Access say so."""
    from .ownership import check_acl_write  # ownership builds on this module

    doc = _acl_to_set(ctx, owner_id, bucket_owner_id)
    check_acl_write(await access.bucket_access(ctx, bucket), doc, bucket_owner_id)
    return doc


async def _shown(ctx: RequestContext, bucket: str, doc: dict[str, Any]) -> dict[str, Any]:
    """ACLs disabled (BucketOwnerEnforced): reads show the bucket owner's FULL_CONTROL alone."""
    settings = await access.bucket_access(ctx, bucket)
    if settings is not None and not settings.acls_enabled:
        return canned_acl("private", settings.owner)
    return doc


@s3_handler("PutBucketAcl", anonymous=True)
async def put_bucket_acl(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await require(ctx, bucket, permission="WRITE_ACP")
    owner_id = await resolve_owner(ctx, bucket)
    await set_bucket_config(ctx, bucket, "acl", await _checked_acl(ctx, bucket, owner_id, owner_id))
    return {}


@s3_handler("GetBucketAcl", anonymous=True)
async def get_bucket_acl(ctx: RequestContext) -> dict:
    bucket = ctx.params["Bucket"]
    await require(ctx, bucket, permission="READ_ACP")
    owner_id = await resolve_owner(ctx, bucket)
    return await render(ctx, await _shown(ctx, bucket, await get_bucket_acl_doc(ctx, bucket, owner_id)))


async def _object_version(ctx: RequestContext) -> tuple[str, str, str | None]:
    """(bucket, key, version id) of the object the request names; NoSuchKey/NoSuchVersion if absent."""
    bucket, key, version_id = ctx.params["Bucket"], ctx.params["Key"], ctx.params.get("VersionId")
    store = await object_store(ctx)
    with backend_errors(bucket=bucket, key=key, version_id=version_id):
        info = await store.head_object(bucket, key, version_id=version_id)
    return bucket, key, info.version_id


@s3_handler("PutObjectAcl", anonymous=True)
async def put_object_acl(ctx: RequestContext) -> dict:
    bucket, key = ctx.params["Bucket"], ctx.params["Key"]
    await require(ctx, bucket, key, "WRITE_ACP", version_id=ctx.params.get("VersionId"))
    bucket_owner_id = await resolve_owner(ctx, bucket)
    bucket, key, version_id = await _object_version(ctx)
    extra = await get_object_extra(ctx, bucket, key, version_id)
    object_owner = normalize(await stored_acl(ctx, extra.get("acl")), bucket_owner_id, bucket_owner_id)["owner"]
    extra["acl"] = await _checked_acl(ctx, bucket, object_owner, bucket_owner_id)
    # only the ACL is written, atomically: a tags write racing on another replica is not undone
    await update_object_extra(ctx, bucket, key, version_id, lambda current: {**current, "acl": extra["acl"]})
    return {}


@s3_handler("GetObjectAcl", anonymous=True)
async def get_object_acl(ctx: RequestContext) -> dict:
    bucket, key = ctx.params["Bucket"], ctx.params["Key"]
    await require(ctx, bucket, key, "READ_ACP", version_id=ctx.params.get("VersionId"))
    bucket_owner_id = await resolve_owner(ctx, bucket)
    bucket, key, version_id = await _object_version(ctx)
    extra = await get_object_extra(ctx, bucket, key, version_id)
    return await render(ctx, await _shown(ctx, bucket, normalize(await stored_acl(ctx, extra.get("acl")),
                                                                  bucket_owner_id, bucket_owner_id)))
