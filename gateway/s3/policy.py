"""Bucket policy documents: validation (PutBucketPolicy) and the evaluation of one request against one policy.

Pure functions over the policy text and a `Facts` of the request, no I/O, so the cost of evaluating a
policy can be measured alone (bench/s3_policy.py). A policy is parsed once per (text, bucket) and cached:
statements hold precompiled patterns. Evaluation answers "Deny" (an explicit Deny matched), "Allow"
(an Allow matched and no Deny) or None (nothing matched: implicit deny, the ACL may still allow).

What AWS checks at PutBucketPolicy and this module checks too, with AWS's messages: JSON, Version,
Statement, Effect, Principal/NotPrincipal, Action/NotAction (`s3:` actions and wildcards), Resource/
NotResource (ARNs of this bucket and its objects), "Action does not apply to any resource(s) in
statement", condition operators and keys. Principals are checked for existence by the caller
(`principal_accounts`), since only the gateway knows its accounts.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..protocol import errors
from . import policy_actions

MAX_POLICY_BYTES = 20 * 1024
VERSIONS = ("2012-10-17", "2008-10-17")
_ACCOUNT = re.compile(r"^(?:[0-9]{12}|[0-9a-f]{32})$")
_IAM_ARN = re.compile(r"^arn:aws:iam::([0-9]{12}|[0-9a-f]{32}):(root|user/.+|role/.+)$")
_STATEMENT_KEYS = {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
                   "NotResource", "Condition"}
# Keys whose fixed value makes an Allow to "*" non-public (AWS's "meaning of public").
_FIXING_KEYS = {"aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner", "aws:sourceaccount",
                "aws:principalorgid", "aws:principalaccount", "aws:principalarn", "aws:userid",
                "s3:x-amz-server-side-encryption-aws-kms-key-id"}


def malformed(message: str) -> errors.AwsError:
    return errors.MalformedPolicy(message)


# ---- matching helpers ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def glob(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM wildcards: `*` any run, `?` one character; the rest literal."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _as_list(value: Any, what: str) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    raise malformed(f"Policy has invalid {what}")  # AWS: "Policy has invalid action" / "... resource"


# ---- conditions ---------------------------------------------------------------------------------------
_STRING_OPS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
               "StringLike", "StringNotLike"}
_OPS = _STRING_OPS | {"IpAddress", "NotIpAddress", "Bool", "DateEquals", "DateNotEquals", "DateLessThan",
                      "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "NumericEquals",
                      "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
                      "NumericGreaterThanEquals", "Null", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"}
_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NotIpAddress", "DateNotEquals",
            "NumericNotEquals", "ArnNotEquals", "ArnNotLike"}


@functools.lru_cache(maxsize=1024)
def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(value)  # cached: the same few client addresses come again and again


@functools.lru_cache(maxsize=1024)
def _date(value: str) -> float:
    try:
        if value.isdigit():
            return float(value)
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(value) from None


@dataclass(frozen=True)
class Condition:
    operator: str          # the base operator (StringLike, IpAddress, ...)
    key: str               # lower-case condition key
    values: tuple[Any, ...]  # compiled per operator
    if_exists: bool = False
    qualifier: str = ""    # "", "ForAnyValue", "ForAllValues"

    def _one(self, actual: str) -> bool:
        """Does one request value match any of the condition's values (the positive form)?"""
        op = self.operator.replace("Not", "", 1) if self.operator in _NEGATED else self.operator
        try:
            if op in ("StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"):
                return any(p.match(actual) for p in self.values)
            if op == "IpAddress":
                addr = _ip(actual)
                return any(addr in net for net in self.values)
            if op == "Bool":
                return actual.lower() in self.values
            if op.startswith("Date"):
                return any(_COMPARE[op[4:]](_date(actual), v) for v in self.values)
            if op.startswith("Numeric"):
                return any(_COMPARE[op[7:]](float(actual), v) for v in self.values)
        except ValueError:
            return False
        return False

    def holds(self, context: Mapping[str, Sequence[str]]) -> bool:
        actual = context.get(self.key)
        if self.operator == "Null":
            return (not actual) == self.values[0]
        if not actual:
            if self.qualifier == "ForAllValues":
                return True
            return self.if_exists or self.operator in _NEGATED
        negated = self.operator in _NEGATED
        if self.qualifier == "ForAllValues":
            return all(self._one(v) != negated for v in actual)
        matched = any(self._one(v) for v in actual)
        return not matched if negated else matched


