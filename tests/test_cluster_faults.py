"""Tier 3: faults in a three-node cluster behind real nginx: a node killed with SIGKILL, Redis
killed and restarted, Redis paused. Each test gets its own cluster, stopped at the end."""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import socketio

from server.cluster.registry import NODES_INDEX, heartbeat_key, tombstone_key
from tests.cluster_js import js_client
from tests.cluster_support import (
    GHOST_BOUND_S,
    HEARTBEAT_S,
    Cluster,
    cluster,
    wait_for_readiness,
)
from tests.support import WAIT_S, Client, connect, eventually

pytestmark = [pytest.mark.cluster, pytest.mark.js]


@pytest.fixture
async def made() -> AsyncIterator[list[Client]]:
    clients: list[Client] = []
    yield clients
    for client in clients:
        if client.sio.connected:
            await client.sio.disconnect()


async def seat_three(lb: Cluster, made: list[Client]) -> tuple[str, list[str], list[Client]]:
    """Host, Ann and Bob on three different nodes, in one room."""
    keys = await lb.affinities(3)
    players = [await connect(f"{lb.lb.url}?affinity={key}") for key in keys]
    made.extend(players)
    host, ann, bob = players
    code = (await host.call("createRoom", {"nickname": "Host"}))["room"]["code"]
    assert (await ann.call("joinRoom", {"nickname": "Ann", "code": code}))["ok"]
    assert (await bob.call("joinRoom", {"nickname": "Bob", "code": code}))["ok"]
    await host.until(f"players{code}", lambda ps: len(ps) == 3)
    return code, keys, players


async def test_kill9_node_clients_move_and_no_ghost_remains(
    lb_cluster: Cluster, made: list[Client]
) -> None:
    keys = await lb_cluster.affinities(3)
    host = await connect(f"{lb_cluster.lb.url}?affinity={keys[0]}")
    ann = await connect(f"{lb_cluster.lb.url}?affinity={keys[1]}")
    made.extend([host, ann])
    victim_node = await lb_cluster.node_of(keys[2])

    # The victim's client reconnects by itself, as socket.io-client does, through nginx.
    sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.1,
                               reconnection_delay_max=0.5, randomization_factor=0)
    victim = Client(sio)
    connects: list[float] = []
    sio.on("connect", lambda: connects.append(time.monotonic()))
    await sio.connect(f"{lb_cluster.lb.url}?affinity={keys[2]}", transports=["polling",
                      "websocket"], wait_timeout=WAIT_S)
    made.append(victim)

    code = (await host.call("createRoom", {"nickname": "Host"}))["room"]["code"]
    assert (await ann.call("joinRoom", {"nickname": "Ann", "code": code}))["ok"]
    assert (await victim.call("joinRoom", {"nickname": "Vic", "code": code}))["ok"]
    await host.until(f"players{code}", lambda ps: len(ps) == 3)
    await host.wait_for("allReady", 2)  # after Ann's and Vic's joins
    await ann.wait_for("allReady", 2)  # after her own join and Vic's
    host.clear()
    ann.clear()

    dead = next(n for n in lb_cluster.nodes if n.env["HUDDLE_NODE_ID"] == victim_node)
    dead.kill9()

    # Survivors see the ghost removed, once (one survivor claims the cleanup).
    survivors = [{"nickname": "Host", "isHost": True, "ready": False},
                 {"nickname": "Ann", "isHost": False, "ready": False}]
    for player in (host, ann):
        await player.until_within(f"players{code}", lambda ps: ps == survivors,
                                  GHOST_BOUND_S + WAIT_S)
    # The reaper takes the dead node off the node index last; from then on no survivor can
    # reap it again (the claim outlives any scan that listed it before), so these are all.
    await eventually(lambda: not_listed(lb_cluster, victim_node), "the dead node unlisted")
    await host.wait_for("allReady")  # sent right after the players list
    assert host.named(f"players{code}") == [survivors]
    assert host.named("allReady") == [False]

    # The victim's client came back through nginx, on a live node, and may sit down again.
    await eventually(lambda: len(connects) >= 2 and sio.connected,
                     "the victim's client reconnected")
    assert await lb_cluster.node_of(keys[2]) != victim_node
    assert (await victim.call("joinRoom", {"nickname": "Vic", "code": code}))["ok"]
    await host.until(f"players{code}", lambda ps: [p["nickname"] for p in ps] ==
                ["Host", "Ann", "Vic"])

    # A node restarted on the dead port (new process, new id) wipes nothing that is alive.
    dead.env["HUDDLE_NODE_ID"] = "node-restarted"
    dead.start()
    await wait_for_readiness(dead.url, 200)
    await scanned_twice(lb_cluster, "node-restarted")
    rooms = (await ann.call("listRooms"))["rooms"]
    assert next(r for r in rooms if r["code"] == code)["players"] == 3


