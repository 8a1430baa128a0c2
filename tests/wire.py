"""Wire-level helpers: raw HTTP long-polling and raw WebSocket against an in-process server.

Nothing here speaks Socket.IO for the test: each helper sends and returns protocol text, so the
tests assert on exactly what is on the wire.
"""

from __future__ import annotations

import asyncio
import json
import socket as socketlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from server.app import SOCKETIO, create_app
from server.config import Settings
from server.profiles.conformance import ENGINEIO as CONFORMANCE_ENGINEIO
from server.profiles.conformance import SOCKETIO as CONFORMANCE_SOCKETIO
from server.wire import eio_codec
from server.wire.eio_server import HuddleEngineServer
from server.wire.sio_server import HuddleSocketServer
from tests.support import WAIT_S, eventually, free_port

WsMessage = str | bytes


@dataclass
class Wire:
    url: str
    http: aiohttp.ClientSession
    app: web.Application

    @property
    def sio(self) -> HuddleSocketServer:
        key = CONFORMANCE_SOCKETIO if CONFORMANCE_SOCKETIO in self.app else SOCKETIO
        return self.app[key]

    def engine(self, path: str = "socket.io") -> HuddleEngineServer:
        """The Engine.IO server behind ``path``: Socket.IO's, or the conformance profile's raw
        Engine.IO echo server at ``engine.io``."""
        return self.app[CONFORMANCE_ENGINEIO] if path == "engine.io" else self.sio.eio

    async def poll_pending(self, sid: str, path: str = "socket.io") -> None:
        """Wait until a GET sent for ``sid`` is the session's pending poll."""
        engine = self.engine(path)
        await eventually(lambda: sid in engine.sockets and engine.sockets[sid].poll_pending,
                         f"a GET pending on {sid}")

    def endpoint(self, path: str = "socket.io", **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"{self.url}/{path}/?{query}"

    async def request(self, method: str, path: str = "socket.io", body: bytes | str | None = None,
                      **params: str) -> tuple[int, str]:
        async with self.http.request(method, self.endpoint(path, **params), data=body,
                                     timeout=aiohttp.ClientTimeout(total=WAIT_S)) as resp:
            return resp.status, await resp.text()

    async def get(self, sid: str, path: str = "socket.io") -> tuple[int, str]:
        return await self.request("GET", path, EIO="4", transport="polling", sid=sid)

    async def post(self, sid: str, body: bytes | str, path: str = "socket.io") -> tuple[int, str]:
        return await self.request("POST", path, body, EIO="4", transport="polling", sid=sid)

    async def handshake(self, path: str = "socket.io") -> tuple[str, dict[str, Any]]:
        status, text = await self.request("GET", path, EIO="4", transport="polling")
        assert status == 200, text
        assert text.startswith("0"), text
        opened = json.loads(text[1:])
        return str(opened["sid"]), opened

    async def ws(self, path: str = "socket.io", sid: str | None = None
                 ) -> aiohttp.ClientWebSocketResponse:
        params = {"EIO": "4", "transport": "websocket", **({"sid": sid} if sid else {})}
        url = self.endpoint(path, **params).replace("http://", "ws://")
        return await self.http.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=WAIT_S),
                                          autoping=True)


async def recv(ws: aiohttp.ClientWebSocketResponse, *, pings: bool = False) -> WsMessage | None:
    """The next text or binary frame (answering Engine.IO pings unless asked for); None = closed."""
    deadline = time.monotonic() + WAIT_S
    while True:
        msg = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        if msg.type == aiohttp.WSMsgType.TEXT:
            if msg.data == "2" and not pings:
                await ws.send_str("3")
                continue
            return str(msg.data)
        if msg.type == aiohttp.WSMsgType.BINARY:
            return bytes(msg.data)
        return None


