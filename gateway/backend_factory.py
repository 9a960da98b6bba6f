"""The one place the gateway names concrete backends: build the configured one from config."""

from __future__ import annotations

from backends.base import Backend

from .config import Config, ConfigError


def build_backend(config: Config) -> Backend | None:
    spec = config.backend
    if spec is None:
        return None
    try:
        if spec.type == "swift":
            from backends.openstack.swift_backend import SwiftBackend

            return SwiftBackend.from_options(spec.options)
        if spec.type == "openstack":
            from backends.openstack.backend import OpenStackBackend

            return OpenStackBackend.from_options(spec.options)
        if spec.type == "cloudstack":
            from backends.cloudstack.backend import CloudStackBackend

            return CloudStackBackend.from_options(spec.options)
    except (KeyError, TypeError, ValueError) as e:  # the backend names the option in its message
        raise ConfigError(f"{config.source}: backend.options: {e}") from None
    raise ConfigError(f"{config.source}: backend.type: unknown backend {spec.type!r} (known: openstack, swift, cloudstack)")
