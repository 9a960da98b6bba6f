"""CloudStack request signing (signatureversion=3 with `expires`).

Why our own ~30 lines rather than the `cs` package (BSD, 5.2.0): `cs` depends on `requests` even for its
aiohttp client, and its async client polls jobs to completion inside the call, which is the one thing a
gateway must not do (RunInstances answers `pending` from the job id). The signing rule itself is short and
pinned by the CloudStack documentation's worked example (tests/test_cloudstack_client.py).

The rule, as the management server checks it (ApiServer.verifyRequest): every parameter except
`signature`, sorted by name, `name=value` with the value URL-encoded as Java's URLEncoder does (space as
%20, `*` kept, `~` encoded), joined by `&`, the whole string lower-cased, HMAC-SHA1 with the secret key,
base64.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

SIGNATURE_VERSION = "3"
EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%S+0000"  # what CloudStack parses (yyyy-MM-dd'T'HH:mm:ssZ), in UTC


def encode(value: str) -> str:
    """A value as Java's URLEncoder.encode(v, "UTF-8").replace("+", "%20") writes it."""
    return quote(value, safe="*").replace("~", "%7E")


def string_to_sign(params: Mapping[str, str]) -> str:
    return "&".join(f"{k}={encode(v)}" for k, v in sorted(params.items()) if k != "signature").lower()


def sign(params: Mapping[str, str], secret: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign(params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def expires_at(seconds: float, now: dt.datetime | None = None) -> str:
    when = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=seconds)
    return when.astimezone(dt.UTC).strftime(EXPIRES_FORMAT)


def parse_expires(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def signed(params: Mapping[str, str], api_key: str, secret: str, *, expires_in: float = 600,
           now: dt.datetime | None = None) -> dict[str, str]:
    """`params` plus apikey, response=json, signatureversion=3, expires and the signature."""
    out = {k.lower(): v for k, v in params.items()}
    out.update(apikey=api_key, response="json", signatureversion=SIGNATURE_VERSION,
               expires=expires_at(expires_in, now))
    out["signature"] = sign(out, secret)
    return out


def verify(params: Mapping[str, str], secret: str) -> bool:
    """The server side: does `signature` match the other parameters under `secret`."""
    given = params.get("signature", "")
    return hmac.compare_digest(sign(params, secret).encode(), given.encode())
