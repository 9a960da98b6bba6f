"""Gateway state the backend cannot hold: id maps, tags, idempotency tokens, S3 bucket configurations.

A small namespaced key → JSON store with atomic primitives (`put_if_absent`, compare-and-set on a row
version, `update`) that idempotency, id allocation and read-modify-writes build on. SQLite (embedded, one
gateway), or PostgreSQL / MariaDB shared by several replicas (docs/state.md).
"""

from __future__ import annotations

from .base import Store, StoreContention, StoreUnavailable
from .sqlite import SqliteStore

SCHEMES = ("sqlite://", "postgresql://", "postgres://", "mysql://", "mariadb://")


def open_store(url: str, pool_size: int = 10, connect_timeout: float = 5.0, timeout: float = 5.0) -> Store:
    """`sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite://:memory:`,
    `postgresql://user:pw@host:port/db`, `mysql://user:pw@host:port/db` (or `mariadb://`).
    The pool and deadlines apply to the database servers; SQLite has one connection of its own."""
    if url.startswith("sqlite://"):
        return SqliteStore(url[len("sqlite://"):].removeprefix("/") or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore  # imported on use: a SQLite gateway needs no driver
        return PostgresStore(url, pool_size=pool_size, connect_timeout=connect_timeout, timeout=timeout)
    if url.startswith(("mysql://", "mariadb://")):
        from .mysql import MysqlStore
        return MysqlStore(url, pool_size=pool_size, connect_timeout=connect_timeout, timeout=timeout)
    raise ValueError(f"unsupported state store URL {url!r} ({', '.join(SCHEMES)})")


__all__ = ["SCHEMES", "Store", "StoreContention", "StoreUnavailable", "open_store"]
