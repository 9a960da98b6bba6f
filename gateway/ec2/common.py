"""What every EC2 handler module shares: registration, the caller's compute service, THE mapping of
neutral backend errors to exact EC2 errors per resource kind, id resolution and small output helpers.

Handlers are `async def handler(ctx) -> dict` returning the botocore output shape for the operation;
`@ec2_handler("RunInstances")` registers one (with DryRun support when the input has DryRun). The codec
does the wire format; handlers never write XML.

Resource kinds are the gateway's (the keys of `ids.PREFIXES`: "instance", "volume", "security-group"...);
a backend's `NotFound(kind=...)` may use its own words ("server", "group", "keypair", "address"), which
`KIND_ALIASES` folds onto them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from backends import base
from backends.compute import Compute

from ..context import RequestContext
from ..protocol import errors
from ..protocol.models import service_model
from ..registry import Handler, default_registry
from . import ids as ids_mod
from . import tags as tags_mod
from .ids import IdMap
from .tags import Tags

# Gateway-held EC2 state (gateway/store). Keys are "<account>/<ec2 id or name>".
NS_INSTANCE = "ec2:instance"      # instance attributes the cloud can't hold (reservation, DisableApiTermination...)
NS_TERMINATED = "ec2:terminated"  # terminated instances, kept visible until "until" (epoch seconds)
NS_KEYPAIR = "ec2:keypair"        # AWS fingerprint and key pair id of a key created/imported here
NS_ADDRESS = "ec2:address"        # domain (standard|vpc) of an allocated address
NS_IMAGE = "ec2:image"            # image attributes the cloud can't hold
# volumes DeleteVolume deleted that the cloud keeps while they have snapshots (deferred_volumes.py): gone
# for every EC2 action. Not cached: a delete on one replica must hide the volume on every other at once.
NS_VOLUME_DELETED = "ec2:volume-deleted"

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


# ---- registration and the caller's compute service -------------------------------------------------------
def ec2_handler(operation: str) -> Callable[[Handler], Handler]:
    """Register an EC2 handler in the default registry; DryRun is declared when the input has it."""
    shape = service_model("ec2").operation_model(operation).input_shape
    dry_run = shape is not None and "DryRun" in shape.members
    return default_registry().register("ec2", operation, dry_run=dry_run)


async def compute(ctx: RequestContext) -> Compute:
    """The caller's compute service (one per request, cached on the context)."""
    cached = getattr(ctx, "_compute", None)
    if cached is not None:
        return cached
    backend = ctx.gateway.backend
    if backend is None:
        raise errors.Unsupported("No compute backend is configured.")
    with backend_errors():
        service = await backend.compute(ctx.identity)
    ctx._compute = service  # type: ignore[attr-defined]
    return service


def account(ctx: RequestContext) -> str:
    assert ctx.identity is not None
    return ctx.identity.account_id


def tags_of(ctx: RequestContext) -> Tags:
    return Tags(ctx.gateway.store, account(ctx))


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


# ---- ids ---------------------------------------------------------------------------------------------------
# EC2 id <-> backend id mappings never change once recorded, so they are cached for the process: a warm
# DescribeInstances costs no store round trip per item.
_FORWARD: dict[tuple[str, str], str] = {}
_REVERSE: dict[str, tuple[str, str]] = {}
_CACHE_MAX = 200_000


def _remember(kind: str, backend_id: str, ec2_id: str) -> None:
    if len(_FORWARD) > _CACHE_MAX:
        _FORWARD.clear()
        _REVERSE.clear()
    _FORWARD[(kind, backend_id)] = ec2_id
    _REVERSE[ec2_id] = (kind, backend_id)


async def ec2_id(ctx: RequestContext, kind: str, backend_id: str | None) -> str | None:
    if backend_id is None:
        return None
    known = _FORWARD.get((kind, backend_id))
    if known is None:
        known = await IdMap(ctx.gateway.store).ec2_id(kind, backend_id)
        _remember(kind, backend_id, known)
    return known


async def backend_id(ctx: RequestContext, kind: str, ec2_id_: str) -> str | None:
    """The backend id behind a syntactically valid EC2 id, or None."""
    known = _REVERSE.get(ec2_id_)
    if known is not None:
        return known[1] if known[0] == kind else None
    found = await IdMap(ctx.gateway.store).backend_id(kind, ec2_id_)
    if found is not None:
        _remember(kind, found, ec2_id_)
    return found


