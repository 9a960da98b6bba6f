"""rest-xml codec (S3): request parser, response/error serializer and S3's root-tag table.

Split in two modules to stay small; import from here.
"""

from .rest_xml_parse import RestXmlRequestParser, parse_xml
from .rest_xml_serialize import (
    S3_ROOT_TAGS,
    RestXmlResponseSerializer,
    response_has_body,
    s3_error,
)

__all__ = ["S3_ROOT_TAGS", "RestXmlRequestParser", "RestXmlResponseSerializer", "parse_xml",
           "response_has_body", "s3_error"]
