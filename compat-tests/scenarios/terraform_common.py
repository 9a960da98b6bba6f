"""Helpers shared by the `terraform` suite (no scenarios here).

Terraform itself cannot run here, so the suite replays the AWS calls that terraform-provider-aws (v5, AWS
SDK for Go v2) and hashicorp/aws-sdk-go-base make, with botocore, in the provider's order, and asserts what
the provider needs from each answer: the fields it reads, and for each call the exact error codes it
tolerates (any other error aborts `terraform apply` / `plan`). Each scenario module's docstring names the
provider source files it follows.

STS and IAM are reached at the EC2 endpoint (cloudgate serves every service on one port; so does moto);
`COMPAT_STS_ENDPOINT` / `COMPAT_IAM_ENDPOINT` override that, e.g. for real AWS.
"""

from __future__ import annotations

import os
import re
from typing import Any

import boto3
from botocore.config import Config
from harness import Ctx, Fail, check
from harness.expect import ErrorInfo, outcome_of

SUITE = "terraform"
ACCOUNT_RE = re.compile(r"^\d{12}$")
# arn:partition:service:region:account-id:resource. aws-sdk-go's arn.Parse splits on the first five colons and
# checks only the "arn" prefix and the count; the 12-digit form is AWS's (terraform_account_id_format).
ARN_RE = re.compile(r"^arn:(?P<partition>[a-z-]+):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
                    r"(?P<account>[^:]*):(?P<resource>.+)$")


def identity_client(ctx: Ctx, service: str, *, access_key: str | None = None,
                    secret_key: str | None = None) -> Any:
    """An STS or IAM client (no retries) at COMPAT_<SERVICE>_ENDPOINT, else at the EC2 endpoint."""
    t = ctx.target
    endpoint = os.environ.get(f"COMPAT_{service.upper()}_ENDPOINT") or t.ec2_endpoint
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=t.timeout,
                    read_timeout=t.timeout)
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name=t.region, config=config,
        aws_access_key_id=access_key or t.access_key, aws_secret_access_key=secret_key or t.secret_key)


def parse_arn(value: Any, what: str) -> dict[str, str]:
    match = ARN_RE.match(value) if isinstance(value, str) else None
    check(match, f"{what} is {value!r}, not an ARN the provider can parse (arn:partition:service:region:account:resource)")
    assert match is not None
    return match.groupdict()


def answer(what: str, fn: Any, *, tolerated: dict[str, int] | None = None,
           expected: tuple[str, int] | None = None) -> tuple[Any, ErrorInfo | None]:
    """Run one provider call. Success returns (response, None). An error passes only when it is
    `expected` (code, status), or one of the codes the provider `tolerated` (code -> status); anything
    else is the error that would abort Terraform."""
    result: dict[str, Any] = {}

    def run() -> None:
        result["r"] = fn()

    info = outcome_of(run)
    if info is None:
        if expected is not None:
            raise Fail(f"{what}: expected {expected[0]} {expected[1]} (what AWS answers), got success")
        return result.get("r"), None
    if expected is not None and (info.code, info.status) == expected:
        return None, info
    if tolerated and tolerated.get(info.code or "") == info.status:
        return None, info
    if expected is not None:
        raise Fail(f"{what}: expected {expected[0]} {expected[1]} (what AWS answers), got {info.describe()}")
    wanted = "".join(f" or {c} {s}" for c, s in (tolerated or {}).items())
    raise Fail(f"{what}: got {info.describe()}; the provider accepts only success{wanted} here "
               "(any other answer aborts terraform)")


def caller_account(ctx: Ctx) -> str:
    """The account id as the provider gets it from STS GetCallerIdentity (the Arn's account field)."""
    out, _ = answer("STS GetCallerIdentity", lambda: identity_client(ctx, "sts").get_caller_identity())
    arn = parse_arn(out.get("Arn"), "GetCallerIdentity Arn")
    check(arn["account"] == out.get("Account"),
          f"GetCallerIdentity Account {out.get('Account')!r} differs from the account in its Arn {out.get('Arn')!r}")
    return arn["account"]
