"""Nova asked directly (not through the gateway, nor a fault proxy), as tenant a: which servers exist."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any


def _token(env: dict[str, Any], tenant: str = "a") -> str:
    t = env["tenants"][tenant]
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": t["user_name"], "domain": {"name": env["user_domain_name"]}, "password": t["password"]}}},
        "scope": {"project": {"id": t["project_id"]}}}}
    req = urllib.request.Request(env["auth_url"].rstrip("/") + "/auth/tokens", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - the loopback devcloud
        return resp.headers["X-Subject-Token"]


def _nova(env: dict[str, Any], method: str, path: str, token: str) -> Any:
    req = urllib.request.Request(env["endpoints"]["compute"].rstrip("/") + path, method=method,
                                 headers={"X-Auth-Token": token, "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
        data = resp.read()
    return json.loads(data) if data else None


def servers_named(env: dict[str, Any], name: str) -> list[str]:
    """Ids of tenant a's servers (not deleted) whose name is exactly `name`."""
    token = _token(env)
    query = urllib.parse.urlencode({"name": f"^{name}$"})
    return [s["id"] for s in (_nova(env, "GET", f"/servers?{query}", token) or {}).get("servers", [])]


def delete_servers(env: dict[str, Any], ids: list[str]) -> None:
    token = _token(env)
    for sid in ids:
        try:
            _nova(env, "DELETE", f"/servers/{sid}", token)
        except OSError:
            pass
