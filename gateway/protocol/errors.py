"""Every AWS error cloudgate can return: one named class per code, with its HTTP status.

Raise these from anywhere in the gateway; the pipeline renders them in the envelope of the request's
protocol (EC2, S3 or query). `extra` carries the additional elements some S3 errors have (BucketName,
Key, Region, ...). Code and status are class attributes so tests and the error table can read them.
"""

from __future__ import annotations

from typing import Any


class AwsError(Exception):
    code: str = "InternalError"
    status: int = 500
    default_message: str = ""

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = self.default_message if message is None else message
        self.extra = {k: v for k, v in extra.items() if v is not None}
        super().__init__(f"{self.code}: {self.message}")


def _error(name: str, code: str, status: int, message: str = "") -> type[AwsError]:
    return type(name, (AwsError,), {"code": code, "status": status, "default_message": message})


# ---- shared by EC2 and S3 -------------------------------------------------------------------------
InternalError = _error("InternalError", "InternalError", 500,
                       "We encountered an internal error. Please try again.")
ServiceUnavailable = _error("ServiceUnavailable", "ServiceUnavailable", 503,
                            "The service is unavailable. Please try again later.")

# ---- EC2 (query API) ------------------------------------------------------------------------------
InvalidAction = _error("InvalidAction", "InvalidAction", 400)
MissingAction = _error("MissingAction", "MissingAction", 400, "The request must contain the parameter Action")
UnknownParameter = _error("UnknownParameter", "UnknownParameter", 400)
MissingParameter = _error("MissingParameter", "MissingParameter", 400)
InvalidParameterValue = _error("InvalidParameterValue", "InvalidParameterValue", 400)
InvalidParameterCombination = _error("InvalidParameterCombination", "InvalidParameterCombination", 400)
InvalidParameter = _error("InvalidParameter", "InvalidParameter", 400)
Unsupported = _error("Unsupported", "Unsupported", 400)
DryRunOperation = _error("DryRunOperation", "DryRunOperation", 412,
                         "Request would have succeeded, but DryRun flag is set.")
AuthFailure = _error("AuthFailure", "AuthFailure", 401,
                     "AWS was not able to validate the provided access credentials")
MissingAuthenticationToken = _error(
    "MissingAuthenticationToken", "MissingAuthenticationToken", 401,
    "The request must contain either a valid (registered) AWS access key ID or X.509 certificate.")
IncompleteSignature = _error("IncompleteSignature", "IncompleteSignature", 400)
RequestExpired = _error("RequestExpired", "RequestExpired", 400, "Request has expired.")
TagLimitExceeded = _error("TagLimitExceeded", "TagLimitExceeded", 400)
IdempotentParameterMismatch = _error(
    "IdempotentParameterMismatch", "IdempotentParameterMismatch", 400,
    "The client token you have provided is associated with a resource that is already deleted or with "
    "a request that had different parameters. Please use a different client token.")
RequestEntityTooLarge = _error("RequestEntityTooLarge", "RequestEntityTooLarge", 413,
                               "The request entity is too large.")
RequestLimitExceeded = _error("RequestLimitExceeded", "RequestLimitExceeded", 503, "Request limit exceeded.")
UnauthorizedOperation = _error("UnauthorizedOperation", "UnauthorizedOperation", 403,
                               "You are not authorized to perform this operation.")

# ---- S3 -------------------------------------------------------------------------------------------
AccessDenied = _error("AccessDenied", "AccessDenied", 403, "Access Denied")
InvalidAccessKeyId = _error("InvalidAccessKeyId", "InvalidAccessKeyId", 403,
                            "The AWS Access Key Id you provided does not exist in our records.")