async def test_redis_restart_mid_chat_loses_no_acked_message(
    lb_cluster: Cluster, made: list[Client]
) -> None:
    code, _, (host, ann, bob) = await seat_three(lb_cluster, made)
    acked: list[str] = []
    refused: list[dict[str, Any]] = []

    async def chat(count: int) -> None:
        for i in range(count):
            reply = await ann.call("sendMessage", {"message": f"m{len(acked) + len(refused)}-{i}"})
            if reply["ok"]:
                acked.append(reply["message"]["id"])
            else:
                refused.append(reply)

    await chat(10)
    lb_cluster.redis.kill()
    await chat(5)  # Redis is gone: refused, quickly, with a machine code
    await wait_for_readiness(lb_cluster.nodes[0].url, 503)
    lb_cluster.redis.start()
    for node in lb_cluster.nodes:
        await wait_for_readiness(node.url, 200, timeout_s=10)
    await chat(10)

    assert refused and {r["code"] for r in refused} == {"unavailable"}
    assert len(acked) >= 20
    assert all(node.proc is not None and node.proc.poll() is None for node in lb_cluster.nodes)

    # Persisted: a newcomer's room view holds every acked message, in order.
    newcomer = await connect(f"{lb_cluster.lb.url}?affinity=newcomer")
    made.append(newcomer)
    view = (await newcomer.call("joinRoom", {"nickname": "New", "code": code}))["room"]
    ids = [m["id"] for m in view["messages"]]
    assert [i for i in ids if i in acked] == acked

    # Live fan-out is back: a fresh message reaches players on the other two nodes, and so
    # did every acked one, before and after the restart.
    sent = await ann.call("sendMessage", {"message": "after the restart"})
    assert sent["ok"]
    for player in (host, bob):
        await player.until("message", lambda m: m["id"] == sent["message"]["id"])
        assert set(acked) <= {m["id"] for m in player.named("message")}


async def test_redis_pause_answers_unavailable_and_recovers(
    lb_cluster: Cluster, made: list[Client]
) -> None:
    code, _, (host, ann, bob) = await seat_three(lb_cluster, made)
    lb_cluster.redis.pause()
    try:
        reply = await ann.call("ready", {"ready": True})
        assert reply["ok"] is False and reply["code"] == "unavailable"
        await wait_for_readiness(lb_cluster.nodes[1].url, 503)
        assert (await host.call("listRooms"))["code"] == "unavailable"
        # Bob leaves while his node cannot reach Redis: his seat is freed once it can.
        await bob.sio.disconnect()
    finally:
        lb_cluster.redis.resume()
    for node in lb_cluster.nodes:
        await wait_for_readiness(node.url, 200, timeout_s=10)
    await host.until(f"players{code}", lambda ps: [p["nickname"] for p in ps] ==
                ["Host", "Ann"])
    assert (await ann.call("ready", {"ready": True}))["ok"]
    await host.until(f"players{code}", lambda ps: ps == [
        {"nickname": "Host", "isHost": True, "ready": False},
        {"nickname": "Ann", "isHost": False, "ready": True}])
    await host.until("allReady", lambda ready: ready is True)
    assert all(node.proc is not None and node.proc.poll() is None for node in lb_cluster.nodes)


