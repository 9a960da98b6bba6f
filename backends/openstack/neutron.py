"""Neutron (networking API v2.0): ports, floating IPs, security groups, external networks.

Neutron has no microversions; everything used here is in the core API and the `security-group`,
`router`/`floatingip` extensions every ML2 cloud has. Listings ask only for the fields we read
(`fields=`), which keeps a 300-port listing small.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .http import Service

PORT_FIELDS = ("id", "device_id", "device_owner", "network_id", "mac_address", "fixed_ips", "security_groups")
FIP_FIELDS = ("id", "floating_ip_address", "floating_network_id", "port_id", "fixed_ip_address", "status")


def _params(fields: Iterable[str] = (), **filters: Any) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = [("fields", f) for f in fields]
    for name, value in filters.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        params.extend((name, str(v).lower() if isinstance(v, bool) else str(v)) for v in values)
    return params


class Neutron(Service):
    # -- ports ------------------------------------------------------------------------------------------
    async def ports(self, *, fields: Iterable[str] = PORT_FIELDS, **filters: Any) -> list[dict]:
        return await self.get_all("/ports", "ports", params=_params(fields, **filters))

    async def update_port(self, port_id: str, port: dict[str, Any]) -> dict:
        data = (await self.call("PUT", f"/ports/{port_id}", json_body={"port": port}, kind="port")).data or {}
        return data.get("port") or {}

    # -- networks ----------------------------------------------------------------------------------------
    async def networks(self, **filters: Any) -> list[dict]:
        return await self.get_all("/networks", "networks",
                                  params=_params(("id", "name", "router:external"), **filters))

    # -- floating IPs ------------------------------------------------------------------------------------
    async def floating_ips(self, **filters: Any) -> list[dict]:
        return await self.get_all("/floatingips", "floatingips", params=_params(FIP_FIELDS, **filters))

    async def create_floating_ip(self, network_id: str) -> dict:
        body = {"floatingip": {"floating_network_id": network_id}}
        return ((await self.call("POST", "/floatingips", json_body=body)).data or {})["floatingip"]

    async def update_floating_ip(self, fip_id: str, port_id: str | None, fixed_ip: str | None = None) -> dict:
        body: dict[str, Any] = {"port_id": port_id}
        if fixed_ip:
            body["fixed_ip_address"] = fixed_ip
        data = (await self.call("PUT", f"/floatingips/{fip_id}", json_body={"floatingip": body},
                                kind="address")).data or {}
        return data.get("floatingip") or {}

    async def delete_floating_ip(self, fip_id: str) -> None:
        await self.call("DELETE", f"/floatingips/{fip_id}", kind="address")

    # -- security groups -----------------------------------------------------------------------------------
    async def security_groups(self, **filters: Any) -> list[dict]:
        return await self.get_all("/security-groups", "security_groups", params=_params((), **filters))

    async def create_security_group(self, name: str, description: str) -> dict:
        body = {"security_group": {"name": name, "description": description}}
        return ((await self.call("POST", "/security-groups", json_body=body)).data or {})["security_group"]

    async def delete_security_group(self, group_id: str) -> None:
        await self.call("DELETE", f"/security-groups/{group_id}", kind="security_group")

    async def create_rule(self, rule: dict[str, Any]) -> dict:
        data = (await self.call("POST", "/security-group-rules", json_body={"security_group_rule": rule},
                                kind="security_group")).data or {}
        return data["security_group_rule"]

    async def delete_rule(self, rule_id: str) -> None:
        await self.call("DELETE", f"/security-group-rules/{rule_id}", kind="security_group_rule")

    # -- VPC networking: routers, networks + subnets, ports, tags (backends/openstack/network.py) ----------------
    async def routers(self, *, fields: Iterable[str] = (), **filters: Any) -> list[dict]:
        return await self.get_all("/routers", "routers", params=_params(fields, **filters))

    async def create_router(self, router: dict[str, Any]) -> dict:
        return ((await self.call("POST", "/routers", json_body={"router": router})).data or {})["router"]

    async def update_router(self, router_id: str, router: dict[str, Any]) -> dict:
        data = (await self.call("PUT", f"/routers/{router_id}", json_body={"router": router},
                                kind="vpc")).data or {}
        return data.get("router") or {}

    async def delete_router(self, router_id: str) -> None:
        await self.call("DELETE", f"/routers/{router_id}", kind="vpc")

    async def add_router_interface(self, router_id: str, subnet_id: str) -> dict:
        return (await self.call("PUT", f"/routers/{router_id}/add_router_interface",
                                json_body={"subnet_id": subnet_id}, kind="vpc")).data or {}

    async def remove_router_interface(self, router_id: str, subnet_id: str) -> None:
        await self.call("PUT", f"/routers/{router_id}/remove_router_interface",
                        json_body={"subnet_id": subnet_id}, kind="vpc")

    async def set_tags(self, collection: str, resource_id: str, tags: list[str]) -> None:
        """Replace a resource's tags (Neutron takes no `tags` on POST for routers and networks)."""
        await self.call("PUT", f"/{collection}/{resource_id}/tags", json_body={"tags": tags})

    async def all_networks(self, *, fields: Iterable[str] = (), **filters: Any) -> list[dict]:
        return await self.get_all("/networks", "networks", params=_params(fields, **filters))

    async def create_network(self, network: dict[str, Any]) -> dict:
        return ((await self.call("POST", "/networks", json_body={"network": network})).data or {})["network"]

    async def delete_network(self, network_id: str) -> None:
        await self.call("DELETE", f"/networks/{network_id}", kind="subnet")

    async def subnets(self, *, fields: Iterable[str] = (), **filters: Any) -> list[dict]:
        return await self.get_all("/subnets", "subnets", params=_params(fields, **filters))

    async def create_subnet(self, subnet: dict[str, Any]) -> dict:
        return ((await self.call("POST", "/subnets", json_body={"subnet": subnet})).data or {})["subnet"]

    async def update_subnet(self, subnet_id: str, subnet: dict[str, Any]) -> dict:
        data = (await self.call("PUT", f"/subnets/{subnet_id}", json_body={"subnet": subnet},
                                kind="subnet")).data or {}
        return data.get("subnet") or {}

    async def full_ports(self, *, fields: Iterable[str] = (), **filters: Any) -> list[dict]:
        return await self.get_all("/ports", "ports", params=_params(fields, **filters))

    async def port(self, port_id: str) -> dict:
        return (await self.get(f"/ports/{port_id}", kind="port")).get("port") or {}

    async def create_port(self, port: dict[str, Any]) -> dict:
        return ((await self.call("POST", "/ports", json_body={"port": port}, kind="subnet")).data or {})["port"]

    async def delete_port(self, port_id: str) -> None:
        await self.call("DELETE", f"/ports/{port_id}", kind="port")
