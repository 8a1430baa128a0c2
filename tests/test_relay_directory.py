"""The relay directory (server/cluster/directory.py) on both store twins, and on a real Redis
that is paused: lookups keep answering from the copy each node holds."""

from __future__ import annotations

import asyncio
import time

import pytest

from server.cluster.directory import PeerDirectory, entry_key
from server.store import Store, open_store
from server.wire.relay import Peer
from server.wire.sids import SessionIds
from tests.cluster_support import redis_process
from tests.support import WAIT_S

pytestmark = pytest.mark.unit


def peer(name: str) -> Peer:
    ids = SessionIds()
    return Peer(ids.tag, name, f"http://127.0.0.1:1/{name}", ids.key)


def directory(store: Store, me: Peer, ttl_ms: int = 60_000) -> PeerDirectory:
    return PeerDirectory(store, me, interval_ms=3_600_000, ttl_ms=ttl_ms)


async def test_nodes_find_each_other_by_tag(store: Store) -> None:
    one, two = directory(store, peer("one")), directory(store, peer("two"))
    await one.start()
    await two.start()
    try:
        assert await one.lookup(two.me.tag) == two.me
        assert await two.lookup(one.me.tag) == one.me
        assert await one.lookup(one.me.tag) == one.me
        assert await one.lookup(SessionIds().tag) is None
    finally:
        await one.stop()
        await two.stop()


async def test_a_node_that_stops_leaves_the_directory_at_once(store: Store) -> None:
    one, two = directory(store, peer("one")), directory(store, peer("two"))
    await one.start()
    await two.start()
    await two.stop()
    assert await store.get(entry_key(two.me.tag)) is None
    await one.refresh()  # the next heartbeat tick forgets it
    assert await one.lookup(two.me.tag) is None
    await one.stop()


async def test_a_node_that_stops_refreshing_expires(store: Store) -> None:
    one, gone = directory(store, peer("one")), directory(store, peer("gone"), ttl_ms=200)
    await one.start()
    await gone.refresh()  # registered once, then never again (as after kill -9)
    assert await one.lookup(gone.me.tag) == gone.me
    deadline = time.monotonic() + WAIT_S
    while await store.get(entry_key(gone.me.tag)) is not None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await one.refresh()
    assert await one.lookup(gone.me.tag) is None
    assert gone.me.tag not in await store.index_members("relay:tags")
    await one.stop()


async def test_lookups_answer_from_memory_while_redis_is_paused() -> None:
    with redis_process() as redis:
        store = open_store(redis.url, timeout_s=0.3)
        one, two = directory(store, peer("one")), directory(store, peer("two"))
        await one.start()
        await two.start()
        await one.refresh()
        redis.pause()
        try:
            # A Redis read would fail now (and answer None): this comes from memory.
            assert await one.lookup(two.me.tag) == two.me
            assert await one.lookup(SessionIds().tag) is None  # unknown: bounded, no raise
            await one.refresh()  # fails quietly and keeps the copy
            assert await one.lookup(two.me.tag) == two.me
        finally:
            redis.resume()
        await one.stop()
        await two.stop()
        await store.close()
