"""CloudStack backend: signed async client, async-job handling, caller keys, EC2 mapping (the simulator for
development lives in devcloud/cloudstack_sim, outside the shipped package)."""
