"""The node registry and the store operations it needs, on both store twins and across
several registries sharing one real Redis (as nodes do)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from server.cluster.registry import (
    NODES_INDEX,
    MemberHook,
    NodeRegistry,
    heartbeat_key,
    members_key,
)
from server.config import SettingsError, load_settings
from server.lobby.service import LobbyService
from server.store import Store, open_store
from tests.support import eventually

pytestmark = pytest.mark.unit

INTERVAL_MS, TTL_MS = 100, 300


# -- the store operations, on both twins -------------------------------------------------
async def test_index_add_and_remove(store: Store) -> None:
    await store.index_add("set:a", "x", "y")
    await store.index_add("set:a", "y", "z")
    await store.index_remove("set:a", "y", "nope")
    assert await store.index_members("set:a") == ["x", "z"]
    await store.index_add("set:a")  # nothing to add is fine
    await store.index_remove("set:a")
    assert await store.index_members("set:a") == ["x", "z"]


async def test_claim_is_exclusive_renewable_and_expires(store: Store) -> None:
    assert await store.claim("lock:a", "one", ttl_ms=200)
    assert not await store.claim("lock:a", "two", ttl_ms=200)
    assert await store.claim("lock:a", "one", ttl_ms=200)  # the holder renews
    # Once the claim expires, another can take it.
    await eventually(lambda: store.claim("lock:a", "two", ttl_ms=200), "the claim expired")
    assert not await store.claim("lock:a", "one", ttl_ms=200)


async def test_memory_store_node_keeps_its_members_and_reaps_only_the_dead() -> None:
    """On the memory twin the registry runs as on Redis: it beats, scans, leaves its own live
    members alone and would reap a node whose heartbeat is gone (with one process, only a
    leftover can be one)."""
    store = open_store("memory://")
    calls: list[str] = []
    await store.index_add(NODES_INDEX, "gone")  # a node listed without a heartbeat
    await store.index_add(members_key("gone", "lobby"), "old-sid")
    registry = NodeRegistry(store, "solo", interval_ms=INTERVAL_MS, ttl_ms=TTL_MS)
    registry.on_dead_member("lobby", record(calls))
    await registry.start()
    await registry.track("lobby", "sid1")
    try:
        # Two scans after the one that reaped "gone": each saw the live node, alive.
        await eventually(lambda: registry.stats.scans >= 3, "three scans")
    finally:
        await registry.stop()
    assert calls == ["old-sid"] and registry.stats.nodes_reaped == 1
    assert await store.index_members(members_key("solo", "lobby")) == ["sid1"]
    assert await store.index_members(NODES_INDEX) == ["solo"]


# -- several registries on one Redis ------------------------------------------------------
def record(calls: list[str]) -> MemberHook:
    async def hook(member: str) -> None:
        calls.append(member)

    return hook


def ticks_until(registry: NodeRegistry, done: Callable[[], bool]
                ) -> Callable[[], Awaitable[bool]]:
    """For eventually(): one tick of ``registry`` per look, until ``done()``."""
    async def tick() -> bool:
        await registry.tick()
        return done()

    return tick


def node(store: Store, name: str, calls: list[str]) -> NodeRegistry:
    registry = NodeRegistry(store, name, interval_ms=INTERVAL_MS, ttl_ms=TTL_MS)
    registry.on_dead_member("lobby", record(calls))
    return registry


@pytest.fixture
async def stores(redis_url: str) -> AsyncIterator[list[Store]]:
    """Three independent connections to one Redis, like three nodes."""
    opened = [open_store(redis_url) for _ in range(3)]
    yield opened
    for store in opened:
        await store.close()


async def test_dead_node_is_reaped_exactly_once_by_racing_survivors(
    stores: list[Store],
) -> None:
    calls: list[str] = []
    dead, b, c = (node(s, n, calls) for s, n in zip(stores, "abc", strict=True))
    await dead.beat()
    for member in ("s1", "s2", "s3"):
        await dead.track("lobby", member)
    for survivor in (b, c):
        await survivor.beat()

    # `dead` beats no more. Survivors tick concurrently until its heartbeat has expired.
    async def both_tick() -> bool:
        await asyncio.gather(b.tick(), c.tick())
        return len(calls) >= 3

    await eventually(both_tick, "the dead node reaped", every_s=INTERVAL_MS / 1000)
    await asyncio.gather(b.tick(), c.tick())
    assert Counter(calls) == {"s1": 1, "s2": 1, "s3": 1}
    assert b.stats.members_reaped + c.stats.members_reaped == 3
    assert await stores[1].index_members(members_key("a", "lobby")) == []
    assert "a" not in await stores[1].index_members(NODES_INDEX)


async def test_live_nodes_are_left_alone_and_restart_wipes_nothing(
    stores: list[Store],
) -> None:
    calls: list[str] = []
    live, watcher = node(stores[0], "live", calls), node(stores[1], "watcher", calls)
    await live.start()
    await live.track("lobby", "keep-me")
    await watcher.start()
    # A node restarted with a new id runs alongside; nothing alive is touched.
    restarted = node(stores[2], "live-2", calls)
    await restarted.start()
    # Scans spanning more than a heartbeat TTL: the live node would have expired by now
    # had anything stopped it beating.
    await eventually(lambda: min(watcher.stats.scans, restarted.stats.scans) >= 4,
                     "four scans by each watcher")
    for registry in (live, watcher, restarted):
        await registry.stop()
    assert calls == []
    assert await stores[0].index_members(members_key("live", "lobby")) == ["keep-me"]


async def test_same_node_id_restarted_cleans_its_own_leftovers(stores: list[Store]) -> None:
    calls: list[str] = []
    first = node(stores[0], "fixed-id", calls)
    await first.beat()
    await first.track("lobby", "old-sid")
    await stores[0].delete(heartbeat_key("fixed-id"))  # the process died; its beat expired
    again = node(stores[1], "fixed-id", calls)
    await again.start()
    await again.stop()
    assert calls == ["old-sid"]


async def test_no_reaping_right_after_an_outage(stores: list[Store]) -> None:
    # Every heartbeat expired during an outage: a survivor must give live nodes time to beat.
    calls: list[str] = []
    other, survivor = node(stores[0], "other", calls), node(stores[1], "survivor", calls)
    await other.beat()
    await other.track("lobby", "s1")
    await stores[0].delete(heartbeat_key("other"))
    await survivor.tick()  # first good beat: the streak starts now
    await other.beat()  # the live node beats again within its interval

    async def round_of_beats() -> bool:
        await survivor.tick()
        await other.beat()
        return survivor.stats.scans >= 2

    # The survivor scans only once the live node had two intervals to beat again.
    await eventually(round_of_beats, "two scans by the survivor", every_s=INTERVAL_MS / 1000)
    assert calls == []


async def test_lobby_seat_of_a_dead_node_is_removed(stores: list[Store]) -> None:
    calls: list[str] = []
    dead = node(stores[0], "dead", calls)
    lobby_dead = LobbyService(stores[0], node_id="dead", registry=dead)
    survivor = NodeRegistry(stores[1], "alive", interval_ms=INTERVAL_MS, ttl_ms=TTL_MS)
    lobby_alive = LobbyService(stores[1], node_id="alive", registry=survivor)

    async def remove(member: str) -> None:
        await lobby_alive.disconnect(member)

    survivor.on_dead_member("lobby", remove)
    await dead.beat()
    room = (await lobby_alive.create_room("host", "Host", None, 4)).room
    await lobby_dead.join_room("ghost", "Ghost", room.code)
    await stores[0].delete(heartbeat_key("dead"))
    await eventually(ticks_until(survivor, lambda: survivor.stats.members_reaped == 1),
                     "the ghost's seat reaped", every_s=INTERVAL_MS / 1000)
    rooms = await lobby_alive.list_rooms()
    assert [r["players"] for r in rooms if r["code"] == room.code] == [1]


def test_ghost_bound_must_leave_room_for_two_heartbeats() -> None:
    with pytest.raises(SettingsError, match="HUDDLE_GHOST_BOUND_MS"):
        load_settings({"HUDDLE_HEARTBEAT_MS": "2000", "HUDDLE_GHOST_BOUND_MS": "5000"})
    settings = load_settings({"HUDDLE_HEARTBEAT_MS": "500", "HUDDLE_GHOST_BOUND_MS": "3000"})
    assert settings.heartbeat_ttl_ms == 2500


async def test_untracked_seat_of_a_dead_node_is_swept_by_its_node_id(
    stores: list[Store],
) -> None:
    # The node died between writing the seat and recording the member anywhere else.
    untracked = LobbyService(stores[0], node_id="dead")
    dead = node(stores[0], "dead", [])
    survivor = NodeRegistry(stores[1], "alive", interval_ms=INTERVAL_MS, ttl_ms=TTL_MS)
    lobby_alive = LobbyService(stores[1], node_id="alive", registry=survivor)
    swept: list[str] = []

    async def sweep(gone: str) -> None:
        swept.extend(left.code for left in await lobby_alive.remove_node(gone))

    survivor.on_dead_node(sweep)
    await dead.beat()
    room = (await lobby_alive.create_room("host", "Host", None, 4)).room
    await untracked.join_room("ghost", "Ghost", room.code)
    await stores[0].delete(heartbeat_key("dead"))
    await eventually(ticks_until(survivor, lambda: bool(swept)), "the node swept",
                     every_s=INTERVAL_MS / 1000)
    assert swept == [room.code]
    rooms = await lobby_alive.list_rooms()
    assert [r["players"] for r in rooms if r["code"] == room.code] == [1]


async def test_a_node_declared_dead_while_cut_off_drops_its_clients(
    stores: list[Store],
) -> None:
    cut_off = node(stores[0], "cut-off", [])
    fenced: list[str] = []

    async def drop_clients() -> None:
        fenced.append("dropped")

    cut_off.on_fenced(drop_clients)
    survivor = node(stores[1], "survivor", [])
    await cut_off.beat()
    await cut_off.track("lobby", "s1")
    # cut-off cannot reach the store for longer than its TTL; the survivor reaps it.
    await stores[0].delete(heartbeat_key("cut-off"))
    await eventually(ticks_until(survivor, lambda: survivor.stats.nodes_reaped == 1),
                     "the cut-off node reaped", every_s=INTERVAL_MS / 1000)
    await cut_off.tick()  # back in touch with the store
    await cut_off.tick()
    assert fenced == ["dropped"]
    assert cut_off.stats.fenced == 1
