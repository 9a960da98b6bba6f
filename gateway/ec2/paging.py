"""MaxResults / NextToken for every paginated Describe.

Items are ordered by a stable key (their EC2 id); a token records the last key returned, so paging stays
correct when resources appear or vanish between pages (nothing skipped, nothing repeated, unlike an
offset). Tokens are opaque, bound to the action and HMAC-signed with a per-process key, so a forged,
edited or foreign token is `InvalidParameterValue`, as AWS answers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..protocol import errors

T = TypeVar("T")
# Replaced at start-up by a key shared through the state store (see Gateway.start), so a token from
# one replica is valid on another; a random key until then.
_key = os.urandom(32)


def configure(key: bytes) -> None:
    global _key
    _key = key


def _sign(payload: bytes) -> bytes:
    return hmac.new(_key, payload, hashlib.sha256).digest()[:12]


def make_token(action: str, last_key: str) -> str:
    payload = json.dumps([action, last_key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(_sign(payload) + payload).decode().rstrip("=")


def read_token(action: str, token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        sig, payload = raw[:12], raw[12:]
        if not hmac.compare_digest(sig, _sign(payload)):
            raise ValueError("signature")
        token_action, last_key = json.loads(payload)
        if token_action != action:
            raise ValueError("action")
        return str(last_key)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise errors.InvalidParameterValue(f"The token '{token[:64]}' is invalid.") from None


def check_max_results(params: dict[str, Any], *, minimum: int = 5, maximum: int = 1000,
                      ids_param: str | None = None, clamp: bool = False) -> int | None:
    """MaxResults within the action's documented bounds; not combinable with explicit ids. With
    clamp, a value above the maximum means the maximum (AWS documents this for DescribeVolumes, and
    the aws-cli sends 1000 there)."""
    max_results = params.get("MaxResults")
    if max_results is None:
        return None
    if ids_param and params.get(ids_param):
        raise errors.InvalidParameterCombination(
            f"The parameter {ids_param} cannot be used with the parameter maxResults")
    if clamp:
        max_results = min(max_results, maximum)
    if not minimum <= max_results <= maximum:
        raise errors.InvalidParameterValue(
            f"Value ( {max_results} ) for parameter maxResults is invalid. "
            f"Expecting a value between {minimum} and {maximum}.")
    return max_results


def page(action: str, items: Sequence[T], key: Callable[[T], str], max_results: int | None,
         next_token: str | None) -> tuple[list[T], str | None]:
    """One page of `items` (sorted here by `key`) and the token for the next page, if any."""
    ordered = sorted(items, key=key)
    if next_token:
        after = read_token(action, next_token)
        ordered = [i for i in ordered if key(i) > after]
    if max_results is None or len(ordered) <= max_results:
        return list(ordered), None
    chunk = ordered[:max_results]
    return chunk, make_token(action, key(chunk[-1]))
