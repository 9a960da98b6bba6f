"""Launch templates: Create/Describe/Modify/DeleteLaunchTemplate, Create/Describe/DeleteLaunchTemplateVersions,
and RunInstances from a template — held by the gateway (a cloud has no such thing), per account.

A template is one state record `ec2:launch-template` "<account>/<lt id>" holding its versions; its name is
claimed atomically in `ec2:launch-template-name` (names are unique per account, across replicas). A new
version is a compare-and-set on the record, so two replicas adding versions at once get two numbers.
RunInstances takes the version's data as defaults and its own parameters over them, as EC2 does.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from botocore.model import Shape

from ..context import RequestContext
from ..protocol import errors
from ..protocol.models import service_model
from ..session import session
from . import filters, paging
from .lookups import launch_templates as lt
from .output import compact, tag_specs
from .records import key
from .registration import ec2_handler
from .services import account, tags_of
from .tags import as_list

MAX_VERSIONS = 10_000
_FILTERS = {"launch-template-name": filters.field("LaunchTemplateName"),
            "create-time": filters.field("CreateTime")}
_VERSION_FILTERS = {"is-default-version": lambda v: str(v.get("DefaultVersion")).lower(),
                    "image-id": filters.field("LaunchTemplateData", "ImageId"),
                    "instance-type": filters.field("LaunchTemplateData", "InstanceType"),
                    "key-name": filters.field("LaunchTemplateData", "KeyName")}


def _shape(name: str) -> Shape:
    return service_model("ec2").shape_for(name)


# ---- the record ----------------------------------------------------------------------------------------------
def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _created_by(ctx: RequestContext) -> str:
    ident = ctx.identity
    assert ident is not None
    name = ident.attributes.get("user_name") or ident.display_name or ident.access_key
    return f"arn:aws:iam::{ident.account_id}:user/{name}"


def _validate_data(data: dict[str, Any] | None) -> dict[str, Any]:
    if data is None:
        raise errors.MissingParameter("The request must contain the parameter LaunchTemplateData")
    tag_specs(data, "instance", "volume", "network-interface", "spot-instances-request")
    return data


def _template_out(lt_id: str, record: dict[str, Any], tags: dict[str, str] | None = None) -> dict[str, Any]:
    return compact({"LaunchTemplateId": lt_id, "LaunchTemplateName": record["name"],
                    "CreateTime": dt.datetime.fromisoformat(record["created"]), "CreatedBy": record["created_by"],
                    "DefaultVersionNumber": record["default"], "LatestVersionNumber": record["latest"],
                    "Tags": as_list(tags) if tags else None})


def _version_out(lt_id: str, record: dict[str, Any], number: int) -> dict[str, Any]:
    v = record["versions"][str(number)]
    return compact({"LaunchTemplateId": lt_id, "LaunchTemplateName": record["name"], "VersionNumber": number,
                    "VersionDescription": v.get("description"),
                    "CreateTime": dt.datetime.fromisoformat(v["created"]), "CreatedBy": v["created_by"],
                    "DefaultVersion": number == record["default"],
                    "LaunchTemplateData": lt.fit(v["data"], _shape("ResponseLaunchTemplateData"))})


# ---- handlers ------------------------------------------------------------------------------------------------
@ec2_handler("CreateLaunchTemplate")
async def create_launch_template(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    name = lt.check_name(p.get("LaunchTemplateName"))
    data = _validate_data(p.get("LaunchTemplateData"))
    tagging = tag_specs(p, "launch-template")
    store = session(ctx).store
    lt_id = "lt-" + secrets.token_hex(9)[:17]
    if await store.put_if_absent(lt.NS_TEMPLATE_NAME, key(ctx, name), lt_id) is not None:
        raise errors.InvalidLaunchTemplateNameAlreadyExists("Launch template name already in use.")
    now, by = _now(), _created_by(ctx)
    record = {"name": name, "created": now, "created_by": by, "default": 1, "latest": 1,
              "versions": {"1": {"data": data, "description": p.get("VersionDescription"), "created": now,
                                 "created_by": by}}}
    await store.put(lt.NS_TEMPLATE, key(ctx, lt_id), record)
    tags = {t["Key"]: t.get("Value") or "" for t in tagging.get("launch-template", [])}
    if tags:
        await tags_of(ctx).add([lt_id], tagging["launch-template"])
    return {"LaunchTemplate": _template_out(lt_id, record, tags)}


@ec2_handler("CreateLaunchTemplateVersion")
async def create_launch_template_version(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    lt_id, record = await lt.find(ctx, p.get("LaunchTemplateId"), p.get("LaunchTemplateName"))
    data = _validate_data(p.get("LaunchTemplateData"))
    if p.get("SourceVersion"):
        source = record["versions"][str(lt.resolve_version(lt_id, record, p["SourceVersion"]))]["data"]
        data = {**source, **data}  # the new version's members over the source's
    made: dict[str, int] = {}

    def add(current: dict[str, Any] | None) -> dict[str, Any]:
        if current is None:  # deleted meanwhile
            raise lt.not_found(lt_id)
        number = int(current["latest"]) + 1
        if number > MAX_VERSIONS:
            raise errors.LaunchTemplateVersionLimitExceeded()
        current["versions"][str(number)] = {"data": data, "description": p.get("VersionDescription"),
                                            "created": _now(), "created_by": _created_by(ctx)}
        current["latest"] = made["number"] = number
        return current

    record = await session(ctx).store.update(lt.NS_TEMPLATE, key(ctx, lt_id), add)
    return {"LaunchTemplateVersion": _version_out(lt_id, record, made["number"])}


@ec2_handler("ModifyLaunchTemplate")
async def modify_launch_template(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    lt_id, record = await lt.find(ctx, p.get("LaunchTemplateId"), p.get("LaunchTemplateName"))
    if p.get("DefaultVersion") is not None:
        number = lt.resolve_version(lt_id, record, p["DefaultVersion"])

        def set_default(current: dict[str, Any] | None) -> dict[str, Any]:
            if current is None or str(number) not in current["versions"]:
                raise errors.InvalidLaunchTemplateIdVersionNotFound(
                    f"Could not find launch template version {number} for launch template {lt_id}.")
            current["default"] = number
            return current

        record = await session(ctx).store.update(lt.NS_TEMPLATE, key(ctx, lt_id), set_default)
    return {"LaunchTemplate": _template_out(lt_id, record)}


@ec2_handler("DeleteLaunchTemplate")
async def delete_launch_template(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    lt_id, record = await lt.find(ctx, p.get("LaunchTemplateId"), p.get("LaunchTemplateName"))
    store = session(ctx).store
    await store.delete(lt.NS_TEMPLATE, key(ctx, lt_id))
    await store.delete(lt.NS_TEMPLATE_NAME, key(ctx, record["name"]))
    await tags_of(ctx).remove([lt_id], None)
    return {"LaunchTemplate": _template_out(lt_id, record)}


@ec2_handler("DeleteLaunchTemplateVersions")
async def delete_launch_template_versions(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    lt_id, record = await lt.find(ctx, p.get("LaunchTemplateId"), p.get("LaunchTemplateName"))
    done: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []

    def drop(current: dict[str, Any] | None) -> dict[str, Any]:
        done.clear()
        failed.clear()
        for version in p.get("Versions") or []:
            base = {"LaunchTemplateId": lt_id, "LaunchTemplateName": record["name"]}
            if not str(version).isdigit() or current is None or str(int(version)) not in current["versions"]:
                failed.append({**base, "VersionNumber": int(version) if str(version).isdigit() else 0,
                               "ResponseError": {"Code": "launchTemplateVersionDoesNotExist",
                                                 "Message": "The specified launch template version does not "
                                                            "exist."}})
            elif int(version) == int(current["default"]):
                failed.append({**base, "VersionNumber": int(version),
                               "ResponseError": {"Code": "launchTemplateVersionIsDefault",
                                                 "Message": "You cannot delete the default version of a "
                                                            "launch template."}})
            else:
                del current["versions"][str(int(version))]
                done.append({**base, "VersionNumber": int(version)})
        return current or record

    await session(ctx).store.update(lt.NS_TEMPLATE, key(ctx, lt_id), drop)
    return compact({"SuccessfullyDeletedLaunchTemplateVersions": done or None,
                    "UnsuccessfullyDeletedLaunchTemplateVersions": failed or None})


@ec2_handler("DescribeLaunchTemplates")
async def describe_launch_templates(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    filters.validate(p.get("Filters"), _FILTERS)
    max_results = paging.check_max_results(p, minimum=1, maximum=200)
    store, prefix = session(ctx).store, f"{account(ctx)}/"
    records = {k[len(prefix):]: v for k, v in await store.scan(lt.NS_TEMPLATE, prefix)}
    wanted_ids, wanted_names = p.get("LaunchTemplateIds") or [], p.get("LaunchTemplateNames") or []
    for lt_id in wanted_ids:
        if lt_id not in records:
            raise lt.not_found(lt_id) if lt.ID.match(lt_id) else lt.malformed(lt_id)
    names = {r["name"] for r in records.values()}
    if any(n not in names for n in wanted_names):
        raise errors.InvalidLaunchTemplateNameNotFound(
            "At least one of the launch templates specified in the request does not exist.")
    tags = dict(await tags_of(ctx).all())
    items = [_template_out(i, r, tags.get(i)) for i, r in records.items()
             if (not wanted_ids or i in wanted_ids) and (not wanted_names or r["name"] in wanted_names)]
    items = filters.apply(items, p.get("Filters"), _FILTERS)
    chunk, token = paging.page("DescribeLaunchTemplates", items, lambda t: t["LaunchTemplateId"], max_results,
                               p.get("NextToken"))
    return compact({"LaunchTemplates": chunk, "NextToken": token})


@ec2_handler("DescribeLaunchTemplateVersions")
async def describe_launch_template_versions(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.params
    lt_id, record = await lt.find(ctx, p.get("LaunchTemplateId"), p.get("LaunchTemplateName"))
    filters.validate(p.get("Filters"), _VERSION_FILTERS)
    max_results = paging.check_max_results(p, minimum=1, maximum=200)
    if p.get("Versions"):
        numbers = sorted({lt.resolve_version(lt_id, record, v) for v in p["Versions"]})
    else:
        numbers = sorted(int(n) for n in record["versions"])
        lo, hi = p.get("MinVersion"), p.get("MaxVersion")
        numbers = [n for n in numbers if (lo is None or n >= int(lo)) and (hi is None or n <= int(hi))]
    items = filters.apply([_version_out(lt_id, record, n) for n in numbers], p.get("Filters"), _VERSION_FILTERS)
    chunk, token = paging.page("DescribeLaunchTemplateVersions", items, lambda v: f"{v['VersionNumber']:010d}",
                               max_results, p.get("NextToken"))
    return compact({"LaunchTemplateVersions": chunk, "NextToken": token})
