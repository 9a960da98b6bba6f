"""The AWS metadata layout over an instance's view: a tree of directories (dicts) and values (str or bytes).

A directory lists its entries one per line in name order, subdirectories with a trailing `/` (public-keys/ lists `0=<name>`,
as AWS does). Every version directory (`/1.0` … `/latest`) serves the current layout.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .view import Nic, View

VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15", "2008-02-01",
            "2008-09-01", "2009-04-04", "2011-01-01", "2011-05-01", "2012-01-12", "2014-02-25", "2014-11-05",
            "2015-10-20", "2016-04-19", "2016-06-30", "2016-09-02", "2018-03-28", "2018-08-17", "2018-09-24",
            "2019-10-01", "2020-10-27", "2021-01-03", "2021-03-23", "2021-07-15", "2022-09-24", "latest")

# a value is a str or bytes, or a function making it when asked for (the identity document's signature:
# an RSA signature, made only for the request that reads it)
Node = dict[str, Any] | str | bytes | Callable[[], str]


def version_root(view: View, *, tags: bool, identity_key: rsa.RSAPrivateKey | None) -> dict[str, Any]:
    """`/<version>/`: dynamic/, meta-data/ and user-data (only when the instance has some)."""
    root: dict[str, Any] = {"dynamic": {"instance-identity": identity(view, identity_key)},
                            "meta-data": meta_data(view, tags=tags)}
    if view.user_data is not None:
        root["user-data"] = view.user_data
    return root


def _lines(values: list[str]) -> str:
    return "\n".join(values)


def meta_data(view: View, *, tags: bool) -> dict[str, Any]:
    inst = view.instance
    private, public = inst.get("PrivateIpAddress"), inst.get("PublicIpAddress")
    placement = inst.get("Placement") or {}
    root = inst.get("RootDeviceName") or "/dev/sda1"
    devices: dict[str, Any] = {"ami": root, "root": root}
    for n, m in enumerate((m for m in inst.get("BlockDeviceMappings") or [] if m["DeviceName"] != root), 1):
        devices[f"ebs{n}"] = m["DeviceName"]
    md: dict[str, Any] = {
        "ami-id": inst.get("ImageId") or "",
        "ami-launch-index": str(inst.get("AmiLaunchIndex", 0)),
        "ami-manifest-path": "(unknown)",
        "block-device-mapping": devices,
        "hostname": inst.get("PrivateDnsName") or "",
        "instance-action": "none",
        "instance-id": inst["InstanceId"],
        "instance-life-cycle": "on-demand",
        "instance-type": inst.get("InstanceType") or "",
        "local-hostname": inst.get("PrivateDnsName") or "",
        "placement": {"availability-zone": placement.get("AvailabilityZone") or "", "region": view.region},
        "reservation-id": view.reservation_id,
        "security-groups": _lines([g["GroupName"] for g in inst.get("SecurityGroups") or [] if g.get("GroupName")]),
        "services": {"domain": "amazonaws.com", "partition": "aws"},
    }
    if private:
        md["local-ipv4"] = private
    if public:
        md["public-ipv4"] = public
        md["public-hostname"] = inst.get("PublicDnsName") or ""
    if view.nics:
        md["mac"] = view.nics[0].mac
        md["network"] = {"interfaces": {"macs": {n.mac: _nic(view, n) for n in view.nics}}}
    if view.public_key is not None:
        md["public-keys"] = {"0": {"openssh-key": view.public_key.strip() + "\n"}}
    if tags:
        md["tags"] = {"instance": dict(view.tags)}
    return md


def _nic(view: View, n: Nic) -> dict[str, Any]:
    out: dict[str, Any] = {"device-number": str(n.device_number), "mac": n.mac, "owner-id": view.owner,
                           "local-ipv4s": _lines(n.local_ipv4s),
                           "security-group-ids": _lines(n.group_ids), "security-groups": _lines(n.group_names)}
    if n.local_ipv4s:
        out["local-hostname"] = f"ip-{n.local_ipv4s[0].replace('.', '-')}.{view.region}.compute.internal"
    if n.public_ipv4s:
        out["public-ipv4s"] = _lines(n.public_ipv4s)
        out["public-hostname"] = f"ec2-{n.public_ipv4s[0].replace('.', '-')}.{view.region}.compute.amazonaws.com"
    if n.interface_id:
        out["interface-id"] = n.interface_id
    for name, value in (("subnet-id", n.subnet_id), ("subnet-ipv4-cidr-block", n.subnet_cidr),
                        ("vpc-id", n.vpc_id), ("vpc-ipv4-cidr-block", n.vpc_cidr), ("vpc-ipv4-cidr-blocks", n.vpc_cidr)):
        if value:
            out[name] = value
    return out


def document(view: View) -> dict[str, Any]:
    """The instance identity document (dynamic/instance-identity/document), AWS's members in AWS's order."""
    inst = view.instance
    pending = inst.get("LaunchTime") or ""
    if pending.endswith("Z") and "." in pending:
        pending = pending.split(".")[0] + "Z"  # AWS shows whole seconds here
    return {"accountId": view.owner, "architecture": inst.get("Architecture") or "x86_64",
            "availabilityZone": (inst.get("Placement") or {}).get("AvailabilityZone") or "",
            "billingProducts": None, "devpayProductCodes": None, "marketplaceProductCodes": None,
            "imageId": inst.get("ImageId"), "instanceId": inst["InstanceId"],
            "instanceType": inst.get("InstanceType"), "kernelId": None, "pendingTime": pending,
            "privateIp": inst.get("PrivateIpAddress"), "ramdiskId": None, "region": view.region,
            "version": "2017-09-30"}


def document_text(view: View) -> str:
    return json.dumps(document(view), indent=2, separators=(",", " : "))


def identity(view: View, key: rsa.RSAPrivateKey | None) -> dict[str, Any]:
    text = document_text(view)
    out: dict[str, Any] = {"document": text}
    if key is not None:  # RSA-SHA256 over the document's bytes, base64 (verify: openssl dgst -sha256 -verify)
        out["signature"] = lambda: base64.b64encode(key.sign(text.encode(), padding.PKCS1v15(),
                                                             hashes.SHA256())).decode()
    return out


def walk(root: dict[str, Any], parts: list[str]) -> dict[str, Any] | str | bytes | None:
    """The node at `parts` (empty parts from doubled or trailing slashes are ignored), or None."""
    node: Node = root
    for part in parts:
        if not part:
            continue
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node() if callable(node) else node


def listing(view: View, node: dict[str, Any], parts: list[str]) -> str:
    if [p for p in parts if p][-2:] == ["meta-data", "public-keys"]:  # `0=<key name>`, as AWS lists it
        return _lines([f"{k}={view.instance.get('KeyName') or ''}" for k in node])
    return _lines([f"{k}/" if isinstance(v, dict) else k for k, v in sorted(node.items())])  # AWS's order
