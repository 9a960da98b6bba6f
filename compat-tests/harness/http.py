"""Raw HTTP for crafted requests: botocore signs an `AWSRequest`, urllib sends it exactly once.

Scenarios need requests no SDK would send (a wrong SigV2 signature, a 20-minute-old date, a broken
Authorization header), so signing and sending are kept apart from boto3 here.
"""

from __future__ import annotations

import contextlib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# Signature kinds a scenario can ask for; "presign" is S3 SigV4 in the query string.
KINDS = ("v4", "v2", "presign", "none")


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 3xx is an answer to check, not to follow


_OPENER = urllib.request.build_opener(_NoRedirect)


def _headers(message: Message) -> dict[str, str]:
    return {name.lower(): value for name, value in message.items()}


def send(request: AWSRequest, timeout: float) -> Response:
    """Send a (signed or unsigned) botocore request; HTTP errors are answers, not exceptions."""
    prepared = request.prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    outgoing = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers.items()),
                                      method=prepared.method)
    try:
        with _OPENER.open(outgoing, timeout=timeout) as resp:
            return Response(resp.status, _headers(resp.headers), resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return Response(err.code, _headers(err.headers), err.read())


@contextlib.contextmanager
def clock_offset(seconds: float) -> Iterator[None]:
    """Make botocore's SigV4 signers believe the time is now + `seconds` (negative: in the past)."""
    real = botocore.auth.get_current_datetime
    delta = timedelta(seconds=seconds)
    botocore.auth.get_current_datetime = lambda *a, **k: real(*a, **k) + delta
    try:
        yield
    finally:
        botocore.auth.get_current_datetime = real


def sign(request: AWSRequest, kind: str, *, service: str, region: str, access_key: str, secret_key: str,
         skew: float = 0, expires: int = 3600) -> AWSRequest:
    """Sign in place with the botocore signer for `kind` ("v4", "v2", "presign", "none")."""
    if kind not in KINDS:
        raise ValueError(f"unknown signature kind {kind!r}")
    if kind == "none":
        return request
    creds = Credentials(access_key, secret_key)
    s3 = service == "s3"
    if kind == "v4":
        signer = (botocore.auth.S3SigV4Auth if s3 else botocore.auth.SigV4Auth)(creds, service, region)
    elif kind == "v2":
        # S3 SigV2 is the `Authorization: AWS key:sig` header (HmacV1); EC2 SigV2 is query/form parameters.
        signer = botocore.auth.HmacV1Auth(creds) if s3 else botocore.auth.SigV2Auth(creds)
    else:
        signer = botocore.auth.S3SigV4QueryAuth(creds, service, region, expires=expires)
    with clock_offset(skew):
        signer.add_auth(request)
    return request
