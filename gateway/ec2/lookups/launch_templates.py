"""Launch templates as the gateway holds them (a cloud has no such thing): find one by id or name, resolve a
version, and the RunInstances parameters a template gives. Handlers: gateway/ec2/launch_templates.py."""

from __future__ import annotations

import re
from typing import Any

from botocore.model import Shape

from ...context import RequestContext
from ...protocol import errors
from ...protocol.models import service_model
from ...session import session
from ..records import key

NS_TEMPLATE = "ec2:launch-template"            # "<account>/<lt id>" -> template record (versions inside)
NS_TEMPLATE_NAME = "ec2:launch-template-name"  # "<account>/<name>" -> lt id
NAME = re.compile(r"^[a-zA-Z0-9().\-/_]{3,128}$")
ID = re.compile(r"^lt-[0-9a-f]{17}$")


def fit(value: Any, shape: Shape) -> Any:
    """`value` reduced to what `shape` can hold (members it lacks dropped, recursively): template data is
    kept as given and re-shaped for the answer it goes into (a response, or RunInstances' input)."""
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            return None
        out = {}
        for name, member in shape.members.items():
            if value.get(name) is not None:
                fitted = fit(value[name], member)
                if fitted is not None:
                    out[name] = fitted
        return out
    if shape.type_name == "list":
        return [v for v in (fit(item, shape.member) for item in value or []) if v is not None]
    return value


def check_name(name: str | None) -> str:
    if not name:
        raise errors.MissingParameter("The request must contain the parameter LaunchTemplateName")
    if not NAME.match(name):
        raise errors.InvalidLaunchTemplateNameMalformed(
            "A launch template name must be between 3 and 128 characters, and may contain letters, numbers, "
            "and the following characters: - ( ) . / _.'")
    return name


def not_found(lt_id: str) -> errors.AwsError:
    return errors.InvalidLaunchTemplateIdNotFound(f"The specified launch template, with template ID {lt_id}, "
                                                  "does not exist.")


def malformed(lt_id: str) -> errors.AwsError:
    return errors.InvalidLaunchTemplateIdMalformed(f"The specified ID for the launch template ({lt_id}) is not "
                                                   "valid. Specify a valid ID and try again.")


async def find(ctx: RequestContext, lt_id: str | None, name: str | None) -> tuple[str, dict[str, Any]]:
    """(id, record) of the template named by id or name (exactly one of them)."""
    if lt_id and name:
        raise errors.InvalidParameterCombination("Specify either a launch template ID or a launch template name "
                                                 "in the request, but not both.")
    store = session(ctx).store
    if name:
        check_name(name)
        lt_id = await store.get(NS_TEMPLATE_NAME, key(ctx, name))
        if lt_id is None:
            raise errors.InvalidLaunchTemplateNameNotFound(
                "At least one of the launch templates specified in the request does not exist.")
    elif lt_id:
        if not ID.match(lt_id):
            raise malformed(lt_id)
    else:
        raise errors.MissingParameter("The request must contain the parameter LaunchTemplateName or "
                                      "LaunchTemplateId")
    record = await store.get(NS_TEMPLATE, key(ctx, lt_id))
    if record is None:
        raise not_found(lt_id)
    return lt_id, record


async def existing(ctx: RequestContext, wanted: list[str]) -> set[str]:
    """The caller's templates among these ids (CreateTags/DeleteTags)."""
    store = session(ctx).store
    return {w for w in wanted if await store.get(NS_TEMPLATE, key(ctx, w)) is not None}


def resolve_version(lt_id: str, record: dict[str, Any], version: str | None) -> int:
    """A version as EC2 names them: `$Latest`, `$Default` (also when none is given) or a number."""
    if version in (None, "", "$Default"):
        return int(record["default"])
    if version == "$Latest":
        return int(record["latest"])
    if not str(version).isdigit() or str(int(version)) not in record["versions"]:
        raise errors.InvalidLaunchTemplateIdVersionNotFound(
            f"Could not find launch template version {version} for launch template {lt_id}.")
    return int(version)


async def run_parameters(ctx: RequestContext, params: dict[str, Any]
                         ) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """RunInstances parameters with a LaunchTemplate's data under them (the request's own values win; tag
    specifications of both are kept), and the tags EC2 itself puts on instances launched from a template
    (tools find the template by them). Without LaunchTemplate, the parameters as given and no tags."""
    spec = params.get("LaunchTemplate")
    if not spec:
        return params, []
    lt_id, record = await find(ctx, spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName"))
    number = resolve_version(lt_id, record, spec.get("Version"))
    run_input = service_model("ec2").operation_model("RunInstances").input_shape
    data = fit(record["versions"][str(number)]["data"], run_input) or {}
    merged = {**data, **{k: v for k, v in params.items() if k != "LaunchTemplate"}}
    if data.get("TagSpecifications") and params.get("TagSpecifications"):
        merged["TagSpecifications"] = data["TagSpecifications"] + params["TagSpecifications"]
    return merged, [{"Key": "aws:ec2launchtemplate:id", "Value": lt_id},
                    {"Key": "aws:ec2launchtemplate:version", "Value": str(number)}]
