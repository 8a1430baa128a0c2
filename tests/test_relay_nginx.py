"""Tier 3: three Huddle nodes behind real nginx running deploy/nginx-round-robin.conf (no
hash, no cookie), and behind real HAProxy running deploy/haproxy-round-robin.cfg, driven by the
unmodified socket.io-client 4.8 under node and by the Python client. Every polling request goes
to the next node, so most of them are relayed to the node that owns the session (issue 12)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.chat_support import Tab, open_tab_into
from tests.cluster_js import JsClient, js_client
from tests.cluster_support import ROUND_ROBIN, Cluster, cluster, haproxy
from tests.support import WAIT_S, Client, connect

pytestmark = [pytest.mark.cluster, pytest.mark.js]

POLLING = ["polling"]


@pytest.fixture(scope="module")
def rr_cluster() -> Iterator[Cluster]:
    with cluster(3, lb=ROUND_ROBIN) as running:
        yield running


@pytest.fixture
async def py_clients(rr_cluster: Cluster) -> AsyncIterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        if client.sio.connected:
            await client.sio.disconnect()


def served_by(lb: Cluster, sid: str) -> set[int]:
    """Indexes of the nodes nginx sent ``sid``'s requests to."""
    ports = [node.port for node in lb.nodes]
    return {ports.index(port) for port in lb.lb.upstreams_of(sid)}


async def until(js: JsClient, name: str, check: object) -> object:
    assert callable(check)
    deadline = time.monotonic() + WAIT_S
    count = 1
    while True:
        seen = await js.wait_for(name, count)
        for payload in seen:
            if check(payload):
                return payload
        count = len(seen) + 1
        assert time.monotonic() < deadline, f"{name}: nothing passed; got {seen}"


async def test_js_polling_only_lobby_from_create_room_to_game_start(rr_cluster: Cluster) -> None:
    url = rr_cluster.lb.url
    async with (
        js_client(url, transports=POLLING) as host,
        js_client(url, transports=POLLING) as ann,
        js_client(url, transports=POLLING) as bob,
    ):
        created = await host.call("createRoom", {"nickname": "Host", "maxPlayers": 4})
        assert created["ok"], created
        code = created["room"]["code"]
        assert (await ann.call("joinRoom", {"nickname": "Ann", "code": code}))["ok"]
        assert (await bob.call("joinRoom", {"nickname": "Bob", "code": code}))["ok"]
        names = ["Host", "Ann", "Bob"]
        for player in (host, ann, bob):
            await until(player, f"players{code}",
                        lambda ps: [p["nickname"] for p in ps] == names)
        assert (await ann.call("ready", {"ready": True}))["ok"]
        assert (await bob.call("ready", {"ready": True}))["ok"]
        for player in (host, ann, bob):
            await until(player, "allReady", lambda ready: ready is True)
        sent = await bob.call("sendMessage", {"message": "gl hf"})
        assert sent["ok"], sent
        for player in (host, ann):
            await until(player, "message", lambda m: m["id"] == sent["message"]["id"])
        assert (await host.call("startGame"))["ok"]
        for player in (host, ann, bob):
            start = await until(player, "gameStart", lambda s: s["code"] == code)
            assert start
        for player in (host, ann, bob):
            assert await player.transport() == "polling"
            # Round-robin really spread each session over the nodes.
            assert served_by(rr_cluster, await player.engine_sid()) == {0, 1, 2}


