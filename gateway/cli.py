"""`cloudgate serve --config PATH [--host H] [--port N]`, `cloudgate check-config --config PATH`,
`cloudgate state migrate|export|import --config PATH [--url URL]` (docs/state.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
import sys

from aiohttp import web

from . import eventloop
from .config import Config, ConfigError, load_config
from .logs import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cloudgate", description="AWS-compatible API gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", required=True, help="YAML configuration file")
    serve.add_argument("--host", help="listen address (overrides listen.host)")
    serve.add_argument("--port", type=int, help="listen port (overrides listen.port)")
    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("--config", required=True)
    state = sub.add_parser("state", help="the state database: schema migrations, export, import")
    state.add_argument("action", choices=("migrate", "export", "import"))
    state.add_argument("--config", required=True)
    state.add_argument("--url", help="the state store to use instead of the configuration's state.url")
    state.add_argument("--file", help="export to / import from this file (default: stdout / stdin)")
    args = parser.parse_args(argv)

    try:
        config = load_config(args.config)
    except ConfigError as e:
        print(f"cloudgate: invalid configuration: {e}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(f"{config.source}: ok")
        return 0
    if args.command == "state":
        return asyncio.run(_state(config, args.action, args.url or config.state.url, args.file))
    listen = dataclasses.replace(config.listen, **{k: v for k, v in (("host", args.host), ("port", args.port))
                                                   if v is not None})
    config = dataclasses.replace(config, listen=listen)
    setup_logging(config.logging)
    log = logging.getLogger("cloudgate")
    asyncio.run(_migrate_at_start(config, log))

    from .app import create_app  # imported late: loading botocore's models is the slow part of start-up

    try:
        loop_name, factory = eventloop.loop_factory(config.server.event_loop)
    except RuntimeError as e:
        print(f"cloudgate: {e}", file=sys.stderr)
        return 2
    app = create_app(config)
    md = config.metadata
    log.info("listening", extra={"fields": {"endpoint": f"http://{listen.host}:{listen.port}",
                                            "event_loop": loop_name,
                                            "metadata": f"http://{md.host}:{md.port}" if md.enabled else None,
                                            "config": config.source,
                                            "backend": config.backend.type if config.backend else None}})
    eventloop.run(_serve(app, config, log), factory)
    return 0


async def _serve(app: web.Application, config: Config, log: logging.Logger) -> None:
    """Serve until SIGTERM/SIGINT, then drain (config.server): /healthz answers 503 while requests are
    still served, so the load balancer stops sending new ones; then the listener closes, in-flight
    requests finish (bounded), idle keep-alive connections close, and the process exits 0."""
    from .app import GATEWAY_KEY

    # aiohttp's own shutdown stops reading every connection at once (a request whose body is still
    # arriving would stall until cancelled), so the in-flight requests are waited for first, below.
    # keepalive_timeout is also aiohttp's only deadline on a request head still arriving (slowloris)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0,
                           keepalive_timeout=config.limits.header_timeout_seconds)
    await runner.setup()
    # Start-up leaves ~100k long-lived objects (botocore's service models, modules): frozen, the cyclic
    # collector no longer walks them on every full collection (one took ~60 ms, about every 600 requests).
    gc.collect()
    gc.freeze()
    try:
        await web.TCPSite(runner, config.listen.host, config.listen.port).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        gateway = app[GATEWAY_KEY]
        gateway.draining = True
        log.info("draining", extra={"fields": {"notice_seconds": config.server.drain_notice_seconds,
                                               "drain_seconds": config.server.drain_seconds}})
        await asyncio.sleep(config.server.drain_notice_seconds)
        for site in list(runner.sites):
            await site.stop()  # no new connections; open ones keep being read
        deadline = loop.time() + config.server.drain_seconds
        while gateway.metrics.in_flight > 0 and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if gateway.metrics.in_flight:
            log.warning("drain deadline passed", extra={"fields": {"in_flight": gateway.metrics.in_flight}})
    finally:
        await runner.cleanup()  # closes idle connections; what still runs gets 1 s, then is cancelled
    log.info("stopped")


async def _migrate_at_start(config: Config, log: logging.Logger) -> None:
    """Bring the state schema up to date before listening (under the database's lock, so replicas
    starting together apply it once). A database down at start is no reason not to start: the store
    migrates when it first opens, and requests answer 503 until then."""
    from .store import StoreUnavailable, open_store

    store = open_store(config.state.url, **config.state.store_options())
    try:
        applied = await store.migrate()
        if applied:
            log.info("state schema migrated", extra={"fields": {"versions": applied}})
    except StoreUnavailable as e:
        log.warning("state database unreachable at start", extra={"fields": {"error": str(e)}})
    finally:
        await store.close()


async def _state(config: Config, action: str, url: str, path: str | None) -> int:
    """Every action opens the store, which applies missing schema versions first (under its lock)."""
    from .store import StoreUnavailable, open_store
    from .store.transfer import export_lines, import_lines

    store = open_store(url, **config.state.store_options())
    try:
        if action == "migrate":
            applied = await store.migrate()
            print(f"schema versions applied: {', '.join(map(str, applied)) or 'none (up to date)'}")
        elif action == "export":
            with open(path, "w", encoding="utf-8") if path else contextlib.nullcontext(sys.stdout) as out:
                n = await export_lines(store, out)
            print(f"exported {n} records", file=sys.stderr)
        else:
            with open(path, encoding="utf-8") if path else contextlib.nullcontext(sys.stdin) as lines:
                n = await import_lines(store, lines)
            print(f"imported {n} records", file=sys.stderr)
        return 0
    except (StoreUnavailable, ValueError, OSError) as e:
        print(f"cloudgate: state {action}: {e}", file=sys.stderr)
        return 1
    finally:
        await store.close()


if __name__ == "__main__":
    sys.exit(main())
