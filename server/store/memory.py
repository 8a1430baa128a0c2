"""The in-memory twin: one process, nothing to install.

Documents are kept as JSON text so that callers get the same copy semantics (and the same
failure on non-JSON values) as with Redis.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TypeVar, cast

from server.store.base import Doc, Mutator, Store, StoreStats

T = TypeVar("T")


class MemoryStore(Store):
    kind = "memory"

    def __init__(self) -> None:
        self.stats = StoreStats()  # stays empty: memory calls are not worth timing
        self._docs: dict[str, str] = {}
        self._expiry: dict[str, float] = {}
        self._sets: dict[str, set[str]] = {}
        self._logs: dict[str, list[tuple[int, str]]] = {}
        self._seqs: dict[str, int] = {}
        self._tokens: dict[str, dict[str, int]] = {}
        self._marks: dict[tuple[str, str], set[int]] = {}
        self._hits: dict[str, list[float]] = {}

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

    async def claim(self, key: str, owner: str, *, ttl_ms: int) -> bool:
        holder = self._read(key)
        if holder is not None and holder.get("owner") != owner:
            return False
        self._write(key, {"owner": owner}, ttl_ms)
        return True

    async def log_append(self, key: str, doc: Doc, *, cap: int) -> Doc:
        _check_entry(doc)
        seq = self._seqs.get(key, 0) + 1
        self._seqs[key] = seq
        doc = {"seq": seq, **doc}
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
        self._tokens.pop(key, None)
        for pair in [pair for pair in self._marks if pair[0] == key]:
            del self._marks[pair]

    async def index_add(self, index: str, *members: str) -> int:
        found = self._sets.setdefault(index, set())
        found.update(members)
        return len(found)

    async def index_remove(self, index: str, *members: str) -> int:
        found = self._sets.get(index, set())
        found.difference_update(members)
        if not found:
            self._sets.pop(index, None)
        return len(found)

    async def index_sizes(self, indexes: Sequence[str]) -> list[int]:
        return [len(self._sets.get(index, ())) for index in indexes]

    async def log_append_once(
        self, key: str, doc: Doc, *, cap: int, token: str, mark: str
    ) -> tuple[Doc, bool]:
        tokens = self._tokens.setdefault(key, {})
        entries = self._logs.setdefault(key, [])
        if token in tokens:
            seq = tokens[token]
            for stored_seq, raw in entries:
                if stored_seq == seq:
                    return cast(Doc, json.loads(raw)), False
        seq = self._seqs.get(key, 0) + 1
        self._seqs[key] = seq
        entries.append((seq, json.dumps({"seq": seq, **doc}, allow_nan=False)))
        tokens[token] = seq
        self._marks.setdefault((key, mark), set()).add(seq)
        del entries[:-cap]
        first = entries[0][0]
        self._tokens[key] = {t: s for t, s in tokens.items() if s >= first}
        return cast(Doc, json.loads(entries[-1][1])), True

    async def log_find(self, key: str, token: str) -> Doc | None:
        seq = self._tokens.get(key, {}).get(token)
        for stored_seq, raw in self._logs.get(key, []):
            if stored_seq == seq:
                return cast(Doc, json.loads(raw))
        return None

    async def log_last(self, keys: Sequence[str]) -> list[Doc | None]:
        lasts = [self._logs.get(key) for key in keys]
        return [cast(Doc, json.loads(log[-1][1])) if log else None for log in lasts]

    async def log_count_after(self, queries: Sequence[tuple[str, int, str]]) -> list[int]:
        counts = []
        for key, after, mark in queries:
            head = self._seqs.get(key, 0)
            marked = sum(1 for seq in self._marks.get((key, mark), ()) if seq > after)
            counts.append(max(0, head - after - marked))
        return counts

    async def log_unmark(self, key: str, mark: str, upto: int) -> None:
        seqs = self._marks.get((key, mark))
        if seqs is not None:
            seqs.difference_update({seq for seq in seqs if seq <= upto})

    async def rate_hit(self, key: str, *, limit: int, window_ms: int) -> int:
        now = time.monotonic() * 1000
        hits = [at for at in self._hits.get(key, []) if at > now - window_ms]
        if len(hits) >= limit:
            self._hits[key] = hits
            return max(1, int(hits[0] + window_ms - now))
        hits.append(now)
        self._hits[key] = hits
        return 0


def _check_entry(doc: Doc) -> None:
    # The same precondition as the Redis twin, whose Lua script splices the seq into the JSON.
    if not doc or "seq" in doc:
        raise ValueError("a log entry is a non-empty object without its own 'seq'")
