"""The Socket.IO server as Huddle configures it, over python-socketio and python-engineio.

The protocol layer (server/wire/) replaces the libraries' request handling; its private API use
is listed in server/wire/private_api.py and guarded by tests/test_wire_private_api.py.
"""

from __future__ import annotations

from server.config import Settings
from server.fanout import RedisFanout
from server.wire.broadcast import FastEmit
from server.wire.sio_packets import HuddleMsgPackPacket, HuddlePacket
from server.wire.sio_server import HuddleSocketServer


def build_socketio(settings: Settings) -> HuddleSocketServer:
    # Both managers deliver broadcasts through the fast path (server/wire/broadcast.py).
    manager = RedisFanout(settings.redis_url) if settings.redis_url else FastEmit()
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
    # Huddle's engine serves WebSockets itself (server/wire/eio_websocket.py), with
    # permessage-deflate only when HUDDLE_WS_DEFLATE asks for it.
    sio.eio.configure(trusted_proxies=settings.trusted_proxies,
                      max_queued_bytes=settings.max_queued_bytes, ws_deflate=settings.ws_deflate)
    return sio