SignatureDoesNotMatch = _error(
    "SignatureDoesNotMatch", "SignatureDoesNotMatch", 403,
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method.")
RequestTimeTooSkewed = _error("RequestTimeTooSkewed", "RequestTimeTooSkewed", 403,
                              "The difference between the request time and the current time is too large.")
AuthorizationHeaderMalformed = _error("AuthorizationHeaderMalformed", "AuthorizationHeaderMalformed", 400,
                                      "The authorization header is malformed.")
AuthorizationQueryParametersError = _error("AuthorizationQueryParametersError",
                                           "AuthorizationQueryParametersError", 400)
InvalidRequest = _error("InvalidRequest", "InvalidRequest", 400)
InvalidArgument = _error("InvalidArgument", "InvalidArgument", 400)
InvalidDigest = _error("InvalidDigest", "InvalidDigest", 400,
                       "The Content-MD5 you specified is not valid.")
BadDigest = _error("BadDigest", "BadDigest", 400,
                   "The Content-MD5 you specified did not match what we received.")
XAmzContentSHA256Mismatch = _error(
    "XAmzContentSHA256Mismatch", "XAmzContentSHA256Mismatch", 400,
    "The provided 'x-amz-content-sha256' header does not match what was computed.")
IncompleteBody = _error("IncompleteBody", "IncompleteBody", 400,
                        "You did not provide the number of bytes specified by the Content-Length HTTP header.")
MissingContentLength = _error("MissingContentLength", "MissingContentLength", 411,
                              "You must provide the Content-Length HTTP header.")
MalformedXML = _error("MalformedXML", "MalformedXML", 400,
                      "The XML you provided was not well-formed or did not validate against our "
                      "published schema.")
MethodNotAllowed = _error("MethodNotAllowed", "MethodNotAllowed", 405,
                          "The specified method is not allowed against this resource.")
S3NotImplemented = _error("S3NotImplemented", "NotImplemented", 501,
                              "A header or query you provided implies functionality that is not implemented.")
EntityTooLarge = _error("EntityTooLarge", "EntityTooLarge", 400,
                        "Your proposed upload exceeds the maximum allowed size.")
MaxMessageLengthExceeded = _error("MaxMessageLengthExceeded", "MaxMessageLengthExceeded", 400,
                                  "Your request was too big.")
InvalidURI = _error("InvalidURI", "InvalidURI", 400, "Couldn't parse the specified URI.")
NoSuchBucket = _error("NoSuchBucket", "NoSuchBucket", 404, "The specified bucket does not exist")
NoSuchKey = _error("NoSuchKey", "NoSuchKey", 404, "The specified key does not exist.")
InvalidBucketName = _error("InvalidBucketName", "InvalidBucketName", 400,
                           "The specified bucket is not valid.")
NoSuchUpload = _error("NoSuchUpload", "NoSuchUpload", 404,
                      "The specified multipart upload does not exist. The upload ID may be invalid, or the "
                      "upload may have been aborted or completed.")
NoSuchVersion = _error("NoSuchVersion", "NoSuchVersion", 404,
                       "The specified version does not exist.")
BucketNotEmpty = _error("BucketNotEmpty", "BucketNotEmpty", 409,
                        "The bucket you tried to delete is not empty")
BucketAlreadyExists = _error("BucketAlreadyExists", "BucketAlreadyExists", 409,
                             "The requested bucket name is not available. The bucket namespace is shared by "
                             "all users of the system. Please select a different name and try again.")
BucketAlreadyOwnedByYou = _error("BucketAlreadyOwnedByYou", "BucketAlreadyOwnedByYou", 409,
                                 "Your previous request to create the named bucket succeeded and you already "
                                 "own it.")
PreconditionFailed = _error("PreconditionFailed", "PreconditionFailed", 412,
                            "At least one of the pre-conditions you specified did not hold")
NotModified = _error("NotModified", "NotModified", 304, "Not Modified")
InvalidRange = _error("InvalidRange", "InvalidRange", 416, "The requested range is not satisfiable")
QuotaExceeded = _error("QuotaExceeded", "QuotaExceeded", 403, "The quota for this account has been exceeded.")
SlowDown = _error("SlowDown", "SlowDown", 503, "Please reduce your request rate.")
S3ServiceUnavailable = _error("S3ServiceUnavailable", "ServiceUnavailable", 503,
                              "Service is unable to handle request.")
MalformedTrailerError = _error("MalformedTrailerError", "MalformedTrailerError", 400,
                              "The request contained trailing data that was not well-formed or did not "
                              "conform to our published schema.")

# ---- S3 bucket/object configuration: tagging, ACLs, CORS, lifecycle ---------------------------------
BadRequest = _error("BadRequest", "BadRequest", 400, "Bad Request")
InvalidTag = _error("InvalidTag", "InvalidTag", 400, "The tag provided was not a valid tag.")
NoSuchTagSet = _error("NoSuchTagSet", "NoSuchTagSet", 404, "The TagSet does not exist")
MalformedACLError = _error("MalformedACLError", "MalformedACLError", 400,
                           "The XML you provided was not well-formed or did not validate against our "
                           "published schema")
UnresolvableGrantByEmailAddress = _error(
    "UnresolvableGrantByEmailAddress", "UnresolvableGrantByEmailAddress", 400,
    "The e-mail address you provided does not match any account on record.")
NoSuchCORSConfiguration = _error("NoSuchCORSConfiguration", "NoSuchCORSConfiguration", 404,
                                 "The CORS configuration does not exist")
# A refused CORS preflight (not in S3's error table, but what S3 sends, with Method and ResourceType).
AccessForbidden = _error("AccessForbidden", "AccessForbidden", 403)
NoSuchLifecycleConfiguration = _error("NoSuchLifecycleConfiguration", "NoSuchLifecycleConfiguration", 404,
                                      "The lifecycle configuration does not exist")


def by_code(code: str) -> type[AwsError]:
    """The class for an AWS code (first definition wins), or a generic class built on the fly."""
    cls = _BY_CODE.get(code)
    return cls if cls is not None else _error(code, code, 400)


_BY_CODE: dict[str, type[AwsError]] = {}
for _cls in list(globals().values()):
    if isinstance(_cls, type) and issubclass(_cls, AwsError) and _cls is not AwsError:
        _BY_CODE.setdefault(_cls.code, _cls)
