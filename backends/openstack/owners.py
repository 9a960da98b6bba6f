"""Acting for a project that is not the caller's: its account in Swift, reached with the service user's token.

The gateway serves a bucket owner's storage to another caller once the owner's ACL or policy allowed the
request (anonymous reads of public objects, another project's grant, the lifecycle sweeper acting for every
bucket's owner). The caller's own token cannot do it: Swift's keystoneauth lets a project's members into their
project's account `AUTH_<project_id>` only. As Swift's s3token and ceilometer do, the gateway's service user
holds keystoneauth's `reseller_admin_role` (`ResellerAdmin` unless the proxy names another), which opens
every account; the storage URL is the service catalog's `object-store` endpoint with the service project's
id replaced by the owner's.

Without that role on its token, `principal()` answers None (the gateway then refuses such requests, as before)
and says once per service token what to grant. Nothing here is cached beyond the service token's life except
project names, for `ttl` seconds. Tokens are never logged.
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from urllib.parse import urlsplit

from backends import base

from .catalog import Catalog, Endpoint
from .http import HttpClient
from .keystone import ServiceAuth, Token

LOG = logging.getLogger("cloudgate.backend.openstack.owners")

MAX_PROJECTS = 10_000  # project names kept, least recently used dropped
_PROJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # Keystone project ids (hex); nothing that bends a URL


class OwnerAccess:
    def __init__(self, http: HttpClient, service: ServiceAuth, *, interface: str = "public",
                 region: str | None = None, role: str = "ResellerAdmin", ttl: float = 300) -> None:
        self.http, self.service = http, service
        self.interface, self.region = interface, region
        self.role = role  # keystoneauth compares role names case-insensitively
        self.ttl = ttl
        self._catalog: tuple[str, str] | None = None  # (service token id, object-store URL of its project)
        self._names: OrderedDict[str, tuple[float, str | None]] = OrderedDict()  # project -> (until, name)
        self._warned: str | None = None  # the service token already warned about (no role)

    async def principal(self, project_id: str) -> base.Principal | None:
        """A principal whose object store is `project_id`'s Swift account, or None when the service user
        may not act for it (no reseller admin role) or no such project exists."""
        if not _PROJECT_ID.fullmatch(project_id):
            return None
        token = await self.service.current()
        if self.role.lower() not in {r.lower() for r in token.roles}:
            if self._warned != token.id:
                self._warned = token.id
                LOG.warning("the gateway's service user lacks Swift's reseller admin role %r on its project: "
                            "public objects, cross-account grants and lifecycle expiry are refused (grant it: "
                            "openstack role add --user <service_user> --project <service_project> %s)",
                            self.role, self.role)
            return None
        name = await self._project_name(project_id)
        if name is None:
            return None
        url = project_url(await self._storage_url(token), token.project_id, project_id)
        if url is None:
            return None
        catalog = Catalog([Endpoint("object-store", self.interface, self.region, url)])
        return base.Principal(account_id=project_id, display_name=name, attributes={
            "token": token.id, "catalog": catalog, "expires": token.expires, "user_id": token.user_id,
            "user_name": token.user_name, "project_id": project_id, "access_key": "",
            # Swift refusing the service token (revoked, e.g. with the role): fetch a new one next time
            "on_refused": self.service.invalidate})

    async def _storage_url(self, token: Token) -> str:
        """The object-store URL of the service project (the service token is made without its catalog)."""
        hit = self._catalog
        if hit is not None and hit[0] == token.id:
            return hit[1]
        data = await self._get(self.service.url + "/auth/catalog", token.id, "catalog")
        url = Catalog.from_token(data.get("catalog")).url("object-store", interface=self.interface,
                                                           region=self.region)
        self._catalog = (token.id, url)
        return url

    async def _get(self, url: str, token: str, kind: str) -> dict:
        try:
            return await self.http.get(url, token=token, kind=kind, errors={401: _refused}) or {}
        except _TokenRefused:  # revoked: a new service token next time
            self.service.invalidate()
            raise

    async def _project_name(self, project_id: str) -> str | None:
        """The project's name; None when Keystone knows no such (enabled) project. A service user that may not read
        projects (no admin role) cannot tell: the id stands for the name and Swift decides."""
        now = time.monotonic()
        hit = self._names.get(project_id)
        if hit is not None and hit[0] > now:
            self._names.move_to_end(project_id)
            return hit[1]
        try:
            data = await self._get(f"{self.service.url}/projects/{project_id}", await self.service.token(),
                                   "project")
            project = data.get("project") or {}
            # a disabled project's members are locked out: nobody reaches its data through the gateway either
            name: str | None = None if project.get("enabled") is False else str(project.get("name") or project_id)
        except base.NotFound:
            name = None
        except base.Forbidden:
            name = project_id
        self._names[project_id] = (now + self.ttl, name)
        self._names.move_to_end(project_id)
        while len(self._names) > MAX_PROJECTS:
            self._names.popitem(last=False)
        return name


def _refused(fault: object) -> base.BackendError:
    return _TokenRefused("Keystone refused the gateway's service token")


class _TokenRefused(base.Unavailable):
    pass


def project_url(url: str, service_project: str, project_id: str) -> str | None:
    """`url` (the service project's storage URL, e.g. .../v1/AUTH_<service project>) for `project_id`: the
    last path segment naming the service project names the other one instead. None when none does (a
    catalog whose object-store endpoint does not name the project cannot be aimed at another account)."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    for i in range(len(segments) - 1, -1, -1):
        if service_project and segments[i].endswith(service_project):
            segments[i] = segments[i][: -len(service_project)] + project_id
            return parts._replace(path="/".join(segments)).geturl()
    LOG.warning("the object-store endpoint of the service catalog does not name the service project: "
                "cannot reach other projects' accounts")
    return None