def check_id(kind: str, ident: str) -> None:
    if not ids_mod.is_valid(ident, kind):
        raise malformed(kind, ident)


async def resolve(ctx: RequestContext, kind: str, ident: str) -> str:
    """EC2 id -> backend id: Malformed for a bad id, the kind's NotFound for an unknown one."""
    check_id(kind, ident)
    found = await backend_id(ctx, kind, ident)
    if found is None or await _deleted(ctx, kind, [ident]):
        raise not_found(kind, ident)
    return found


async def resolve_many(ctx: RequestContext, kind: str, idents: list[str]) -> dict[str, str]:
    """Several EC2 ids -> {ec2 id: backend id}; every unknown one is named in one NotFound."""
    for ident in idents:
        check_id(kind, ident)
    out, missing = {}, []
    deleted = await _deleted(ctx, kind, idents)
    for ident in dict.fromkeys(idents):
        found = await backend_id(ctx, kind, ident)
        if found is None or ident in deleted:
            missing.append(ident)
        else:
            out[ident] = found
    if missing:
        raise not_found(kind, missing)
    return out


async def _deleted(ctx: RequestContext, kind: str, idents: list[str]) -> set[str]:
    """Those of the volume ids `idents` that DeleteVolume deleted while the cloud keeps them: unknown to EC2.
    The one lookup every volume action goes through, so none of them can see such a volume."""
    if kind != "volume" or not idents:
        return set()
    store, prefix = ctx.gateway.store, f"{account(ctx)}/"
    if len(idents) == 1:
        return set(idents) if await store.get(NS_VOLUME_DELETED, prefix + idents[0]) is not None else set()
    return {k[len(prefix):] for k, _ in await store.scan(NS_VOLUME_DELETED, prefix)} & set(idents)


# ---- output helpers ------------------------------------------------------------------------------------------
def iso(value: dt.datetime | str | None) -> str | None:
    """A JSON-safe timestamp (the codec renders it; ClientToken results must be JSON-serializable)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(dt.datetime.now(dt.UTC))  # type: ignore[return-value]


def compact(item: dict[str, Any]) -> dict[str, Any]:
    """Drop None members (the codec would skip them; results stay small)."""
    return {k: v for k, v in item.items() if v is not None}


def public(item: dict[str, Any]) -> dict[str, Any]:
    """An item as the output shape has it: without None members and the private `_` members that
    handlers keep for filters and follow-up work (server id, reservation, attributes...)."""
    return {k: v for k, v in item.items() if v is not None and not k.startswith("_")}


def bool_value(value: Any) -> bool:
    """An AttributeValue/boolean as EC2 accepts it in `Value` strings."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise errors.InvalidParameterValue(f"Invalid value '{value}' for boolean.")


def tag_specs(params: dict[str, Any], *resource_types: str) -> dict[str, list[dict[str, str]]]:
    """TagSpecifications of a create call, validated, by resource type."""
    out: dict[str, list[dict[str, str]]] = {}
    for spec in params.get("TagSpecifications") or []:
        rtype = spec.get("ResourceType")
        if not rtype:
            raise errors.MissingParameter("The request must contain the parameter ResourceType")
        if rtype not in resource_types:
            raise errors.InvalidParameterValue(
                f"'{rtype}' is not a valid taggable resource type for this operation.")
        tag_list = spec.get("Tags") or []
        tags_mod.validate(tag_list)
        out.setdefault(rtype, []).extend(tag_list)
    for tag_list in out.values():
        if len({t["Key"] for t in tag_list}) > tags_mod.MAX_TAGS:
            raise errors.TagLimitExceeded(
                f"The maximum number of tags per resource ({tags_mod.MAX_TAGS}) has been exceeded")
    return out


async def apply_tags(ctx: RequestContext, ec2_ids: Iterable[str], tag_list: list[dict[str, str]] | None
                     ) -> list[dict[str, str]] | None:
    """Tag new resources from their TagSpecifications; the tags as the output shape shows them."""
    if not tag_list:
        return None
    await tags_of(ctx).add(list(ec2_ids), tag_list)
    return tags_mod.as_list({t["Key"]: t.get("Value") or "" for t in tag_list})


async def tag_map(ctx: RequestContext) -> dict[str, list[dict[str, str]]]:
    """Every tag of the caller's account in one store scan: {ec2 id: [{"Key", "Value"}]}."""
    return {rid: tags_mod.as_list(t) for rid, t in await tags_of(ctx).all()}
