"""S3 semantics on the neutral ObjectStore: one module per family, each registering its handlers."""