async def wait_closed(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Read (bounded) until the server closes the WebSocket."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if await recv(ws) is None:
            return
    raise AssertionError("server did not close the WebSocket")


async def sio_connect(wire: Wire, namespace: str = "/", *, auth_event: bool = True
                      ) -> aiohttp.ClientWebSocketResponse:
    """A raw WebSocket that has completed the Engine.IO and Socket.IO handshakes."""
    ws = await wire.ws()
    opened = await recv(ws)
    assert isinstance(opened, str) and opened.startswith("0")
    prefix = "" if namespace == "/" else f"{namespace},"
    await ws.send_str(f"40{prefix}")
    ack = await recv(ws)
    assert isinstance(ack, str) and ack.startswith(f"40{prefix}"), ack
    if auth_event:
        assert await recv(ws) == f'42{prefix}["auth",{{}}]'
    return ws


@asynccontextmanager
async def serve(**overrides: Any) -> AsyncIterator[Wire]:
    """create_app(Settings(...)) on a free port, with an HTTP session; the conformance profile
    unless ``profile`` says otherwise."""
    settings = Settings(port=free_port(), **{"profile": "conformance", **overrides})
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    try:
        # No keep-alive: an idle pooled connection would hold a server task open and blur the
        # task baseline that hardening tests check.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            yield Wire(f"http://{settings.host}:{settings.port}", http, app)
    finally:
        await runner.cleanup()


def body_read_so_far() -> int | None:
    """How many bytes of a POST body the in-process server has read so far (the count kept by
    ``eio_codec.read_body``, found on the await chain of its task); None if it reads none."""
    for task in asyncio.all_tasks():
        coro: Any = task.get_coro()
        while coro is not None:
            if getattr(coro, "cr_code", None) is eio_codec.read_body.__code__:
                size: int = coro.cr_frame.f_locals["size"]
                return size
            coro = getattr(coro, "cr_await", None)
    return None


def server_load(wire: Wire) -> tuple[int, int]:
    """(Engine.IO sessions, asyncio tasks) in this process: the baseline hardening tests restore."""
    return len(wire.sio.eio.sockets), len(asyncio.all_tasks())


async def back_to_baseline(wire: Wire, baseline: tuple[int, int]) -> None:
    """Wait (bounded) until sessions and tasks are back to ``baseline``."""

    def at_baseline() -> bool:
        sessions, tasks = server_load(wire)
        assert sessions <= baseline[0] and tasks <= baseline[1], (
            f"{sessions} sessions, tasks: {[t.get_coro() for t in asyncio.all_tasks()]}")
        return True

    await eventually(at_baseline, f"back to baseline {baseline}")


async def still_serving(wire: Wire) -> None:
    """Another client gets full service: connect, message round trip, clean close."""
    ws = await sio_connect(wire)
    try:
        await ws.send_str('42["message","still here"]')
        assert await recv(ws) == '42["message-back","still here"]'
    finally:
        with suppress(Exception):
            await ws.close()


def masked_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One client-to-server WebSocket frame (RFC 6455 requires clients to mask)."""
    mask = b"\x01\x02\x03\x04"
    header = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        header += bytes([0x80 | size])
    elif size < 65536:
        header += bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        header += bytes([0x80 | 127]) + size.to_bytes(8, "big")
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@asynccontextmanager
async def raw_websocket(wire: Wire, *, rcvbuf: int = 4096
                        ) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A WebSocket opened by hand over TCP with a tiny receive buffer, for clients that misbehave
    below what aiohttp's client allows (e.g. never reading)."""
    host, port = wire.url.removeprefix("http://").split(":")
    sock = socketlib.socket()
    sock.setsockopt(socketlib.SOL_SOCKET, socketlib.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT_S)
    assert head.startswith(b"HTTP/1.1 101"), head
    try:
        yield reader, writer
    finally:
        writer.close()
        with suppress(Exception):
            await writer.wait_closed()


async def closed_without_reply(ws: aiohttp.ClientWebSocketResponse) -> None:
    """The server closes the connection, sending nothing but an Engine.IO CLOSE first."""
    frames: list[WsMessage] = []
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        frame = await recv(ws)
        if frame is None:
            assert set(frames) <= {"1"}, frames
            return
        frames.append(frame)
    raise AssertionError(f"server did not close the WebSocket; got {frames}")


async def recv_text(ws: aiohttp.ClientWebSocketResponse) -> str:
    frame = await recv(ws)
    assert isinstance(frame, str), frame
    return frame
