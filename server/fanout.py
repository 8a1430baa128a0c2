"""Cross-process fan-out of broadcasts through Redis pub/sub.

python-socketio's AsyncRedisManager carries emits between processes but never closes its
connections; this subclass owns their lifetime. The multi-node issue hardens it further.
"""

from __future__ import annotations

import asyncio
import contextlib

import socketio

from server.wire.broadcast import FastEmit

CHANNEL = "huddle:fanout"


# FastEmit after the pub/sub manager: emits are still published, local delivery is fast.
class RedisFanout(socketio.AsyncRedisManager, FastEmit):  # type: ignore[misc]
    def __init__(self, url: str, *, connect_timeout_s: float = 1.0) -> None:
        super().__init__(
            url,
            channel=CHANNEL,
            redis_options={"socket_connect_timeout": connect_timeout_s,
                           "health_check_interval": 10},
        )

    async def close(self) -> None:
        thread = getattr(self, "thread", None)
        if isinstance(thread, asyncio.Task) and not thread.done():
            thread.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await thread
        if self.pubsub is not None:
            await self.pubsub.aclose()
        if self.redis is not None:
            await self.redis.aclose()
