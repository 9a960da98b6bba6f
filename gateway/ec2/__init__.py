"""EC2 semantics on the neutral Compute contract: one module per family, each registering its handlers."""

from . import (  # noqa: F401 - importing registers the handlers
    addresses,
    customer_gateways,
    dhcp_options,
    images,
    instance_attrs,
    instances,
    internet_gateways,
    keypairs,
    launch_templates,
    metadata_defaults,
    metadata_options,
    network_interfaces,
    regions,
    route_tables,
    security_groups,
    snapshots,
    subnets,
    tag_actions,
    volumes,
    vpcs,
)
