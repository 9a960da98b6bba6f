"""`Ctx`: what a scenario gets — the target, ready boto3 clients, raw signed requests, the aws-cli, and
probes for optional capabilities (a scratch bucket)."""

from __future__ import annotations

import subprocess
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from . import http
from .awscli import find_aws, run_aws
from .expect import Skip, outcome_of

EC2_VERSION = "2016-11-15"
FORM_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
# Syntactically valid (AKIA + 16 upper-case characters) but registered nowhere.
UNKNOWN_ACCESS_KEY = "AKIAZZZZCOMPATNOKEY0"


@dataclass(frozen=True)
class Target:
    ec2_endpoint: str
    s3_endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    timeout: float = 10.0
    aws_cli: str | None = None


class Ctx:
    def __init__(self, target: Target) -> None:
        self.target = target
        self._bucket: str | None = None
        self._bucket_skip: str | None = None
        self._s3_skip: str | None = None  # "" once ListBuckets answered

    @property
    def wrong_secret(self) -> str:
        return "wrong" + self.target.secret_key[5:] if len(self.target.secret_key) > 5 else "wrong-secret"

    def endpoint(self, service: str) -> str:
        return self.target.s3_endpoint if service == "s3" else self.target.ec2_endpoint

    # ---- SDK clients -----------------------------------------------------------------------------
    def client(self, service: str, *, access_key: str | None = None, secret_key: str | None = None) -> Any:
        t = self.target
        # total_max_attempts=1 is "no retry at all" (plain max_attempts counts retries after the first try).
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=t.timeout,
                        read_timeout=t.timeout, s3={"addressing_style": "path"})
        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint(service), region_name=t.region, config=config,
            aws_access_key_id=access_key or t.access_key, aws_secret_access_key=secret_key or t.secret_key)

    # ---- raw signed requests ---------------------------------------------------------------------
    def ec2(self, params: dict[str, str], *, auth: str = "v4", access_key: str | None = None,
            secret_key: str | None = None, skew: float = 0) -> http.Response:
        """POST an EC2 query-API form (Version added unless given) signed as `auth` ("v4", "v2", "none")."""
        form = {"Version": EC2_VERSION, **params}
        url = self.target.ec2_endpoint.rstrip("/") + "/"
        # SigV2Auth adds its parameters to a dict body; SigV4 signs the encoded body as is.
        request = AWSRequest("POST", url, headers={"Content-Type": FORM_TYPE},
                             data=form if auth == "v2" else urllib.parse.urlencode(form))
        return self._send(request, auth, "ec2", access_key, secret_key, skew)

    def s3(self, method: str, path: str = "/", *, query: str = "", headers: dict[str, str] | None = None,
           body: bytes | None = None, auth: str = "v4", access_key: str | None = None,
           secret_key: str | None = None, skew: float = 0, expires: int = 3600) -> http.Response:
        """An S3 REST request; `query` is sent verbatim (so `?retentionx` stays value-less)."""
        url = self.target.s3_endpoint.rstrip("/") + path + (f"?{query}" if query else "")
        all_headers = dict(headers or {})
        if body is not None:
            # Set before signing: urllib would otherwise add a form Content-Type that SigV2 did not sign.
            all_headers.setdefault("Content-Type", "application/octet-stream")
        request = AWSRequest(method, url, headers=all_headers, data=body)
        return self._send(request, auth, "s3", access_key, secret_key, skew, expires)

    def _send(self, request: AWSRequest, auth: str, service: str, access_key: str | None,
              secret_key: str | None, skew: float, expires: int = 3600) -> http.Response:
        t = self.target
        http.sign(request, auth, service=service, region=t.region, access_key=access_key or t.access_key,
                  secret_key=secret_key or t.secret_key, skew=skew, expires=expires)
        return http.send(request, t.timeout)

    # ---- aws-cli ---------------------------------------------------------------------------------
    def aws(self, service: str, *args: str, access_key: str | None = None,
            secret_key: str | None = None) -> subprocess.CompletedProcess[str]:
        exe = find_aws(self.target.aws_cli)
        if exe is None:
            raise Skip("no aws-cli found (pass --aws-cli PATH)")
        t = self.target
        return run_aws(exe, [service, *args], endpoint=self.endpoint(service), region=t.region,
                       access_key=access_key or t.access_key, secret_key=secret_key or t.secret_key,
                       timeout=t.timeout)

    # ---- capabilities (`needs=`) -----------------------------------------------------------------
    def require(self, need: str) -> None:
        """Raise Skip when the endpoint cannot offer `need`."""
        if need == "awscli":
            if find_aws(self.target.aws_cli) is None:
                raise Skip("no aws-cli found (pass --aws-cli PATH)")
        elif need == "bucket":
            self.bucket()
        elif need == "s3":
            self.s3_service()
        else:
            raise ValueError(f"unknown need {need!r}")

    def s3_service(self) -> None:
        """Skip unless the endpoint serves S3 at all (ListBuckets answers): a CloudStack endpoint has none."""
        if self._s3_skip is None:
            try:
                info = outcome_of(lambda: self.client("s3").list_buckets())
            except BotoCoreError as exc:
                self._s3_skip = f"no S3 on this endpoint: ListBuckets failed: {exc}"
            else:
                self._s3_skip = f"no S3 on this endpoint: ListBuckets answered {info.describe()}" if info else ""
        if self._s3_skip:
            raise Skip(self._s3_skip)

    def bucket(self) -> str:
        """A scratch bucket created once per run (deleted by `close`); Skip when CreateBucket fails."""
        if self._bucket is None and self._bucket_skip is None:
            name = f"cloudgate-compat-{uuid.uuid4().hex[:12]}"
            s3 = self.client("s3")
            extra = {} if self.target.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": self.target.region}}
            try:
                info = outcome_of(lambda: s3.create_bucket(Bucket=name, **extra))
            except BotoCoreError as exc:
                info, self._bucket_skip = None, f"CreateBucket failed: {exc}"
            if info is not None:
                self._bucket_skip = f"no scratch bucket: CreateBucket answered {info.describe()}"
            elif self._bucket_skip is None:
                self._bucket = name
        if self._bucket is None:
            raise Skip(self._bucket_skip or "no scratch bucket")
        return self._bucket

    def bucket_or_placeholder(self) -> str:
        """The scratch bucket if one exists, else a name that should not (for routing-only checks)."""
        try:
            return self.bucket()
        except Skip:
            return "cloudgate-compat-no-such-bucket"

    def close(self) -> None:
        """Best-effort removal of the scratch bucket and everything in it."""
        if self._bucket is None:
            return
        s3 = self.client("s3")
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket):
                for obj in page.get("Contents", []):
                    s3.delete_object(Bucket=self._bucket, Key=obj["Key"])
            s3.delete_bucket(Bucket=self._bucket)
        except (ClientError, BotoCoreError):
            pass
        self._bucket = None
