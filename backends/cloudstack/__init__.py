"""CloudStack backend: signed async client, async-job handling, EC2 mapping and an API simulator."""
