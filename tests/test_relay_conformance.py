"""Tier 3: the Engine.IO v4 and Socket.IO v5 protocol cases with consecutive requests sent
deliberately to different nodes (issue 12).

Three ``--profile conformance`` processes share one real Redis; every request of a session is
addressed to a node chosen by the test, so the owner (the node that took the handshake) sees
most requests through the relay hop. The expectations are the ones a single node meets
(tests/test_conformance_*.py), restated from the protocol documents' test suites.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from server.wire.relay import RELAY_HEADER
from server.wire.relay_channel import (
    AUTH_HEADER,
    CHANNEL_TRANSPORT,
    OP_GET,
    OP_POST,
    channel_token,
)
from server.wire.sids import MAC_LEN, RANDOM_LEN, TAG_LEN, mac_of
from tests.cluster_support import ROUND_ROBIN, Cluster, cluster
from tests.relay_support import Nodes, deadline, directory, poll
from tests.wire import recv, wait_closed

pytestmark = pytest.mark.cluster

A, B, C = 0, 1, 2
PING_INTERVAL_S, PING_TIMEOUT_S = 0.3, 0.2


@pytest.fixture(scope="module")
def conformance_cluster() -> Iterator[Cluster]:
    with cluster(3, lb=ROUND_ROBIN, HUDDLE_PROFILE="conformance") as running:
        yield running


@pytest.fixture
async def nodes(conformance_cluster: Cluster) -> AsyncIterator[Nodes]:
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as http:
        yield Nodes([node.url for node in conformance_cluster.nodes], http)


# -- Engine.IO (the raw echo server at /engine.io/) -----------------------------------------
async def test_messages_posted_on_one_node_are_polled_on_another(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    for body in ("4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA=="):
        assert await nodes.post(sid, body, at=B) == (200, "ok")
        packets = body.split("\x1e")
        assert await poll(nodes, sid, at=C, count=len(packets)) == packets
    many = [f"4m{i}" for i in range(40)]
    assert await nodes.post(sid, "\x1e".join(many), at=C) == (200, "ok")
    assert await poll(nodes, sid, at=B, count=40) == many


async def test_heartbeat_over_polling_alternating_nodes(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    for _ in range(3):
        assert await nodes.get(sid) == (200, "2")  # each request on the next node in turn
        assert await nodes.post(sid, "3") == (200, "ok")
    assert set(nodes.seen) == {A, B, C}


async def test_ping_timeout_is_seen_through_any_node(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    # Nobody answers the ping sent at 300 ms: at 550 ms the session is gone, for every node.
    await asyncio.sleep(PING_INTERVAL_S + PING_TIMEOUT_S + 0.05)
    assert (await nodes.get(sid, at=B))[0] == 400
    assert (await nodes.post(sid, "3", at=C))[0] == 400


async def test_invalid_packet_posted_elsewhere_closes_the_session(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    assert (await nodes.post(sid, "abc", at=B))[0] == 400
    assert (await nodes.get(sid, at=C))[0] == 400


async def test_oversized_post_elsewhere_is_413_and_closes_the_session(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    assert (await nodes.post(sid, "4" + "x" * 1_000_001, at=B))[0] == 413
    assert (await nodes.get(sid, at=C))[0] == 400


async def test_concurrent_polls_on_two_other_nodes_close_the_session(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    first = asyncio.create_task(nodes.get(sid, at=B))
    second = asyncio.create_task(nodes.get(sid, at=C))
    answers = sorted(await asyncio.gather(first, second))
    # Whichever reached the owner second is refused; the other receives CLOSE.
    assert answers[0] == (200, "1")
    assert answers[1][0] == 400
    assert (await nodes.get(sid, at=A))[0] == 400


async def test_concurrent_polls_on_the_owner_and_another_node(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    answers = sorted(await asyncio.gather(nodes.get(sid, at=A), nodes.get(sid, at=B)))
    assert answers[0] == (200, "1") and answers[1][0] == 400
    assert (await nodes.get(sid, at=C))[0] == 400


async def test_forced_close_posted_on_another_node_ends_the_poll(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    poll, close = await asyncio.gather(nodes.get(sid, at=B), nodes.post(sid, "1", at=C))
    assert close == (200, "ok")
    assert poll == (200, "6")
    assert (await nodes.get(sid, at=A))[0] == 400


async def _upgrade(nodes: Nodes, sid: str, ws_at: int, poll_at: int
                   ) -> aiohttp.ClientWebSocketResponse:
    ws = await nodes.ws(sid, at=ws_at)
    await ws.send_str("2probe")
    assert await recv(ws, pings=True) == "3probe"
    assert await nodes.get(sid, at=poll_at) == (200, "6")  # ends polling during the upgrade
    await ws.send_str("5")
    return ws


async def test_upgrade_on_another_node_then_messages_over_the_websocket(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    ws = await _upgrade(nodes, sid, ws_at=B, poll_at=C)
    await ws.send_str("4hello")
    assert await recv(ws) == "4hello"
    await ws.send_bytes(bytes([1, 2, 3, 4]))
    assert await recv(ws) == bytes([1, 2, 3, 4])
    assert (await nodes.get(sid, at=C))[0] == 400  # HTTP is over for this sid, on any node
    assert (await nodes.get(sid, at=A))[0] == 400
    await ws.close()


async def test_upgrade_delivers_what_was_queued_in_order(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    # The echo server queues each message for the session; nobody polls them.
    body = "\x1e".join(f"4queued-{i}" for i in range(20))
    assert await nodes.post(sid, body, at=B) == (200, "ok")
    ws = await nodes.ws(sid, at=C)
    await ws.send_str("2probe")
    assert await recv(ws, pings=True) == "3probe"
    await ws.send_str("5")  # no poll was pending: the queue goes out over the WebSocket
    await ws.send_str("4after")
    got = [await recv(ws) for _ in range(21)]
    assert got == [f"4queued-{i}" for i in range(20)] + ["4after"]
    await ws.close()


async def test_second_websocket_for_an_upgraded_sid_on_a_third_node(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    ws = await _upgrade(nodes, sid, ws_at=B, poll_at=A)
    intruder = await nodes.ws(sid, at=C)  # accepted (101)...
    await wait_closed(intruder)  # ...and closed
    await ws.send_str("4still mine")
    assert await recv(ws) == "4still mine"
    await ws.close()


async def test_websocket_heartbeat_and_client_close_through_the_relay(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    ws = await _upgrade(nodes, sid, ws_at=B, poll_at=C)
    for _ in range(3):
        assert await recv(ws, pings=True) == "2"
        await ws.send_str("3")
    await ws.send_str("1")
    await wait_closed(ws)
    assert (await nodes.get(sid, at=A))[0] == 400


async def test_relayed_websocket_without_pongs_is_closed_by_the_owner(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    ws = await _upgrade(nodes, sid, ws_at=C, poll_at=B)
    assert await recv(ws, pings=True) == "2"
    await wait_closed(ws)  # unanswered: the owner closes, the relay closes the client's socket


# -- Socket.IO (the reference server at /socket.io/) ----------------------------------------
async def test_socketio_session_over_polling_on_three_nodes(nodes: Nodes) -> None:
    sio = nodes.on("socket.io")
    sid = await sio.handshake(at=A)
    assert await sio.post(sid, '40{"token":"123"}', at=B) == (200, "ok")
    ack, auth = await poll(sio, sid, at=C, count=2)
    assert ack.startswith("40{") and '"sid"' in ack
    assert auth == '42["auth",{"token":"123"}]'
    assert await sio.post(sid, '42["message",1,"2",{"3":[true]}]', at=A) == (200, "ok")
    assert await poll(sio, sid, at=B) == ['42["message-back",1,"2",{"3":[true]}]']
    assert await sio.post(sid, '42456["message-with-ack",1,"2",{"3":[false]}]', at=C) == (
        200, "ok")
    assert await poll(sio, sid, at=A) == ['43456[1,"2",{"3":[false]}]']


async def test_socketio_binary_event_with_attachments_over_two_nodes(nodes: Nodes) -> None:
    sio = nodes.on("socket.io")
    sid = await sio.handshake(at=A)
    assert await sio.post(sid, "40", at=B) == (200, "ok")
    await poll(sio, sid, at=C, count=2)  # ack and auth
    event = '451-["message",{"_placeholder":true,"num":0}]'
    # The event and its attachment in two POSTs through two different nodes.
    assert await sio.post(sid, event, at=B) == (200, "ok")
    assert await sio.post(sid, "bAQID", at=C) == (200, "ok")
    assert await poll(sio, sid, at=A, count=2) == [
        '451-["message-back",{"_placeholder":true,"num":0}]', "bAQID"]


async def test_socketio_namespaces_across_nodes(nodes: Nodes) -> None:
    sio = nodes.on("socket.io")
    sid = await sio.handshake(at=A)
    assert await sio.post(sid, "40/random,", at=B) == (200, "ok")
    assert await poll(sio, sid, at=C) == ['44/random,{"message":"Invalid namespace"}']
    assert await sio.post(sid, "40\x1e40/custom,", at=C) == (200, "ok")
    got = await poll(sio, sid, at=B, count=4)
    assert [p[:10] for p in got if p.startswith("40")] == ["40{\"sid\":\"", "40/custom,"]
    assert sorted(p for p in got if p.startswith("42")) == [
        '42/custom,["auth",{}]', '42["auth",{}]']
    assert await sio.post(sid, '41/custom,\x1e42["message","to main"]', at=A) == (200, "ok")
    assert await poll(sio, sid, at=C) == ['42["message-back","to main"]']


async def test_socketio_upgrade_on_another_node(nodes: Nodes) -> None:
    sio = nodes.on("socket.io")
    sid = await sio.handshake(at=A)
    assert await sio.post(sid, "40", at=B) == (200, "ok")
    await poll(sio, sid, at=C, count=2)
    ws = await _upgrade(sio, sid, ws_at=C, poll_at=B)
    await ws.send_str('42["message","over ws"]')
    assert await recv(ws) == '42["message-back","over ws"]'
    await ws.send_str('42456["message-with-ack","x"]')
    assert await recv(ws) == '43456["x"]'
    await ws.close()


# -- hostile input ----------------------------------------------------------------------------
def forged_sids(victim: str, key: bytes) -> dict[str, str]:
    """Sids an attacker might try, next to a live session ``victim`` owned by the node whose
    MAC key is ``key`` (read from Redis: the worst case, an attacker who knows the key)."""
    tag, rest = victim[:TAG_LEN], "A" * RANDOM_LEN
    flipped = victim[:-1] + ("A" if victim[-1] != "A" else "B")
    return {
        "garbage": "not-a-sid",
        "wrong length": victim + "x",
        "unknown node": "Zz9Zz9Zz" + victim[TAG_LEN:],
        "bad MAC": flipped,
        "stale MAC": tag + rest + victim[-MAC_LEN:],
        "valid MAC, no such session": tag + rest + mac_of(key, tag + rest),
        "valid MAC, unknown node": "Zz9Zz9Zz" + rest + mac_of(key, "Zz9Zz9Zz" + rest),
    }


async def test_forged_sids_are_refused_everywhere_and_reach_no_session(
    nodes: Nodes, conformance_cluster: Cluster
) -> None:
    victim = await nodes.handshake(at=A)
    key = bytes.fromhex((await directory(conformance_cluster))[victim[:TAG_LEN]]["key"])
    received: list[str] = []
    stop = asyncio.Event()
    # The victim's client keeps polling (through B) and answering pings meanwhile.
    keeper = asyncio.create_task(keep_polling(nodes.on("engine.io"), victim, received, stop))
    for what, sid in forged_sids(victim, key).items():
        for at in (A, B, C):
            assert (await nodes.post(sid, "4intruder", at=at))[0] == 400, (what, at)
            assert (await nodes.get(sid, at=at))[0] == 400, (what, at)
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await nodes.ws(sid, at=at)
            assert refused.value.status == 400, (what, at)
    assert await nodes.post(victim, "4mine", at=C) == (200, "ok")
    end = deadline()
    while "4mine" not in received and not keeper.done():
        assert time.monotonic() < end
        await asyncio.sleep(0.02)
    stop.set()
    await keeper  # the victim's session lived through it all...
    assert received == ["4mine"]  # ...and nothing forged reached it


async def keep_polling(nodes: Nodes, sid: str, received: list[str], stop: asyncio.Event) -> None:
    """A polling client on node B: records what arrives, answers pings; bounded."""
    end = deadline(60)
    while not stop.is_set():
        assert time.monotonic() < end
        status, body = await nodes.get(sid, at=B)
        assert status == 200, body
        for packet in body.split("\x1e"):
            if packet == "2":
                assert await nodes.post(sid, "3", at=B) == (200, "ok")
            else:
                received.append(packet)


async def test_a_node_never_relays_a_request_that_was_relayed_already(nodes: Nodes) -> None:
    sid = await nodes.handshake(at=A)
    marked = {RELAY_HEADER: "Zz9Zz9Zz"}
    # Node B does not own the sid and the request says it was relayed: refused, not relayed.
    assert (await nodes.post(sid, "4looped", at=B, headers=marked))[0] == 400
    assert (await nodes.get(sid, at=C, headers=marked))[0] == 400
    # The owner itself serves it (a relayed request is an ordinary request there).
    assert await nodes.post(sid, "4direct", at=A, headers=marked) == (200, "ok")
    assert await poll(nodes, sid, at=B) == ["4direct"]


# -- the relay channel between nodes ---------------------------------------------------------
async def open_channel(nodes: Nodes, at: int, headers: dict[str, str]
                       ) -> aiohttp.ClientWebSocketResponse:
    url = f"{nodes.urls[at]}/engine.io/?EIO=4&transport={CHANNEL_TRANSPORT}"
    return await nodes.http.ws_connect(url.replace("http://", "ws://"), headers=headers)


async def test_a_relay_channel_opens_only_with_the_owners_key(
    nodes: Nodes, conformance_cluster: Cluster
) -> None:
    sid = await nodes.handshake(at=A)
    tag = sid[:TAG_LEN]
    wrong = {RELAY_HEADER: "Zz9Zz9Zz", AUTH_HEADER: channel_token(b"x" * 32, "Zz9Zz9Zz", tag)}
    for headers in ({}, wrong):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await open_channel(nodes, A, headers)
        assert refused.value.status == 403
    key = bytes.fromhex((await directory(conformance_cluster))[tag]["key"])
    channel = await open_channel(nodes, A, {RELAY_HEADER: "Zz9Zz9Zz",
                                            AUTH_HEADER: channel_token(key, "Zz9Zz9Zz", tag)})
    await channel.send_bytes(bytes([OP_POST, 0, 0, 0, 7]) + sid.encode() + b"4on channel")
    answer = await channel.receive_bytes()
    assert answer[:4] == bytes([0, 0, 0, 7]) and answer[7:] == b"ok"
    assert await poll(nodes, sid, at=B) == ["4on channel"]
    await channel.close()


async def test_polls_of_a_channel_that_closes_take_nothing_from_the_session(
    nodes: Nodes, conformance_cluster: Cluster
) -> None:
    sid = await nodes.handshake(at=A)
    tag = sid[:TAG_LEN]
    key = bytes.fromhex((await directory(conformance_cluster))[tag]["key"])
    channel = await open_channel(nodes, A, {RELAY_HEADER: "Zz9Zz9Zz",
                                            AUTH_HEADER: channel_token(key, "Zz9Zz9Zz", tag)})
    await channel.send_bytes(bytes([OP_GET, 0, 0, 0, 1]) + sid.encode())
    await channel.close()  # the relaying node is gone while its poll waits at the owner
    # The owner cancelled that poll: a new one is no duplicate, and nothing was lost.
    assert await nodes.post(sid, "4after", at=C) == (200, "ok")
    assert await poll(nodes, sid, at=B) == ["4after"]


async def test_a_plain_get_for_the_websocket_transport_is_refused_before_any_relay(
    nodes: Nodes,
) -> None:
    sid = await nodes.handshake(at=A)
    status, _ = await nodes.request("GET", at=B, transport="websocket", sid=sid)
    assert status == 400
    # No upgrade was started at the owner: a poll waits for the ping instead of getting "6".
    assert await nodes.get(sid, at=C) == (200, "2")
