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
InvalidParameterDependency = _error("InvalidParameterDependency", "InvalidParameterDependency", 400)
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
ExpiredToken = _error("ExpiredToken", "ExpiredToken", 400, "The provided token has expired.")
InvalidToken = _error("InvalidToken", "InvalidToken", 400, "The provided token is malformed or otherwise invalid.")
AuthorizationHeaderMalformed = _error("AuthorizationHeaderMalformed", "AuthorizationHeaderMalformed", 400,
                                      "The authorization header is malformed.")
AuthorizationQueryParametersError = _error("AuthorizationQueryParametersError",
                                           "AuthorizationQueryParametersError", 400)
# X-Amz-Expires outside 1..604800: the same code, answered 403 (s3-tests' AWS-verified expectation).
PresignExpiresOutOfRange = _error("PresignExpiresOutOfRange", "AuthorizationQueryParametersError", 403)
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
RequestHeaderSectionTooLarge = _error("RequestHeaderSectionTooLarge", "RequestHeaderSectionTooLarge", 400,
                                      "Your request header section exceeds the maximum allowed size.")
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
InvalidObjectState = _error("InvalidObjectState", "InvalidObjectState", 403,
                            "The operation is not valid for the object's storage class")
NoSuchConfiguration = _error("NoSuchConfiguration", "NoSuchConfiguration", 404,
                             "The specified configuration does not exist.")
ConditionalRequestConflict = _error(
    "ConditionalRequestConflict", "ConditionalRequestConflict", 409,
    "A conflicting operation occurred. If using PutObject you can retry the request. If using "
    "CompleteMultipartUpload you should retry the request from CreateMultipartUpload.")
NotModified = _error("NotModified", "NotModified", 304, "Not Modified")
InvalidRange = _error("InvalidRange", "InvalidRange", 416, "The requested range is not satisfiable")
QuotaExceeded = _error("QuotaExceeded", "QuotaExceeded", 403, "The quota for this account has been exceeded.")
SlowDown = _error("SlowDown", "SlowDown", 503, "Please reduce your request rate.")
RequestTimeout = _error("RequestTimeout", "RequestTimeout", 400,
                        "Your socket connection to the server was not read from or written to within the "
                        "timeout period. Idle connections will be closed.")
S3ServiceUnavailable = _error("S3ServiceUnavailable", "ServiceUnavailable", 503,
                              "Service is unable to handle request.")
# An overlapping PutObject that started later answered first and its data replaced this one's
# (gateway/s3/put_order.py): S3's retryable 503, so the client sends it again.
WriteOvertaken = type("WriteOvertaken", (S3ServiceUnavailable,), {})
MalformedTrailerError = _error("MalformedTrailerError", "MalformedTrailerError", 400,
                              "The request contained trailing data that was not well-formed or did not "
                              "conform to our published schema.")

# ---- S3 browser-based uploads (POST Object) ----------------------------------------------------------
InvalidPolicyDocument = _error("InvalidPolicyDocument", "InvalidPolicyDocument", 400,
                               "The content of the form does not meet the conditions specified in the policy "
                               "document.")
MalformedPOSTRequest = _error("MalformedPOSTRequest", "MalformedPOSTRequest", 400,
                              "The body of your POST request is not well-formed multipart/form-data.")
IncorrectNumberOfFilesInPostRequest = _error("IncorrectNumberOfFilesInPostRequest",
                                             "IncorrectNumberOfFilesInPostRequest", 400,
                                             "POST requires exactly one file upload per request.")
# The wire code S3 sends (its error table says ...ExceededError); the typo is S3's own.
MaxPostPreDataLengthExceeded = _error("MaxPostPreDataLengthExceeded", "MaxPostPreDataLengthExceeded", 400,
                                      "Your POST request fields preceeding the upload file was too large.")

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
MissingSecurityHeader = _error("MissingSecurityHeader", "MissingSecurityHeader", 400,
                               "Your request was missing a required header")
NoSuchCORSConfiguration = _error("NoSuchCORSConfiguration", "NoSuchCORSConfiguration", 404,
                                 "The CORS configuration does not exist")
