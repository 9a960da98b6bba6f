"""THE mapping of neutral backend errors (backends.base) to exact EC2 errors, per resource kind.

Resource kinds are the gateway's (the keys of `ids.PREFIXES`: "instance", "volume", "security-group"...);
a backend's `NotFound(kind=...)` may use its own words ("server", "group", "keypair", "address"), which
`KIND_ALIASES` folds onto them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from backends import base

from ..protocol import errors
from . import ids as ids_mod

KIND_ALIASES = {
    "server": "instance", "instance": "instance", "volume": "volume", "snapshot": "snapshot",
    "image": "image", "keypair": "key-pair", "key-pair": "key-pair", "key_pair": "key-pair",
    "group": "security-group", "security-group": "security-group", "security_group": "security-group",
    "address": "elastic-ip", "floating_ip": "elastic-ip", "floatingip": "elastic-ip", "elastic-ip": "elastic-ip",
    "rule": "security-group-rule", "security-group-rule": "security-group-rule", "flavor": "flavor",
    "zone": "zone", "association": "association",
    "vpc": "vpc", "router": "vpc", "subnet": "subnet", "port": "network-interface",
    "network-interface": "network-interface",
}


def kind_of(name: str) -> str:
    return KIND_ALIASES.get(name, name)


# ---- neutral errors -> exact EC2 errors --------------------------------------------------------------------
def not_found(kind: str, ident: str | Iterable[str] | None = None) -> errors.AwsError:
    kind = kind_of(kind)
    idents = [ident] if isinstance(ident, str) else list(ident or [])
    shown = ", ".join(idents)
    many = len(idents) > 1
    if kind == "instance":
        return errors.InvalidInstanceIDNotFound(
            f"The instance IDs '{shown}' do not exist" if many else f"The instance ID '{shown}' does not exist")
    if kind == "volume":
        return errors.InvalidVolumeNotFound(f"The volume{'s' if many else ''} '{shown}' "
                                            f"do{'' if many else 'es'} not exist.")
    if kind == "snapshot":
        return errors.InvalidSnapshotNotFound(f"The snapshot{'s' if many else ''} '{shown}' "
                                              f"do{'' if many else 'es'} not exist.")
    if kind == "image":
        return errors.InvalidAMIIDNotFound(f"The image id '[{shown}]' does not exist")
    if kind == "key-pair":
        return errors.InvalidKeyPairNotFound(f"The key pair '{shown}' does not exist")
    if kind == "security-group":
        return errors.InvalidGroupNotFound(f"The security group '{shown}' does not exist")
    if kind == "elastic-ip":
        if idents and not idents[0].startswith("eipalloc-"):
            return errors.InvalidAddressNotFound(f"Address '{shown}' not found.")
        return errors.InvalidAllocationIDNotFound(f"The allocation ID '{shown}' does not exist")
    if kind == "association":
        return errors.InvalidAssociationIDNotFound(f"The association ID '{shown}' does not exist")
    if kind == "security-group-rule":
        return errors.InvalidPermissionNotFound()
    if kind == "flavor":
        return errors.InvalidParameterValue(f"Invalid value '{shown}' for InstanceType.")
    if kind == "zone":
        return errors.InvalidParameterValue(f"Invalid availability zone: [{shown}]")
    vpc_kind = _VPC_NOT_FOUND.get(kind)
    if vpc_kind is not None:
        cls, noun = vpc_kind
        return cls(f"The {noun} '{shown}' does not exist" if not many else f"The {noun}s '{shown}' do not exist")
    return errors.InvalidParameterValue(f"The resource '{shown}' does not exist.")


# VPC resource kinds (gateway/ec2/vpcs.py and siblings): their NotFound class and how AWS names them.
_VPC_NOT_FOUND = {
    "vpc": (errors.InvalidVpcIDNotFound, "vpc ID"), "subnet": (errors.InvalidSubnetIDNotFound, "subnet ID"),
    "route-table": (errors.InvalidRouteTableIDNotFound, "routeTable ID"),
    "internet-gateway": (errors.InvalidInternetGatewayIDNotFound, "internetGateway ID"),
    "network-interface": (errors.InvalidNetworkInterfaceIDNotFound, "networkInterface ID"),
    "dhcp-options": (errors.InvalidDhcpOptionIDNotFound, "dhcpOption ID"),
    "nat-gateway": (errors.InvalidNatGatewayIDNotFound, "natGateway ID"),
    "attachment": (errors.InvalidAttachmentIDNotFound, "attachment ID"),
    "route-table-association": (errors.InvalidAssociationIDNotFound, "association ID"),
    "customer-gateway": (errors.InvalidCustomerGatewayIDNotFound, "customerGateway ID"),
    "launch-template": (errors.InvalidLaunchTemplateIdNotFound, "launch template ID"),
}


def malformed(kind: str, ident: str) -> errors.AwsError:
    kind = kind_of(kind)
    prefix = ids_mod.PREFIXES.get(kind, "")
    message = f'Invalid id: "{ident}" (expecting "{prefix}-...")'
    cls = {"instance": errors.InvalidInstanceIDMalformed, "volume": errors.InvalidVolumeIDMalformed,
           "snapshot": errors.InvalidSnapshotIDMalformed, "image": errors.InvalidAMIIDMalformed,
           "security-group": errors.InvalidGroupIdMalformed,
           "elastic-ip": errors.InvalidAllocationIDMalformed}.get(kind)
    if cls is None and kind in _VPC_NOT_FOUND:
        return not_found(kind, ident)  # AWS answers e.g. InvalidInternetGatewayID.NotFound for `gw-1`
    if cls is None:
        return errors.InvalidID(f"The ID '{ident}' is not valid")
    return cls(message)


def _duplicate(kind: str, ident: str | None, message: str) -> errors.AwsError:
    if kind == "key-pair":
        return errors.InvalidKeyPairDuplicate(f"The keypair '{ident}' already exists.")
    if kind == "security-group":
        return errors.InvalidGroupDuplicate(f"The security group '{ident}' already exists")
    if kind == "security-group-rule":
        return errors.InvalidPermissionDuplicate(message or "The specified rule already exists")
    if kind == "image":
        return errors.InvalidAMINameDuplicate(f"AMI name {ident} is already in use by AMI")
    if kind == "subnet":  # the cloud found the CIDR overlapping another subnet of the VPC
        return errors.InvalidSubnetConflict(message or f"The CIDR '{ident}' conflicts with another subnet")
    return errors.InvalidParameterValue(message or f"'{ident}' already exists")


def _conflict(kind: str, ident: str | None, message: str) -> errors.AwsError:
    if kind == "volume":
        return errors.VolumeInUse(f"Volume {ident} is currently attached" if ident else message)
    if kind == "instance":
        return errors.IncorrectInstanceState(
            f"The instance '{ident}' is not in a state from which the requested operation can be performed."
            if ident else message)
    if kind in ("security-group", "vpc", "subnet", "route-table", "internet-gateway", "dhcp-options"):
        return errors.DependencyViolation(f"resource {ident} has a dependent object" if ident else message)
    if kind == "snapshot":
        return errors.InvalidSnapshotInUse(f"The snapshot {ident} is currently in use" if ident else message)
    if kind == "elastic-ip":
        return errors.InvalidIPAddressInUse(f"Address {ident} is in use." if ident else message)
    return errors.IncorrectState(message or f"'{ident}' is not in a state that allows this.")


def _quota(kind: str) -> errors.AwsError:
    if kind == "instance":
        return errors.InstanceLimitExceeded()
    if kind in ("volume", "snapshot"):
        return errors.VolumeLimitExceeded() if kind == "volume" else errors.SnapshotLimitExceeded()
    if kind == "elastic-ip":
        return errors.AddressLimitExceeded()
    if kind == "security-group":
        return errors.by_code("SecurityGroupLimitExceeded")("The maximum number of security groups "
                                                              "has been reached.")
    if kind == "security-group-rule":
        return errors.by_code("RulesPerSecurityGroupLimitExceeded")(
            "The maximum number of rules per security group has been reached.")
    if kind == "key-pair":
        return errors.by_code("ResourceLimitExceeded")("The maximum number of key pairs has been reached.")
    return errors.by_code("ResourceLimitExceeded")("A resource limit has been exceeded.")


@contextlib.contextmanager
def backend_errors(kind: str = "", ident: str | None = None, **others: str | None) -> Iterator[None]:
    """Translate neutral backend errors into the exact EC2 error for this resource kind.

    `kind`/`ident` name the resource acted on; `others` the other resources the call names (e.g.
    image="ami-…" on RunInstances), so a NotFound(kind="image") from the cloud reports the right id."""
    kind = kind_of(kind)
    named = {kind_of(k): v for k, v in others.items()}
    if kind:
        named[kind] = ident
    try:
        yield
    except base.NotFound as e:
        missing = kind_of(e.kind) if e.kind else kind
        raise not_found(missing, named.get(missing)) from None
    except base.AlreadyExists as e:
        raise _duplicate(kind, ident, str(e)) from None
    except base.Conflict as e:
        raise _conflict(kind, ident, str(e)) from None
    except base.QuotaExceeded:
        raise _quota(kind) from None
    except base.Forbidden:
        raise errors.UnauthorizedOperation() from None
    except base.InvalidInput as e:
        raise errors.InvalidParameterValue(str(e)) from None
    except base.NotSupported as e:
        raise errors.Unsupported(str(e) or "The requested configuration is not supported.") from None
    except base.Unavailable:
        raise errors.ServiceUnavailable() from None
