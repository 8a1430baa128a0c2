"""Contract tests: the memory twin and the Redis twin behave the same (``store`` runs both)."""

from __future__ import annotations

import asyncio

import pytest

from server.errors import RoomFull
from server.store import Doc, Store
from tests.support import eventually

pytestmark = pytest.mark.unit


async def test_put_get_delete(store: Store) -> None:
    assert await store.get("doc:1") is None
    await store.put("doc:1", {"a": 1, "nested": {"b": [1, "x"]}})
    assert await store.get("doc:1") == {"a": 1, "nested": {"b": [1, "x"]}}
    assert await store.get_many(["doc:1", "doc:2"]) == [{"a": 1, "nested": {"b": [1, "x"]}}, None]
    await store.delete("doc:1", "doc:2")
    assert await store.get("doc:1") is None


async def test_documents_are_copies(store: Store) -> None:
    doc: Doc = {"items": [1]}
    await store.put("doc:1", doc)
    doc["items"].append(2)
    fetched = await store.get("doc:1")
    assert fetched == {"items": [1]}


async def test_non_finite_numbers_are_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        await store.put("doc:1", {"x": float("nan")})


async def test_ttl_expires(store: Store) -> None:
    await store.put("beat:1", {"alive": True}, ttl_ms=100)
    assert await store.get("beat:1") == {"alive": True}

    async def expired() -> bool:
        return await store.get("beat:1") is None

    await eventually(expired, "the document expired")


async def test_mutate_creates_updates_and_deletes_with_index(store: Store) -> None:
    def bump(doc: Doc | None) -> tuple[Doc | None, int]:
        count = (doc or {"n": 0})["n"] + 1
        return {"n": count}, count

    assert await store.mutate("c:1", bump, index=("cs", "1")) == 1
    assert await store.mutate("c:1", bump, index=("cs", "1")) == 2
    assert await store.index_members("cs") == ["1"]
    assert await store.mutate("c:1", lambda doc: (None, "gone"), index=("cs", "1")) == "gone"
    assert await store.get("c:1") is None
    assert await store.index_members("cs") == []


async def test_mutate_refusal_writes_nothing(store: Store) -> None:
    await store.put("c:1", {"n": 1})

    def refuse(doc: Doc | None) -> tuple[Doc | None, None]:
        raise RoomFull("no")  # any rule of the game refusing the change

    with pytest.raises(RoomFull):
        await store.mutate("c:1", refuse)
    assert await store.get("c:1") == {"n": 1}


async def test_concurrent_mutations_all_apply(store: Store) -> None:
    def bump(doc: Doc | None) -> tuple[Doc | None, None]:
        return {"n": (doc or {"n": 0})["n"] + 1}, None

    await asyncio.gather(*(store.mutate("c:1", bump) for _ in range(40)))
    assert await store.get("c:1") == {"n": 40}


async def test_log_sequences_cap_and_ranges(store: Store) -> None:
    for n in range(1, 8):
        entry = await store.log_append("log:1", {"at": "t"}, cap=5)
        assert entry == {"seq": n, "at": "t"}
    assert [e["seq"] for e in await store.log_range("log:1", limit=10)] == [3, 4, 5, 6, 7]
    assert [e["seq"] for e in await store.log_range("log:1", limit=2)] == [6, 7]
    assert [e["seq"] for e in await store.log_range("log:1", limit=2, before=6)] == [4, 5]
    assert [e["seq"] for e in await store.log_range("log:1", limit=2, after=3)] == [4, 5]
    assert await store.log_range("log:1", limit=0) == []
    await store.log_delete("log:1")
    assert await store.log_range("log:1", limit=10) == []
    assert (await store.log_append("log:1", {"at": "t"}, cap=5))["seq"] == 1


async def test_concurrent_appends_get_distinct_ordered_seqs(store: Store) -> None:
    entries = await asyncio.gather(
        *(store.log_append("log:1", {"n": n}, cap=100) for n in range(30))
    )
    assert sorted(e["seq"] for e in entries) == list(range(1, 31))
    assert [e["seq"] for e in await store.log_range("log:1", limit=100)] == list(range(1, 31))


async def test_ping(store: Store) -> None:
    await store.ping()


async def test_log_entries_keep_their_fields_and_refuse_their_own_seq(store: Store) -> None:
    entry = await store.log_append("log:1", {"text": "héllo ✓", "n": 1.5, "ok": True}, cap=5)
    assert entry == {"seq": 1, "text": "héllo ✓", "n": 1.5, "ok": True}
    assert await store.log_range("log:1", limit=5) == [entry]
    for bad in ({}, {"seq": 9}):
        with pytest.raises(ValueError):
            await store.log_append("log:1", bad, cap=5)
