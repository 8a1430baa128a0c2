"""RedisFanout against a real redis-server that tests pause (SIGSTOP) and kill."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import socketio

from server.cluster.fanout import RedisFanout
from server.config import Settings
from server.engine import start_fanout
from tests.cluster_support import RedisProcess, redis_process, wait_for_readiness
from tests.support import connect, eventually, free_port, running_app

pytestmark = pytest.mark.cluster


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    with redis_process() as running:
        yield running


@pytest.fixture
async def fanout(own_redis: RedisProcess) -> AsyncIterator[RedisFanout]:
    manager = RedisFanout(own_redis.url, timeout_s=0.3, max_delay_s=0.5, ping_every_s=0.1,
                          stale_after_s=0.5)
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)
    start_fanout(sio)
    yield manager
    await manager.close()


def client_count(url: str) -> int:
    conn = redis.Redis.from_url(url)
    try:
        return len(conn.client_list()) - 1  # minus this one
    finally:
        conn.close()


async def test_emit_is_queued_and_published(fanout: RedisFanout) -> None:
    await eventually(lambda: fanout.listening, "subscribed")
    await fanout.emit("hello", {"n": 1}, room="lobby:X", namespace="/")
    await eventually(lambda: fanout.stats.published == 1, "published")
    assert fanout.stats.dropped == 0


async def test_messages_redis_cannot_take_are_dropped_and_counted(
    fanout: RedisFanout, own_redis: RedisProcess
) -> None:
    await eventually(lambda: fanout.listening, "subscribed")
    own_redis.pause()
    try:
        for n in range(3):
            await fanout.emit("hello", {"n": n}, room="lobby:X", namespace="/")
        # The emits returned with the messages still queued: nothing waited on Redis.
        assert fanout.stats.queued >= 1
        await eventually(lambda: fanout.stats.dropped == 3, "3 dropped")
        await eventually(lambda: not fanout.healthy, "unhealthy")
    finally:
        own_redis.resume()
    await eventually(lambda: fanout.listening, "subscribed again")
    await fanout.emit("hello", {"n": 4}, room="lobby:X", namespace="/")
    await eventually(lambda: fanout.stats.published >= 1 and fanout.healthy, "healthy")
    assert fanout.stats.dropped == 3


async def test_resubscribing_after_faults_leaks_no_connections(
    fanout: RedisFanout, own_redis: RedisProcess
) -> None:
    await eventually(lambda: fanout.listening, "subscribed")
    await fanout.emit("warm", {}, room="r", namespace="/")
    await eventually(lambda: fanout.stats.published == 1, "published")
    before = client_count(own_redis.url)
    for _ in range(3):
        own_redis.pause()
        try:
            await eventually(lambda: not fanout.listening, "subscription seen as stale")
        finally:
            own_redis.resume()
        await eventually(lambda: fanout.listening, "subscribed again")
    await fanout.emit("after", {}, room="r", namespace="/")
    await eventually(lambda: fanout.stats.published == 2, "published again")
    assert fanout.stats.resubscribes >= 3
    assert client_count(own_redis.url) <= before


async def test_fanout_survives_redis_being_killed_and_restarted(
    fanout: RedisFanout, own_redis: RedisProcess
) -> None:
    await eventually(lambda: fanout.listening, "subscribed")
    own_redis.kill()
    await eventually(lambda: not fanout.listening, "subscription lost")
    own_redis.start()
    await eventually(lambda: fanout.listening, "subscribed again")
    await fanout.emit("after", {}, room="r", namespace="/")
    await eventually(lambda: fanout.stats.published == 1, "published")
    assert fanout.thread is not None and not fanout.thread.done()


async def test_a_node_leaks_no_tasks_across_redis_faults(own_redis: RedisProcess) -> None:
    settings = Settings(port=free_port(), redis_url=own_redis.url, ping_interval_ms=1000,
                        ping_timeout_ms=2000, heartbeat_interval_ms=200, ghost_bound_ms=1200)
    async with running_app(settings) as url:
        client = await connect(url)
        try:
            await wait_for_readiness(url, 200)
            assert (await client.call("createRoom", {"nickname": "A"}))["ok"]
            baseline = len(asyncio.all_tasks())
            for fault in ("pause", "kill", "pause", "kill"):
                if fault == "pause":
                    own_redis.pause()
                else:
                    own_redis.kill()
                await wait_for_readiness(url, 503)
                assert (await client.call("listRooms"))["code"] == "unavailable"
                if fault == "pause":
                    own_redis.resume()
                else:
                    own_redis.start()
                await wait_for_readiness(url, 200)
            assert (await client.call("listRooms"))["ok"]
            assert len(asyncio.all_tasks()) <= baseline
        finally:
            await client.sio.disconnect()