_COMPARE = {"Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b, "LessThanEquals": lambda a, b: a <= b,
            "GreaterThan": lambda a, b: a > b, "GreaterThanEquals": lambda a, b: a >= b}


def _compile_values(op: str, key: str, values: list[str]) -> tuple[Any, ...]:
    base = op.replace("Not", "", 1) if op in _NEGATED else op
    try:
        if base in ("StringEquals", "ArnEquals"):
            return tuple(re.compile(f"^{re.escape(v)}$") for v in values) if base == "StringEquals" \
                else tuple(glob(v) for v in values)
        if base == "StringEqualsIgnoreCase":
            return tuple(re.compile(f"^{re.escape(v)}$", re.IGNORECASE) for v in values)
        if base in ("StringLike", "ArnLike"):
            return tuple(glob(v) for v in values)
        if base == "IpAddress":
            return tuple(ipaddress.ip_network(v, strict=False) for v in values)
        if base == "Bool":
            return tuple(v.lower() for v in values)
        if base.startswith("Date"):
            return tuple(_date(v) for v in values)
        if base.startswith("Numeric"):
            return tuple(float(v) for v in values)
        if base == "Null":
            if len(values) != 1 or values[0].lower() not in ("true", "false"):
                raise ValueError(values)
            return (values[0].lower() == "true",)
    except ValueError:
        raise malformed(f"Invalid Condition value for {op} and key {key}") from None
    raise malformed(f"Invalid Condition type : {op}")


def _parse_conditions(block: Any) -> tuple[Condition, ...]:
    if not isinstance(block, dict):
        raise malformed("Policy has an invalid condition block")
    out = []
    for full_op, keys in block.items():
        qualifier, op = "", full_op
        for q in ("ForAnyValue:", "ForAllValues:"):
            if op.startswith(q):
                qualifier, op = q[:-1], op[len(q):]
        if_exists = op.endswith("IfExists") and op != "Null"
        op = op[:-8] if if_exists else op
        if op not in _OPS or not isinstance(keys, dict) or not keys:
            raise malformed(f"Invalid Condition type : {full_op}")
        for key, value in keys.items():
            lkey = key.lower()
            if not (lkey.startswith("aws:") or lkey.startswith("s3:")) or len(key) <= 4:
                raise malformed("Policy has an invalid condition key")
            values = [value] if isinstance(value, str | bool | int | float) else value
            if not isinstance(values, list) or not values:
                raise malformed(f"Invalid Condition value for {full_op} and key {key}")
            values = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
            out.append(Condition(op, lkey, _compile_values(op, key, values), if_exists, qualifier))
    return tuple(out)


# ---- statements ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Principals:
    any: bool = False                                 # "*" / {"AWS": "*"}: everyone, signed or not
    accounts: frozenset[str] = frozenset()            # account ids and arn:aws:iam::<id>:root
    arns: frozenset[str] = frozenset()                # user/role ARNs
    services: frozenset[str] = frozenset()            # service principals: never a gateway caller

    def match(self, account: str | None, arn: str | None) -> bool:
        if self.any:
            return True
        return account is not None and (account in self.accounts or arn in self.arns)


def _parse_principal(value: Any) -> Principals:
    if value == "*":
        return Principals(any=True)
    if not isinstance(value, dict) or not value:
        raise malformed("Invalid principal in policy")
    accounts, arns, services = set(), set(), set()
    for kind, ids in value.items():
        items = ids if isinstance(ids, list) else [ids]
        if not items or not all(isinstance(i, str) for i in items):
            raise malformed("Invalid principal in policy")
        for item in items:
            if kind in ("AWS", "CanonicalUser") and item == "*":
                return Principals(any=True)
            if kind == "AWS":
                m = _IAM_ARN.match(item)
                if _ACCOUNT.match(item):
                    accounts.add(item)
                elif m and m.group(2) == "root":
                    accounts.add(m.group(1))
                elif m:
                    arns.add(item)
                else:
                    raise malformed("Invalid principal in policy")
            elif kind == "CanonicalUser":
                accounts.add(item)  # canonical user id = account id in this gateway
            elif kind in ("Service", "Federated"):
                services.add(item)
            else:
                raise malformed("Invalid principal in policy")
    return Principals(False, frozenset(accounts), frozenset(arns), frozenset(services))


