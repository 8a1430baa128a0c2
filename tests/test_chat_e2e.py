"""Tier 2: the messenger on /chat end to end over real sockets, on both store twins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from huddle_client import ChatClient

from tests.chat_support import Tab, refused
from tests.conftest import TypedConnect

pytestmark = pytest.mark.e2e

Tabs = Callable[..., Awaitable[Tab]]


async def dm(sender: Tab, to: str, text: str, cmid: str | None = None) -> dict[str, Any]:
    ack = await sender.ok("directMessage", {"toUserId": to, "text": text,
                                            "clientMsgId": cmid or f"{sender.user_id}-{text}"})
    return dict(ack)


async def test_connecting_without_identity_is_refused_as_unauthorized(server: str) -> None:
    for auth in (None, {}, {"userId": ""}, {"userId": "has space"}, {"token": "x"}, "alice"):
        error = await refused(server, auth)
        assert error["code"] == "unauthorized", auth
        assert error["message"]


async def test_session_greets_a_new_user(chat_tabs: Tabs) -> None:
    alice = await chat_tabs("alice", "Alice")
    session = await alice.session()
    assert session == {"userId": "alice", "nickname": "Alice", "totalUnread": 0,
                       "chats": [], "online": []}


async def test_two_users_three_tabs_stay_consistent(chat_tabs: Tabs) -> None:
    """The acceptance walk-through: DMs reach every tab; badges and receipts agree."""
    alice1, alice2 = await chat_tabs("alice", "Alice"), await chat_tabs("alice", "Alice")
    bob = await chat_tabs("bob", "Bob")
    opened = await bob.ok("openChat", {"userId": "alice"})
    chat_id = opened["chat"]["chatId"]
    assert opened["chat"]["title"] == "Alice" and opened["chat"]["kind"] == "direct"
    assert (await alice1.ok("openChat", {"userId": "bob"}))["chat"]["chatId"] == chat_id
    await bob.ok("subscribe", {"chatId": chat_id})
    await alice1.ok("subscribe", {"chatId": chat_id})  # alice2 only watches her chat list

    first = (await dm(bob, "alice", "hello"))["message"]
    second = await bob.send(chat_id, "are you there?")
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["senderId"] == "bob" and first["senderName"] == "Bob"

    for tab in (alice1, alice2):
        badge = await tab.last("unreadBadge", 2)
        assert badge == {"totalUnread": 2, "chats": {chat_id: 2}}
        update = await tab.last("chatListUpdate", 2)
        assert update["lastMessage"]["text"] == "are you there?" and update["unread"] == 2
        assert update["title"] == "Bob"
    assert [m["seq"] for m in await alice1.wait_for("chatMessage", 2)] == [1, 2]
    await alice2.settle()
    assert alice2.named("chatMessage") == []  # not subscribed on that tab

    bob_badge = await bob.last("unreadBadge", 2)
    assert bob_badge["totalUnread"] == 0  # your own messages are never unread

    read = await alice2.ok("markRead", {"chatId": chat_id, "seq": 1})
    assert (read["unread"], read["totalUnread"]) == (1, 1)
    for tab in (alice1, alice2):
        assert await tab.last("unreadBadge", 3) == {"totalUnread": 1, "chats": {chat_id: 1}}
    receipt = await bob.last("messageRead")
    assert receipt == {"chatId": chat_id, "userId": "alice", "seq": 1}

    reply = await alice1.send(chat_id, "yes!")
    assert reply["seq"] == 3
    # Alice's own reply is not unread for her; message 2 still is.
    assert (await alice2.last("unreadBadge", 4))["totalUnread"] == 1
    assert (await bob.last("unreadBadge", 3)) == {"totalUnread": 1, "chats": {chat_id: 1}}

    await alice1.ok("markRead", {"chatId": chat_id, "seq": 99})  # clamped to the newest
    for tab in (alice1, alice2):
        assert await tab.last("unreadBadge", 5) == {"totalUnread": 0, "chats": {chat_id: 0}}
    assert (await bob.last("messageRead", 2))["seq"] == 3
    listed = await alice2.ok("listChats")
    assert [(c["chatId"], c["unread"]) for c in listed["chats"]] == [(chat_id, 0)]
    sub = await alice2.ok("subscribe", {"chatId": chat_id})
    assert sub["readCursors"] == {"alice": 3, "bob": 0}
    assert [m["text"] for m in sub["messages"]] == ["hello", "are you there?", "yes!"]


async def test_a_stranger_cannot_subscribe_read_or_post(chat_tabs: Tabs) -> None:
    alice, bob = await chat_tabs("alice"), await chat_tabs("bob")
    carol = await chat_tabs("carol")
    chat_id = (await dm(alice, "bob", "just us"))["chat"]["chatId"]
    await alice.ok("subscribe", {"chatId": chat_id})
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("subscribe", {"chatId": chat_id}),
        ("history", {"chatId": chat_id}),
        ("sendChat", {"chatId": chat_id, "text": "let me in", "clientMsgId": "c1"}),
        ("markRead", {"chatId": chat_id, "seq": 1}),
        ("typing", {"chatId": chat_id, "typing": True}),
    ]
    for name, payload in attempts:
        ack = await carol.call(name, payload)
        assert (ack["ok"], ack["code"]) == (False, "forbidden"), name
        assert isinstance(ack["error"], str)
    missing = await carol.call("history", {"chatId": "no-such-chat"})
    assert missing["code"] == "not_found"
    await bob.send(chat_id, "still private")
    await alice.wait_for("chatMessage", 1)
    await carol.settle()
    assert carol.named("chatMessage") == [] and carol.named("chatListUpdate") == []
    assert (await carol.ok("listChats"))["chats"] == []
    history = await alice.ok("history", {"chatId": chat_id})
    assert [m["text"] for m in history["messages"]] == ["just us", "still private"]


async def test_offline_user_finds_messages_on_connect(chat_tabs: Tabs) -> None:
    alice = await chat_tabs("alice", "Alice")
    sent = await dm(alice, "dave", "for when you're back")
    await dm(alice, "dave", "and another")
    dave = await chat_tabs("dave", "Dave")
    session = await dave.session()
    assert session["totalUnread"] == 2
    [chat] = session["chats"]
    assert chat["chatId"] == sent["chat"]["chatId"] and chat["unread"] == 2
    assert chat["lastMessage"]["text"] == "and another" and chat["title"] == "Alice"
    assert session["online"] == ["alice"]
    history = await dave.ok("history", {"chatId": chat["chatId"]})
    assert [m["seq"] for m in history["messages"]] == [1, 2] and history["hasMore"] is False


async def test_retried_client_msg_id_never_duplicates(chat_tabs: Tabs) -> None:
    alice, bob = await chat_tabs("alice"), await chat_tabs("bob")
    chat_id = (await alice.ok("openChat", {"userId": "bob"}))["chat"]["chatId"]
    await bob.ok("subscribe", {"chatId": chat_id})
    first = await alice.send(chat_id, "once", "retry-me")
    again = await alice.send(chat_id, "once (edited retry)", "retry-me")
    assert again == first
    via_dm = await dm(alice, "bob", "once more", "retry-me")
    assert via_dm["message"] == first
    await bob.wait_for("chatMessage", 1)
    await bob.settle()
    assert len(bob.named("chatMessage")) == 1 and len(bob.named("unreadBadge")) == 1
    # The same clientMsgId from another sender is another message.
    other = await bob.send(chat_id, "mine", "retry-me")
    assert other["seq"] == 2
    assert (await alice.send(chat_id, "next"))["seq"] == 3


async def test_quota_refuses_the_21st_message_in_10_seconds(chat_tabs: Tabs) -> None:
    alice, bob = await chat_tabs("alice"), await chat_tabs("bob")
    chat_id = (await alice.ok("openChat", {"userId": "bob"}))["chat"]["chatId"]
    await bob.ok("subscribe", {"chatId": chat_id})
    for i in range(20):
        await alice.send(chat_id, f"msg {i}", f"q{i}")
    over = await alice.call("sendChat", {"chatId": chat_id, "text": "one too many",
                                         "clientMsgId": "q20"})
    assert (over["ok"], over["code"]) == (False, "rate_limited")
    assert 0 < over["retryAfterMs"] <= 10_000 and isinstance(over["error"], str)
    over_dm = await alice.call("directMessage", {"toUserId": "bob", "text": "x",
                                                 "clientMsgId": "q21"})
    assert over_dm["code"] == "rate_limited"
    # A retry of an accepted message is still answered: retries never cost quota.
    assert (await alice.send(chat_id, "msg 3", "q3"))["seq"] == 4
    await bob.wait_for("chatMessage", 20)
    await bob.settle()
    assert len(bob.named("chatMessage")) == 20
    history = await bob.ok("history", {"chatId": chat_id, "limit": 100})
    assert [m["seq"] for m in history["messages"]] == list(range(1, 21))
    assert (await bob.send(chat_id, "bob has his own quota"))["seq"] == 21


async def test_history_pages_backwards_in_ascending_order(typed: TypedConnect) -> None:
    alice = await typed(ChatClient(), auth={"userId": "alice", "nickname": "Alice"})
    chat_id = (await alice.open_chat(user_id="bob"))["chatId"]
    for i in range(1, 8):
        await alice.send_chat(chat_id=chat_id, text=f"m{i}", client_msg_id=f"m{i}")
    page = await alice.history(chat_id=chat_id, limit=3)
    assert [m["seq"] for m in page["messages"]] == [5, 6, 7] and page["hasMore"] is True
    page = await alice.history(chat_id=chat_id, limit=3, before_seq=5)
    assert [m["seq"] for m in page["messages"]] == [2, 3, 4] and page["hasMore"] is True
    page = await alice.history(chat_id=chat_id, limit=3, before_seq=2)
    assert [m["seq"] for m in page["messages"]] == [1] and page["hasMore"] is False


async def test_bad_payloads_are_refused_and_identity_cannot_be_forged(chat_tabs: Tabs) -> None:
    alice = await chat_tabs("alice")
    chat_id = (await alice.ok("openChat", {"userId": "bob"}))["chat"]["chatId"]
    base = {"chatId": chat_id, "text": "hi", "clientMsgId": "v1"}
    bad: list[tuple[str, Any, str]] = [
        ("sendChat", {**base, "from": "bob"}, "from"),
        ("sendChat", {**base, "senderId": "bob"}, "senderId"),
        ("directMessage", {"toUserId": "bob", "text": "x", "clientMsgId": "v", "from": "b"},
         "from"),
        ("sendChat", {**base, "text": "   "}, "text"),
        ("sendChat", {**base, "text": "x" * 2001}, "text"),
        ("sendChat", {**base, "text": 5}, "text"),
        ("history", {"chatId": chat_id, "limit": 101}, "limit"),
        ("markRead", {"chatId": chat_id, "seq": "1"}, "seq"),
        ("typing", {"chatId": chat_id, "typing": "yes"}, "typing"),
        ("openChat", {"userId": "alice"}, "userId"),
        ("createGroup", {"title": "big", "members": [f"u{i}" for i in range(51)]}, "members"),
        ("subscribe", ["not", "an", "object"], "_schema"),
    ]
    for name, payload, field in bad:
        ack = await alice.call(name, payload)
        assert (ack["ok"], ack["code"]) == (False, "validation_error"), (name, payload, ack)
        assert field in ack["fields"], (name, ack)
    assert (await alice.send(chat_id, "x" * 2000))["seq"] == 1  # still serving


async def test_groups_reach_every_member_and_only_members(chat_tabs: Tabs) -> None:
    alice, bob = await chat_tabs("alice", "Alice"), await chat_tabs("bob", "Bob")
    carol, eve = await chat_tabs("carol"), await chat_tabs("eve")
    created = await alice.ok("createGroup", {"title": "Festival crew",
                                             "members": ["bob", "carol", "bob"]})
    chat = created["chat"]
    assert chat["kind"] == "group" and chat["title"] == "Festival crew"
    assert chat["members"] == ["alice", "bob", "carol"]
    for tab in (alice, bob, carol):
        assert (await tab.last("chatListUpdate"))["chatId"] == chat["chatId"]
    await carol.ok("subscribe", {"chatId": chat["chatId"]})
    await bob.send(chat["chatId"], "hi all")
    assert (await carol.last("chatMessage"))["senderName"] == "Bob"
    assert (await alice.last("unreadBadge"))["totalUnread"] == 1
    assert (await eve.call("subscribe", {"chatId": chat["chatId"]}))["code"] == "forbidden"
    await eve.settle()
    assert eve.named("chatListUpdate") == []
    too_many = await alice.call("createGroup", {"title": "x",
                                                "members": [f"u{i}" for i in range(50)]})
    assert too_many["code"] == "validation_error"  # 50 others + the creator is 51


async def test_typing_reaches_other_subscribers_only(chat_tabs: Tabs) -> None:
    alice, bob = await chat_tabs("alice"), await chat_tabs("bob")
    chat_id = (await alice.ok("openChat", {"userId": "bob"}))["chat"]["chatId"]
    for tab in (alice, bob):
        await tab.ok("subscribe", {"chatId": chat_id})
    await alice.ok("typing", {"chatId": chat_id, "typing": True})
    assert await bob.last("typing") == {"chatId": chat_id, "userId": "alice", "typing": True}
    await bob.ok("unsubscribe", {"chatId": chat_id})
    await alice.ok("typing", {"chatId": chat_id, "typing": False})
    await alice.send(chat_id, "after unsubscribe")
    await bob.wait_for("unreadBadge")
    await bob.settle()
    assert len(bob.named("typing")) == 1 and bob.named("chatMessage") == []
    assert alice.named("typing") == []


async def test_presence_follows_first_and_last_tab(chat_tabs: Tabs) -> None:
    alice = await chat_tabs("alice")
    await alice.ok("openChat", {"userId": "bob"})
    bob1 = await chat_tabs("bob")
    assert await alice.last("presence") == {"userId": "bob", "online": True}
    assert (await bob1.session())["online"] == ["alice"]
    bob2 = await chat_tabs("bob")
    await bob1.close()
    await alice.settle()
    assert len(alice.named("presence")) == 1  # a second tab or closing one is no news
    await bob2.close()
    assert await alice.last("presence", 2) == {"userId": "bob", "online": False}
    stranger = await chat_tabs("mallory")
    await stranger.close()
    await alice.settle()
    assert len(alice.named("presence")) == 2  # no shared chat, no presence
