"""Helpers shared by the `ec2` suite (no scenarios here): what the endpoint offers (image, instance type,
zone), bounded waits, and cleanup that runs whatever happens.

The suite runs against any EC2 endpoint (real AWS, moto, cloudgate on OpenStack or CloudStack). What it
needs from the endpoint is discovered, or given in the environment (run.py has no EC2 options):

    COMPAT_EC2_IMAGE_ID       machine image to launch (default: discovered with DescribeImages)
    COMPAT_EC2_INSTANCE_TYPE  instance type (default t2.micro)
    COMPAT_EC2_ZONE           availability zone (default: the first available one)
    COMPAT_EC2_WAIT           seconds any one wait may take (default 120); state is polled every 2 s

Every resource a scenario creates is registered with `cleanup` *before* the create call (so a create
that half-worked is still cleaned), and removed in `finally`. Every launched instance carries the tag
`cgc-compat=<scenario marker>`, so cleanup also finds instances whose ids a failed call never returned.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from harness import Ctx, Fail, Skip, Target, check
from harness.expect import ErrorInfo, outcome_of

SUITE = "ec2"
MARKER_KEY = "cgc-compat"
WAIT = float(os.environ.get("COMPAT_EC2_WAIT", "120"))
POLL = 2  # seconds between two polls of a state: gentle on any endpoint, quick enough locally
# Well-formed ids that exist nowhere (17 hex digits, as AWS issues them).
ABSENT = {"instance": "i-0123456789abcdef0", "image": "ami-0123456789abcdef0", "volume": "vol-0123456789abcdef0",
          "snapshot": "snap-0123456789abcdef0", "group": "sg-0123456789abcdef0",
          "allocation": "eipalloc-0123456789abcdef0"}
ID_RE = {kind: re.compile(rf"^{prefix}-[0-9a-f]{{8}}([0-9a-f]{{9}})?$") for kind, prefix in (
    ("instance", "i"), ("reservation", "r"), ("volume", "vol"), ("snapshot", "snap"), ("group", "sg"),
    ("allocation", "eipalloc"), ("association", "eipassoc"), ("keypair", "key"), ("image", "ami"))}


# ---- the endpoint's offer ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Env:
    image_id: str
    instance_type: str
    zone: str


_ENV: dict[Target, Env | str] = {}
_PATIENT: dict[Target, Any] = {}


def patient(ctx: Ctx) -> Any:
    """An EC2 client that retries (standard mode): for waits and cleanup, never for the call under test."""
    t = ctx.target
    if t not in _PATIENT:
        config = Config(retries={"total_max_attempts": 4, "mode": "standard"}, connect_timeout=t.timeout,
                        read_timeout=max(t.timeout, 30))
        _PATIENT[t] = boto3.session.Session().client(
            "ec2", endpoint_url=t.ec2_endpoint, region_name=t.region, config=config,
            aws_access_key_id=t.access_key, aws_secret_access_key=t.secret_key)
    return _PATIENT[t]


def _pick_image(images: list[dict]) -> str | None:
    usable = [i for i in images if i.get("State", "available") == "available"
              and i.get("ImageType", "machine") == "machine" and i.get("Architecture", "x86_64") == "x86_64"]
    # A small test image when there is one (devclouds ship cirros), else a stable choice.
    usable.sort(key=lambda i: ("cirros" not in (i.get("Name") or "").lower(), i["ImageId"]))
    return usable[0]["ImageId"] if usable else None


def _discover(ctx: Ctx) -> Env | str:
    """The endpoint's offer; a string says why there is none. image_id "" means "no image" (see
    `image_problem`)."""
    c = patient(ctx)
    zone = os.environ.get("COMPAT_EC2_ZONE")
    if not zone:
        try:
            zones = c.describe_availability_zones().get("AvailabilityZones", [])
        except (ClientError, BotoCoreError) as exc:
            return f"DescribeAvailabilityZones failed: {exc}"
        usable = [z["ZoneName"] for z in zones if z.get("State", "available") == "available"]
        if not usable:
            return "DescribeAvailabilityZones lists no available zone"
        zone = usable[0]
    instance_type = os.environ.get("COMPAT_EC2_INSTANCE_TYPE", "t2.micro")
    image = os.environ.get("COMPAT_EC2_IMAGE_ID")
    if not image:
        machine = [{"Name": "image-type", "Values": ["machine"]}, {"Name": "state", "Values": ["available"]}]
        attempts: list[dict[str, Any]] = [{"Owners": ["self"], "Filters": machine}]
        if "amazonaws.com" in ctx.target.ec2_endpoint:  # never list every public AMI of real AWS
            attempts.append({"Owners": ["amazon"], "Filters": machine + [
                {"Name": "name", "Values": ["al2023-ami-2023.*-kernel-6.1-x86_64"]}]})
        else:
            attempts.append({"Filters": machine})
        for kwargs in attempts:
            try:
                image = _pick_image(c.describe_images(**kwargs).get("Images", []))
            except (ClientError, BotoCoreError) as exc:
                _IMAGE_PROBLEM[ctx.target] = f"DescribeImages failed: {exc}"
                break
            if image:
                break
        if not image:
            _IMAGE_PROBLEM.setdefault(ctx.target, "no available machine image (set COMPAT_EC2_IMAGE_ID)")
    return Env(image or "", instance_type, zone)


_IMAGE_PROBLEM: dict[Target, str] = {}


def ec2_env(ctx: Ctx, *, image: bool = True) -> Env:
    """Image, instance type and zone to use; Skip when the endpoint offers no zone, or no image to
    launch when `image`."""
    if ctx.target not in _ENV:
        _ENV[ctx.target] = _discover(ctx)
    env = _ENV[ctx.target]
    if isinstance(env, str):
        raise Skip(env)
    if image and not env.image_id:
        raise Skip(_IMAGE_PROBLEM.get(ctx.target, "no machine image"))
    return env


# ---- small assertions -------------------------------------------------------------------------------
def unique(tag: str) -> str:
    return f"cgc-{tag}-{uuid.uuid4().hex[:10]}"


def call(what: str, fn: Callable[[], Any]) -> Any:
    """Run an SDK call that must succeed; its AWS error becomes a Fail naming the step."""
    try:
        return fn()
    except ClientError as err:
        meta, detail = err.response.get("ResponseMetadata", {}), err.response.get("Error", {})
        raise Fail(f"{what} failed: {detail.get('Code')} {meta.get('HTTPStatusCode')} "
                   f"({(detail.get('Message') or '')[:160]!r})") from None


def check_error(code: str, status: int, info: ErrorInfo | None, what: str = "") -> ErrorInfo:
    prefix = f"{what}: " if what else ""
    if info is None:
        raise Fail(f"{prefix}expected {code} {status}, got success")
    if info.code != code or info.status != status:
        raise Fail(f"{prefix}expected {code} {status}, got {info.describe()}")
    return info


def expect(code: str, status: int, what: str, fn: Callable[[], Any]) -> ErrorInfo:
    """`expect_error` whose failure message says which step it was."""
    return check_error(code, status, outcome_of(fn), what)


def check_id(kind: str, value: Any, what: str) -> None:
    check(isinstance(value, str) and ID_RE[kind].match(value),
          f"{what} is {value!r}, not an AWS-style {kind} id ({ID_RE[kind].pattern})")


def tags_of(item: dict) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in item.get("Tags", []) or []}


# ---- waiting ----------------------------------------------------------------------------------------
def wait(ctx: Ctx, waiter: str, what: str, **kwargs: Any) -> None:
    """A boto3 waiter, bounded by COMPAT_EC2_WAIT and polling every POLL seconds."""
    attempts = max(1, int(WAIT // POLL))
    try:
        patient(ctx).get_waiter(waiter).wait(WaiterConfig={"Delay": POLL, "MaxAttempts": attempts}, **kwargs)
    except WaiterError as exc:
        raise Fail(f"{what}: waiter {waiter} gave up ({exc.kwargs.get('reason', exc)})") from None


def poll(what: str, probe: Callable[[], Any], *, timeout: float | None = None) -> Any:
    """Call `probe` every POLL seconds until it returns something truthy; Fail after the bound."""
    deadline = time.monotonic() + (WAIT if timeout is None else timeout)
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise Fail(f"{what}: still not true after {WAIT if timeout is None else timeout:.0f}s")
        time.sleep(POLL)


# ---- instances ----------------------------------------------------------------------------------------
def describe_instances(c: Any, *, ids: list[str] | None = None, filters: list[dict] | None = None,
                       max_pages: int = 50) -> list[dict]:
    """Every instance the call returns, following NextToken (bounded)."""
    kwargs: dict[str, Any] = {}
    if ids:
        kwargs["InstanceIds"] = ids
    if filters:
        kwargs["Filters"] = filters
    out: list[dict] = []
    for _ in range(max_pages):
        page = c.describe_instances(**kwargs)
        out += [i for r in page.get("Reservations", []) for i in r.get("Instances", [])]
        if not page.get("NextToken"):
            return out
        kwargs["NextToken"] = page["NextToken"]
    raise Fail(f"DescribeInstances still had a NextToken after {max_pages} pages")


def instance(c: Any, instance_id: str) -> dict:
    found = [i for i in describe_instances(c, ids=[instance_id]) if i["InstanceId"] == instance_id]
    check(len(found) == 1, f"DescribeInstances of {instance_id} returned {len(found)} instances")
    return found[0]


def state_of(c: Any, instance_id: str) -> str:
    return instance(c, instance_id)["State"]["Name"]


@dataclass
class Resources:
    """What a scenario made, undone in reverse order at the end whatever happened."""
    ctx: Ctx
    marker: str = field(default_factory=lambda: unique("run"))
    undo: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    instance_ids: list[str] = field(default_factory=list)

    def on_exit(self, what: str, fn: Callable[[], None]) -> None:
        self.undo.append((what, fn))

    def close(self) -> None:
        for _what, fn in reversed(self.undo):
            with contextlib.suppress(Exception):  # best effort: one failed undo must not stop the rest
                fn()
        self.undo.clear()

    # -- instances ---------------------------------------------------------------------------------
    def launch(self, *, count: int = 1, tags: dict[str, str] | None = None, client: Any = None,
               **extra: Any) -> dict:
        """RunInstances (MinCount = MaxCount = count) with the scenario's marker tag; the response."""
        env = ec2_env(self.ctx)
        c = client or self.ctx.client("ec2")
        all_tags = {MARKER_KEY: self.marker, **(tags or {})}
        kwargs = {"ImageId": env.image_id, "InstanceType": env.instance_type, "MinCount": count,
                  "MaxCount": count,
                  "TagSpecifications": [{"ResourceType": "instance",
                                         "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}],
                  **extra}
        return self.run_instances(client=c, **kwargs)

    def run_instances(self, *, client: Any = None, **kwargs: Any) -> dict:
        """RunInstances with exactly `kwargs` (e.g. from a launch template), its instances terminated at the
        end; give the scenario's marker tag in the TagSpecifications so a half-done launch is found too."""
        c = client or self.ctx.client("ec2")
        if not any(w == "instances" for w, _ in self.undo):
            self.on_exit("instances", self._terminate_all)
        resp = call("RunInstances", lambda: c.run_instances(**kwargs))
        self.instance_ids += [i["InstanceId"] for i in resp.get("Instances", [])]
        return resp

    def _terminate_all(self) -> None:
        c = patient(self.ctx)
        ids = set(self.instance_ids)
        with contextlib.suppress(ClientError, BotoCoreError, Fail):
            for inst in describe_instances(c, filters=[{"Name": f"tag:{MARKER_KEY}", "Values": [self.marker]}]):
                if inst["State"]["Name"] != "terminated":
                    ids.add(inst["InstanceId"])
        if ids:
            c.terminate_instances(InstanceIds=sorted(ids))

    # -- other resources -------------------------------------------------------------------------------
    def volume(self, *, zone: str, size: int | None = 1, **extra: Any) -> dict:
        """CreateVolume (size None: the snapshot's size)."""
        c = self.ctx.client("ec2")
        holder: dict[str, str] = {}
        self.on_exit("volume", lambda: _delete_volume(self.ctx, holder.get("id")))
        sized = {"Size": size} if size is not None else {}
        vol = call("CreateVolume", lambda: c.create_volume(AvailabilityZone=zone, **sized, **extra))
        holder["id"] = vol["VolumeId"]
        return vol

    def snapshot(self, volume_id: str, **extra: Any) -> dict:
        c = self.ctx.client("ec2")
        holder: dict[str, str] = {}
        self.on_exit("snapshot", lambda: holder.get("id") and patient(self.ctx).delete_snapshot(
            SnapshotId=holder["id"]))
        snap = call("CreateSnapshot", lambda: c.create_snapshot(VolumeId=volume_id, **extra))
        holder["id"] = snap["SnapshotId"]
        return snap

    def key_pair(self, name: str) -> None:
        self.on_exit("key pair", lambda: patient(self.ctx).delete_key_pair(KeyName=name))

    def security_group(self, name: str, description: str = "cloudgate compat-tests", **extra: Any) -> str:
        c = self.ctx.client("ec2")
        self.on_exit("security group", lambda: _delete_group(self.ctx, name))
        return call("CreateSecurityGroup", lambda: c.create_security_group(
            GroupName=name, Description=description, **extra))["GroupId"]

    def address(self) -> dict:
        c = self.ctx.client("ec2")
        holder: dict[str, str] = {}
        self.on_exit("address", lambda: _release_address(self.ctx, holder.get("id")))
        addr = call("AllocateAddress", lambda: c.allocate_address(Domain="vpc"))
        holder["id"] = addr.get("AllocationId", "")
        return addr


def _delete_volume(ctx: Ctx, volume_id: str | None) -> None:
    if not volume_id:
        return
    c = patient(ctx)
    try:
        vol = c.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    except (ClientError, BotoCoreError, IndexError):
        return
    if vol.get("Attachments"):
        with contextlib.suppress(ClientError, BotoCoreError):
            c.detach_volume(VolumeId=volume_id, InstanceId=vol["Attachments"][0].get("InstanceId"), Force=True)
        with contextlib.suppress(Fail):
            wait(ctx, "volume_available", "cleanup", VolumeIds=[volume_id])
    elif vol.get("State") == "creating":
        with contextlib.suppress(Fail):
            wait(ctx, "volume_available", "cleanup", VolumeIds=[volume_id])
    c.delete_volume(VolumeId=volume_id)


def _delete_group(ctx: Ctx, name: str) -> None:
    c = patient(ctx)
    groups = c.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}]).get(
        "SecurityGroups", [])
    for group in groups:
        c.delete_security_group(GroupId=group["GroupId"])


def _release_address(ctx: Ctx, allocation_id: str | None) -> None:
    if not allocation_id:
        return
    c = patient(ctx)
    with contextlib.suppress(ClientError, BotoCoreError):
        for addr in c.describe_addresses(AllocationIds=[allocation_id]).get("Addresses", []):
            if addr.get("AssociationId"):
                c.disassociate_address(AssociationId=addr["AssociationId"])
    c.release_address(AllocationId=allocation_id)


@contextlib.contextmanager
def cleanup(ctx: Ctx) -> Iterator[Resources]:
    res = Resources(ctx)
    try:
        yield res
    finally:
        res.close()
