"""The application factory: everything is built here from Settings, nothing at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import socketio
from aiohttp import web

from namespaces import LobbyNamespace
from server.config import Settings
from server.engine import build_socketio
from server.errors import Unavailable
from server.fanout import RedisFanout
from server.health import health_routes
from server.lobby import LobbyService
from server.store import Store, open_store
from server.wire.conformance import create_conformance_app

logger = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
SOCKETIO = web.AppKey("socketio", socketio.AsyncServer)


def create_app(settings: Settings) -> web.Application:
    if settings.profile == "conformance":
        return create_conformance_app(settings)
    app = web.Application()
    store = open_store(settings.store_url)
    sio = build_socketio(settings)
    sio.register_namespace(
        LobbyNamespace("/", lobby=LobbyService(store, node_id=settings.node_id))
    )
    sio.attach(app)
    app.add_routes(health_routes(settings, store))
    app[SETTINGS], app[STORE], app[SOCKETIO] = settings, store, sio
    app.cleanup_ctx.append(_store_lifetime)
    return app


async def _store_lifetime(app: web.Application) -> AsyncIterator[None]:
    store = app[STORE]
    try:
        await store.ping()
    except Unavailable:
        # Keep serving: /readyz reports 503 until the store is back.
        logger.warning("store %s is unreachable at start-up", store.kind)
    logger.info("node %s up with %s store", app[SETTINGS].node_id, store.kind)
    yield
    sio = app[SOCKETIO]
    await sio.shutdown()
    if isinstance(sio.manager, RedisFanout):
        await sio.manager.close()
    await store.close()
