"""Tier 3: faults around the relay hop (issue 12). Three nodes on a real Redis behind real
nginx in round-robin mode; nodes are killed (-9), frozen (SIGSTOP) or stopped (SIGTERM), Redis
is paused. Each test gets its own cluster, since most of them break one.

What must hold: a client whose owner is gone gets a prompt error and reconnects to a live node;
no request waits past the relay timeout (ping interval + ping timeout + 0.5 s); a paused Redis
does not break relaying; nothing is left behind when a node dies mid-relay.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import socketio

from tests.cluster_js import js_client
from tests.cluster_support import ROUND_ROBIN, Cluster, cluster
from tests.relay_support import Nodes, deadline, owner_index, poll
from tests.support import WAIT_S

pytestmark = [pytest.mark.cluster, pytest.mark.js]

A, B, C = 0, 1, 2
# Long pings: a poll then waits ~10 s at its owner, so a prompt answer cannot be a poll timeout.
LONG_PINGS = {"HUDDLE_PING_INTERVAL_MS": "10000", "HUDDLE_PING_TIMEOUT_MS": "5000"}


async def readyz(url: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT_S)) as http,
        http.get(f"{url}/readyz") as reply,
    ):
        return dict(await reply.json())


async def eventually(check: Callable[[], Awaitable[bool]], what: str,
                     within_s: float = WAIT_S) -> None:
    end = deadline(within_s)
    while not await check():
        assert time.monotonic() < end, what
        await asyncio.sleep(0.05)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
        yield s


async def connected_session(nodes: Nodes, at: int) -> str:
    """A Socket.IO connection on `/` over raw polling, opened on node ``at``."""
    sid = await nodes.handshake(at=at)
    assert await nodes.post(sid, "40", at=at) == (200, "ok")
    assert (await poll(nodes, sid, at=at))[0].startswith("40{")
    return sid


async def test_owner_killed_during_a_relayed_long_poll_fails_it_at_once(
    http: aiohttp.ClientSession,
) -> None:
    with cluster(3, lb=ROUND_ROBIN, **LONG_PINGS) as lb:
        nodes = Nodes([n.url for n in lb.nodes], http, path="socket.io")
        sid = await connected_session(nodes, A)
        pending = asyncio.create_task(nodes.get(sid, at=B))
        await eventually(lambda: in_flight(lb, B, 1), "the GET never reached the relay")
        started = time.monotonic()
        lb.nodes[A].kill9()
        status, _ = await pending
        assert status == 400
        # Well before the relay timeout (15.5 s) or the owner's own poll end (10 s).
        assert time.monotonic() - started < WAIT_S
        state = await readyz(lb.nodes[B].url)
        assert state["relay"]["in_flight"] == 0 and state["relay"]["failures"] >= 1
        for at in (B, C):  # the session is gone for every survivor
            assert (await nodes.get(sid, at=at))[0] == 400


async def in_flight(lb: Cluster, at: int, count: int) -> bool:
    return bool((await readyz(lb.nodes[at].url))["relay"]["in_flight"] == count)


async def test_clients_of_a_killed_owner_reconnect_to_a_live_node(
    http: aiohttp.ClientSession,
) -> None:
    with cluster(3, lb=ROUND_ROBIN) as lb:
        # Our own HTTP session: the client would open a new one per reconnection, unclosed.
        py = socketio.AsyncClient(reconnection=True, reconnection_delay=0.1,
                                  reconnection_delay_max=0.5, http_session=http)
        py_sids: list[str] = []
        py.on("connect", lambda: py_sids.append(py.eio.sid))
        await py.connect(lb.lb.url, transports=["polling"], wait_timeout=WAIT_S)
        async with js_client(lb.lb.url, transports=["polling"], reconnection=True,
                             reconnectionDelay=100, reconnectionDelayMax=500) as js:
            js_first = await js.engine_sid()
            owners = {await owner_index(lb, py_sids[0]), await owner_index(lb, js_first)}
            for index in owners:
                lb.nodes[index].kill9()
            # Both notice at their next request and reconnect through nginx to a live node.
            end = deadline(2 * WAIT_S)
            while len(py_sids) < 2 or len(js_connects(js.lines)) < 2:
                assert time.monotonic() < end, (py_sids, js.lines)
                await asyncio.sleep(0.05)
            assert any("disconnect" in line for line in js.lines)
            for sid in (py_sids[-1], js_connects(js.lines)[-1]):
                assert await owner_index(lb, sid) not in owners
            assert (await py.call("listRooms", timeout=WAIT_S))["ok"] is True
            assert (await js.call("listRooms"))["ok"] is True
        await py.disconnect()


def js_connects(lines: list[dict[str, Any]]) -> list[str]:
    return [str(line["engine"]) for line in lines if "connect" in line]


async def test_frozen_owner_fails_relayed_requests_within_the_relay_timeout(
    http: aiohttp.ClientSession,
) -> None:
    with cluster(3, lb=ROUND_ROBIN) as lb:  # pings 1 s + 2 s: relay timeout 3.5 s
        nodes = Nodes([n.url for n in lb.nodes], http, path="socket.io")
        sid = await connected_session(nodes, A)
        owner = lb.nodes[A].proc
        assert owner is not None
        owner.send_signal(signal.SIGSTOP)  # connections are accepted, nothing answers
        try:
            started = time.monotonic()
            assert (await nodes.get(sid, at=B))[0] == 400
            assert (await nodes.post(sid, "3", at=C))[0] == 400
            assert time.monotonic() - started < 2 * 3.5 + 1.0
        finally:
            owner.send_signal(signal.SIGCONT)


async def test_paused_redis_does_not_break_relayed_polling() -> None:
    with cluster(3, lb=ROUND_ROBIN) as lb:
        client = socketio.AsyncClient(reconnection=False)
        events: list[str] = []
        client.on("disconnect", lambda *_: events.append("disconnect"))
        await client.connect(lb.lb.url, transports=["polling"], wait_timeout=WAIT_S)
        sid = client.eio.sid
        assert (await client.call("listRooms", timeout=WAIT_S))["ok"] is True
        lb.redis.pause()
        try:
            # Longer than ping interval + ping timeout (3 s): heartbeats keep crossing nodes
            # from the directory each node holds in memory.
            end = time.monotonic() + 4.0
            while time.monotonic() < end:
                ack = await client.call("listRooms", timeout=WAIT_S)
                assert ack["ok"] is False and ack["code"] == "unavailable"
        finally:
            lb.redis.resume()
        await eventually(lambda: rooms_ok(client), "listRooms never recovered")
        assert client.connected and client.eio.sid == sid and events == []
        assert len(lb.lb.upstreams_of(sid)) > 6
        await client.disconnect()


async def rooms_ok(client: socketio.AsyncClient) -> bool:
    return bool((await client.call("listRooms", timeout=WAIT_S))["ok"])


async def test_a_relay_node_killed_mid_relay_leaves_nothing_on_the_owner(
    http: aiohttp.ClientSession,
) -> None:
    with cluster(3, lb=ROUND_ROBIN) as lb:
        nodes = Nodes([n.url for n in lb.nodes], http, path="socket.io")
        polled = await connected_session(nodes, A)
        upgraded = await connected_session(nodes, A)
        ws = await nodes.ws(upgraded, at=B)
        await ws.send_str("2probe")
        assert (await ws.receive()).data == "3probe"
        await ws.send_str("5")
        pending = asyncio.create_task(nodes.get(polled, at=B))
        await eventually(lambda: in_flight(lb, B, 1), "the GET never reached the relay")
        assert (await readyz(lb.nodes[A].url))["sessions"] == 2
        lb.nodes[B].kill9()
        with pytest.raises(aiohttp.ClientError):
            await pending
        await ws.close()
        # The owner drops both sessions: the WebSocket at once, the poll by ping timeout.
        await eventually(lambda: sessions_on(lb, A, 0), "the owner kept sessions", 3 * WAIT_S)
        state = await readyz(lb.nodes[C].url)
        assert state["relay"]["in_flight"] == 0 and state["relay"]["open_websockets"] == 0


async def sessions_on(lb: Cluster, at: int, count: int) -> bool:
    return bool((await readyz(lb.nodes[at].url))["sessions"] == count)


async def test_a_draining_relay_node_hands_its_polls_back_without_ending_sessions(
    http: aiohttp.ClientSession,
) -> None:
    with cluster(3, lb=ROUND_ROBIN, **LONG_PINGS) as lb:
        nodes = Nodes([n.url for n in lb.nodes], http, path="socket.io")
        sid = await connected_session(nodes, A)
        pending = asyncio.create_task(nodes.get(sid, at=B))
        await eventually(lambda: in_flight(lb, B, 1), "the GET never reached the relay")
        started = time.monotonic()
        await asyncio.to_thread(lb.nodes[B].stop)  # SIGTERM
        assert await pending == (200, "6")  # ended by the owner, not cut
        assert time.monotonic() - started < WAIT_S  # not held for the 10 s poll
        # The client polls again through another node: the same session goes on.
        assert await nodes.post(sid, '4210["listRooms"]', at=C) == (200, "ok")
        [ack] = await poll(nodes, sid, at=A)
        assert ack.startswith("4310[") and json.loads(ack[4:])[0]["ok"] is True


async def test_a_draining_owner_closes_its_sessions_through_the_relay(
    http: aiohttp.ClientSession,
) -> None:
    with cluster(3, lb=ROUND_ROBIN, **LONG_PINGS) as lb:
        nodes = Nodes([n.url for n in lb.nodes], http, path="socket.io")
        sid = await connected_session(nodes, A)
        pending = asyncio.create_task(nodes.get(sid, at=B))
        await eventually(lambda: in_flight(lb, B, 1), "the GET never reached the relay")
        stopping = asyncio.create_task(asyncio.to_thread(lb.nodes[A].stop))  # SIGTERM
        status, body = await pending
        assert (status, body.split("\x1e")[-1]) == (200, "1")  # CLOSE: the client reconnects
        await stopping
        assert (await nodes.get(sid, at=C))[0] == 400