@dataclass(frozen=True)
class Statement:
    effect: str
    principal: Principals | None          # None with not_principal set
    not_principal: Principals | None
    actions: re.Pattern[str]              # one alternation of the statement's patterns
    not_action: bool
    resources: re.Pattern[str]
    not_resource: bool
    conditions: tuple[Condition, ...] = ()
    raw: dict = field(default_factory=dict, compare=False, hash=False)

    def matches(self, facts: Facts) -> bool:
        if self.principal is not None:
            if not self.principal.match(facts.account, facts.arn):
                return False
        elif self.not_principal is not None and self.not_principal.match(facts.account, facts.arn):
            return False
        if (self.actions.match(facts.action) is not None) == self.not_action:
            return False
        if (self.resources.match(facts.resource) is not None) == self.not_resource:
            return False
        return all(c.holds(facts.context) for c in self.conditions)


def _parse_resources(values: list[str], bucket: str) -> tuple[list[re.Pattern[str]], set[str]]:
    """Compiled patterns and the kinds ("bucket", "object") they name; each must be this bucket's."""
    bucket_arn = f"arn:aws:s3:::{bucket}"
    patterns, kinds = [], set()
    for value in values:
        if not value.startswith("arn:aws:s3:::") and value != "*":
            raise malformed("Policy has invalid resource")
        pat = glob(value)
        name = value[len("arn:aws:s3:::"):] if value != "*" else "*"
        bucket_part, _, key_part = name.partition("/")
        if not glob(bucket_part).match(bucket) and not (value == "*"):
            raise malformed("Policy has invalid resource")
        if pat.match(bucket_arn):
            kinds.add("bucket")
        if "/" in name or name.endswith("*"):
            kinds.add("object")
        patterns.append(pat)
    return patterns, kinds


def _parse_statement(raw: Any, bucket: str) -> Statement:
    if not isinstance(raw, dict):
        raise malformed("Policy has an invalid statement")
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise malformed(f"Unknown field {sorted(unknown)[0]}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise malformed("Missing required field Effect" if effect is None else "Invalid effect: " + str(effect))
    if ("Principal" in raw) == ("NotPrincipal" in raw):
        raise malformed("Missing required field Principal" if "Principal" not in raw
                        else "Statement cannot have both Principal and NotPrincipal")
    principal = _parse_principal(raw["Principal"]) if "Principal" in raw else None
    not_principal = _parse_principal(raw["NotPrincipal"]) if "NotPrincipal" in raw else None
    if ("Action" in raw) == ("NotAction" in raw):
        raise malformed("Missing required field Action" if "Action" not in raw
                        else "Statement cannot have both Action and NotAction")
    action_values = _as_list(raw.get("Action", raw.get("NotAction")), "action")
    action_kinds: set[str] = set()
    actions = []
    for a in action_values:
        kinds = policy_actions.kinds_of(a)
        if kinds is None:
            raise malformed("Policy has invalid action")
        action_kinds |= kinds
        actions.append(glob(a, ignore_case=True))
    if ("Resource" in raw) == ("NotResource" in raw):
        raise malformed("Missing required field Resource" if "Resource" not in raw
                        else "Statement cannot have both Resource and NotResource")
    resources, resource_kinds = _parse_resources(_as_list(raw.get("Resource", raw.get("NotResource")),
                                                          "resource"), bucket)
    if "Resource" in raw and "Action" in raw and not action_kinds & resource_kinds:
        raise malformed("Action does not apply to any resource(s) in statement")
    conditions = _parse_conditions(raw["Condition"]) if "Condition" in raw else ()
    return Statement(effect, principal, not_principal, _one_of(actions), "NotAction" in raw, _one_of(resources),
                     "NotResource" in raw, conditions, raw)


def _one_of(patterns: list[re.Pattern[str]]) -> re.Pattern[str]:
    """One regex for a list of anchored glob patterns: one match call per statement and field."""
    flags = patterns[0].flags & re.IGNORECASE
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), flags | re.DOTALL)


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    accounts: frozenset[str]  # every account a principal names (for the existence check)


