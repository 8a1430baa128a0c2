"""The inbound fast path (server/wire/ws_inbound.py, sio_fast.py, inbox.py) over real sockets:
it is taken on WebSockets, not on polling; events start in arrival order whichever path each
took; a handler that suspends holds up nobody; handlers keep a task of their own (timeouts work);
and the production namespaces on Redis are served through it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
import socketio

from tests.support import connect, eventually
from tests.wire import Wire, recv, serve, sio_connect

pytestmark = pytest.mark.e2e


def fast_events(wire: Wire) -> int:
    return wire.sio.fast_events


async def test_websocket_events_take_the_fast_path_and_polling_events_do_not() -> None:
    async with serve() as wire:
        ws = await sio_connect(wire)
        before = fast_events(wire)
        await ws.send_str('421["message-with-ack","a",{"n":1}]')
        assert await recv(ws) == '431["a",{"n":1}]'
        assert fast_events(wire) == before + 1
        await ws.close()

        sid, _ = await wire.handshake()
        assert (await wire.post(sid, "40"))[0] == 200
        status, text = await wire.get(sid)
        assert status == 200 and text.startswith("40"), text
        before = fast_events(wire)
        assert (await wire.post(sid, '422["message-with-ack","b"]'))[0] == 200
        assert await wire.get(sid) == (200, '432["b"]')
        assert fast_events(wire) == before


async def test_events_start_in_arrival_order_across_the_fast_and_the_full_path() -> None:
    """Binary events always take the full path; text events around them may take either."""
    async with serve() as wire:
        ws = await sio_connect(wire)
        [session] = wire.sio.eio.sockets.values()
        before = fast_events(wire)
        for i in range(60):
            if i % 3 == 1:
                await ws.send_str(f'451-["message",{{"_placeholder":true,"num":0}},{i}]')
                await ws.send_bytes(bytes([i]))
            else:
                await ws.send_str(f'42["message",{i}]')
            if i % 7 == 0:  # let the next text event find the reader idle
                await eventually(lambda: session.inbound_idle, "the reader idle")
        order: list[int] = []
        while len(order) < 60:
            frame = await recv(ws)
            assert isinstance(frame, str), frame
            if frame.startswith("451-"):
                assert isinstance(await recv(ws), bytes)
                order.append(json.loads(frame[4:])[2])
            else:
                order.append(json.loads(frame[2:])[1])
        assert order == list(range(60))
        assert fast_events(wire) > before  # the fast path did take part
        await ws.close()


class Gate(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__("/gate")
        self.opened = asyncio.Event()

    async def on_wait(self, sid: str, *args: Any) -> str:
        await self.opened.wait()
        return "waited"

    async def on_now(self, sid: str, *args: Any) -> str:
        return "now"

    async def on_timed(self, sid: str, *args: Any) -> str:
        try:
            async with asyncio.timeout(0.05):
                await asyncio.Event().wait()  # never set: only the timeout ends it
        except TimeoutError:
            return "timed out"
        return "slept"

    async def on_blob(self, sid: str, *args: Any) -> bytes:
        return b"\x01\x02"

    async def on_whoami(self, sid: str, *args: Any) -> bool:
        task = asyncio.current_task()
        await asyncio.sleep(0)  # suspends once (a yield to the loop, not a wait)
        return task is not None and task is asyncio.current_task()


@asynccontextmanager
async def gate_server() -> AsyncIterator[tuple[Wire, Gate]]:
    async with serve() as wire:
        gate = Gate()
        wire.sio.register_namespace(gate)
        yield wire, gate


async def gate_client(wire: Wire) -> aiohttp.ClientWebSocketResponse:
    return await sio_connect(wire, "/gate", auth_event=False)


async def test_a_handler_that_suspends_holds_up_no_other_event() -> None:
    async with gate_server() as (wire, gate):
        a, b = await gate_client(wire), await gate_client(wire)
        before = fast_events(wire)
        await a.send_str('42/gate,1["wait"]')
        await a.send_str('42/gate,2["now"]')
        await b.send_str('42/gate,1["now"]')
        assert await recv(a) == '43/gate,2["now"]'  # as with a task per event (no lock here)
        assert await recv(b) == '43/gate,1["now"]'
        gate.opened.set()
        assert await recv(a) == '43/gate,1["waited"]'
        assert fast_events(wire) == before + 3
        await a.close()
        await b.close()


async def test_handlers_run_in_a_task_of_their_own_so_timeouts_work() -> None:
    async with gate_server() as (wire, _):
        ws = await gate_client(wire)
        before = fast_events(wire)
        await ws.send_str('42/gate,1["timed"]')
        await ws.send_str('42/gate,2["whoami"]')
        frames = {await recv(ws), await recv(ws)}
        assert frames == {'43/gate,1["timed out"]', '43/gate,2[true]'}
        assert fast_events(wire) == before + 2
        await ws.close()


async def test_a_binary_ack_to_a_fast_path_event_is_a_binary_ack() -> None:
    async with gate_server() as (wire, _):
        ws = await gate_client(wire)
        before = fast_events(wire)
        await ws.send_str('42/gate,3["blob"]')
        assert await recv(ws) == '461-/gate,3[{"_placeholder":true,"num":0}]'
        assert await recv(ws) == b"\x01\x02"
        assert fast_events(wire) == before + 1
        await ws.close()


async def test_lobby_on_redis_is_served_through_the_fast_path(redis_url: str) -> None:
    async with serve(profile="default", redis_url=redis_url) as wire:
        host = await connect(wire.url)
        guest = await connect(wire.url)
        try:
            before = fast_events(wire)
            created = await host.call("createRoom", {"nickname": "Ann"})
            assert created["ok"] is True, created
            code = created["room"]["code"]
            joined = await guest.call("joinRoom", {"nickname": "Bob", "code": code.lower()})
            assert joined["ok"] is True, joined
            refused = await guest.call("joinRoom", {"nickname": 5, "code": code})
            assert refused["code"] == "validation_error"
            sent = await guest.call("sendMessage", "hello")
            assert sent["ok"] is True, sent
            message = await host.until("message", lambda m: m["message"] == "hello")
            assert message["nickname"] == "Bob" and message["seq"] >= 1
            assert fast_events(wire) >= before + 4
        finally:
            await host.sio.disconnect()
            await guest.sio.disconnect()
