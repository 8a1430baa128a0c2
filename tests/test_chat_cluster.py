"""Tier 3: two real ``python -m server`` processes sharing one private redis-server."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager

import pytest
import redis.asyncio as aioredis

from server.chat.rules import conns_key
from tests.chat_support import Tab, close_all, open_tab_into
from tests.support import eventually, free_port, server_process

pytestmark = pytest.mark.cluster

NODES = ("node-a", "node-b")


@contextmanager
def cluster(redis_url: str, ports: tuple[int, int], **env: str) -> Iterator[
    list[subprocess.Popen[bytes]]
]:
    """Both nodes up (fixed node ids, as a StatefulSet would give them); stopped at the end."""
    with ExitStack() as stack:
        procs = [
            stack.enter_context(server_process(port, {
                "REDIS_URL": redis_url, "HUDDLE_NODE_ID": node, "HUDDLE_LOG_LEVEL": "WARNING",
                "HUDDLE_PING_INTERVAL_MS": "1000", "HUDDLE_PING_TIMEOUT_MS": "2000", **env,
            }))
            for node, port in zip(NODES, ports, strict=True)
        ]
        yield procs


@asynccontextmanager
async def nodes(redis_url: str, ports: tuple[int, int], tabs: list[Tab], **env: str
                ) -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    """The cluster; its tabs are closed before the nodes stop, as clients leave a drain."""
    with cluster(redis_url, ports, **env) as procs:
        try:
            yield procs
        finally:
            await close_all(tabs)


async def tab_on(opened: list[Tab], port: int, user_id: str) -> Tab:
    return await open_tab_into(opened, f"http://127.0.0.1:{port}", user_id)


async def test_a_user_on_one_node_messages_a_user_on_the_other(
    redis_url: str, tabs: list[Tab]
) -> None:
    a, b = free_port(), free_port()
    async with nodes(redis_url, (a, b), tabs):
        alice = await tab_on(tabs, a, "alice")
        chat_id = (await alice.ok("openChat", {"userId": "bob"}))["chat"]["chatId"]
        await alice.ok("subscribe", {"chatId": chat_id})
        bob_b = await tab_on(tabs, b, "bob")
        assert await alice.last("presence") == {"userId": "bob", "online": True}
        bob_a = await tab_on(tabs, a, "bob")  # a second tab, on the other node
        await bob_b.ok("subscribe", {"chatId": chat_id})

        await alice.send(chat_id, "across the cluster")
        assert (await bob_b.last("chatMessage"))["text"] == "across the cluster"
        for tab in (bob_a, bob_b):
            assert await tab.last("unreadBadge") == {"totalUnread": 1, "chats": {chat_id: 1}}
            listed = await tab.ok("listChats")
            assert [c["unread"] for c in listed["chats"]] == [1]

        await bob_a.ok("markRead", {"chatId": chat_id, "seq": 1})
        assert (await bob_b.last("unreadBadge", 2))["totalUnread"] == 0
        assert await alice.last("messageRead") == {"chatId": chat_id, "userId": "bob", "seq": 1}

        await bob_b.close()
        # Node B has handled that close when bob's connection set (the presence state) is
        # down to the tab on node A: not "last out", so no offline presence is sent.
        store = aioredis.Redis.from_url(redis_url)

        async def one_tab_left() -> bool:
            return int(await store.scard(conns_key("bob"))) == 1

        try:
            await eventually(one_tab_left, "bob_b's close handled")
        finally:
            await store.aclose()
        assert len(alice.named("presence")) == 1  # bob is still online on node A
        await bob_a.close()
        assert await alice.last("presence", 2) == {"userId": "bob", "online": False}


async def test_seqs_stay_gap_free_and_quota_is_shared_across_nodes(
    redis_url: str, tabs: list[Tab]
) -> None:
    a, b = free_port(), free_port()
    async with nodes(redis_url, (a, b), tabs, HUDDLE_CHAT_RATE_LIMIT="12",
                     HUDDLE_CHAT_RATE_WINDOW_MS="60000"):
        alice, bob = await tab_on(tabs, a, "alice"), await tab_on(tabs, b, "bob")
        alice_b = await tab_on(tabs, b, "alice")
        chat_id = (await alice.ok("openChat", {"userId": "bob"}))["chat"]["chatId"]

        async def burst(tab: Tab, tag: str) -> list[int]:
            return [(await tab.send(chat_id, f"{tag}{i}"))["seq"] for i in range(6)]

        seqs = await asyncio.gather(burst(alice, "a"), burst(alice_b, "b"), burst(bob, "c"))
        assert sorted(s for run in seqs for s in run) == list(range(1, 19))
        # Alice used all 12 of her slots, 6 on each node: the quota lives in Redis.
        over = await alice.call("sendChat", {"chatId": chat_id, "text": "x", "clientMsgId": "o"})
        assert over["code"] == "rate_limited"
        history = await bob.ok("history", {"chatId": chat_id, "limit": 100})
        assert [m["seq"] for m in history["messages"]] == list(range(1, 19))


async def test_killing_every_node_loses_no_acknowledged_message(
    redis_url: str, tabs: list[Tab]
) -> None:
    a, b = free_port(), free_port()
    env = {"HUDDLE_CHAT_RATE_LIMIT": "1000"}
    async with nodes(redis_url, (a, b), tabs, **env) as procs:
        alice, bob = await tab_on(tabs, a, "alice"), await tab_on(tabs, b, "bob")
        carol = await tab_on(tabs, b, "carol")
        group = (await alice.ok("createGroup", {"title": "g", "members": ["bob", "carol"]}))
        group_id = group["chat"]["chatId"]
        acked = [await alice.send(group_id, f"a{i}") for i in range(15)]
        acked += [(await bob.ok("directMessage", {"toUserId": "alice", "text": f"b{i}",
                                                  "clientMsgId": f"b{i}"}))["message"]
                  for i in range(5)]
        acked += [await carol.send(group_id, f"c{i}") for i in range(5)]
        await bob.ok("markRead", {"chatId": group_id, "seq": 10})
        before = {t.user_id: await t.ok("listChats") for t in (alice, bob, carol)}
        for proc in procs:
            proc.kill()  # SIGKILL: no graceful shutdown, nothing flushed on the way out
            proc.wait(timeout=10)

    async with nodes(redis_url, (a, b), tabs, **env):
        alice = await tab_on(tabs, b, "alice")
        # The killed nodes' connections were cleared when the nodes came back under their ids.
        assert (await alice.session())["online"] == []
        bob, carol = await tab_on(tabs, a, "bob"), await tab_on(tabs, a, "carol")
        assert [p["userId"] for p in await alice.wait_for("presence", 2)] == ["bob", "carol"]
        for tab in (alice, bob, carol):
            assert (await tab.ok("listChats"))["chats"] == before[tab.user_id]["chats"]
            session = await tab.session()
            total = sum(c["unread"] for c in before[tab.user_id]["chats"])
            assert session["totalUnread"] == total
        assert (await bob.session())["totalUnread"] == 5 + 5  # 15 group - 10 read; 5 mine
        found = []
        for chat in (await alice.ok("listChats"))["chats"]:
            page = await alice.ok("history", {"chatId": chat["chatId"], "limit": 100})
            seqs = [m["seq"] for m in page["messages"]]
            assert seqs == list(range(1, len(seqs) + 1))
            found += page["messages"]
        assert sorted(m["id"] for m in found) == sorted(m["id"] for m in acked)
        assert (await alice.send(group_id, "after restart"))["seq"] == 21
