"""The connection lifecycle has one owner (issue 10, bugs 1 and 2).

Per-connection state is born when a namespace connect succeeds, dropped on disconnect and on a
refused connect, and never re-created by a late event for a sid that is gone: such an event is
dropped, whichever inbound path (WebSocket fast path, WebSocket or polling full path) took it.
Every test drives real sockets and then checks that nothing keyed by a connection is left.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import socketio

from tests.support import WAIT_S, Client, connect, eventually
from tests.wire import (
    Wire,
    masked_frame,
    raw_websocket,
    recv,
    recv_text,
    serve,
    sio_connect,
    wait_closed,
)

pytestmark = pytest.mark.e2e


def leftovers(wire: Wire) -> dict[str, int]:
    """Every table the server keys by a connection, with its size (all 0 once clients left)."""
    sio = wire.sio
    sizes = {
        "eio.sockets": len(sio.eio.sockets),
        "environ": len(sio.environ),
        "binary_packet": len(sio._binary_packet),
        "held": len(sio._held),
        "buckets": len(sio._buckets),
        "manager.callbacks": sum(len(c) for c in sio.manager.callbacks.values()),
    }
    for namespace, rooms in sio.manager.rooms.items():
        sizes[f"rooms{namespace}"] = sum(len(members) for members in rooms.values())
    for namespace, pending in sio.manager.pending_connect.items():
        sizes[f"pending_connect{namespace}"] = len(pending)
    for namespace, pending in sio.manager.pending_disconnect.items():
        sizes[f"pending_disconnect{namespace}"] = len(pending)
    connections = getattr(sio, "connections", None)
    if connections is not None:
        sizes["connections"] = len(connections)
    for namespace, handler in sio.namespace_handlers.items():
        # Per-sid state a namespace object keeps (the old per-sid locks lived here).
        for name, value in vars(handler).items():
            if isinstance(value, dict) and name.startswith("_locks"):
                sizes[f"{namespace}.{name}"] = len(value)
    return {name: size for name, size in sizes.items() if size}


async def until(predicate: Callable[[], bool]) -> None:
    """Wait (bounded) until ``predicate()`` holds."""
    await eventually(predicate, "the condition")


async def nothing_left(wire: Wire) -> None:
    """Wait (bounded) until no table keyed by a connection has an entry."""

    def empty() -> bool:
        left = leftovers(wire)
        assert not left, f"left behind: {left}"
        return True

    await eventually(empty, "every per-connection table empty")


def main_namespace_sids(wire: Wire) -> int:
    return len(wire.sio.manager.rooms.get("/", {}).get(None, {}))


async def players_of(client: Client, code: str) -> int:
    listed = await client.call("listRooms")
    return next(int(room["players"]) for room in listed["rooms"] if room["code"] == code)


@asynccontextmanager
async def lobby_with_host(**settings: Any) -> AsyncIterator[tuple[Wire, Client, str]]:
    """The default profile (lobby on /), a host seated in a new room; yields its code."""
    async with serve(profile="default", **settings) as wire:
        host = await connect(wire.url)
        try:
            created = await host.call("createRoom", {"nickname": "Ann"})
            assert created["ok"], created
            yield wire, host, created["room"]["code"]
        finally:
            await host.sio.disconnect()


def join(code: str, ack: int = 1) -> str:
    return f'42{ack}["joinRoom",{{"nickname":"Ghost","code":"{code}"}}]'


# -- bug 1: ghost seat ----------------------------------------------------------------------
async def test_event_then_disconnect_in_one_polling_post_leaves_no_ghost_seat() -> None:
    """The issue's repro: ``421["joinRoom",...]`` + ``41`` in one POST (the full path)."""
    async with lobby_with_host() as (wire, host, code):
        sid, _ = await wire.handshake()
        assert await wire.post(sid, "40") == (200, "ok")
        status, text = await wire.get(sid)
        assert status == 200 and text.startswith("40{"), text
        assert await wire.post(sid, join(code) + "\x1e41") == (200, "ok")
        # Events start in arrival order: the host's listRooms starts after the joinRoom would.
        assert await players_of(host, code) == 1
        assert [p for p in host.named(f"players{code}") if len(p) > 1] == []
        await host.sio.disconnect()
        await wire.post(sid, "1")
        await nothing_left(wire)


async def test_event_then_disconnect_on_a_busy_websocket_leaves_no_ghost_seat() -> None:
    """The same over a WebSocket: three frames in one TCP write, so the reader is busy and the
    joinRoom takes the full path behind the first frame."""
    async with lobby_with_host() as (wire, host, code):
        async with raw_websocket(wire) as (reader, writer):
            assert (await read_text(reader)).startswith("0")
            writer.write(masked_frame(b"40"))
            assert (await read_text(reader)).startswith("40{")
            frames = ['42/nowhere,["x"]', join(code), "41"]
            writer.write(b"".join(masked_frame(f.encode()) for f in frames))
            await writer.drain()
            await until(lambda: main_namespace_sids(wire) == 1)  # the ghost's 41 was handled
            assert await players_of(host, code) == 1
        await host.sio.disconnect()
        await nothing_left(wire)


