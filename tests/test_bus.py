"""The cluster bus: the same contract on the memory twin (one node) and the Redis twin (two
nodes in this process, each with its own fan-out subscription on a real redis-server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from server.cluster.bus import ClusterBus, LocalBus, RedisBus
from server.cluster.fanout import RedisFanout
from server.engine import start_fanout
from server.errors import Unavailable
from tests.support import WAIT_S

pytestmark = pytest.mark.unit


class Node:
    def __init__(self, name: str, bus: ClusterBus) -> None:
        self.name, self.bus, self.seen = name, bus, list[dict[str, Any]]()

        async def whoami(body: dict[str, Any]) -> dict[str, Any]:
            self.seen.append(body)
            return {"node": name, "echo": body.get("n")}

        async def broken(_: dict[str, Any]) -> None:
            raise RuntimeError("boom")

        bus.on("whoami", whoami)
        bus.on("broken", broken)


async def listening(*fanouts: RedisFanout) -> None:
    deadline = time.monotonic() + WAIT_S
    while not all(f.listening for f in fanouts):
        assert time.monotonic() < deadline, "fan-out never subscribed"
        await asyncio.sleep(0.02)


@pytest.fixture(params=["memory", "redis"])
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[list[Node]]:
    if request.param == "memory":
        yield [Node("solo", LocalBus())]
        return
    url = request.getfixturevalue("redis_url")
    fanouts = [RedisFanout(url, timeout_s=0.5) for _ in range(2)]
    made = [Node(f"n{i}", RedisBus(f, f"n{i}")) for i, f in enumerate(fanouts)]
    for fanout in fanouts:
        start_fanout(socketio.AsyncServer(async_mode="aiohttp", client_manager=fanout))
    await listening(*fanouts)
    yield made
    for fanout in fanouts:
        await fanout.close()


async def test_every_node_answers_once(nodes: list[Node]) -> None:
    replies = await nodes[0].bus.ask_all("whoami", {"n": 7})
    assert sorted(r["node"] for r in replies) == sorted(n.name for n in nodes)
    assert all(r["echo"] == 7 for r in replies)
    assert all(node.seen == [{"n": 7}] for node in nodes)
    # Any node can ask.
    assert len(await nodes[-1].bus.ask_all("whoami", {})) == len(nodes)


async def test_a_failing_handler_is_reported_not_raised(nodes: list[Node]) -> None:
    assert await nodes[0].bus.ask_all("broken", {}) == [None] * len(nodes)


async def test_redis_bus_without_redis_is_unavailable() -> None:
    fanout = RedisFanout("redis://127.0.0.1:9/0", timeout_s=0.2)
    bus = RedisBus(fanout, "lonely")
    with pytest.raises(Unavailable):
        await bus.ask_all("whoami", {})
    await fanout.redis.aclose()
