"""Gateway state the backend cannot hold: id maps, tags, idempotency tokens, S3 bucket configurations.

A small namespaced key → JSON store with one atomic primitive (`put_if_absent`) that idempotency and
id allocation build on. SQLite (embedded, the default); a PostgreSQL store for several replicas is the next step.
"""

from __future__ import annotations

from .base import Store
from .sqlite import SqliteStore


def open_store(url: str) -> Store:
    """`sqlite:///relative.db`, `sqlite:////absolute.db` or `sqlite://:memory:`."""
    if url.startswith("sqlite://"):
        return SqliteStore(url[len("sqlite://"):].removeprefix("/") or ":memory:")
    raise ValueError(f"unsupported state store URL {url!r} (sqlite://)")


__all__ = ["Store", "open_store"]
