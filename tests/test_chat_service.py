"""Tier 1: the messenger's rules and services against the store, without sockets."""

from __future__ import annotations

import pytest

from server.chat import rules
from server.chat.presence import PresenceService
from server.chat.service import ChatService
from server.errors import Forbidden, InvalidRequest, NotFound, RateLimited, Unauthorized
from server.identity import Authenticator, Identity
from server.store import MemoryStore, Store

pytestmark = pytest.mark.unit

ALICE, BOB, CAROL = Identity("alice", "Alice"), Identity("bob", "Bob"), Identity("carol", "C")


def test_a_pair_has_one_direct_chat_id_whoever_asks() -> None:
    assert rules.direct_chat_id("a", "b") == rules.direct_chat_id("b", "a")
    assert rules.direct_chat_id("a", "b") != rules.direct_chat_id("a", "c")
    # No separator games: ("a:b", "c") and ("a", "b:c") are different pairs.
    assert rules.direct_chat_id("a:b", "c") != rules.direct_chat_id("a", "b:c")
    with pytest.raises(InvalidRequest):
        rules.direct_chat("a", "a", "now")


def test_group_members_fold_duplicates_and_enforce_the_limit() -> None:
    assert rules.group_members("a", ["b", "a", "b", "c"]) == ["a", "b", "c"]
    assert len(rules.group_members("a", [f"u{i}" for i in range(49)])) == 50
    with pytest.raises(InvalidRequest):
        rules.group_members("a", [f"u{i}" for i in range(50)])


def test_badge_lists_unread_chats_and_the_changed_one() -> None:
    assert rules.badge({"x": 2, "y": 0, "z": 1}, "y") == {
        "totalUnread": 3, "chats": {"x": 2, "y": 0, "z": 1}
    }
    assert rules.badge({"x": 2, "y": 0}) == {"totalUnread": 2, "chats": {"x": 2}}


def test_dev_identities_are_checked_too() -> None:
    dev = Authenticator(None)
    assert dev.authenticate({"userId": "u1"}) == Identity("u1", "u1")
    for bad in ({"userId": "u1", "nickname": "x" * 41}, {"userId": 5},
                {"userId": "u1", "admin": True}):
        with pytest.raises(Unauthorized):
            dev.authenticate(bad)


async def test_unread_is_what_others_sent_above_the_cursor(store: Store) -> None:
    chat = ChatService(store)
    chat_id = (await chat.open_chat(ALICE, "bob"))["chatId"]
    for who, text in ((ALICE, "a1"), (BOB, "b2"), (ALICE, "a3"), (BOB, "b4")):
        await chat.send(who, chat_id, text, text)
    assert (await chat.list_chats("alice"))[0]["unread"] == 2
    read = await chat.mark_read("alice", chat_id, 2)
    assert (read.seq, read.unread, read.moved) == (2, 1, True)
    stale = await chat.mark_read("alice", chat_id, 1)  # a stale tab cannot move it back
    assert (stale.seq, stale.unread, stale.moved) == (2, 1, False)
    assert (await chat.session(BOB))["totalUnread"] == 2


async def test_errors_for_strangers_missing_chats_and_quota(store: Store) -> None:
    chat = ChatService(store, rate_limit=2, rate_window_ms=60_000)
    chat_id = (await chat.open_chat(ALICE, "bob"))["chatId"]
    with pytest.raises(Forbidden):
        await chat.send(CAROL, chat_id, "hi", "1")
    with pytest.raises(NotFound):
        await chat.history("alice", "nope", None, 10)
    await chat.send(ALICE, chat_id, "1", "1")
    await chat.send(ALICE, chat_id, "2", "2")
    with pytest.raises(RateLimited) as refused:
        await chat.send(ALICE, chat_id, "3", "3")
    assert 0 < refused.value.data["retryAfterMs"] <= 60_000
    assert (await chat.send(ALICE, chat_id, "1", "1")).created is False  # retries still work


async def test_presence_counts_connections_across_nodes_and_forgets_dead_nodes(
    store: Store,
) -> None:
    await ChatService(store).open_chat(ALICE, "bob")
    node_a, node_b = PresenceService(store, node_id="a"), PresenceService(store, node_id="b")
    first = await node_a.connect("bob", "s1")
    assert first is not None and first.online and first.peers == ["alice"]
    assert await node_b.connect("bob", "s2") is None
    assert await node_a.disconnect("bob", "s1") is None
    assert await node_b.online(["alice", "bob"]) == ["bob"]
    # Node b dies without cleanup; whoever notices forgets it.
    [gone] = await node_a.forget_node("b")
    assert (gone.user_id, gone.online, gone.peers) == ("bob", False, ["alice"])
    assert await node_a.online(["bob"]) == []
    assert await node_a.forget_node("b") == []


async def test_chat_limit_per_user() -> None:
    store = MemoryStore()
    chat = ChatService(store)
    for i in range(rules.MAX_CHATS_PER_USER):
        await store.index_add(rules.chats_key("bob"), f"fake-{i}")
    with pytest.raises(Forbidden, match="limit"):
        await chat.open_chat(ALICE, "bob")
