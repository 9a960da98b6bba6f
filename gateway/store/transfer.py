"""Moving state between stores (`cloudgate state export|import`): JSON lines of {"ns", "key", "value"}.

Values are the stored JSON documents themselves, so ids, idempotency tokens and every other record arrive
unchanged. Import writes with `put` (a row already there is overwritten), so a re-run after an
interruption finishes the job.
"""

from __future__ import annotations

import json
from typing import IO

from .base import Store


async def export_lines(store: Store, out: IO[str], batch: int = 1000) -> int:
    n = 0
    async for ns, key, value in store.dump(batch):
        out.write(json.dumps({"ns": ns, "key": key, "value": value}, ensure_ascii=False) + "\n")
        n += 1
    return n


async def import_lines(store: Store, lines: IO[str]) -> int:
    n = 0
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            ns, key, value = record["ns"], record["key"], record["value"]
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"line {lineno}: not an exported record ({e})") from None
        if not isinstance(ns, str) or not isinstance(key, str):
            raise ValueError(f"line {lineno}: ns and key must be strings")
        await store.put(ns, key, value)
        n += 1
    return n
