"""botocore's service models, loaded once per process: they are the single source of the wire format."""

from __future__ import annotations

import functools

import botocore.session
from botocore.model import ServiceModel

EC2_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"  # the model lacks the trailing '/' real EC2 sends
S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"


@functools.cache
def service_model(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)
