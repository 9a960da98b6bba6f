"""THE table from CloudStack errors to neutral backend errors, and nothing else.

A CloudStack error carries `errorcode` (the API error code, also the HTTP status: 401, 405, 429, 431 param,
432 unsupported, 530-537) and, since 4.x, `cserrorcode` (the Java exception class, CSExceptionErrorCode:
4350 InvalidParameterValueException, 4365 PermissionDenied, 4370 ResourceAllocation...). We map by those
codes. Only where the codes say "some parameter was wrong" or "something failed" (431/4350, 530/4250, 9999,
or no cserrorcode in older clouds) does `errortext` decide between not-found, duplicate and in-use: CloudStack
reports all three that way (see the recorded ec2stack responses), and no other signal exists.
"""

from __future__ import annotations

import re

from backends import base

# (errorcode, cserrorcode) → error class. cserrorcode None = any. First match wins, most specific first.
CS_TABLE: dict[tuple[int, int | None], type[base.BackendError]] = {
    (401, None): base.Forbidden,          # the caller's keys were refused
    (405, None): base.NotSupported,       # command not available to this role / method
    (429, None): base.Unavailable,        # API rate limit
    (432, None): base.NotSupported,       # unsupported action
    (431, 4365): base.Forbidden,          # PermissionDeniedException
    (431, 4370): base.QuotaExceeded,      # ResourceAllocationException (account limit)
    (431, 4375): base.Conflict,           # ResourceInUseException
    (431, 4390): base.NotSupported,       # UnsupportedServiceException
    (530, 4360): base.AlreadyExists,      # NetworkRuleConflictException
    (530, 4365): base.Forbidden,
    (530, 4370): base.QuotaExceeded,
    (530, 4375): base.Conflict,
    (530, 4380): base.Unavailable,        # ResourceUnavailableException
    (530, 4385): base.Unavailable,        # StorageUnavailableException
    (530, 4390): base.NotSupported,
    (530, 4325): base.Unavailable,        # Insufficient*CapacityException (no neutral "capacity" error)
    (530, 4330): base.Unavailable,
    (530, 4335): base.Unavailable,
    (530, 4340): base.Unavailable,
    (531, None): base.Forbidden,          # ACCOUNT_ERROR (disabled/locked account)
    (532, None): base.QuotaExceeded,      # ACCOUNT_RESOURCE_LIMIT_ERROR
    (533, None): base.Unavailable,        # INSUFFICIENT_CAPACITY_ERROR
    (534, None): base.Unavailable,        # RESOURCE_UNAVAILABLE_ERROR
    (535, None): base.QuotaExceeded,      # RESOURCE_ALLOCATION_ERROR
    (536, None): base.Conflict,           # RESOURCE_IN_USE_ERROR
    (537, None): base.AlreadyExists,      # NETWORK_RULE_CONFLICT_ERROR
}
# Codes that only say "a parameter was wrong" / "it failed": the text refines them (below), else this.
VAGUE: dict[int, type[base.BackendError]] = {431: base.InvalidInput, 530: base.Unavailable}

_DUPLICATE = re.compile(r"already exis|duplicate|failed to authorize security group (in|e)gress rule", re.I)
_NOT_FOUND = re.compile(r"does not exist|unable to find|not found|unable to aquire|unable to acquire|"
                        r"invalid parameter (\w+)(?: value=| \.|\.|$)|please specify a valid|no such", re.I)
_IN_USE = re.compile(r"in use|is attached|currently attached|not attached|that is not attached|"
                     r"in (?:the )?(?:wrong|invalid) state|is not in (?:the )?(?:right|correct) state|"
                     r"state (?:is|to be)|has (?:active|dependent)|cannot be deleted|can't (?:be )?delete", re.I)
_LIMIT = re.compile(r"limit.*exceeded|exceeded.*limit|maximum number", re.I)
_INVALID = re.compile(r"invalid|must be|should be|is not valid|malformed|missing parameter", re.I)

# Words in an errortext (parameter names, table names) → the neutral NotFound kind they name.
_KINDS = (
    ("virtualmachineid", "server"), ("vm_instance", "server"), ("virtual machine", "server"),
    ("vm_template", "image"), ("templateid", "image"), ("template", "image"),
    ("security_group", "security_group"), ("securitygroup", "security_group"), ("security group", "security_group"),
    ("snapshotid", "snapshot"), ("snapshot", "snapshot"), ("volumeid", "volume"), ("volume", "volume"),
    ("key pair", "keypair"), ("keypair", "keypair"), ("ipaddress", "address"), ("ip address", "address"),
    ("serviceoffering", "flavor"), ("service offering", "flavor"), ("zoneid", "zone"), ("zone", "zone"),
    ("vpc", "network"), ("network", "network"), ("rule", "security_group_rule"),
)


def not_found_kind(text: str, default: str = "") -> str:
    """The resource kind an errortext names; `default` (the call's own resource) when it names none or
    only the command's generic `id`. The command's own name ("...command createsnapshot...") is ignored."""
    low = re.sub(r"unable to execute api command \w+", "", text.lower())
    m = re.search(r"invalid parameter (\w+)", low)
    if m:
        name = m.group(1)
        if name == "id":
            return default
        for word, kind in _KINDS:
            if word.replace(" ", "") in name:
                return kind
    for word, kind in _KINDS:
        if word in low:
            return kind
    return default


def error_for(errorcode: int | None, cserrorcode: int | None, text: str, kind: str = "") -> base.BackendError:
    """The neutral error for a CloudStack error. `kind` is the resource the call acts on (NotFound kind
    when the text names none)."""
    code = int(errorcode or 530)
    cs = int(cserrorcode) if cserrorcode is not None else None
    message = text or f"CloudStack error {code}"
    cls = CS_TABLE.get((code, cs)) or CS_TABLE.get((code, None))
    if cls is not None:
        return _make(cls, message, kind)
    if code in (431, 530) or code >= 500:
        # the vague families: the text decides, in this order
        if _DUPLICATE.search(message):
            return base.AlreadyExists(message)
        if _LIMIT.search(message):
            return base.QuotaExceeded(message)
        if _NOT_FOUND.search(message):
            return base.NotFound(message, kind=not_found_kind(message, kind))
        if _IN_USE.search(message):
            return base.Conflict(message)
        if _INVALID.search(message):
            return base.InvalidInput(message)
        return VAGUE.get(code, base.Unavailable)(message)
    if 400 <= code < 500:
        return base.InvalidInput(message)
    return base.Unavailable(message)


def _make(cls: type[base.BackendError], message: str, kind: str) -> base.BackendError:
    if cls is base.NotFound:
        return base.NotFound(message, kind=kind)
    return cls(message)
