"""STS and the IAM identity calls tools make first: GetCallerIdentity, GetSessionToken, IAM GetUser.

They answer from the caller's identity as authentication established it, so they work the same in front of
any cloud: the Account is the account id used as OwnerId in EC2 and as the S3 owner id; the ARN names the
key's user (`arn:aws:iam::<account>:user/<name>`). Terraform's provider and Ansible's amazon.aws read the
account from here before anything else.

GetSessionToken mints temporary credentials (gateway/auth/sessions.py) that act as the calling key for EC2,
S3 and STS until they expire. As on AWS, session credentials cannot mint further sessions and cannot call
IAM without MFA, which this gateway does not offer.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any

from .auth.credentials import Identity
from .auth.sessions import DEFAULT_SECONDS, MAX_SECONDS, MIN_SECONDS
from .context import RequestContext
from .protocol import errors
from .registry import Handler, default_registry

NS_USERS_SEEN = "iam:user-seen"  # "<account>/<user name>" -> ISO time the gateway first saw the user


def _handler(service: str, operation: str):  # noqa: ANN202 - a decorator
    def deco(fn: Handler) -> Handler:
        return default_registry().register(service, operation)(fn)
    return deco


def user_name(ident: Identity) -> str:
    return str(ident.attributes.get("user_name") or ident.display_name or ident.access_key)


def user_id(ident: Identity) -> str:
    """The user's unique id: the cloud's user id where it has one, else a stable id in AWS's form."""
    given = ident.attributes.get("user_id")
    if given:
        return str(given)
    digest = hashlib.sha256(f"{ident.cloud_id}/{user_name(ident)}".encode()).digest()  # stable across the number change
    return "AIDA" + base64.b32encode(digest).decode()[:17]


def user_arn(ident: Identity) -> str:
    return f"arn:aws:iam::{ident.account_id}:user/{user_name(ident)}"


def _caller(ctx: RequestContext) -> Identity:
    ident = ctx.identity
    assert ident is not None  # every STS/IAM handler needs a signed caller (the pipeline enforces it)
    return ident


def _is_session(ident: Identity) -> bool:
    return "session" in ident.attributes


@_handler("sts", "GetCallerIdentity")
async def get_caller_identity(ctx: RequestContext) -> dict[str, Any]:
    ident = _caller(ctx)
    return {"UserId": user_id(ident), "Account": ident.account_id, "Arn": user_arn(ident)}


@_handler("sts", "GetSessionToken")
async def get_session_token(ctx: RequestContext) -> dict[str, Any]:
    ident = _caller(ctx)
    if _is_session(ident):
        raise errors.AccessDenied("Cannot call GetSessionToken with session credentials")
    seconds = ctx.params.get("DurationSeconds", DEFAULT_SECONDS)
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        bound = "greater than or equal to 900" if seconds < MIN_SECONDS else "less than or equal to 129600"
        raise errors.ValidationError(f"1 validation error detected: Value '{seconds}' at 'durationSeconds' "
                                     f"failed to satisfy constraint: Member must have value {bound}")
    if ctx.params.get("SerialNumber") or ctx.params.get("TokenCode"):
        raise errors.AccessDenied("MultiFactorAuthentication failed: this endpoint has no MFA devices.")
    creds = ctx.gateway.session_keys.mint(ident.access_key, seconds)
    return {"Credentials": {"AccessKeyId": creds.access_key, "SecretAccessKey": creds.secret_key,
                            "SessionToken": creds.token,
                            "Expiration": dt.datetime.fromtimestamp(creds.expires, dt.UTC)}}


@_handler("iam", "GetUser")
async def get_user(ctx: RequestContext) -> dict[str, Any]:
    ident = _caller(ctx)
    if _is_session(ident):
        raise errors.AccessDenied(f"User: {user_arn(ident)} is not authorized to perform: iam:GetUser "
                                     "with temporary credentials obtained without MFA")
    name = ctx.params.get("UserName")
    if name is not None and name != user_name(ident):
        raise errors.NoSuchEntity(f"The user with name {name} cannot be found.")
    # The cloud's user records carry no creation time a token shows: the user is as old as the first
    # time any replica of this gateway saw it (recorded once, atomically, in the shared state).
    now = dt.datetime.now(dt.UTC).isoformat()
    seen = await ctx.gateway.store.put_if_absent(NS_USERS_SEEN, f"{ident.cloud_id}/{user_name(ident)}", now)
    return {"User": {"Path": "/", "UserName": user_name(ident), "UserId": user_id(ident),
                     "Arn": user_arn(ident), "CreateDate": dt.datetime.fromisoformat(seen or now)}}
