"""Suite `terraform`: the AWS provider's start-up, and the account id it then uses everywhere.

Followed sources (read, not copied):
- hashicorp/aws-sdk-go-base `aws_config.go` (GetAwsConfig / GetAwsAccountIDAndPartition): unless
  `skip_credentials_validation`, the provider first validates the credentials with STS
  GetCallerIdentity, and an error there stops it ("validating provider credentials"). Unless
  `skip_requesting_account_id`, it then looks the account id up.
- hashicorp/aws-sdk-go-base `awsauth.go` (getAccountIDAndPartition and the three helpers): IAM GetUser
  first (errors AccessDenied, InvalidClientTokenId and ValidationError are ignored, any other error is
  kept and the next source is tried), then STS GetCallerIdentity, then IAM ListRoles (MaxItems 1). Each
  takes the account id and partition from an ARN (`User.Arn`, `Arn`, `Roles[0].Arn`), not from
  `Account`.
- terraform-provider-aws `internal/service/ec2/ec2_instance.go` (resourceInstanceRead) and
  `internal/service/s3/bucket.go`: ARNs built from that account id, and the OwnerId / Owner.ID that
  EC2 and S3 then report.
"""

from __future__ import annotations

from harness import Ctx, Skip, check
from harness.ctx import UNKNOWN_ACCESS_KEY

from . import scenario
from .terraform_common import ACCOUNT_RE, SUITE, answer, caller_account, identity_client, parse_arn

# iam:GetUser errors aws-sdk-go-base ignores (federated or restricted credentials) before asking STS.
GET_USER_IGNORED = {"AccessDenied": 403, "InvalidClientTokenId": 403, "ValidationError": 400}


@scenario(SUITE)
def terraform_provider_start(ctx: Ctx) -> None:
    """Provider start: STS GetCallerIdentity validates the keys; IAM GetUser → STS account lookup agrees."""
    sts = identity_client(ctx, "sts")
    out, _ = answer("STS GetCallerIdentity (credential validation)", sts.get_caller_identity)
    account, arn, user_id = out.get("Account"), out.get("Arn"), out.get("UserId")
    check(isinstance(account, str) and account, f"GetCallerIdentity Account is {account!r}")
    parts = parse_arn(arn, "GetCallerIdentity Arn")
    check(parts["account"] == account, f"the Arn's account {parts['account']!r} differs from Account {account!r}")
    check(parts["service"] in ("iam", "sts") and parts["region"] == "",
          f"GetCallerIdentity Arn {arn!r} is not an IAM/STS identity ARN (arn:aws:iam::<account>:user/<name>)")
    check(parts["partition"] == "aws", f"partition {parts['partition']!r}: the provider expects 'aws' here")
    check(isinstance(user_id, str) and user_id, f"GetCallerIdentity UserId is {user_id!r}")

    # The account id lookup: IAM GetUser (no UserName: the caller) comes first.
    iam = identity_client(ctx, "iam")
    user, ignored = answer("IAM GetUser (account id lookup)", iam.get_user, tolerated=GET_USER_IGNORED)
    if ignored is None:
        u = user.get("User") or {}
        user_arn = parse_arn(u.get("Arn"), "GetUser User.Arn")
        check(user_arn["account"] == account,
              f"IAM GetUser says account {user_arn['account']!r}, STS says {account!r}")
        check(u.get("UserName") and u.get("UserId") and u.get("CreateDate"),
              f"GetUser lacks UserName/UserId/CreateDate (required in IAM's model): {u!r}")
    # Then STS again (the fallback): the same answer.
    check(caller_account(ctx) == account, "a second GetCallerIdentity names another account")


@scenario(SUITE)
def terraform_account_id_format(ctx: Ctx) -> None:
    """The account id is AWS's 12 digits (GetCallerIdentity, the ARN, OwnerId): what configurations and
    IAM policies written for AWS hold (the provider itself parses any account field)."""
    account = caller_account(ctx)
    check(ACCOUNT_RE.match(account), f"GetCallerIdentity Account is {account!r}, not a 12-digit account id")
    groups, _ = answer("DescribeSecurityGroups", ctx.client("ec2").describe_security_groups)
    owners = {g.get("OwnerId", "") for g in groups.get("SecurityGroups", [])}
    check(owners and all(ACCOUNT_RE.match(o) for o in owners), f"OwnerIds {sorted(owners)} are not 12-digit")


@scenario(SUITE)
def terraform_provider_rejects_unknown_key(ctx: Ctx) -> None:
    """Provider start with bad keys: GetCallerIdentity is InvalidClientTokenId / SignatureDoesNotMatch 403."""
    unknown = identity_client(ctx, "sts", access_key=UNKNOWN_ACCESS_KEY)
    answer("STS GetCallerIdentity with an unknown access key", unknown.get_caller_identity,
           expected=("InvalidClientTokenId", 403))
    wrong = identity_client(ctx, "sts", secret_key=ctx.wrong_secret)
    answer("STS GetCallerIdentity with a wrong secret", wrong.get_caller_identity,
           expected=("SignatureDoesNotMatch", 403))


@scenario(SUITE)
def terraform_account_id_consistent(ctx: Ctx) -> None:
    """The account from GetCallerIdentity is the OwnerId in DescribeInstances/DescribeSecurityGroups and S3's Owner ID."""
    account = caller_account(ctx)
    ec2 = ctx.client("ec2")
    owners: dict[str, set[str]] = {}
    groups, _ = answer("DescribeSecurityGroups", ec2.describe_security_groups)
    owners["DescribeSecurityGroups OwnerId"] = {g.get("OwnerId", "") for g in groups.get("SecurityGroups", [])}
    reservations, _ = answer("DescribeInstances", lambda: ec2.describe_instances(MaxResults=50))
    owners["DescribeInstances OwnerId"] = {r.get("OwnerId", "") for r in reservations.get("Reservations", [])}
    if not owners["DescribeInstances OwnerId"]:
        # No instance visible: launch-free evidence only. The aws_instance scenario checks its own
        # reservation against STS as well.
        owners.pop("DescribeInstances OwnerId")
    check(owners, "neither DescribeSecurityGroups nor DescribeInstances shows an OwnerId to compare")
    for what, seen in owners.items():
        check(seen == {account}, f"{what} is {sorted(seen)}, STS GetCallerIdentity Account is {account}")
    # S3, when the endpoint has it. AWS's S3 names the owner by a 64-hex canonical user id, not the
    # account id; an endpoint that uses the account id (cloudgate) must use the STS one.
    try:
        ctx.require("s3")
    except Skip:  # no S3 here: the EC2 half stands on its own
        return
    listing, _ = answer("S3 ListBuckets", ctx.client("s3").list_buckets)
    owner_id = (listing.get("Owner") or {}).get("ID", "")
    if len(owner_id) == 64 and all(ch in "0123456789abcdef" for ch in owner_id):
        return  # AWS's canonical user id form
    check(owner_id == account, f"S3 ListBuckets Owner.ID is {owner_id!r}, STS Account is {account}")

