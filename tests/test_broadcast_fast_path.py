"""The broadcast fast path (server/wire/broadcast.py) over real sockets: it is taken (no task per
recipient), it keeps per-socket order across transports, and a consumer that stops reading is
still disconnected while everyone else keeps receiving."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pytest
import socketio

from server.wire.broadcast import FastEmit
from tests.support import eventually
from tests.wire import (
    Wire,
    back_to_baseline,
    masked_frame,
    raw_websocket,
    recv,
    serve,
    server_load,
    sio_connect,
    still_serving,
)

pytestmark = pytest.mark.e2e

CROWD = 60


@contextmanager
def counting_tasks() -> Iterator[list[int]]:
    """Counts the asyncio tasks created on this loop while the block runs."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    created = [0]

    def factory(loop_: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        created[0] += 1
        if previous is not None:
            return previous(loop_, coro, **kwargs)  # type: ignore[return-value]
        return asyncio.Task(coro, loop=loop_, **kwargs)

    loop.set_task_factory(factory)
    try:
        yield created
    finally:
        loop.set_task_factory(previous)


def sids_of(wire: Wire) -> list[str]:
    return [sid for sid in wire.sio.manager.rooms["/"][None] if sid is not None]


async def crowd(wire: Wire, count: int, *, auth_event: bool = True
                ) -> list[aiohttp.ClientWebSocketResponse]:
    """``count`` WebSocket clients, connected in order, all in room ``crowd``."""
    sockets = [await sio_connect(wire, auth_event=auth_event) for _ in range(count)]
    for sid in sids_of(wire):
        await wire.sio.enter_room(sid, "crowd")
    return sockets


async def texts(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[str]:
    got: list[str] = []
    for _ in range(count):
        frame = await recv(ws)
        assert isinstance(frame, str), (got, frame)
        got.append(frame)
    return got


async def test_room_broadcast_creates_no_task_per_recipient() -> None:
    async with serve() as wire:
        clients = await crowd(wire, CROWD)
        manager = wire.sio.manager
        assert isinstance(manager, FastEmit)
        before = manager.fast_emits
        with counting_tasks() as created:
            await wire.sio.emit("news", {"n": 1}, room="crowd")
        assert created[0] == 0 and manager.fast_emits == before + 1
        for ws in clients:
            assert await recv(ws) == '42["news",{"n":1}]'
        # The control: the library's own emit creates one task per recipient, so the counter
        # above would have seen them.
        with counting_tasks() as created:
            await socketio.AsyncManager.emit(manager, "news", {"n": 2}, "/", room="crowd")
        assert created[0] == CROWD
        for ws in clients:
            assert await recv(ws) == '42["news",{"n":2}]'


async def test_order_is_kept_per_socket_across_broadcasts_and_direct_emits() -> None:
    async with serve() as wire:
        first, *others = await crowd(wire, 3)
        first_sid = sids_of(wire)[0]
        eio_sid, _ = await wire.handshake()  # a long-polling member of the room too
        assert await wire.post(eio_sid, "40") == (200, "ok")
        assert (await wire.get(eio_sid))[1].startswith("40")
        await wire.sio.enter_room(wire.sio.manager.sid_from_eio_sid(eio_sid, "/"), "crowd")
        for i in range(30):
            await wire.sio.emit("seq", i, room="crowd")
            await wire.sio.emit("solo", i, to=first_sid)
        broadcasts = [f'42["seq",{i}]' for i in range(30)]
        assert await texts(first, 60) == [
            frame for i in range(30) for frame in (f'42["seq",{i}]', f'42["solo",{i}]')]
        for ws in others:
            assert await texts(ws, 30) == broadcasts
        polled: list[str] = []
        for _ in range(30):
            if len(polled) >= 30:
                break
            status, body = await wire.get(eio_sid)
            assert status == 200
            polled += [part for part in body.split("\x1e") if part.startswith("42")]
        assert polled == broadcasts


async def _lockstep(wire: Wire, healthy: aiohttp.ClientWebSocketResponse,
                    slow_gone: Callable[[], bool], send: Callable[[int], Awaitable[None]]
                    ) -> int:
    """Broadcast until the slow consumer's session is gone (bounded); the healthy client reads
    each broadcast before the next is sent. Returns how many were sent."""
    sent = 0
    for i in range(400):  # 400 x 50 KB = 20 MB at most
        if slow_gone():
            break
        await send(i)
        sent += 1
        frame = await recv(healthy)
        assert isinstance(frame, str) and json.loads(frame[2:])[1]["i"] == i
    return sent


async def test_slow_consumer_is_disconnected_under_broadcasts() -> None:
    async with serve(max_queued_bytes=200_000) as wire:
        baseline = server_load(wire)
        healthy = await sio_connect(wire)
        healthy_sid = sids_of(wire)[0]
        async with raw_websocket(wire) as (_, writer):  # never reads a byte
            writer.write(masked_frame(b"40"))
            await eventually(lambda: len(sids_of(wire)) == 2, "the silent client connected")
            slow_sid = next(s for s in sids_of(wire) if s != healthy_sid)
            slow_eio = wire.sio.manager.eio_sid_from_sid(slow_sid, "/")
            for sid in (healthy_sid, slow_sid):
                await wire.sio.enter_room(sid, "crowd")
            pad = "x" * 50_000

            async def send(i: int) -> None:
                await wire.sio.emit("big", {"i": i, "pad": pad}, room="crowd")

            sent = await _lockstep(wire, healthy, lambda: slow_eio not in wire.sio.eio.sockets,
                                   send)
            assert slow_eio not in wire.sio.eio.sockets, f"still connected after {sent}"
            assert slow_sid not in wire.sio.manager.rooms["/"].get("crowd", {})
            # The healthy client is still in the room and still served.
            await wire.sio.emit("big", {"i": sent, "pad": ""}, room="crowd")
            frame = await recv(healthy)
            assert isinstance(frame, str) and json.loads(frame[2:])[1]["i"] == sent
        await healthy.close()
        await still_serving(wire)
        await back_to_baseline(wire, baseline)


async def test_redis_fanout_delivers_locally_and_remotely_through_the_fast_path(
    redis_url: str,
) -> None:
    nodes = serve(profile="bench", redis_url=redis_url)
    async with nodes as near, serve(profile="bench", redis_url=redis_url) as far:
        local = await crowd(near, 20, auth_event=False)
        remote = await crowd(far, 20, auth_event=False)
        for wire in (near, far):
            assert isinstance(wire.sio.manager, FastEmit)
        far_before = far.sio.manager.fast_emits
        with counting_tasks() as created:
            await near.sio.emit("news", "everyone", room="crowd")
        assert created[0] < 20  # the publish may use a task or two; recipients none
        for ws in local + remote:
            assert await recv(ws) == '42["news","everyone"]'
        assert far.sio.manager.fast_emits == far_before + 1


async def test_deflate_sessions_keep_the_queued_writer_and_the_same_order() -> None:
    async with serve(ws_deflate=True) as wire:
        url = wire.endpoint(EIO="4", transport="websocket").replace("http://", "ws://")
        deflated = await wire.http.ws_connect(url, compress=15)
        assert deflated.compress == 15  # permessage-deflate was negotiated
        assert str(await recv(deflated)).startswith("0")
        await deflated.send_str("40")
        assert str(await recv(deflated)).startswith("40")
        assert await recv(deflated) == '42["auth",{}]'
        plain = await sio_connect(wire)
        for sid in sids_of(wire):
            await wire.sio.enter_room(sid, "crowd")
        for i in range(20):
            await wire.sio.emit("seq", i, room="crowd")
        for ws in (deflated, plain):
            assert await texts(ws, 20) == [f'42["seq",{i}]' for i in range(20)]
        await deflated.close()
        await plain.close()
