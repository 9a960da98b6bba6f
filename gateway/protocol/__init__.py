"""Model-driven AWS wire codecs (EC2 query, S3 rest-xml) built from botocore's service models."""
