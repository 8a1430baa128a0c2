"""The in-memory twin: one process, nothing to install.

Documents are kept as JSON text so that callers get the same copy semantics (and the same
failure on non-JSON values) as with Redis.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

from server.store.base import Doc, Mutator, Store

T = TypeVar("T")


class MemoryStore(Store):
    kind = "memory"

    def __init__(self) -> None:
        self._docs: dict[str, str] = {}
        self._expiry: dict[str, float] = {}
        self._sets: dict[str, set[str]] = {}
        self._logs: dict[str, list[tuple[int, str]]] = {}
        self._seqs: dict[str, int] = {}

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _read(self, key: str) -> Doc | None:
        deadline = self._expiry.get(key)
        if deadline is not None and deadline <= time.monotonic():
            self._docs.pop(key, None)
            self._expiry.pop(key, None)
        raw = self._docs.get(key)
        return None if raw is None else cast(Doc, json.loads(raw))

    def _write(self, key: str, doc: Doc, ttl_ms: int | None = None) -> None:
        self._docs[key] = json.dumps(doc, allow_nan=False)
        if ttl_ms is None:
            self._expiry.pop(key, None)
        else:
            self._expiry[key] = time.monotonic() + ttl_ms / 1000

    async def get(self, key: str) -> Doc | None:
        return self._read(key)

    async def get_many(self, keys: Sequence[str]) -> list[Doc | None]:
        return [self._read(key) for key in keys]

    async def put(self, key: str, doc: Doc, *, ttl_ms: int | None = None) -> None:
        self._write(key, doc, ttl_ms)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._docs.pop(key, None)
            self._expiry.pop(key, None)
            self._sets.pop(key, None)

    async def mutate(
        self, key: str, fn: Mutator[T], *, index: tuple[str, str] | None = None
    ) -> T:
        # No await between read and write: on one event loop this is atomic.
        new, result = fn(self._read(key))
        if new is None:
            self._docs.pop(key, None)
            self._expiry.pop(key, None)
            if index:
                self._sets.get(index[0], set()).discard(index[1])
        else:
            self._write(key, new)
            if index:
                self._sets.setdefault(index[0], set()).add(index[1])
        return result

    async def index_members(self, index: str) -> list[str]:
        return sorted(self._sets.get(index, ()))

    async def index_add(self, index: str, *members: str) -> None:
        self._sets.setdefault(index, set()).update(members)

    async def index_remove(self, index: str, *members: str) -> None:
        self._sets.get(index, set()).difference_update(members)

    async def claim(self, key: str, owner: str, *, ttl_ms: int) -> bool:
        holder = self._read(key)
        if holder is not None and holder.get("owner") != owner:
            return False
        self._write(key, {"owner": owner}, ttl_ms)
        return True

    async def log_append(self, key: str, build: Callable[[int], Doc], *, cap: int) -> Doc:
        seq = self._seqs.get(key, 0) + 1
        self._seqs[key] = seq
        doc = build(seq)
        entries = self._logs.setdefault(key, [])
        entries.append((seq, json.dumps(doc, allow_nan=False)))
        del entries[:-cap]
        return cast(Doc, json.loads(entries[-1][1]))

    async def log_range(
        self, key: str, *, limit: int, before: int | None = None, after: int | None = None
    ) -> list[Doc]:
        entries = self._logs.get(key, [])
        if after is not None:
            picked = [raw for seq, raw in entries if seq > after][:limit]
        else:
            below = [raw for seq, raw in entries if before is None or seq < before]
            picked = below[-limit:] if limit > 0 else []
        return [json.loads(raw) for raw in picked]

    async def log_delete(self, key: str) -> None:
        self._logs.pop(key, None)
        self._seqs.pop(key, None)
