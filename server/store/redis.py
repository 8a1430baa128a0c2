"""The Redis twin: the same contract, shared by every process that points at one Redis.

Every call has a timeout so that a dead or paused Redis turns into ``Unavailable`` quickly
instead of blocking a handler.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from server.errors import Conflict, Unavailable
from server.store.base import Doc, Mutator, Store, StoreStats

T = TypeVar("T")
MAX_MUTATE_ATTEMPTS = 64

# Lua runs atomically inside Redis: no other client's command interleaves, so the seq, the
# entry, the token and the mark are all written or none are (no gaps, no duplicates).
# The entry JSON gets its seq spliced in front: the caller's doc is a non-empty object.
APPEND = """
local seq = redis.call('INCR', KEYS[2])
local entry = '{"seq":' .. seq .. ',' .. string.sub(ARGV[1], 2)
redis.call('ZADD', KEYS[1], seq, entry)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
return entry
"""

APPEND_ONCE = """
local log, seqkey, tokens, marks, names = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local body, cap, token = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local known = redis.call('ZSCORE', tokens, token)
if known then
  local found = redis.call('ZRANGEBYSCORE', log, known, known)
  if found[1] then return {0, found[1]} end
end
local seq = redis.call('INCR', seqkey)
local entry = '{"seq":' .. seq .. ',' .. string.sub(body, 2)
redis.call('ZADD', log, seq, entry)
redis.call('ZADD', tokens, seq, token)
redis.call('ZADD', marks, seq, seq)
redis.call('SADD', names, marks)
if redis.call('ZCARD', log) > cap then
  redis.call('ZREMRANGEBYRANK', log, 0, -(cap + 1))
  local first = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
  redis.call('ZREMRANGEBYSCORE', tokens, '-inf', '(' .. first[2])
