"""Plumbing shared by every scenario: the run context, raw signed HTTP, the aws-cli runner, assertions."""

from .ctx import Ctx, Target
from .expect import ErrorInfo, Fail, Skip, check, expect_error, expect_no_auth_error
from .http import Response

__all__ = ["Ctx", "ErrorInfo", "Fail", "Response", "Skip", "Target", "check", "expect_error",
           "expect_no_auth_error"]
