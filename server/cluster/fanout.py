"""Cross-process fan-out of broadcasts through Redis pub/sub, hardened against Redis faults.

python-socketio's AsyncRedisManager awaits every publish inline (up to 2 attempts, each as slow
as the socket allows: ~10 s per emit while Redis is paused), builds a new Redis client on every
reconnect without closing the old one, and its listener blocks forever on a paused Redis. This
subclass keeps the base class's message handling but replaces the transport:

- one Redis client for the whole process, every call bounded by ``timeout_s``;
- emits go into a bounded outbox drained by one task, so an emit never waits on Redis; while
  Redis is away the outbox holds messages (in order) for up to ``max_delay_s``, and what
  cannot be published in time is dropped, logged and counted in ``stats``;
- the listener pings its subscription every ``ping_every_s`` and treats ``stale_after_s`` of
  silence as a dead connection: it closes it and subscribes again (backoff capped at 1 s);
- after an outage, publishing waits (briefly) until the other nodes have resubscribed, since
  pub/sub delivers only to those subscribed at the moment of the publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
import socketio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from server.errors import Unavailable
from server.tasks import cancel_and_wait
from server.timing import NETWORK_BOUNDS, Timings
from server.wire.broadcast import FastEmit

logger = logging.getLogger(__name__)

CHANNEL = "huddle:fanout"
RECONNECT_MAX_S = 1.0
PUBLISH_BATCH = 64  # messages per Redis round trip when the outbox has a backlog
PEERS_GRACE_S = 2 * RECONNECT_MAX_S + 0.5  # longest wait for other nodes to resubscribe


@dataclass
class FanoutStats:
    """Counters for logs now and the metrics endpoint later."""

    published: int = 0
    dropped: int = 0  # never published: outbox full or older than max_delay_s
    publish_failures: int = 0  # attempts that failed (the message may still go out later)
    resubscribes: int = 0
    queued: int = 0  # waiting in the outbox right now
    # One PUBLISH round trip (a pipeline of up to PUBLISH_BATCH messages), successful ones.
    publish_seconds: Timings = field(default_factory=lambda: Timings(NETWORK_BOUNDS))


# FastEmit after the pub/sub manager: emits are still published, local delivery is fast.
class RedisFanout(socketio.AsyncRedisManager, FastEmit):  # type: ignore[misc]
    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 1.0,
        outbox_size: int = 10_000,
        max_delay_s: float = 10.0,
        ping_every_s: float = 1.0,
        stale_after_s: float = 3.0,
    ) -> None:
        super().__init__(url, channel=CHANNEL)
        self.stats = FanoutStats()
        self.timeout_s, self.max_delay_s = timeout_s, max_delay_s
        self.ping_every_s, self.stale_after_s = ping_every_s, stale_after_s
        self.listening = False  # subscribed and heard from Redis within stale_after_s
        self.publishing = True  # the last publish attempt succeeded
        self.redis = aioredis.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
            # A pooled connection that went stale when Redis restarted is replaced at once;
            # a timeout is not retried (the drain loop retries, with the outbox intact).
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        self._outbox: deque[tuple[float, Any]] = deque()
        self._outbox_size = outbox_size
        self._wakeup = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._closed = False
        self._peers = 0  # subscribers that received our last publish
        self._rejoining = False  # an outage happened since our last publish
        # Other channels received on the same subscription (server/cluster/bus.py).
        self._routes: dict[bytes, Callable[[bytes], None]] = {}

    def route(self, channel: str, deliver: Callable[[bytes], None]) -> None:
        """Also subscribe to ``channel``; ``deliver`` gets each message's data, in the listener
        task, so it must not block. Takes effect at the next (re)subscription: call it before
        the manager is initialized."""
        self._routes[channel.encode()] = deliver

    async def publish_now(self, channel: str, data: str) -> int:
        """Publish at once (not through the outbox); how many subscribers received it.

        Raises Unavailable when Redis does not answer within the timeout.
        """
        try:
            return int(await asyncio.wait_for(self.redis.publish(channel, data), self.timeout_s))
        except Exception as exc:
            raise Unavailable("The cluster bus (Redis) is unreachable; try again.") from exc

    @property
    def healthy(self) -> bool:
        # A failed publish only counts while messages wait: with an empty outbox there is
        # nothing to report until the next publish tries again.
        return self.listening and (self.publishing or not self._outbox)

    def initialize(self) -> None:
        super().initialize()  # starts the listener task (self.thread)
        self._drainer = self.server.start_background_task(self._drain)

    async def close(self) -> None:
        self._closed = True
        self._wakeup.set()  # the drain loop also checks _closed, should a cancel be swallowed
        thread = getattr(self, "thread", None)
        await cancel_and_wait(thread if isinstance(thread, asyncio.Task) else None, self._drainer)
        if self._outbox:
            self._drop(len(self._outbox), "shutdown")
            self._outbox.clear()
        await self.redis.aclose()

    # -- publishing ------------------------------------------------------------------------
    async def _publish(self, data: Any) -> None:
        """Queue ``data`` for every other node; never waits on Redis."""
        if len(self._outbox) >= self._outbox_size:
            self._outbox.popleft()
            self._drop(1, "outbox full")
        self._outbox.append((time.monotonic(), data))
        self.stats.queued = len(self._outbox)
        self._wakeup.set()

    async def _drain(self) -> None:
        backoff = 0.1
        while not self._closed:
            if not self._outbox:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            queued_at = self._outbox[0][0]
            if time.monotonic() - queued_at > self.max_delay_s:
                self._outbox.popleft()
                self._drop(1, f"older than {self.max_delay_s}s")
                continue
            if not self.listening:
                # Other nodes resubscribe about when we do; publishing earlier loses the message.
                self._rejoining = True
                await asyncio.sleep(0.1)
                continue
            if self._rejoining:
                await self._await_peers()
            # Everything queued goes out in one round trip (bounded): one publish per round trip
            # made bursts queue behind each other (p99 1.2 s at 16 broadcasts in flight).
            batch = [item for _, item in itertools.islice(self._outbox, PUBLISH_BATCH)]
            started = time.monotonic()
            try:
                receivers = await asyncio.wait_for(self._publish_batch(batch), self.timeout_s)
            except Exception as exc:
                self._rejoining = True
                self.stats.publish_failures += 1
                if self.publishing:
                    logger.warning("fan-out publish failed (%r); %d queued", exc, len(self._outbox))
                self.publishing = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_S)
                continue
            self.stats.publish_seconds.observe(time.monotonic() - started)
            for _ in batch:
                self._outbox.popleft()
            self._peers = receivers  # subscribed nodes, ourselves included
            self.stats.published += len(batch)
            self.stats.queued = len(self._outbox)
            if not self.publishing:
                logger.warning("fan-out publishing again; %d queued", len(self._outbox))
            self.publishing, backoff = True, 0.1

    async def _publish_batch(self, batch: list[Any]) -> int:
        """Publish ``batch`` in one pipeline; the subscriber count of the last message."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for data in batch:
                pipe.publish(self.channel, self.json.dumps(data))
            replies = await pipe.execute()
        return int(replies[-1])

    async def _await_peers(self) -> None:
        """After an outage, hold publishing until as many nodes have resubscribed as were
        listening before (bounded by ``PEERS_GRACE_S``): their reconnect backoffs differ by
        up to a second, and a message published before a node is back never reaches it."""
        deadline = time.monotonic() + PEERS_GRACE_S
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                reply = await asyncio.wait_for(
                    self.redis.pubsub_numsub(self.channel), self.timeout_s
                )
                if reply and int(reply[0][1]) >= self._peers:
                    break
            await asyncio.sleep(0.05)
        self._rejoining = False

    def _drop(self, count: int, why: str) -> None:
        self.stats.dropped += count
        self.stats.queued = len(self._outbox)
        logger.error("fan-out dropped %d message(s) (%s); %d dropped in total",
                     count, why, self.stats.dropped)

    # -- listening -------------------------------------------------------------------------
    async def _listen(self) -> AsyncIterator[bytes]:
        """Messages on our channel, forever; the base class's listener task dispatches them."""
        backoff = 0.1
        while not self._closed:
            pubsub = self.redis.pubsub()
            try:
                channels = [self.channel, *(c.decode() for c in self._routes)]
                await asyncio.wait_for(pubsub.subscribe(*channels), self.timeout_s)
                async for data in self._receive(pubsub):
                    backoff = 0.1
                    yield data
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.listening:
                    logger.warning("fan-out subscription lost (%r); resubscribing", exc)
            finally:
                self.listening = False
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        pubsub.aclose(), self.timeout_s  # type: ignore[no-untyped-call]
                    )
            self.stats.resubscribes += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RECONNECT_MAX_S)

    async def _receive(self, pubsub: Any) -> AsyncIterator[bytes]:
        heard = pinged = time.monotonic()
        while not self._closed:
            now = time.monotonic()
            if now - heard > self.stale_after_s:
                raise ConnectionError(f"no reply from Redis for {self.stale_after_s}s")
            if now - pinged >= self.ping_every_s:
                await asyncio.wait_for(pubsub.ping(), self.timeout_s)
                pinged = now
            message = await asyncio.wait_for(
                pubsub.get_message(timeout=self.ping_every_s / 2), self.timeout_s + 1
            )
            if message is None:
                continue
            heard = time.monotonic()
            if not self.listening and message["type"] in ("subscribe", "pong"):
                logger.info("fan-out subscribed to %s", self.channel)
                self.listening = True
            if message["type"] != "message":
                continue
            deliver = self._routes.get(message["channel"])
            if deliver is None:
                yield message["data"]
                continue
            try:
                deliver(message["data"])
            except Exception:
                logger.exception("fan-out: handling a message on %r failed", message["channel"])
