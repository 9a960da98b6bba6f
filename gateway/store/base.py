"""The state store interface."""

from __future__ import annotations

import abc
from typing import Any


class Store(abc.ABC):
    @abc.abstractmethod
    async def get(self, ns: str, key: str) -> Any | None: ...

    @abc.abstractmethod
    async def put(self, ns: str, key: str, value: Any) -> None: ...

    @abc.abstractmethod
    async def put_if_absent(self, ns: str, key: str, value: Any) -> Any | None:
        """Insert unless present, atomically across concurrent callers (and replicas): None when
        inserted, else the value already stored."""

    @abc.abstractmethod
    async def delete(self, ns: str, key: str) -> bool: ...

    @abc.abstractmethod
    async def scan(self, ns: str, prefix: str = "", limit: int | None = None) -> list[tuple[str, Any]]:
        """(key, value) pairs whose key starts with `prefix`, in key order."""

    @abc.abstractmethod
    async def delete_prefix(self, ns: str, prefix: str) -> int: ...

    async def close(self) -> None:  # noqa: B027 - optional hook
        pass
