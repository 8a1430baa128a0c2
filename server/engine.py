"""The Socket.IO server as Huddle configures it, over python-socketio and python-engineio.

The protocol layer (server/wire/) replaces the libraries' request handling. Every private
library name Huddle uses is listed in server/private_api.py, which is checked here, at
start-up: a fast path whose private surface is not what we expect is switched off, with one
warning, and the public path is used instead.
"""

from __future__ import annotations

import logging

import socketio

from server import private_api
from server.cluster.fanout import RedisFanout
from server.config import Settings
from server.wire.broadcast import FastEmit
from server.wire.sio_packets import HuddleMsgPackPacket, HuddlePacket
from server.wire.sio_server import HuddleSocketServer

logger = logging.getLogger(__name__)


def build_socketio(settings: Settings) -> HuddleSocketServer:
    # Both managers deliver broadcasts through the fast path (server/wire/broadcast.py).
    manager: socketio.AsyncManager = FastEmit()
    if settings.redis_url:
        manager = RedisFanout(settings.redis_url, timeout_s=settings.redis_timeout_ms / 1000)
    origins: str | list[str] = (
        "*" if "*" in settings.cors_origins else list(settings.cors_origins)
    )
    sio = HuddleSocketServer(
        async_mode="aiohttp",
        serializer=HuddleMsgPackPacket if settings.parser == "msgpack" else HuddlePacket,
        rate_limit_per_s=settings.rate_limit_per_s,
        rate_limit_burst=settings.rate_limit_burst,
        max_attachments=settings.max_attachments,
        client_manager=manager,
        cors_allowed_origins=origins,
        ping_interval=settings.ping_interval_ms / 1000,
        ping_timeout=settings.ping_timeout_ms / 1000,
        max_http_buffer_size=settings.max_payload_bytes,
        logger=False,
        engineio_logger=False,
    )
    surfaces = private_api.check_at_startup(logger, instances={
        private_api.SIO: sio, private_api.EIO: sio.eio, private_api.MGR: sio.manager})
    # Huddle's engine serves WebSockets itself (server/wire/eio_websocket.py), with
    # permessage-deflate only when HUDDLE_WS_DEFLATE asks for it.
    sio.eio.configure(trusted_proxies=settings.trusted_proxies,
                      max_queued_bytes=settings.max_queued_bytes, ws_deflate=settings.ws_deflate,
                      surfaces=surfaces)
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
    Huddle's engine closes each session's WebSocket too, rather than leaving it to time out.
    """
    await sio.eio.disconnect()
