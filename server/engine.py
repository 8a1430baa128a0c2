"""The Socket.IO server as Huddle configures it, over python-socketio and python-engineio.

Private API used here (pinned by pyproject's version ranges, guarded by tests/test_engine.py):
``engineio.AsyncServer._async['websocket']``, the driver class that accepts a WebSocket;
``socketio.AsyncServer.manager_initialized``, to start the client manager at start-up;
``engineio.AsyncServer.sockets`` and a socket's ``upgraded``/``queue``, to close WebSockets.
"""

from __future__ import annotations

from typing import Any

import socketio
from aiohttp.web import WebSocketResponse
from engineio.async_drivers.aiohttp import WebSocket as AiohttpWebSocket

from server.config import Settings
from server.fanout import RedisFanout


class _WebSocket(AiohttpWebSocket):  # type: ignore[misc]
    """aiohttp's driver, but permessage-deflate only when the settings ask for it.

    aiohttp accepts deflate by default; with it, an idle connection costs ~4x the memory.
    """

    compress = False

    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=self.compress
        )
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


def _websocket_driver(compress: bool) -> type[_WebSocket]:
    return type("HuddleWebSocket", (_WebSocket,), {"compress": compress})


def build_socketio(settings: Settings) -> socketio.AsyncServer:
    manager = None
    if settings.redis_url:
        manager = RedisFanout(settings.redis_url, timeout_s=settings.redis_timeout_ms / 1000)
    origins: str | list[str] = (
        "*" if "*" in settings.cors_origins else list(settings.cors_origins)
    )
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=origins,
        ping_interval=settings.ping_interval_ms / 1000,
        ping_timeout=settings.ping_timeout_ms / 1000,
        max_http_buffer_size=settings.max_payload_bytes,
        logger=False,
        engineio_logger=False,
    )
    # Copy, never mutate: the driver table is shared module state inside python-engineio.
    sio.eio._async = {**sio.eio._async, "websocket": _websocket_driver(settings.ws_deflate)}
    return sio


def start_fanout(sio: socketio.AsyncServer) -> None:
    """Subscribe to cross-node fan-out now rather than at the first connection, as
    python-socketio would, so that /readyz can report on it from the start."""
    if not sio.manager_initialized:
        sio.manager_initialized = True
        sio.manager.initialize()


async def close_all_sessions(sio: socketio.AsyncServer) -> None:
    """Close every Engine.IO session so that clients reconnect by themselves.

    socket.io-client retries after a closed transport ("transport close") but never after a
    Socket.IO DISCONNECT packet ("io server disconnect"), so this works at the Engine.IO layer.
    python-engineio sends a CLOSE packet but keeps a WebSocket open until its writer's next poll
    times out (ping interval + ping timeout), and socket.io-client ignores CLOSE packets on
    WebSocket; waking the writer with None makes it close the WebSocket at once.
    """
    sockets = list(sio.eio.sockets.values())
    await sio.eio.disconnect()
    for socket in sockets:
        if socket.upgraded:
            await socket.queue.put(None)
