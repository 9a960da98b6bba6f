"""The state schema, as forward-only numbered migrations per database.

Each store applies the versions missing from its `schema_migrations` table when it opens (and on
`cloudgate state migrate`), holding a database-wide lock meanwhile (PostgreSQL advisory lock, MariaDB
GET_LOCK, SQLite a write transaction), so replicas starting together apply each version once. A version,
once released, is never edited: a change is a new version appended here, for every database.

One table holds everything: kv(ns, key, value JSON text, version). Keys compare in code point order on
every database (SQLite TEXT compares UTF-8 bytes; PostgreSQL BYTEA and MariaDB VARBINARY hold them).
"""

from __future__ import annotations

MIGRATIONS: dict[str, list[tuple[int, list[str]]]] = {
    "sqlite": [
        # IF NOT EXISTS: databases made before migrations existed already have this table.
        (1, ["CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
             " PRIMARY KEY (ns, key)) WITHOUT ROWID"]),
        (2, ["ALTER TABLE kv ADD COLUMN version INTEGER NOT NULL DEFAULT 1"]),
    ],
    "postgresql": [
        # key BYTEA (UTF-8): gateway keys hold NUL separators, which PostgreSQL TEXT cannot store.
        (1, ['CREATE TABLE kv (ns TEXT COLLATE "C" NOT NULL, key BYTEA NOT NULL,'
             ' value TEXT NOT NULL, PRIMARY KEY (ns, key))']),
        (2, ["ALTER TABLE kv ADD COLUMN version BIGINT NOT NULL DEFAULT 1"]),
    ],
    "mysql": [
        # InnoDB keys are at most 3072 bytes: ns + key fit (an S3 key is at most 1024 UTF-8 bytes).
        (1, ["CREATE TABLE kv (ns VARBINARY(64) NOT NULL, k VARBINARY(3000) NOT NULL,"
             " value LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,"
             " PRIMARY KEY (ns, k)) ENGINE=InnoDB"]),
        (2, ["ALTER TABLE kv ADD COLUMN version BIGINT NOT NULL DEFAULT 1"]),
    ],
}

LATEST = max(v for v, _ in MIGRATIONS["sqlite"])
assert all(max(v for v, _ in m) == LATEST for m in MIGRATIONS.values()), "every database at one version"

# The PostgreSQL advisory lock id and the MariaDB lock name migrations hold.
PG_LOCK_ID = 0x636C6F7564676174  # "cloudgat"
MYSQL_LOCK_NAME = "cloudgate-migrate:"  # + the database name (GET_LOCK is server-wide)