end
return {1, entry}
"""

# A sliding-window log of hits scored by Redis's own clock, so every process agrees.
RATE_HIT = """
local key, limit, window, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', key, now, member)
redis.call('PEXPIRE', key, window)
return 0
"""

# Take the key if free, or renew it if we already hold it; one round trip, atomic.
_CLAIM_SCRIPT = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


def _dumps(doc: Doc) -> str:
    return json.dumps(doc, allow_nan=False, separators=(",", ":"))


def _loads(raw: Any) -> Doc | None:
    # redis-py's stubs type replies as bytes | str; decode_responses=True makes them str.
    return None if raw is None else cast(Doc, json.loads(raw))




class RedisStore(Store):
    kind = "redis"

    def __init__(self, url: str, *, timeout_s: float = 1.0) -> None:
        self.stats = StoreStats()
        self._redis = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            # Retry once on a dropped connection (Redis restarted: the pooled socket is stale),
            # never on a timeout: Redis is paused or overloaded, and waiting twice as long
            # would only hold the handler longer.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            health_check_interval=15,
        )
        self._append = self._redis.register_script(APPEND)
        self._append_once = self._redis.register_script(APPEND_ONCE)
        self._rate_hit = self._redis.register_script(RATE_HIT)

    @asynccontextmanager
    async def _call(self, op: str) -> AsyncIterator[None]:
        """One store operation: timed for /metrics, and a Redis fault becomes Unavailable."""
        started = time.perf_counter()
        try:
            yield
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            self.stats.failed(op)
            raise Unavailable("The data store is unreachable; try again shortly.") from exc
        finally:
            self.stats.timed(op, time.perf_counter() - started)

    async def ping(self) -> None:
        async with self._call("ping"):
            await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()

    async def get(self, key: str) -> Doc | None:
        async with self._call("get"):
            return _loads(await self._redis.get(key))

    async def get_many(self, keys: Sequence[str]) -> list[Doc | None]:
        if not keys:
            return []
        async with self._call("get_many"):
            return [_loads(raw) for raw in await self._redis.mget(list(keys))]

    async def put(self, key: str, doc: Doc, *, ttl_ms: int | None = None) -> None:
        async with self._call("put"):
            await self._redis.set(key, _dumps(doc), px=ttl_ms)

    async def delete(self, *keys: str) -> None:
        if keys:
            async with self._call("delete"):
                await self._redis.delete(*keys)

    async def mutate(
        self, key: str, fn: Mutator[T], *, index: tuple[str, str] | None = None
    ) -> T:
        async with self._call("mutate"):
            for _ in range(MAX_MUTATE_ATTEMPTS):
                async with self._redis.pipeline(transaction=True) as pipe:
                    try:
                        # WATCH makes EXEC fail if anyone else wrote the key in between:
                        # optimistic concurrency across every process on this Redis.
                        await pipe.watch(key)
                        new, result = fn(_loads(await pipe.get(key)))
                        pipe.multi()  # type: ignore[no-untyped-call]
                        if new is None:
                            pipe.delete(key)
                            if index:
                                pipe.srem(index[0], index[1])
                        else:
                            pipe.set(key, _dumps(new))
                            if index:
                                pipe.sadd(index[0], index[1])
                        await pipe.execute()
                        return result
                    except WatchError:
                        continue
        raise Conflict("Too many simultaneous changes; please retry.")

    async def index_members(self, index: str) -> list[str]:
        async with self._call("index_members"):
            return sorted(str(m) for m in await self._redis.smembers(index))

    async def claim(self, key: str, owner: str, *, ttl_ms: int) -> bool:
        async with self._call("claim"):
            result = await self._redis.eval(_CLAIM_SCRIPT, 1, key, _dumps({"owner": owner}), ttl_ms)
            return bool(result)

    async def log_append(self, key: str, doc: Doc, *, cap: int) -> Doc:
        if not doc or "seq" in doc:
            raise ValueError("a log entry is a non-empty object without its own 'seq'")
        async with self._call("log_append"):
            entry = await self._append(keys=[key, f"{key}:seq"], args=[_dumps(doc), cap])
        return cast(Doc, _loads(entry))

    async def log_range(
        self, key: str, *, limit: int, before: int | None = None, after: int | None = None
    ) -> list[Doc]:
        if limit <= 0:
            return []
        async with self._call("log_range"):
            raws: list[Any]
            if after is not None:
                raws = await self._redis.zrangebyscore(
                    key, f"({after}", "+inf", start=0, num=limit
                )
            else:
                top = "+inf" if before is None else f"({before}"
                raws = list(
                    reversed(
                        await self._redis.zrevrangebyscore(key, top, "-inf", start=0, num=limit)
                    )
                )
            return [cast(Doc, _loads(raw)) for raw in raws]

    async def log_delete(self, key: str) -> None:
        async with self._call("log_delete"):
            marks = await self._redis.smembers(f"{key}:marks")
            await self._redis.delete(key, f"{key}:seq", f"{key}:tokens", f"{key}:marks", *marks)

    async def index_add(self, index: str, *members: str) -> int:
        return await self._change_set(index, members, add=True)

    async def index_remove(self, index: str, *members: str) -> int:
        return await self._change_set(index, members, add=False)

    async def _change_set(self, index: str, members: Sequence[str], *, add: bool) -> int:
        async with self._call("index_change"), self._redis.pipeline(transaction=True) as pipe:
            if members:
                (pipe.sadd if add else pipe.srem)(index, *members)
            pipe.scard(index)
            return int((await pipe.execute())[-1])

    async def index_sizes(self, indexes: Sequence[str]) -> list[int]:
        if not indexes:
            return []
        async with self._call("index_sizes"), self._redis.pipeline(transaction=False) as pipe:
            for index in indexes:
                pipe.scard(index)
            return [int(size) for size in await pipe.execute()]

    async def log_append_once(
        self, key: str, doc: Doc, *, cap: int, token: str, mark: str
    ) -> tuple[Doc, bool]:
        if not doc:
            raise ValueError("log_append_once needs a non-empty document")
        keys = [key, f"{key}:seq", f"{key}:tokens", f"{key}:mark:{mark}", f"{key}:marks"]
        async with self._call("log_append_once"):
            created, raw = await self._append_once(keys=keys, args=[_dumps(doc), cap, token])
        return cast(Doc, _loads(raw)), bool(created)

    async def log_find(self, key: str, token: str) -> Doc | None:
        async with self._call("log_find"):
            seq = await self._redis.zscore(f"{key}:tokens", token)
            if seq is None:
                return None
            found = await self._redis.zrangebyscore(key, seq, seq)
        return _loads(found[0]) if found else None

    async def log_last(self, keys: Sequence[str]) -> list[Doc | None]:
        if not keys:
            return []
        async with self._call("log_last"), self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zrange(key, -1, -1)
            return [_loads(found[0]) if found else None for found in await pipe.execute()]

    async def log_count_after(self, queries: Sequence[tuple[str, int, str]]) -> list[int]:
        if not queries:
            return []
        # MULTI: every head and its marks are read at one instant, consistent with appends.
        async with self._call("log_count_after"), self._redis.pipeline(transaction=True) as pipe:
            for key, after, mark in queries:
                pipe.get(f"{key}:seq")
                pipe.zcount(f"{key}:mark:{mark}", f"({after}", "+inf")
            replies = await pipe.execute()
        counts = []
        for i, (_, after, _) in enumerate(queries):
            head, marked = int(replies[2 * i] or 0), int(replies[2 * i + 1])
            counts.append(max(0, head - after - marked))
        return counts

    async def log_unmark(self, key: str, mark: str, upto: int) -> None:
        async with self._call("log_unmark"):
            await self._redis.zremrangebyscore(f"{key}:mark:{mark}", "-inf", upto)

    async def rate_hit(self, key: str, *, limit: int, window_ms: int) -> int:
        async with self._call("rate_hit"):
            wait = await self._rate_hit(keys=[key], args=[limit, window_ms, uuid.uuid4().hex])
        return int(wait)
