"""The policy document of a browser-based POST upload: decoding and the conditions, as S3 checks them.

The `policy` form field is base64 of a JSON object with `expiration` (ISO 8601, UTC) and `conditions`, a
list of:
  - `{"field": "value"}`                    exact match (also `["eq", "$field", "value"]`);
  - `["starts-with", "$field", "prefix"]`   prefix match ("" allows any value; for Content-Type every
                                            comma-separated value must match);
  - `["content-length-range", min, max]`    the file's size bounds, checked while it streams.
Field names are case-insensitive, values are not. `bucket` is the request's bucket. Every form field but
the signature, the file, the policy itself and `x-ignore-*` must be named by a condition, else the form
has "Extra input fields". A malformed document is InvalidPolicyDocument (400); a form the policy does not
allow is AccessDenied (403) "Invalid according to Policy: ...".
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..protocol import errors

# Fields a policy never has to name.
EXEMPT = frozenset({"x-amz-signature", "signature", "awsaccesskeyid", "file", "policy"})
_EXPIRATION = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")


def _invalid(detail: str) -> errors.AwsError:
    return errors.InvalidPolicyDocument(f"Invalid Policy: {detail}")


def _denied(detail: str) -> errors.AwsError:
    return errors.AccessDenied(f"Invalid according to Policy: {detail}")


@dataclass(frozen=True)
class Condition:
    op: str      # "eq" | "starts-with"
    field: str   # lower-case field name, without "$"
    value: str
    text: str    # the condition in list form, for error messages


@dataclass
class PostPolicy:
    expiration: dt.datetime
    conditions: list[Condition] = field(default_factory=list)
    min_size: int | None = None   # content-length-range
    max_size: int | None = None

    @property
    def fields(self) -> set[str]:
        return {c.field for c in self.conditions}


def decode(policy_b64: str) -> PostPolicy:
    """The policy document, or InvalidPolicyDocument saying what is wrong with it."""
    try:
        raw = base64.b64decode(policy_b64.strip().encode("ascii"), validate=True)
        doc = json.loads(raw.decode("utf-8"), parse_float=_no_float)
    except (binascii.Error, UnicodeError, ValueError):
        raise _invalid("Invalid JSON.") from None
    if not isinstance(doc, dict):
        raise _invalid("Invalid JSON.")
    if "expiration" not in doc:
        raise _invalid("Policy missing expiration.")
    if "conditions" not in doc:
        raise _invalid("Policy missing conditions.")
    expiration = doc["expiration"]
    if not isinstance(expiration, str) or not _EXPIRATION.fullmatch(expiration):
        raise _invalid(f"Invalid 'expiration' value: '{expiration}'")
    try:
        when = dt.datetime.fromisoformat(expiration.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(f"Invalid 'expiration' value: '{expiration}'") from None
    conditions = doc["conditions"]
    if not isinstance(conditions, list):
        raise _invalid("Invalid 'conditions' value: must be a List.")
    policy = PostPolicy(when)
    for item in conditions:
        _add(policy, item)
    return policy


def _no_float(text: str) -> Any:
    raise ValueError(f"not an integer: {text}")  # AWS reads 512.0 as invalid JSON


def _add(policy: PostPolicy, item: Any) -> None:
    text = json.dumps(item, separators=(", ", ": "))
    if isinstance(item, dict):
        if len(item) != 1:
            raise _invalid("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
        (name, value), = item.items()
        if not isinstance(value, str):
            raise _invalid("Invalid Simple-Condition: value must be a string.")
        policy.conditions.append(Condition("eq", name.lower(), value, _shown("eq", "$" + name, value)))
        return
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise _invalid(f"Invalid Condition: {text}")
    op = item[0].lower()
    if op == "content-length-range":
        if len(item) != 3 or not all(_is_int(v) for v in item[1:]):
            raise _invalid("Invalid content-length-range condition: " + text)
        low, high = int(item[1]), int(item[2])
        if low < 0 or high < 0 or low > high:
            raise _invalid("Invalid content-length-range condition: " + text)
        policy.min_size, policy.max_size = low, high
        return
    if op not in ("eq", "starts-with"):
        raise _invalid(f"Invalid Condition: unknown operation '{item[0]}'.")
    if len(item) != 3 or not all(isinstance(v, str) for v in item[1:]):
        raise _invalid(f"Invalid {op} condition: {text}")
    name, value = item[1], item[2]
    if not name.startswith("$"):
        raise _invalid(f"Invalid {op} condition: field names must start with '$': {text}")
    policy.conditions.append(Condition(op, name[1:].lower(), value, _shown(op, name, value)))


def _shown(op: str, name: str, value: str) -> str:
    """A condition as S3's "Policy Condition failed" message writes it: always the list form."""
    return json.dumps([op, name, value], separators=(", ", ": "))


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()


def check_expiry(policy: PostPolicy, now: dt.datetime) -> None:
    if now >= policy.expiration:
        raise _denied("Policy expired.")


def check_fields(policy: PostPolicy, fields: Mapping[str, str], bucket: str) -> None:
    """Every condition holds for the form (lower-case names → values, `key` already with ${filename}
    replaced; a field the form lacks fails its conditions, even `starts-with ""`) and every form field is
    one a condition names."""
    values = dict(fields)
    values["bucket"] = bucket  # the bucket condition is about the request's bucket, not a form field
    for cond in policy.conditions:
        value = values.get(cond.field)
        if value is None or not _holds(cond, value):  # a condition on a field the form lacks fails
            raise _denied(f"Policy Condition failed: {cond.text}")
    named = policy.fields
    extra = [name for name in fields
             if name not in named and name not in EXEMPT and not name.startswith("x-ignore-")]
    if extra:
        raise _denied("Extra input fields: " + ", ".join(extra))


def _holds(cond: Condition, value: str) -> bool:
    if cond.op == "eq":
        return value == cond.value
    if cond.field == "content-type" and "," in value:
        return all(v.strip().startswith(cond.value) for v in value.split(","))
    return value.startswith(cond.value)
