"""Account ids at the EC2 edge: handlers, their state and the backends work in cloud account ids (a Keystone
project, a CloudStack account); clients see 12-digit AWS account numbers (gateway/auth/accounts.py).

Every EC2 handler is wrapped (registration.py): the numbers a client names (Owners, ExecutableBy, OwnerIds,
RestorableBy, LaunchPermission/CreateVolumePermission UserIds, UserIdGroupPairs, owner-id/user-id filters)
become cloud ids before the handler runs; the account fields of the result (OwnerId, UserId, …OwnerId) and
the account part of ARNs and image locations become numbers after. Both directions are idempotent (a number
maps to itself), so a handler calling another handler does no harm.
"""

from __future__ import annotations

from typing import Any

from ..auth.accounts import AccountNumbers, is_number, looks_like_cloud_id
from ..context import RequestContext

# Input members (anywhere in the parameters) holding one account, or a list of them.
_IN_ONE = frozenset({"UserId", "SourceSecurityGroupOwnerId", "PeerOwnerId"})
_IN_MANY = frozenset({"Owners", "ExecutableUsers", "OwnerIds", "RestorableByUserIds", "UserIds"})
# Output members holding an account: these and every "…OwnerId".
_OUT_ONE = frozenset({"UserId", "RequesterId"})


def _accounts(ctx: RequestContext) -> AccountNumbers | None:
    return getattr(ctx.gateway, "accounts", None)


def _is_account_filter(name: Any) -> bool:
    return isinstance(name, str) and (name.endswith("owner-id") or name.endswith("user-id")
                                      or name == "requester-id")


async def inbound(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    """The request's parameters with the account numbers it names turned into cloud ids."""
    accounts = _accounts(ctx)
    if accounts is None or ctx.identity is None:
        return params
    me_number, me_cloud = ctx.identity.account_id, ctx.identity.cloud_id

    async def one(value: Any) -> Any:
        if not isinstance(value, str) or not is_number(value):
            return value
        if value == me_number:
            return me_cloud
        return await accounts.cloud_or_self(value)

    async def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [await walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _IN_ONE:
                out[key] = await one(value)
            elif isinstance(value, list) and (key in _IN_MANY or (key == "Values"
                                                                  and _is_account_filter(node.get("Name")))):
                out[key] = [await one(v) for v in value]
            else:
                out[key] = await walk(value)
        return out

    return await walk(params)


async def outbound(ctx: RequestContext, result: dict[str, Any]) -> dict[str, Any]:
    """The handler's result with cloud account ids shown as account numbers."""
    accounts = _accounts(ctx)
    if accounts is None or ctx.identity is None:
        return result
    numbers: dict[str, str] = {}
    if ctx.identity.cloud_id != ctx.identity.account_id:
        numbers[ctx.identity.cloud_id] = ctx.identity.account_id

    async def collect(node: Any) -> None:  # every cloud id in an account field, mapped once
        if isinstance(node, list):
            for v in node:
                await collect(v)
        elif isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str):
                    if (key in _OUT_ONE or key.endswith("OwnerId")) and value not in numbers \
                            and looks_like_cloud_id(value):
                        numbers[value] = await accounts.number(value)
                else:
                    await collect(value)

    def rewrite(node: Any, key: str = "") -> Any:
        if isinstance(node, list):
            return [rewrite(v, key) for v in node]
        if isinstance(node, dict):
            return {k: rewrite(v, k) for k, v in node.items()}
        if isinstance(node, str):
            if node in numbers and (key in _OUT_ONE or key.endswith("OwnerId")):
                return numbers[node]
            if node.startswith("arn:") or key == "ImageLocation":
                for cloud, number in numbers.items():
                    node = node.replace(cloud, number)
        return node

    await collect(result)
    return rewrite(result) if numbers else result