async def test_event_taken_by_the_fast_path_is_dropped_once_its_sid_is_gone() -> None:
    """The fast path queues the event as aiohttp parses the frame; if the sid is kicked before
    the event starts, the event is dropped instead of seating a player with no connection."""
    async with lobby_with_host() as (wire, host, code):
        ghost = await connect(wire.url)
        sid = ghost.sio.get_sid("/")
        eio_sid = wire.sio.manager.eio_sid_from_sid(sid, "/")
        # What the WebSocket reader does for a text frame, then a kick before the event starts.
        assert wire.sio.fast_event(eio_sid, join(code)) is True
        await wire.sio.disconnect(sid)
        assert await players_of(host, code) == 1
        await host.sio.disconnect()
        await ghost.sio.disconnect()
        await nothing_left(wire)


# -- bug 2: per-connection state of refused connects ---------------------------------------
async def test_refused_connects_leave_no_per_connection_state() -> None:
    """50 refused ``/chat`` connects (no identity) leave nothing behind, not even a lock."""
    async with serve(profile="default") as wire:
        for _ in range(50):
            ws = await wire.ws()
            assert (await recv_text(ws)).startswith("0")
            await ws.send_str("40/chat,")
            refused = await recv(ws)
            assert isinstance(refused, str) and refused.startswith("44/chat,"), refused
            assert json.loads(refused[len("44/chat,"):])["data"]["code"] == "unauthorized"
            await ws.send_str('42/chat,1["listChats"]')  # an event for a refused sid: dropped
            await ws.close()
        await nothing_left(wire)


async def test_connects_and_disconnects_leave_no_per_connection_state() -> None:
    async with serve(profile="default") as wire:
        for transports in (["websocket"], ["polling"]):
            clients = [await connect(wire.url, transports=transports,
                                     namespaces=["/", "/chat"], auth={"userId": f"u{i}"})
                       for i in range(5)]
            for client in clients:
                assert (await client.call("listRooms"))["ok"]
            for client in clients:
                await client.sio.disconnect()
        await nothing_left(wire)


class SlowConnect(socketio.AsyncNamespace):  # type: ignore[misc]
    """A connect handler that waits for the test, and a record of every disconnect."""

    def __init__(self) -> None:
        super().__init__("/slow")
        self.release = asyncio.Event()
        self.connecting = asyncio.Event()
        self.connected: list[str] = []
        self.disconnected: list[str] = []

    async def on_connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        self.connecting.set()
        await self.release.wait()
        self.connected.append(sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.disconnected.append(sid)


async def test_transport_closed_during_the_connect_handler_still_disconnects() -> None:
    """A connect that succeeds after its transport went away is undone at once: the disconnect
    handler runs for it, so no presence or seat outlives the connection."""
    async with serve() as wire:
        slow = SlowConnect()
        wire.sio.register_namespace(slow)
        ws = await wire.ws()
        assert (await recv_text(ws)).startswith("0")
        await ws.send_str("40/slow,")
        await asyncio.wait_for(slow.connecting.wait(), WAIT_S)
        await ws.close()
        slow.release.set()
        await until(lambda: bool(slow.disconnected))
        assert slow.disconnected == slow.connected and len(slow.connected) == 1
        await nothing_left(wire)


async def test_client_disconnect_waits_for_the_in_flight_event() -> None:
    """``41`` while an event of an ordered namespace runs: the disconnect handler runs after the
    event, never beside it, and an event that arrives after the ``41`` is dropped."""
    async with serve() as wire:
        order: list[str] = []
        gate = asyncio.Event()

        class Busy(socketio.AsyncNamespace):  # type: ignore[misc]
            ordered_events = True  # as every Huddle EventNamespace

            async def on_work(self, sid: str, *args: Any) -> str:
                order.append("work started")
                await gate.wait()
                order.append("work done")
                return "done"

            async def on_disconnect(self, sid: str, reason: Any = None) -> None:
                order.append("disconnect")

        wire.sio.register_namespace(Busy("/busy"))
        ws = await sio_connect(wire, "/busy", auth_event=False)
        await ws.send_str('42/busy,1["work"]')
        await until(lambda: bool(order))
        await ws.send_str("41/busy,")
        await ws.send_str('42/busy,2["work"]')  # after the disconnect: dropped
        gate.set()
        await until(lambda: "disconnect" in order)
        assert order == ["work started", "work done", "disconnect"]
        await ws.close()
        await wait_closed(ws)
        await nothing_left(wire)


async def read_text(reader: asyncio.StreamReader) -> str:
    """The payload of the next server frame on a raw WebSocket (unmasked, unfragmented)."""
    head = await asyncio.wait_for(reader.readexactly(2), WAIT_S)
    size = head[1] & 0x7F
    if size == 126:
        size = int.from_bytes(await reader.readexactly(2), "big")
    elif size == 127:
        size = int.from_bytes(await reader.readexactly(8), "big")
    return (await asyncio.wait_for(reader.readexactly(size), WAIT_S)).decode()
