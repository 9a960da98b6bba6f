"""A CloudStack API simulator (aiohttp on 127.0.0.1) for tests and `make run CONFIG=config/cloudstack-sim.example.yaml`.

Development tooling, not part of the shipped package: the gateway reaches it as any CloudStack, through the
`cloudstack` backend pointed at its endpoint (devcloud/run.py starts it; tests start it with `running()`).
"""

from .server import DEFAULT_ACCOUNTS, DEFAULT_ADMIN, INSTANCE_TYPES, SimConfig, Simulator, running

__all__ = ["DEFAULT_ACCOUNTS", "DEFAULT_ADMIN", "INSTANCE_TYPES", "SimConfig", "Simulator", "running"]
