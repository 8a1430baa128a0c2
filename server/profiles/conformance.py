"""The reference test server of the Socket.IO v5 / Engine.IO v4 protocol documents ("Test suite"),
served on Huddle's own engine, settings and fixes (``python -m server --profile conformance``).

- Socket.IO at /socket.io/ with namespaces / and /custom; on connect each emits ``auth`` with the
  CONNECT payload (or {}); on / ``message`` -> ``message-back`` with the same arguments and
  ``message-with-ack`` -> an ack with the same arguments; any other namespace is refused.
- A raw Engine.IO echo server at /engine.io/.
- pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000, compact JSON.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from server.config import Settings
from server.engine import build_socketio
from server.private_api import Surfaces
from server.wire.eio_server import HuddleEngineServer
from server.wire.sio_server import HuddleSocketServer

logger = logging.getLogger(__name__)
PING_INTERVAL_MS, PING_TIMEOUT_MS, MAX_PAYLOAD = 300, 200, 1_000_000
NAMESPACES = ("/", "/custom")

SOCKETIO = web.AppKey("conformance_socketio", HuddleSocketServer)
ENGINEIO = web.AppKey("conformance_engineio", HuddleEngineServer)


def conformance_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, ping_interval_ms=PING_INTERVAL_MS,
                               ping_timeout_ms=PING_TIMEOUT_MS, max_payload_bytes=MAX_PAYLOAD)


def create_conformance_app(settings: Settings) -> web.Application:
    settings = conformance_settings(settings)
    app = web.Application()
    sio = build_socketio(settings)
    _register(sio)
    sio.attach(app)
    eio = _echo_engine(settings, sio.eio.surfaces)
    eio.attach(app, "engine.io")
    app[SOCKETIO], app[ENGINEIO] = sio, eio
    app.cleanup_ctx.append(_lifetime)
    return app


def _register(sio: HuddleSocketServer) -> None:
    async def on_connect(sid: str, environ: dict[str, Any], auth: Any = None,
                         *, namespace: str = "/") -> None:
        await sio.emit("auth", auth if auth is not None else {}, to=sid, namespace=namespace)

    for namespace in NAMESPACES:
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None,
                          _ns: str = namespace) -> None:
            await on_connect(sid, environ, auth, namespace=_ns)

        sio.on("connect", connect, namespace=namespace)

    async def message(sid: str, *args: Any) -> None:
        await sio.emit("message-back", args, to=sid)

    async def message_with_ack(sid: str, *args: Any) -> tuple[Any, ...]:
        return args

    sio.on("message", message)
    sio.on("message-with-ack", message_with_ack)


def _echo_engine(settings: Settings, surfaces: Surfaces) -> HuddleEngineServer:
    eio = HuddleEngineServer(
        async_mode="aiohttp", ping_interval=settings.ping_interval_ms / 1000,
        ping_timeout=settings.ping_timeout_ms / 1000,
        max_http_buffer_size=settings.max_payload_bytes, cors_allowed_origins="*",
        logger=False)
    eio.configure(trusted_proxies=settings.trusted_proxies,
                  max_queued_bytes=settings.max_queued_bytes, ws_deflate=settings.ws_deflate,
                  surfaces=surfaces)

    async def echo(sid: str, data: Any) -> None:
        await eio.send(sid, data)

    eio.on("message", echo)
    return eio


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    logger.info("conformance profile: reference test server up")
    yield
    await app[SOCKETIO].shutdown()
    await app[ENGINEIO].shutdown()
