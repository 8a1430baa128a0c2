"""Contract tests for the store primitives the messenger needs, on both twins."""

from __future__ import annotations

import asyncio

import pytest

from server.store import Store, open_store
from tests.support import eventually

pytestmark = pytest.mark.unit


async def test_index_add_and_remove_report_the_size_afterwards(store: Store) -> None:
    assert await store.index_add("user:a:conns", "n1/s1") == 1
    assert await store.index_add("user:a:conns", "n1/s2") == 2
    assert await store.index_add("user:a:conns", "n1/s2") == 2  # already there
    assert await store.index_sizes(["user:a:conns", "user:b:conns"]) == [2, 0]
    assert await store.index_remove("user:a:conns", "n1/s1") == 1
    assert await store.index_remove("user:a:conns", "n1/s1") == 1  # already gone
    assert await store.index_remove("user:a:conns", "n1/s2") == 0
    assert await store.index_members("user:a:conns") == []


async def test_append_once_numbers_entries_and_returns_the_original_on_repeat(
    store: Store,
) -> None:
    first, created = await store.log_append_once(
        "chat:x:messages", {"text": "hi"}, cap=10, token="a/1", mark="a"
    )
    assert created and first == {"seq": 1, "text": "hi"}
    second, created = await store.log_append_once(
        "chat:x:messages", {"text": "yo"}, cap=10, token="b/1", mark="b"
    )
    assert created and second["seq"] == 2
    again, created = await store.log_append_once(
        "chat:x:messages", {"text": "hi (retry)"}, cap=10, token="a/1", mark="a"
    )
    assert not created and again == first
    assert await store.log_find("chat:x:messages", "a/1") == first
    assert await store.log_find("chat:x:messages", "a/2") is None
    assert [e["seq"] for e in await store.log_range("chat:x:messages", limit=10)] == [1, 2]


async def test_append_once_trims_to_cap_and_forgets_trimmed_tokens(store: Store) -> None:
    for i in range(5):
        await store.log_append_once("log", {"i": i}, cap=3, token=f"t{i}", mark="m")
    assert [e["seq"] for e in await store.log_range("log", limit=10)] == [3, 4, 5]
    again, created = await store.log_append_once("log", {"i": 0}, cap=3, token="t0", mark="m")
    assert created and again["seq"] == 6  # t0's entry is gone, so this is a new entry
    kept, created = await store.log_append_once("log", {"i": 9}, cap=3, token="t4", mark="m")
    assert not created and kept["seq"] == 5


async def test_last_entry_of_each_log(store: Store) -> None:
    await store.log_append_once("l1", {"v": 1}, cap=5, token="1", mark="m")
    await store.log_append_once("l1", {"v": 2}, cap=5, token="2", mark="m")
    assert await store.log_last(["l1", "empty"]) == [{"seq": 2, "v": 2}, None]
    assert await store.log_last([]) == []


async def test_count_after_skips_seqs_under_the_readers_own_mark(store: Store) -> None:
    for i, who in enumerate(["a", "b", "a", "b", "b"]):
        await store.log_append_once("chat", {"from": who}, cap=2, token=str(i), mark=who)
    counts = await store.log_count_after(
        [("chat", 0, "a"), ("chat", 0, "b"), ("chat", 3, "a"), ("chat", 5, "b"),
         ("nothing", 0, "a")]
    )
    # seqs 1..5 by a,b,a,b,b; counts include entries the cap of 2 already trimmed.
    assert counts == [3, 2, 2, 0, 0]
    await store.log_unmark("chat", "a", 2)
    assert await store.log_count_after([("chat", 2, "a")]) == [2]  # only seq 3 is a's above 2


async def test_log_delete_drops_tokens_and_marks(store: Store) -> None:
    await store.log_append_once("gone", {"v": 1}, cap=5, token="t", mark="m")
    await store.log_delete("gone")
    entry, created = await store.log_append_once("gone", {"v": 2}, cap=5, token="t", mark="m")
    assert created and entry["seq"] == 1
    assert await store.log_count_after([("gone", 0, "other")]) == [1]


async def test_rate_hit_allows_limit_per_window_and_says_when_to_retry(store: Store) -> None:
    results = [await store.rate_hit("quota:a", limit=3, window_ms=60_000) for _ in range(5)]
    assert results[:3] == [0, 0, 0]
    assert all(0 < wait <= 60_000 for wait in results[3:])
    assert await store.rate_hit("quota:b", limit=3, window_ms=60_000) == 0  # per key


async def test_rate_window_slides(store: Store) -> None:
    assert await store.rate_hit("quota:c", limit=1, window_ms=50) == 0
    assert await store.rate_hit("quota:c", limit=1, window_ms=50) > 0

    async def allowed() -> bool:  # a refused hit is not counted, so asking again is free
        return await store.rate_hit("quota:c", limit=1, window_ms=50) == 0

    await eventually(allowed, "the window slid past the first hit")


async def test_redis_appends_from_many_clients_have_no_gaps_or_duplicates(
    redis_url: str,
) -> None:
    """Redis-only: several independent connections (as separate processes would) race."""
    stores = [open_store(redis_url) for _ in range(4)]
    try:
        async def writer(n: int, s: Store) -> list[tuple[int, bool]]:
            out = []
            for i in range(25):
                # Every writer also retries one shared token: exactly one append may win it.
                token = "shared" if i == 0 else f"w{n}-{i}"
                entry, created = await s.log_append_once(
                    "chat:race:messages", {"w": n, "i": i}, cap=1000, token=token, mark=str(n)
                )
                out.append((int(entry["seq"]), created))
            return out

        results = await asyncio.gather(*(writer(n, s) for n, s in enumerate(stores)))
        created = sorted(seq for run in results for seq, made in run if made)
        assert created == list(range(1, 4 * 24 + 2))  # 96 unique + 1 shared, seqs 1..97
        shared = {run[0][0] for run in results}
        assert len(shared) == 1  # every writer got the same entry back for the shared token
        entries = await stores[0].log_range("chat:race:messages", limit=1000)
        assert [e["seq"] for e in entries] == created
    finally:
        for s in stores:
            await s.close()