# A refused CORS preflight (not in S3's error table, but what S3 sends, with Method and ResourceType).
AccessForbidden = _error("AccessForbidden", "AccessForbidden", 403)
# ---- S3 access control: bucket policies, Block Public Access, Object Ownership ----------------------
MalformedPolicy = _error("MalformedPolicy", "MalformedPolicy", 400, "Policies must be valid JSON and the first "
                         "byte must be '{'")
NoSuchBucketPolicy = _error("NoSuchBucketPolicy", "NoSuchBucketPolicy", 404, "The bucket policy does not exist")
NoSuchPublicAccessBlockConfiguration = _error(
    "NoSuchPublicAccessBlockConfiguration", "NoSuchPublicAccessBlockConfiguration", 404,
    "The public access block configuration was not found")
OwnershipControlsNotFoundError = _error("OwnershipControlsNotFoundError", "OwnershipControlsNotFoundError", 404,
                                        "The bucket ownership controls were not found")
AccessControlListNotSupported = _error("AccessControlListNotSupported", "AccessControlListNotSupported", 400,
                                       "The bucket does not allow ACLs")
InvalidBucketAclWithObjectOwnership = _error(
    "InvalidBucketAclWithObjectOwnership", "InvalidBucketAclWithObjectOwnership", 400,
    "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
NoSuchLifecycleConfiguration = _error("NoSuchLifecycleConfiguration", "NoSuchLifecycleConfiguration", 404,
                                      "The lifecycle configuration does not exist")
InvalidBucketState = _error("InvalidBucketState", "InvalidBucketState", 409,
                            "The request is not valid with the current state of the bucket.")
NoSuchObjectLockConfiguration = _error("NoSuchObjectLockConfiguration", "NoSuchObjectLockConfiguration", 404,
                                       "The specified object does not have a ObjectLock configuration")
NoSuchWebsiteConfiguration = _error("NoSuchWebsiteConfiguration", "NoSuchWebsiteConfiguration", 404,
                                    "The specified bucket does not have a website configuration")
ReplicationConfigurationNotFoundError = _error(
    "ReplicationConfigurationNotFoundError", "ReplicationConfigurationNotFoundError", 404,
    "The replication configuration was not found")
ServerSideEncryptionConfigurationNotFoundError = _error(
    "ServerSideEncryptionConfigurationNotFoundError", "ServerSideEncryptionConfigurationNotFoundError", 404,
    "The server side encryption configuration was not found")
InvalidEncryptionAlgorithmError = _error(
    "InvalidEncryptionAlgorithmError", "InvalidEncryptionAlgorithmError", 400,
    "The encryption request you specified is not valid. The valid value is AES256.")
KmsNotFoundException = _error("KmsNotFoundException", "KMS.NotFoundException", 400)
ObjectLockConfigurationNotFoundError = _error(
    "ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFoundError", 404,
    "Object Lock configuration does not exist for this bucket")


# ---- STS and IAM (awsQuery) ------------------------------------------------------------------------
ValidationError = _error("ValidationError", "ValidationError", 400)
NoSuchEntity = _error("NoSuchEntity", "NoSuchEntity", 404)
InvalidClientTokenId = _error("InvalidClientTokenId", "InvalidClientTokenId", 403,
                              "The security token included in the request is invalid.")
# S3's ExpiredToken (above) is the code's first class; STS says it in its own words
ExpiredTokenQuery = _error("ExpiredTokenQuery", "ExpiredToken", 400,
                           "The security token included in the request is expired")

# ---- S3 multipart uploads -------------------------------------------------------------------------
InvalidPart = _error("InvalidPart", "InvalidPart", 400,
                     "One or more of the specified parts could not be found.  The part may not have been "
                     "uploaded, or the specified entity tag may not match the part's entity tag.")
InvalidPartOrder = _error("InvalidPartOrder", "InvalidPartOrder", 400,
                          "The list of parts was not in ascending order. The parts list must be specified in "
                          "order by part number.")
EntityTooSmall = _error("EntityTooSmall", "EntityTooSmall", 400,
                        "Your proposed upload is smaller than the minimum allowed object size.")
OperationAborted = _error("OperationAborted", "OperationAborted", 409,
                          "A conflicting conditional operation is currently in progress against this "
                          "resource. Please try again.")


# ---- S3 buckets, objects, listing, checksums ------------------------------------------------------
KeyTooLongError = _error("KeyTooLongError", "KeyTooLongError", 400, "Your key is too long")
MetadataTooLarge = _error("MetadataTooLarge", "MetadataTooLarge", 400,
                          "Your metadata headers exceed the maximum allowed metadata size")
InvalidStorageClass = _error("InvalidStorageClass", "InvalidStorageClass", 400,
                             "The storage class you specified is not valid")
InvalidLocationConstraint = _error("InvalidLocationConstraint", "InvalidLocationConstraint", 400,
                                   "The specified location-constraint is not valid")
IllegalLocationConstraintException = _error("IllegalLocationConstraintException",
                                            "IllegalLocationConstraintException", 400)
InvalidPartNumber = _error("InvalidPartNumber", "InvalidPartNumber", 416,
                           "The requested partnumber is not satisfiable")


def by_code(code: str) -> type[AwsError]:
    """The class for an AWS code (first definition wins), or a generic class built on the fly."""
    cls = _BY_CODE.get(code)
    return cls if cls is not None else _error(code, code, 400)


_BY_CODE: dict[str, type[AwsError]] = {}
for _cls in list(globals().values()):
    if isinstance(_cls, type) and issubclass(_cls, AwsError) and _cls is not AwsError:
        _BY_CODE.setdefault(_cls.code, _cls)


# ---- EC2 resource semantics (gateway/ec2 handlers) --------------------------------------------------------
InvalidID = _error("InvalidID", "InvalidID", 400)
InvalidLaunchTemplateIdMalformed = _error("InvalidLaunchTemplateIdMalformed", "InvalidLaunchTemplateId.Malformed", 400)
InvalidLaunchTemplateIdNotFound = _error("InvalidLaunchTemplateIdNotFound", "InvalidLaunchTemplateId.NotFound", 400)
InvalidLaunchTemplateIdVersionNotFound = _error("InvalidLaunchTemplateIdVersionNotFound",
                                                "InvalidLaunchTemplateId.VersionNotFound", 400)
InvalidLaunchTemplateNameMalformed = _error("InvalidLaunchTemplateNameMalformed",
                                            "InvalidLaunchTemplateName.MalformedException", 400)
InvalidLaunchTemplateNameNotFound = _error("InvalidLaunchTemplateNameNotFound",
                                           "InvalidLaunchTemplateName.NotFoundException", 400)
InvalidLaunchTemplateNameAlreadyExists = _error("InvalidLaunchTemplateNameAlreadyExists",
                                                "InvalidLaunchTemplateName.AlreadyExistsException", 400)
LaunchTemplateVersionLimitExceeded = _error("LaunchTemplateVersionLimitExceeded",
                                            "LaunchTemplateVersionLimitExceeded", 400,
                                            "The maximum number of launch template versions has been reached.")
InvalidInstanceIDMalformed = _error("InvalidInstanceIDMalformed", "InvalidInstanceID.Malformed", 400)
InvalidInstanceIDNotFound = _error("InvalidInstanceIDNotFound", "InvalidInstanceID.NotFound", 400)
IncorrectInstanceState = _error("IncorrectInstanceState", "IncorrectInstanceState", 400)
InstanceLimitExceeded = _error("InstanceLimitExceeded", "InstanceLimitExceeded", 400,
                               "You have requested more instances than your current instance limit allows.")
InvalidInstanceType = _error("InvalidInstanceType", "InvalidInstanceType", 400)
OperationNotPermitted = _error("OperationNotPermitted", "OperationNotPermitted", 400)
InvalidAMIIDMalformed = _error("InvalidAMIIDMalformed", "InvalidAMIID.Malformed", 400)
InvalidAMIIDNotFound = _error("InvalidAMIIDNotFound", "InvalidAMIID.NotFound", 400)
InvalidAMINameMalformed = _error("InvalidAMINameMalformed", "InvalidAMIName.Malformed", 400)
InvalidAMINameDuplicate = _error("InvalidAMINameDuplicate", "InvalidAMIName.Duplicate", 400)
InvalidAMIAttributeItemValue = _error("InvalidAMIAttributeItemValue", "InvalidAMIAttributeItemValue", 400)
InvalidUserIDMalformed = _error("InvalidUserIDMalformed", "InvalidUserID.Malformed", 400)
InvalidBlockDeviceMapping = _error("InvalidBlockDeviceMapping", "InvalidBlockDeviceMapping", 400)
InvalidKeyPairNotFound = _error("InvalidKeyPairNotFound", "InvalidKeyPair.NotFound", 400)
InvalidKeyPairDuplicate = _error("InvalidKeyPairDuplicate", "InvalidKeyPair.Duplicate", 400)
# ImportKeyPair with undecodable material: AWS answers InvalidKey.Format (InvalidKeyPair.Format is documented
# but not sent)
InvalidKeyFormat = _error("InvalidKeyFormat", "InvalidKey.Format", 400)
InvalidGroupNotFound = _error("InvalidGroupNotFound", "InvalidGroup.NotFound", 400)
InvalidGroupDuplicate = _error("InvalidGroupDuplicate", "InvalidGroup.Duplicate", 400)
InvalidGroupReserved = _error("InvalidGroupReserved", "InvalidGroup.Reserved", 400)
InvalidGroupIdMalformed = _error("InvalidGroupIdMalformed", "InvalidGroupId.Malformed", 400)
InvalidPermissionDuplicate = _error("InvalidPermissionDuplicate", "InvalidPermission.Duplicate", 400)
InvalidPermissionNotFound = _error("InvalidPermissionNotFound", "InvalidPermission.NotFound", 400,
                                   "The specified rule does not exist in this security group.")
InvalidPermissionMalformed = _error("InvalidPermissionMalformed", "InvalidPermission.Malformed", 400)
InvalidSecurityGroupRuleIdNotFound = _error("InvalidSecurityGroupRuleIdNotFound",
                                            "InvalidSecurityGroupRuleId.NotFound", 400)
CannotDelete = _error("CannotDelete", "CannotDelete", 400)
DependencyViolation = _error("DependencyViolation", "DependencyViolation", 400)
InvalidVolumeIDMalformed = _error("InvalidVolumeIDMalformed", "InvalidVolumeID.Malformed", 400)
InvalidVolumeNotFound = _error("InvalidVolumeNotFound", "InvalidVolume.NotFound", 400)
InvalidVolumeZoneMismatch = _error("InvalidVolumeZoneMismatch", "InvalidVolume.ZoneMismatch", 400)
VolumeInUse = _error("VolumeInUse", "VolumeInUse", 400)
VolumeLimitExceeded = _error("VolumeLimitExceeded", "VolumeLimitExceeded", 400,
                             "You have exceeded your maximum gigabyte or volume limit.")
IncorrectState = _error("IncorrectState", "IncorrectState", 400)
InvalidAttachmentNotFound = _error("InvalidAttachmentNotFound", "InvalidAttachment.NotFound", 400)
InvalidZoneNotFound = _error("InvalidZoneNotFound", "InvalidZone.NotFound", 400)
InvalidSnapshotIDMalformed = _error("InvalidSnapshotIDMalformed", "InvalidSnapshotID.Malformed", 400)
InvalidSnapshotNotFound = _error("InvalidSnapshotNotFound", "InvalidSnapshot.NotFound", 400)
InvalidSnapshotInUse = _error("InvalidSnapshotInUse", "InvalidSnapshot.InUse", 400)
SnapshotLimitExceeded = _error("SnapshotLimitExceeded", "SnapshotLimitExceeded", 400,
                               "The maximum number of snapshots has been reached.")
InvalidAllocationIDMalformed = _error("InvalidAllocationIDMalformed", "InvalidAllocationID.Malformed", 400)
InvalidAllocationIDNotFound = _error("InvalidAllocationIDNotFound", "InvalidAllocationID.NotFound", 400)
InvalidAddressNotFound = _error("InvalidAddressNotFound", "InvalidAddress.NotFound", 400)
InvalidAddressMalformed = _error("InvalidAddressMalformed", "InvalidAddress.Malformed", 400)
InvalidAssociationIDNotFound = _error("InvalidAssociationIDNotFound", "InvalidAssociationID.NotFound", 400)
InvalidIPAddressInUse = _error("InvalidIPAddressInUse", "InvalidIPAddress.InUse", 400)
ResourceAlreadyAssociated = _error("ResourceAlreadyAssociated", "Resource.AlreadyAssociated", 400)
AddressLimitExceeded = _error("AddressLimitExceeded", "AddressLimitExceeded", 400,
                              "The maximum number of addresses has been reached.")
InvalidVpcIDNotFound = _error("InvalidVpcIDNotFound", "InvalidVpcID.NotFound", 400)
# ---- VPC networking (gateway/ec2/vpcs.py and its siblings) ----
InvalidVpcRange = _error("InvalidVpcRange", "InvalidVpc.Range", 400)
VpcLimitExceeded = _error("VpcLimitExceeded", "VpcLimitExceeded", 400,
                          "The maximum number of VPCs has been reached.")
DefaultVpcAlreadyExists = _error("DefaultVpcAlreadyExists", "DefaultVpcAlreadyExists", 400)
InvalidSubnetIDNotFound = _error("InvalidSubnetIDNotFound", "InvalidSubnetID.NotFound", 400)
InvalidSubnetConflict = _error("InvalidSubnetConflict", "InvalidSubnet.Conflict", 400)
InvalidSubnetRange = _error("InvalidSubnetRange", "InvalidSubnet.Range", 400)
InsufficientFreeAddressesInSubnet = _error("InsufficientFreeAddressesInSubnet",
                                           "InsufficientFreeAddressesInSubnet", 400)
InvalidIPAddressInUseVpc = _error("InvalidIPAddressInUseVpc", "InvalidIPAddress.InUse", 400)
InvalidRouteTableIDNotFound = _error("InvalidRouteTableIDNotFound", "InvalidRouteTableID.NotFound", 400)
InvalidRouteNotFound = _error("InvalidRouteNotFound", "InvalidRoute.NotFound", 400)
RouteAlreadyExists = _error("RouteAlreadyExists", "RouteAlreadyExists", 400)
InvalidInternetGatewayIDNotFound = _error("InvalidInternetGatewayIDNotFound",
                                          "InvalidInternetGatewayID.NotFound", 400)
GatewayNotAttached = _error("GatewayNotAttached", "Gateway.NotAttached", 400)
InvalidNatGatewayIDNotFound = _error("InvalidNatGatewayIDNotFound", "InvalidNatGatewayID.NotFound", 400)
InvalidNetworkInterfaceIDNotFound = _error("InvalidNetworkInterfaceIDNotFound",
                                           "InvalidNetworkInterfaceID.NotFound", 400)
InvalidNetworkInterfaceIDMalformed = _error("InvalidNetworkInterfaceIDMalformed",
                                            "InvalidNetworkInterfaceID.Malformed", 400)
InvalidAttachmentIDNotFound = _error("InvalidAttachmentIDNotFound", "InvalidAttachmentID.NotFound", 400)
InvalidDhcpOptionIDNotFound = _error("InvalidDhcpOptionIDNotFound", "InvalidDhcpOptionID.NotFound", 400)
InvalidInstanceIDPlain = _error("InvalidInstanceIDPlain", "InvalidInstanceID", 400)
MissingInput = _error("MissingInput", "MissingInput", 400)
InvalidCustomerGatewayIDNotFound = _error("InvalidCustomerGatewayIDNotFound", "InvalidCustomerGatewayID.NotFound",
                                          400)
DefaultSubnetAlreadyExistsInAvailabilityZone = _error("DefaultSubnetAlreadyExistsInAvailabilityZone",
                                                      "DefaultSubnetAlreadyExistsInAvailabilityZone", 400)
InvalidInstanceAttributeValue = _error("InvalidInstanceAttributeValue", "InvalidInstanceAttributeValue", 400)
Ec2Unavailable = _error("Ec2Unavailable", "Unavailable", 503,
                        "The server is overloaded and can't handle the request.")

for _cls in list(globals().values()):
    if isinstance(_cls, type) and issubclass(_cls, AwsError) and _cls is not AwsError:
        _BY_CODE.setdefault(_cls.code, _cls)
InsufficientInstanceCapacity = _error("InsufficientInstanceCapacity", "InsufficientInstanceCapacity", 500,
                                      "There is not enough capacity to fulfill your request.")
_BY_CODE.setdefault(InsufficientInstanceCapacity.code, InsufficientInstanceCapacity)
