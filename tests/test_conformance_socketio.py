"""Socket.IO v5 conformance at the wire, written from the protocol document's test suite."""

from __future__ import annotations

import json

import aiohttp
import pytest

from tests.wire import Wire, recv, recv_text, serve, sio_connect, wait_closed

pytestmark = pytest.mark.e2e


async def _opened(wire: Wire) -> aiohttp.ClientWebSocketResponse:
    ws = await wire.ws()
    assert (await recv_text(ws)).startswith("0")
    return ws


async def test_4_connect_ack_precedes_what_the_connect_handler_emits() -> None:
    async with serve() as wire:
        for sent, prefix, auth in (("40", "40", "{}"),
                                   ('40{"token":"123"}', "40", '{"token":"123"}'),
                                   ("40/custom,", "40/custom,", "{}"),
                                   ('40/custom,{"token":"abc"}', "40/custom,", '{"token":"abc"}')):
            ws = await _opened(wire)
            await ws.send_str(sent)
            ack = await recv(ws)
            assert isinstance(ack, str) and ack.startswith(prefix), (sent, ack)
            assert set(json.loads(ack[len(prefix):])) == {"sid"}
            event_prefix = prefix.replace("40", "42", 1)
            assert await recv(ws) == f'{event_prefix}["auth",{auth}]'
            await ws.close()


async def test_5_unknown_namespace_is_refused_with_invalid_namespace() -> None:
    async with serve() as wire:
        ws = await _opened(wire)
        await ws.send_str("40/random")
        assert await recv(ws) == '44/random,{"message":"Invalid namespace"}'
        await ws.close()


async def test_invalid_handshake_closes() -> None:
    async with serve() as wire:
        ws = await _opened(wire)
        await ws.send_str("4abc")
        await wait_closed(ws)


async def test_disconnect_from_main_namespace_closes() -> None:
    async with serve() as wire:
        ws = await sio_connect(wire)
        await ws.send_str("41")
        await wait_closed(ws)


async def test_disconnect_from_custom_namespace_keeps_main() -> None:
    async with serve() as wire:
        ws = await sio_connect(wire)
        await ws.send_str("40/custom,")
        assert (await recv_text(ws)).startswith("40/custom,")
        assert await recv(ws) == '42/custom,["auth",{}]'
        await ws.send_str("41/custom,")
        await ws.send_str('42["message","message to main namespace"]')
        assert await recv(ws) == '42["message-back","message to main namespace"]'
        await ws.close()


async def test_message_plain_and_binary() -> None:
    async with serve() as wire:
        ws = await sio_connect(wire)
        await ws.send_str('42["message",1,"2",{"3":[true]}]')
        assert await recv(ws) == '42["message-back",1,"2",{"3":[true]}]'
        await ws.send_str('452-["message",{"_placeholder":true,"num":0},'
                          '{"_placeholder":true,"num":1}]')
        await ws.send_bytes(bytes([1, 2, 3]))
        await ws.send_bytes(bytes([4, 5, 6]))
        assert await recv(ws) == ('452-["message-back",{"_placeholder":true,"num":0},'
                                  '{"_placeholder":true,"num":1}]')
        assert await recv(ws) == bytes([1, 2, 3])
        assert await recv(ws) == bytes([4, 5, 6])
        await ws.close()


async def test_message_with_ack_plain_and_binary() -> None:
    async with serve() as wire:
        ws = await sio_connect(wire)
        await ws.send_str('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert await recv(ws) == '43456[1,"2",{"3":[false]}]'
        await ws.send_str('451-789["message-with-ack",{"_placeholder":true,"num":0}]')
        await ws.send_bytes(bytes([1, 2, 3]))
        assert await recv(ws) == '461-789[{"_placeholder":true,"num":0}]'
        assert await recv(ws) == bytes([1, 2, 3])
        await ws.close()


async def test_polling_socketio_session() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake()
        assert await wire.post(sid, "40") == (200, "ok")
        status, body = await wire.get(sid)
        assert status == 200
        ack, auth = body.split("\x1e")
        assert ack.startswith("40{") and auth == '42["auth",{}]'
        assert await wire.post(sid, '42["message","hi"]') == (200, "ok")
        assert await wire.get(sid) == (200, '42["message-back","hi"]')