async def not_listed(lb: Cluster, node: str) -> bool:
    """``node`` is off the cluster's node index (server/cluster/registry.py)."""
    store = aioredis.Redis.from_url(lb.redis.url)
    try:
        return not await store.sismember(NODES_INDEX, node)
    finally:
        await store.aclose()


async def scanned_twice(lb: Cluster, node: str) -> None:
    """Wait until ``node`` has run two scans for dead nodes: a node beats first in each tick
    and scans from its third tick on, so five different heartbeats mean two finished scans."""
    store = aioredis.Redis.from_url(lb.redis.url)
    beats: set[bytes | str] = set()

    async def five_beats() -> bool:
        beat = await store.get(heartbeat_key(node))
        if beat is not None:
            beats.add(beat)
        return len(beats) >= 5

    try:
        await eventually(five_beats, f"two scans by {node}", within_s=WAIT_S + 5 * HEARTBEAT_S,
                         every_s=0.05)
    finally:
        await store.aclose()


async def reaped(lb: Cluster, node: str) -> bool:
    """A survivor has left ``node`` its tombstone: on waking, it learns it was declared dead."""
    store = aioredis.Redis.from_url(lb.redis.url)
    try:
        return bool(await store.exists(tombstone_key(node)))
    finally:
        await store.aclose()


@pytest.fixture
def slow_ping_cluster() -> Iterator[Cluster]:
    # Clients would wait 15 s for a ping: a 4 s freeze of a node does not time them out.
    with cluster(3, HUDDLE_PING_INTERVAL_MS="5000", HUDDLE_PING_TIMEOUT_MS="10000") as running:
        yield running


async def test_a_frozen_node_declared_dead_drops_its_clients_on_waking(
    slow_ping_cluster: Cluster, made: list[Client]
) -> None:
    lb = slow_ping_cluster
    code, keys, (host, ann, vic) = await seat_three(lb, made)
    frozen_id = await lb.node_of(keys[2])
    frozen = next(n for n in lb.nodes if n.env["HUDDLE_NODE_ID"] == frozen_id)
    disconnects: list[str] = []
    vic.sio.on("disconnect", lambda *reason: disconnects.append(str(reason)))
    assert frozen.proc is not None
    await host.wait_for("allReady", 2)  # after Ann's and Vic's joins
    host.clear()
    ann.clear()

    js_options = {"transports": ["websocket"], "query": {"affinity": keys[2]},
                  "reconnection": True, "reconnectionDelay": 100}
    async with js_client(lb.lb.url, **js_options) as js:
        frozen.proc.send_signal(signal.SIGSTOP)  # a VM stall or a GC pause, past the bound
        try:
            for player in (host, ann):
                await player.until_within(
                    f"players{code}", lambda ps: [p["nickname"] for p in ps] == ["Host", "Ann"],
                    GHOST_BOUND_S + WAIT_S)
            # The freeze lasts until the reaper has also written the frozen node's tombstone.
            await eventually(lambda: reaped(lb, frozen_id), "the frozen node's tombstone")
        finally:
            frozen.proc.send_signal(signal.SIGCONT)

        # On waking, the node learns it was reaped and drops its clients so that they rejoin,
        # instead of sitting in a room that no longer lists them. socket.io-client reconnects
        # by itself (the session was closed, not the Socket.IO connection refused).
        await eventually(lambda: disconnects, "the frozen node dropped its clients")
        reason = await js.wait_line("disconnect")
        assert reason["disconnect"] == "transport close"
        await eventually(lambda: sum("connect" in line for line in js.lines) >= 2,
                         "the JS client reconnected")
    again = await connect(f"{lb.lb.url}?affinity={keys[2]}")
    made.append(again)
    assert (await again.call("joinRoom", {"nickname": "Vic", "code": code}))["ok"]
    await host.until(f"players{code}", lambda ps: [p["nickname"] for p in ps] ==
                ["Host", "Ann", "Vic"])