async def test_js_polling_only_direct_messages_on_chat(rr_cluster: Cluster) -> None:
    url = f"{rr_cluster.lb.url}/chat"
    async with (
        js_client(url, transports=POLLING, auth={"userId": "ada", "nickname": "Ada"}) as ada,
        js_client(url, transports=POLLING, auth={"userId": "bo", "nickname": "Bo"}) as bo,
    ):
        sent = await ada.call("directMessage", {"toUserId": "bo", "text": "hi over polling",
                                                "clientMsgId": "rr-1"})
        assert sent["ok"], sent
        chat_id = sent["chat"]["chatId"]
        await until(bo, "unreadBadge", lambda b: b == {"totalUnread": 1, "chats": {chat_id: 1}})
        update = await until(bo, "chatListUpdate", lambda c: c["chatId"] == chat_id)
        assert update["lastMessage"]["text"] == "hi over polling"  # type: ignore[index]
        reply = await bo.call("directMessage", {"toUserId": "ada", "text": "hi back",
                                                "clientMsgId": "rr-2"})
        assert reply["ok"] and reply["message"]["seq"] == 2
        await until(ada, "unreadBadge", lambda b: b["totalUnread"] == 1)
        history = await ada.call("history", {"chatId": chat_id})
        assert [m["text"] for m in history["messages"]] == ["hi over polling", "hi back"]
        for tab in (ada, bo):
            assert len(served_by(rr_cluster, await tab.engine_sid())) >= 2


async def relay_counters(lb: Cluster) -> list[dict[str, int]]:
    """Each node's relay counters from /readyz."""
    counters = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT_S)) as http:
        for node in lb.nodes:
            async with http.get(f"{node.url}/readyz") as reply:
                counters.append(dict((await reply.json())["relay"]))
    return counters


async def relayed_websockets(lb: Cluster, before: list[dict[str, int]]) -> int:
    """WebSockets piped to their owner since ``before`` (counted by the relaying nodes)."""
    now = await relay_counters(lb)
    return sum(n["websockets"] - b["websockets"] for n, b in zip(now, before, strict=True))


async def test_js_upgrade_lands_on_another_node(rr_cluster: Cluster) -> None:
    """socket.io-client starts polling and upgrades; round-robin sends the WebSocket to
    another node than the owner two times in three. Clients are opened (bounded) until one
    upgrade did, then that client must work both ways."""
    url = rr_cluster.lb.url
    for _ in range(8):
        before = await relay_counters(rr_cluster)
        async with js_client(url, transports=["polling", "websocket"]) as js:
            deadline = time.monotonic() + WAIT_S
            while await js.transport() != "websocket":
                assert time.monotonic() < deadline, "never upgraded"
                await asyncio.sleep(0.05)
            if await relayed_websockets(rr_cluster, before) == 1:
                await lobby_round_trip(js)  # else it reached the owner: try another client
                return
    raise AssertionError("eight upgrades in a row reached their owner")


async def lobby_round_trip(js: JsClient) -> None:
    created = await js.call("createRoom", {"nickname": "Up"})
    assert created["ok"], created
    code = created["room"]["code"]
    await until(js, f"players{code}", lambda ps: len(ps) == 1)
    sent = await js.call("sendMessage", {"message": "over a relayed websocket"})
    assert sent["ok"]
    await until(js, "message", lambda m: m["id"] == sent["message"]["id"])
    assert (await js.call("leaveRoom"))["ok"]


async def test_python_client_polling_only_plays_the_lobby(
    rr_cluster: Cluster, py_clients: list[Client]
) -> None:
    for _ in range(3):
        py_clients.append(await connect(rr_cluster.lb.url, transports=POLLING))
    host, ann, bob = py_clients
    code = (await host.call("createRoom", {"nickname": "Host"}))["room"]["code"]
    assert (await ann.call("joinRoom", {"nickname": "Ann", "code": code}))["ok"]
    assert (await bob.call("joinRoom", {"nickname": "Bob", "code": code}))["ok"]
    for player in py_clients:
        await player.until(f"players{code}", lambda ps: len(ps) == 3)
    for player in (ann, bob):
        assert (await player.call("ready", {"ready": True}))["ok"]
    await host.until("allReady", lambda ready: ready is True)
    sent = await ann.call("sendMessage", {"message": "from python"})
    for player in py_clients:
        await player.until("message", lambda m: m["id"] == sent["message"]["id"])
    assert (await host.call("startGame"))["ok"]
    for player in py_clients:
        assert (await player.first("gameStart"))["code"] == code
        assert player.sio.transport() == "polling"
        assert served_by(rr_cluster, player.sio.eio.sid) == {0, 1, 2}