@functools.lru_cache(maxsize=1024)
def parse(text: str, bucket: str) -> Policy:
    """Validate a policy document for `bucket`: MalformedPolicy naming the problem, as AWS does."""
    if len(text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise malformed("Policies must be less than 20 KB in size")  # AWS: 20 KB limit
    if not text.lstrip().startswith("{"):
        raise malformed("Policies must be valid JSON and the first byte must be '{'")
    try:
        doc = json.loads(text)
    except ValueError:
        raise malformed("This policy contains invalid Json") from None
    if not isinstance(doc, dict):
        raise malformed("This policy contains invalid Json")
    unknown = set(doc) - {"Version", "Id", "Statement"}
    if unknown:
        raise malformed(f"Unknown field {sorted(unknown)[0]}")
    if "Version" in doc and doc["Version"] not in VERSIONS:
        raise malformed("The policy must contain a valid version string")
    raw = doc.get("Statement")
    if raw is None:
        raise malformed("Missing required field Statement")
    raws = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raws, list):
        raise malformed("Policy has an invalid statement")
    if not raws:
        raise malformed("Could not parse the policy: Statement is empty!")
    statements = tuple(_parse_statement(s, bucket) for s in raws)
    accounts: set[str] = set()
    for s in statements:
        for p in (s.principal, s.not_principal):
            if p is not None:
                accounts |= p.accounts | {_IAM_ARN.match(a).group(1) for a in p.arns}  # type: ignore[union-attr]
    return Policy(statements, frozenset(accounts))


# ---- evaluation ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Facts:
    """One request as policies see it. context: lower-case condition key -> values."""
    account: str | None   # the caller's account (None: anonymous)
    arn: str | None       # the caller's user ARN
    action: str           # s3:GetObject ...
    resource: str         # arn:aws:s3:::bucket[/key]
    context: Mapping[str, Sequence[str]]


def evaluate(policy: Policy, facts: Facts, *, only_account: str | None = None) -> str | None:
    """"Deny", "Allow" or None. only_account (RestrictPublicBuckets): Allows count only for that account."""
    allowed = False
    for s in policy.statements:
        if s.effect == "Deny":
            if s.matches(facts):
                return "Deny"
        elif not allowed and s.matches(facts):
            allowed = only_account is None or facts.account == only_account
    return "Allow" if allowed else None


def is_public(policy: Policy) -> bool:
    """AWS's rule: an Allow is public unless it names fixed principals, or its condition fixes the
    caller (a fixed source account/ARN/VPC, aws:userid...) or limits aws:SourceIp to CIDRs."""
    for s in policy.statements:
        if s.effect != "Allow":
            continue
        if s.not_principal is not None:
            return True
        assert s.principal is not None
        if not s.principal.any:
            continue
        if not _fixing_condition(s.conditions):
            return True
    return False


def _fixing_condition(conditions: tuple[Condition, ...]) -> bool:
    for c in conditions:
        if c.operator in _NEGATED or c.if_exists or c.qualifier == "ForAllValues":
            continue
        if c.key == "aws:sourceip" and c.operator == "IpAddress":
            if all(net.prefixlen >= (8 if net.version == 4 else 32) for net in c.values):
                return True
        elif c.key in _FIXING_KEYS:
            if c.operator in ("StringEquals", "StringEqualsIgnoreCase"):
                return True
            # glob-compiled: a wildcard left a bare "." in the pattern (literal dots are escaped)
            if c.operator in ("StringLike", "ArnLike", "ArnEquals") and \
                    all("." not in p.pattern.replace("\\.", "") for p in c.values):
                return True
    return False
