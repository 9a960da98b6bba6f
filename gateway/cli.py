"""`cloudgate serve --config PATH [--host H] [--port N]`."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from aiohttp import web

from .config import ConfigError, load_config
from .logs import setup_logging

# In-flight requests get this long to finish after SIGTERM/SIGINT before connections are closed.
SHUTDOWN_GRACE_SECONDS = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cloudgate", description="AWS-compatible API gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", required=True, help="YAML configuration file")
    serve.add_argument("--host", help="listen address (overrides listen.host)")
    serve.add_argument("--port", type=int, help="listen port (overrides listen.port)")
    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("--config", required=True)
    args = parser.parse_args(argv)

    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"cloudgate: invalid configuration: {e}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(f"{config.source}: ok")
        return 0
    listen = dataclasses.replace(config.listen, **{k: v for k, v in (("host", args.host), ("port", args.port))
                                                   if v is not None})
    config = dataclasses.replace(config, listen=listen)
    setup_logging(config.logging)

    from .app import create_app  # imported late: loading botocore's models is the slow part of start-up

    app = create_app(config)
    log = logging.getLogger("cloudgate")
    log.info("listening", extra={"fields": {"endpoint": f"http://{listen.host}:{listen.port}",
                                            "config": config.source,
                                            "backend": config.backend.type if config.backend else None}})
    # keepalive_timeout is also aiohttp's only deadline on a request head still arriving (slowloris).
    web.run_app(app, host=listen.host, port=listen.port, print=None, access_log=None,
                shutdown_timeout=SHUTDOWN_GRACE_SECONDS, handle_signals=True,
                keepalive_timeout=config.limits.header_timeout_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