async def test_python_client_upgrade_lands_on_another_node(
    rr_cluster: Cluster, py_clients: list[Client]
) -> None:
    for _ in range(8):
        before = await relay_counters(rr_cluster)
        client = await connect(rr_cluster.lb.url, transports=["polling", "websocket"])
        py_clients.append(client)
        deadline = time.monotonic() + WAIT_S
        while client.sio.transport() != "websocket":
            assert time.monotonic() < deadline, "never upgraded"
            await asyncio.sleep(0.05)
        if await relayed_websockets(rr_cluster, before) == 1:
            code = (await client.call("createRoom", {"nickname": "Up"}))["room"]["code"]
            await client.until(f"players{code}", lambda ps: len(ps) == 1)
            sent = await client.call("sendMessage", {"message": "piped"})
            await client.until("message", lambda m: m["message"] == "piped")
            assert sent["ok"] and (await client.call("leaveRoom"))["ok"]
            return
        await client.sio.disconnect()
    raise AssertionError("eight upgrades in a row reached their owner")


async def test_python_client_polling_only_direct_messages_on_chat(
    rr_cluster: Cluster, tabs: list[Tab]
) -> None:
    url = rr_cluster.lb.url
    ada = await open_tab_into(tabs, url, "ada2", transports=POLLING)
    bo = await open_tab_into(tabs, url, "bo2", transports=POLLING)
    sent = await ada.ok("directMessage", {"toUserId": "bo2", "text": "py over polling",
                                          "clientMsgId": "py-rr-1"})
    chat_id = sent["chat"]["chatId"]
    badge = await bo.client.until("unreadBadge", lambda b: b["totalUnread"] == 1)
    assert badge == {"totalUnread": 1, "chats": {chat_id: 1}}
    reply = await bo.ok("directMessage", {"toUserId": "ada2", "text": "back",
                                          "clientMsgId": "py-rr-2"})
    assert reply["message"]["seq"] == 2
    await ada.client.until("unreadBadge", lambda b: b["totalUnread"] == 1)
    for tab in (ada, bo):
        assert tab.client.sio.transport() == "polling"
        assert len(served_by(rr_cluster, tab.client.sio.eio.sid)) >= 2


async def relayed_total(lb: Cluster) -> int:
    """Polling requests the nodes relayed so far."""
    return sum(n["polls"] + n["posts"] for n in await relay_counters(lb))


async def test_js_and_python_clients_through_haproxy_round_robin(
    rr_cluster: Cluster, py_clients: list[Client]
) -> None:
    """The HAProxy twin, deploy/haproxy-round-robin.cfg, in front of the same three nodes."""
    with haproxy([node.port for node in rr_cluster.nodes], "haproxy-round-robin.cfg") as url:
        before = await relayed_total(rr_cluster)
        host = await connect(url, transports=POLLING)
        py_clients.append(host)
        code = (await host.call("createRoom", {"nickname": "Py"}))["room"]["code"]
        async with js_client(url, transports=POLLING) as js:
            joined = await js.call("joinRoom", {"nickname": "Js", "code": code})
            assert joined["ok"], joined
            await host.until(f"players{code}", lambda ps: len(ps) == 2)
            sent = await host.call("sendMessage", {"message": "through haproxy"})
            await until(js, "message", lambda m: m["id"] == sent["message"]["id"])
            reply = await js.call("sendMessage", {"message": "back"})
            await host.until("message", lambda m: m["id"] == reply["message"]["id"])
            assert await js.transport() == "polling"
        assert host.sio.transport() == "polling"
        assert await relayed_total(rr_cluster) - before >= 6  # the balancer spread them
