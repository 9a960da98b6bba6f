"""What a Swift account's containers are like, remembered across requests for a few seconds.

A write must know whether its container keeps versions (the null-version mark, `swift_meta.py`), and a
HEAD of the container costs as much as a small PUT. The versioning state changes rarely, so it is kept per
account for `ttl` seconds. Writes through this gateway (set_versioning, create/delete of a container)
update or drop the entry at once; every object PUT's answer says whether Swift versioned it, which
corrects a stale entry on the spot. A change made past the gateway (Swift's own API, another replica) is
seen within `ttl` seconds: S3 documents the same window for a versioning change to propagate, so a write
inside it may be stored as the null version. Keep `ttl` short.

The same HEAD says whether the container may hold manifests (a mark the backend sets before it writes the
first one, `swift_backend.py`): a delete in a container without the mark needs no look at the object first.
That fact has its own expiry (refreshed only by a HEAD), so no other update prolongs a stale "none".
"""

from __future__ import annotations

import time

UNKNOWN = object()  # the state of a container not seen within the TTL


class ContainerStates:
    """container name -> versioning state (True on, False suspended, None never on), and whether it may
    hold manifests, each with a TTL."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, bool | None]] = {}
        self._manifests: dict[str, tuple[float, bool]] = {}

    def get(self, container: str) -> bool | None | object:
        """The remembered state, or UNKNOWN (never seen, or older than `ttl`)."""
        hit = self._entries.get(container)
        if hit is None or hit[0] <= time.monotonic():
            return UNKNOWN
        return hit[1]

    def put(self, container: str, versioning: bool | None) -> None:
        self._put(self._entries, container, versioning)

    def may_hold_manifests(self, container: str) -> bool:
        """False only when a HEAD within `ttl` showed the container without the manifests mark."""
        hit = self._manifests.get(container)
        return hit is None or hit[0] <= time.monotonic() or hit[1]

    def marked(self, container: str) -> bool:
        """True when a HEAD (or our own marking) within `ttl` showed the manifests mark."""
        hit = self._manifests.get(container)
        return hit is not None and hit[0] > time.monotonic() and hit[1]

    def put_manifests(self, container: str, marked: bool) -> None:
        self._put(self._manifests, container, marked)

    def _put(self, entries: dict, container: str, value: object) -> None:
        if self.ttl <= 0:
            return
        if container not in entries and len(entries) >= self.max_entries:
            now = time.monotonic()
            for name in [n for n, (until, _) in entries.items() if until <= now] or [next(iter(entries))]:
                del entries[name]
        entries[container] = (time.monotonic() + self.ttl, value)

    def forget(self, container: str) -> None:
        self._entries.pop(container, None)
        self._manifests.pop(container, None)

    def observed_write(self, container: str, versioned: bool) -> None:
        """An object PUT's answer: Swift gave it a version id (versioning on) or not (off or suspended)."""
        known = self.get(container)
        if versioned and known is not True:
            self.put(container, True)
        elif not versioned and known is True:
            self._entries.pop(container, None)  # off, but suspended or never on? The next HEAD will say.
