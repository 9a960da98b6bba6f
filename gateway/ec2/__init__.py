"""EC2 semantics on the neutral Compute contract: one module per family, each registering its handlers."""

from . import (  # noqa: F401 - importing registers the handlers
    addresses,
    images,
    instance_attrs,
    instances,
    keypairs,
    regions,
    security_groups,
    snapshots,
    tag_actions,
    volumes,
)
