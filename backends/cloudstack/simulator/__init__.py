"""An in-process CloudStack API simulator (aiohttp on 127.0.0.1) for tests and `backend: cloudstack-sim`."""

from .server import DEFAULT_ACCOUNTS, DEFAULT_ADMIN, SimConfig, Simulator

__all__ = ["DEFAULT_ACCOUNTS", "DEFAULT_ADMIN", "SimConfig", "Simulator"]
