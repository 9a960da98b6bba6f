"""Gateway state the backend cannot hold: id maps, tags, idempotency tokens, S3 bucket configurations.

A small namespaced key → JSON store with one atomic primitive (`put_if_absent`) that idempotency and
id allocation build on. SQLite (embedded, the default) or PostgreSQL (several gateway replicas).
"""

from __future__ import annotations

from .base import Store
from .sqlite import SqliteStore


def open_store(url: str) -> Store:
    """`sqlite:///relative/or/absolute.db`, `sqlite://:memory:`, or `postgresql://user@host/db`."""
    if url.startswith("sqlite://"):
        return SqliteStore(url[len("sqlite://"):].removeprefix("/") or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore  # optional dependency, imported only when configured

        return PostgresStore(url)
    raise ValueError(f"unsupported state store URL {url!r} (sqlite:// or postgresql://)")


__all__ = ["Store", "open_store"]
