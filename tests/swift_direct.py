"""A tiny synchronous Swift client for test set-up and clean-up, independent of the code under test.

It talks Swift's native API with tempauth, so fixtures can create and empty containers even while the
gateway's S3 handlers (or cloudgate's own async Swift client) are broken.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from dataclasses import dataclass, field


class SwiftHTTPError(Exception):
    def __init__(self, method: str, path: str, status: int, body: bytes) -> None:
        super().__init__(f"{method} {path}: {status} {body[:200]!r}")
        self.status = status


@dataclass
class SwiftDirect:
    auth_url: str  # http://127.0.0.1:18080/auth/v1.0
    user: str      # tempauth "account:user"
    key: str
    _token: str | None = field(default=None, repr=False)
    _storage: urllib.parse.SplitResult | None = field(default=None, repr=False)

    def _authenticate(self) -> None:
        u = urllib.parse.urlsplit(self.auth_url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        try:
            conn.request("GET", u.path, headers={"X-Storage-User": self.user, "X-Storage-Pass": self.key})
            resp = conn.getresponse()
            resp.read()
            if resp.status // 100 != 2:
                raise SwiftHTTPError("GET", u.path, resp.status, b"")
            self._token = resp.getheader("X-Auth-Token")
            self._storage = urllib.parse.urlsplit(resp.getheader("X-Storage-Url"))
        finally:
            conn.close()

    @property
    def account_path(self) -> str:
        if self._storage is None:
            self._authenticate()
        assert self._storage is not None
        return self._storage.path

    def request(self, method: str, container: str = "", obj: str = "", *, query: dict | None = None,
                headers: dict | None = None, body: bytes | None = None,
                ok: tuple[int, ...] = ()) -> tuple[int, dict[str, str], bytes]:
        """One request; raises SwiftHTTPError on a non-2xx status not listed in `ok`."""
        if self._token is None:
            self._authenticate()
        assert self._storage is not None
        path = self._storage.path
        if container:
            path += "/" + urllib.parse.quote(container, safe="")
        if obj:
            path += "/" + urllib.parse.quote(obj, safe="/")
        if query:
            path += "?" + urllib.parse.urlencode(query)
        for attempt in range(2):
            conn = http.client.HTTPConnection(self._storage.hostname, self._storage.port, timeout=60)
            try:
                conn.request(method, path, body=body, headers={**(headers or {}), "X-Auth-Token": self._token})
                resp = conn.getresponse()
                data = resp.read()
            finally:
                conn.close()
            if resp.status == 401 and attempt == 0:
                self._authenticate()
                continue
            break
        if resp.status // 100 != 2 and resp.status not in ok:
            raise SwiftHTTPError(method, path, resp.status, data)
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    # ---- conveniences ----
    def create_container(self, name: str, headers: dict | None = None) -> None:
        self.request("PUT", name, headers=headers)

    def containers(self, prefix: str = "") -> list[str]:
        _, _, data = self.request("GET", query={"format": "json", "prefix": prefix, "limit": 10000})
        return [c["name"] for c in json.loads(data)]

    def listing(self, container: str, *, versions: bool = False, **query: str) -> list[dict]:
        """Every entry (follows markers), [] when the container is gone."""
        out: list[dict] = []
        q: dict[str, str] = {"format": "json", **query}
        if versions:
            q["versions"] = ""
        for _ in range(1000):
            status, _, data = self.request("GET", container, query=q, ok=(404,))
            if status == 404:
                return out
            page = json.loads(data)
            if not page:
                return out
            out.extend(page)
            last = page[-1]
            q["marker"] = last.get("name") or last.get("subdir")
            if versions:
                q["version_marker"] = last.get("version_id") or ""
        return out

    def purge_container(self, name: str) -> None:
        """Delete every object version (and delete marker) in `name`, then the container; absent is fine."""
        status, headers, _ = self.request("HEAD", name, ok=(404,))
        if status == 404:
            return
        versioned = "x-versions-enabled" in headers
        if versioned:
            # Suspend versioning so deleting the current objects doesn't write new delete markers.
            self.request("POST", name, headers={"X-Versions-Enabled": "false"})
        for _ in range(20):  # bounded: each pass deletes what one full listing showed
            entries = self.listing(name, versions=versioned)
            if not entries:
                break
            for entry in entries:
                query = {}
                if versioned and entry.get("version_id") not in (None, "null"):
                    query["version-id"] = entry["version_id"]
                if entry.get("content_type") == "application/x-deleted;swift_versions_deleted=1":
                    query["version-id"] = entry["version_id"]
                self.request("DELETE", name, entry["name"], query=query, ok=(404,))
        self.request("DELETE", name, ok=(404, 409))
