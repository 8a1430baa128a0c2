"""Hostile Socket.IO packets (G1, G2, G7, G8, G9): each is sent on the wire, then another client
must still be served and the server's sessions and tasks must return to their baseline."""

from __future__ import annotations

import copy
import json

import msgpack
import pytest

from tests.wire import (
    back_to_baseline,
    closed_without_reply,
    recv,
    recv_text,
    serve,
    server_load,
    sio_connect,
    still_serving,
    wait_closed,
)

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("header", [
    '4599999999-["message",{"_placeholder":true,"num":0}]',  # G1: billions declared
    "4511-[\"message\"" + "".join(f',{{"_placeholder":true,"num":{i}}}' for i in range(11)) + "]",
])
async def test_g1_binary_attachments_are_capped(header: str) -> None:
    async with serve() as wire:
        baseline = server_load(wire)
        ws = await sio_connect(wire)
        await ws.send_str(header)
        for _ in range(3):
            await ws.send_bytes(b"\x00" * 1000)
        await wait_closed(ws)
        await still_serving(wire)
        await back_to_baseline(wire, baseline)


async def test_g1_ten_attachments_are_still_fine() -> None:
    async with serve() as wire:
        ws = await sio_connect(wire)
        placeholders = ",".join(f'{{"_placeholder":true,"num":{i}}}' for i in range(10))
        await ws.send_str(f'4510-["message",{placeholders}]')
        for i in range(10):
            await ws.send_bytes(bytes([i]))
        assert (await recv_text(ws)).startswith('4510-["message-back"')
        assert [await recv(ws) for _ in range(10)] == [bytes([i]) for i in range(10)]
        await ws.close()


@pytest.mark.parametrize("packet", ['42["connect",{"token":"forged"}]', '42["disconnect"]',
                                    '42["connect_error",{}]', '42/custom,["disconnect","x"]'])
async def test_g2_reserved_event_names_close_the_connection(packet: str) -> None:
    async with serve() as wire:
        baseline = server_load(wire)
        ws = await sio_connect(wire)
        await ws.send_str("40/custom,")
        assert (await recv_text(ws)).startswith("40/custom,")
        assert await recv(ws) == '42/custom,["auth",{}]'
        await ws.send_str(packet)
        # The connect handler did not run again: the next thing is the close, not an "auth".
        await closed_without_reply(ws)
        await still_serving(wire)
        await back_to_baseline(wire, baseline)


@pytest.mark.parametrize("packet", ['42["message",NaN]', '42["message",Infinity]',
                                    '42["message",-Infinity]', '42["message",1e999]'])
async def test_g7_non_finite_numbers_are_refused(packet: str) -> None:
    async with serve() as wire:
        baseline = server_load(wire)
        ws = await sio_connect(wire)
        await ws.send_str(packet)
        await closed_without_reply(ws)  # nothing echoed back
        await still_serving(wire)
        await back_to_baseline(wire, baseline)


async def test_g7_encoding_a_non_finite_number_fails_loudly() -> None:
    async with serve() as wire:
        ws = await sio_connect(wire)
        with pytest.raises(ValueError, match="JSON"):
            await wire.sio.emit("score", float("nan"))
        await ws.send_str('42["message",1.5]')
        assert await recv(ws) == '42["message-back",1.5]'  # nothing invalid was sent
        await ws.close()


async def test_g8_rooms_must_be_non_empty_strings() -> None:
    async with serve() as wire:
        ws = await sio_connect(wire)
        sid = next(iter(wire.sio.manager.rooms["/"][None]))
        before = copy.deepcopy(wire.sio.manager.rooms)
        for room in (None, "", 42, "x" * 1000):
            with pytest.raises(ValueError, match="invalid room"):
                await wire.sio.enter_room(sid, room)  # type: ignore[arg-type]
        assert wire.sio.manager.rooms == before
        await still_serving(wire)
        await ws.close()


async def test_g9_kick_closes_the_websocket_transport() -> None:
    async with serve() as wire:
        baseline = server_load(wire)
        ws = await wire.ws()
        await recv(ws)
        await ws.send_str("40")
        ack = await recv(ws)
        sid = json.loads(str(ack)[2:])["sid"]
        assert await recv(ws) == '42["auth",{}]'
        await wire.sio.disconnect(sid)
        assert await recv(ws) == "41"
        assert await recv(ws) == "1"
        await wait_closed(ws)
        await still_serving(wire)
        await back_to_baseline(wire, baseline)


async def test_g9_kick_closes_the_polling_transport() -> None:
    async with serve() as wire:
        eio_sid, _ = await wire.handshake()
        await wire.post(eio_sid, "40")
        _, body = await wire.get(eio_sid)
        sid = json.loads(body.split("\x1e")[0][2:])["sid"]
        await wire.sio.disconnect(sid)
        assert await wire.get(eio_sid) == (200, "41\x1e1")
        assert (await wire.post(eio_sid, "40"))[0] == 400  # cannot just reconnect the namespace
        await still_serving(wire)


async def test_g7_msgpack_parser_refuses_non_finite_numbers_too() -> None:
    async with serve(parser="msgpack") as wire:
        baseline = server_load(wire)
        ws = await wire.ws()
        assert (await recv_text(ws)).startswith("0")
        await ws.send_bytes(msgpack.packb({"type": 0, "nsp": "/"}))
        assert msgpack.unpackb(await recv(ws))["type"] == 0  # CONNECT ack
        assert msgpack.unpackb(await recv(ws))["data"] == ["auth", {}]
        await ws.send_bytes(msgpack.packb({"type": 2, "nsp": "/", "data": ["message", 1.5]}))
        assert msgpack.unpackb(await recv(ws))["data"] == ["message-back", 1.5]
        await ws.send_bytes(msgpack.packb({"type": 2, "nsp": "/",
                                           "data": ["message", float("nan")]}))
        await closed_without_reply(ws)
        await back_to_baseline(wire, baseline)
