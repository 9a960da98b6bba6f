"""The requests Neutron's metadata proxy forwards: who is asking, proven by the shared secret.

Neutron's metadata agent (neutron/agent/metadata/agent.py) finds the guest's port by its address and forwards
the guest's request to Nova's metadata API, here, adding

  X-Instance-ID            the server's id (Nova's UUID)
  X-Tenant-ID              the server's project
  X-Instance-ID-Signature  hex HMAC-SHA256 of X-Instance-ID with `metadata_proxy_shared_secret`
  X-Forwarded-For          the guest's address (the proxy appends it to any the request already had)

A request with a missing, repeated or wrong header is refused alike (`Refused`, 403) and nothing tells which.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from multidict import CIMultiDictProxy


class Refused(Exception):
    """Not a request the proxy signed: 403, and nothing more."""


@dataclass(frozen=True)
class Caller:
    server_id: str             # X-Instance-ID: the cloud's id of the guest's server
    tenant: str                # X-Tenant-ID, as the proxy sent it
    forwarded_for: tuple[str, ...]  # X-Forwarded-For addresses, first hop first


def sign(secret: str, server_id: str) -> str:
    """The proxy's signature of an instance id (what Neutron's `sign_instance_id` computes)."""
    return hmac.new(secret.encode(), server_id.encode(), hashlib.sha256).hexdigest()


def _one(headers: CIMultiDictProxy[str], name: str) -> str:
    values = headers.getall(name, [])
    if len(values) != 1 or not values[0]:
        raise Refused()
    return values[0]


def caller(headers: CIMultiDictProxy[str], secret: str) -> Caller:
    """The signed caller of a request, or Refused."""
    if not secret:
        raise Refused()  # never serve unsigned requests (the config refuses to start so, too)
    server_id = _one(headers, "X-Instance-ID")
    signature = _one(headers, "X-Instance-ID-Signature")
    tenant = _one(headers, "X-Tenant-ID")
    if not hmac.compare_digest(sign(secret, server_id).encode(), signature.strip().lower().encode()):
        raise Refused()
    forwarded = tuple(a.strip() for v in headers.getall("X-Forwarded-For", []) for a in v.split(",") if a.strip())
    return Caller(server_id=server_id, tenant=tenant, forwarded_for=forwarded)
