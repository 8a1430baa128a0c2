"""Tier 3: the messenger in a three-node cluster behind real nginx.

A DM from a user on node 1 reaches a user on node 3 (and their tab on node 2), and a kill -9 of
a node takes its users offline for their peers within the ghost bound."""

from __future__ import annotations

import pytest

from tests.chat_support import Tab, open_tab_into
from tests.cluster_support import GHOST_BOUND_S, Cluster
from tests.support import WAIT_S

pytestmark = [pytest.mark.cluster, pytest.mark.js]


async def tab_via(lb: Cluster, key: str, user: str, opened: list[Tab]) -> Tab:
    return await open_tab_into(opened, f"{lb.lb.url}?affinity={key}", user)


async def test_dm_from_node_1_reaches_every_tab_on_other_nodes(
    lb_cluster: Cluster, tabs: list[Tab]
) -> None:
    keys = await lb_cluster.affinities(3)
    alice = await tab_via(lb_cluster, keys[0], "alice", tabs)
    bob_3 = await tab_via(lb_cluster, keys[2], "bob", tabs)
    bob_2 = await tab_via(lb_cluster, keys[1], "bob", tabs)
    assert len({await lb_cluster.node_of(k) for k in keys}) == 3

    sent = await alice.ok("directMessage", {"toUserId": "bob", "text": "hi from node 1",
                                            "clientMsgId": "dm-1"})
    chat_id = sent["chat"]["chatId"]
    for tab in (bob_2, bob_3):
        badge = await tab.client.until("unreadBadge", lambda b: b["totalUnread"] == 1)
        assert badge == {"totalUnread": 1, "chats": {chat_id: 1}}
        update = await tab.client.until("chatListUpdate", lambda c: c["chatId"] == chat_id)
        assert update["lastMessage"]["text"] == "hi from node 1"
    history = await bob_3.ok("history", {"chatId": chat_id})
    assert [m["seq"] for m in history["messages"]] == [1]

    await bob_2.ok("markRead", {"chatId": chat_id, "seq": 1})
    assert await bob_3.client.until("unreadBadge", lambda b: b["totalUnread"] == 0)
    # Alice's client retries through another node: the same message, nothing new stored.
    alice_again = await tab_via(lb_cluster, keys[1], "alice", tabs)
    retried = await alice_again.ok("directMessage", {"toUserId": "bob", "text": "hi from node 1",
                                                     "clientMsgId": "dm-1"})
    assert retried["message"] == sent["message"]
    # Bob answers from node 3: the same chat, the next sequence number.
    reply = await bob_3.ok("directMessage", {"toUserId": "alice", "text": "reply",
                                             "clientMsgId": "dm-2"})
    assert reply["message"]["seq"] == 2 and reply["chat"]["chatId"] == chat_id


async def test_kill9_takes_the_nodes_users_offline_for_their_peers(
    lb_cluster: Cluster, tabs: list[Tab]
) -> None:
    keys = await lb_cluster.affinities(3)
    alice = await tab_via(lb_cluster, keys[0], "alice", tabs)
    await alice.ok("openChat", {"userId": "carol"})
    carol = await tab_via(lb_cluster, keys[2], "carol", tabs)
    assert await alice.client.until("presence", lambda p: p == {"userId": "carol",
                                                                 "online": True})
    victim = await lb_cluster.node_of(keys[2])
    node = next(n for n in lb_cluster.nodes if n.env["HUDDLE_NODE_ID"] == victim)
    tabs.remove(carol)  # its node dies under it; nothing to close politely
    node.kill9()

    # A survivor sweeps the dead node's presence within the ghost bound (bounded wait).
    deadline_s = GHOST_BOUND_S + WAIT_S
    offline = await alice.client.until_within(
        "presence", lambda p: p == {"userId": "carol", "online": False}, deadline_s)
    assert offline
    listed = await alice.ok("listChats")
    assert len(listed["chats"]) == 1  # the chat itself is untouched
    await carol.close()
