"""Engine.IO v4 conformance at the wire, written from the protocol document's test suite.

Each numbered test is one deviation of a bare python-engineio 4.15 server that Huddle fixes.
"""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp
import pytest

from tests.support import ROOT, WAIT_S, eventually, free_port, wait_for_port
from tests.wire import Wire, recv, serve, wait_closed

pytestmark = pytest.mark.e2e

PING_INTERVAL_S, PING_TIMEOUT_S = 0.3, 0.2


async def test_1_handshake_advertises_exact_millisecond_heartbeat() -> None:
    async with serve() as wire:
        _, opened = await wire.handshake("engine.io")
        assert set(opened) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert opened["upgrades"] == ["websocket"]
        assert (opened["pingInterval"], opened["pingTimeout"]) == (300, 200)
        assert opened["maxPayload"] == 1_000_000
        ws = await wire.ws("engine.io")
        first = await recv(ws)
        assert isinstance(first, str) and first.startswith("0")
        assert json.loads(first[1:])["pingInterval"] == 300
        assert json.loads(first[1:])["upgrades"] == []
        await ws.close()


async def test_2_handshake_without_transport_is_400() -> None:
    async with serve() as wire:
        assert (await wire.request("GET", "engine.io", EIO="4"))[0] == 400
        assert (await wire.request("GET", "engine.io", EIO="4", transport="abc"))[0] == 400
        assert (await wire.request("GET", "engine.io", transport="polling"))[0] == 400
        assert (await wire.request("GET", "engine.io", EIO="abc", transport="polling"))[0] == 400
        assert not wire.sio.eio.sockets  # no session was opened by any of them


async def test_3_handshake_with_wrong_method_is_400() -> None:
    async with serve() as wire:
        for method in ("POST", "PUT"):
            status, _ = await wire.request(method, "engine.io", EIO="4", transport="polling")
            assert status == 400, method


async def test_6_pending_poll_gets_noop_when_client_closes() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake("engine.io")
        poll = asyncio.create_task(wire.get(sid, "engine.io"))
        await wire.poll_pending(sid, "engine.io")
        assert await wire.post(sid, "1", "engine.io") == (200, "ok")
        assert await poll == (200, "6")
        assert (await wire.get(sid, "engine.io"))[0] == 400


async def test_7_ping_timeout_closes_a_polling_session() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake("engine.io")
        engine = wire.engine("engine.io")
        # The client never answers the ping sent at 300 ms: the server forgets the session
        # (due at 500 ms; like every test here, this asserts no wall-clock bound).
        await eventually(lambda: sid not in engine.sockets, "the session forgotten",
                         within_s=PING_INTERVAL_S + PING_TIMEOUT_S + WAIT_S)
        assert (await wire.get(sid, "engine.io"))[0] == 400
        assert (await wire.post(sid, "3", "engine.io"))[0] == 400


async def test_8_post_is_answered_lowercase_ok() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake("engine.io")
        assert await wire.post(sid, "4hello", "engine.io") == (200, "ok")
        assert await wire.get(sid, "engine.io") == (200, "4hello")


async def test_9_invalid_posted_packet_closes_the_session() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake("engine.io")
        assert (await wire.post(sid, "abc", "engine.io"))[0] == 400
        assert (await wire.get(sid, "engine.io"))[0] == 400


async def test_10_duplicate_poll_is_refused_and_closes_the_session() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake("engine.io")
        first = asyncio.create_task(wire.get(sid, "engine.io"))
        await wire.poll_pending(sid, "engine.io")
        second = await wire.get(sid, "engine.io")
        assert second[0] == 400
        assert await first == (200, "1")
        assert (await wire.get(sid, "engine.io"))[0] == 400


async def _upgrade(wire: Wire, sid: str) -> aiohttp.ClientWebSocketResponse:
    ws = await wire.ws("engine.io", sid)
    await ws.send_str("2probe")
    assert await recv(ws) == "3probe"
    assert await wire.get(sid, "engine.io") == (200, "6")  # ends polling during the upgrade
    await ws.send_str("5")
    return ws


async def test_11_no_stray_noop_over_the_websocket_after_upgrade() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake("engine.io")
        ws = await wire.ws("engine.io", sid)
        await ws.send_str("2probe")
        assert await recv(ws) == "3probe"
        await ws.send_str("5")  # no poll was pending: nothing to end with a noop
        await ws.send_str("4hello")
        assert await recv(ws) == "4hello"  # the first frame after the upgrade, not "6"
        assert (await wire.get(sid, "engine.io"))[0] == 400  # HTTP is over for this sid
        await ws.close()


async def test_12_second_websocket_for_upgraded_sid_is_accepted_then_closed() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake("engine.io")
        ws = await _upgrade(wire, sid)
        intruder = await wire.ws("engine.io", sid)  # the HTTP upgrade succeeds (101)...
        await wait_closed(intruder)  # ...and the server closes it
        await ws.send_str("4hello")
        assert await recv(ws) == "4hello"
        await ws.close()


async def test_polling_messages_text_and_binary_round_trip() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake("engine.io")
        body = "4hello\x1ebAQIDBA==\x1e4world"
        assert await wire.post(sid, body, "engine.io") == (200, "ok")
        assert await wire.get(sid, "engine.io") == (200, body)


async def test_polling_heartbeat_ping_pong() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake("engine.io")
        for _ in range(3):
            assert await wire.get(sid, "engine.io") == (200, "2")
            assert await wire.post(sid, "3", "engine.io") == (200, "ok")


async def test_websocket_messages_heartbeat_and_close() -> None:
    async with serve() as wire:
        ws = await wire.ws("engine.io")
        await recv(ws)
        await ws.send_str("4hello")
        assert await recv(ws) == "4hello"
        await ws.send_bytes(bytes([1, 2, 3, 4]))
        assert await recv(ws) == bytes([1, 2, 3, 4])
        for _ in range(3):
            assert await recv(ws, pings=True) == "2"
            await ws.send_str("3")
        await ws.send_str("1")
        await wait_closed(ws)


async def test_websocket_without_pongs_is_closed_by_ping_timeout() -> None:
    async with serve() as wire:
        ws = await wire.ws("engine.io")
        assert str(await recv(ws, pings=True)).startswith("0")
        assert await recv(ws, pings=True) == "2"
        await wait_closed(ws)  # not answered: the server closes the connection


async def test_websocket_invalid_packet_closes() -> None:
    async with serve() as wire:
        ws = await wire.ws("engine.io")
        await recv(ws)
        await ws.send_str("abc")
        await wait_closed(ws)


async def test_payload_of_many_packets_is_accepted() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake("engine.io")
        body = "\x1e".join(f"4m{i}" for i in range(40))  # the library refuses more than 16
        assert await wire.post(sid, body, "engine.io") == (200, "ok")
        status, got = await wire.get(sid, "engine.io")
        assert status == 200 and got.split("\x1e")[:40] == body.split("\x1e")


async def test_cli_serves_the_conformance_profile() -> None:
    """``python -m server --profile conformance --port N``, a real process, as documented."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", "--profile", "conformance", "--port", str(port),
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.to_thread(wait_for_port, port)
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{port}"
            async with http.get(f"{base}/socket.io/?EIO=4&transport=polling") as resp:
                opened = json.loads((await resp.text())[1:])
            assert (opened["pingInterval"], opened["pingTimeout"]) == (300, 200)
            async with http.get(f"{base}/engine.io/?EIO=4&transport=polling") as resp:
                assert resp.status == 200
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await asyncio.wait_for(proc.wait(), 10)
