"""The application factory: everything is built here from Settings, nothing at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import socketio
from aiohttp import web

from namespaces import ChatNamespace, LobbyNamespace
from namespaces.admin import AdminNamespace
from namespaces.bench import BenchNamespace
from namespaces.dispatch import EventNamespace
from server.admin.auth import AdminAuth
from server.admin.feed import ADMIN_NAMESPACE, AdminFeed
from server.admin.local import LocalSockets
from server.admin.service import AdminService
from server.chat.presence import PresenceService
from server.chat.service import ChatService
from server.cluster.bus import ClusterBus, LocalBus, RedisBus
from server.cluster.fanout import RedisFanout
from server.cluster.registry import NodeRegistry
from server.config import Settings
from server.engine import Relaying, build_socketio, close_all_sessions, join_relay, start_fanout
from server.errors import Unavailable
from server.health import health_routes
from server.identity import Authenticator
from server.lobby.service import LobbyService
from server.metrics import Metrics, metrics_routes
from server.profiles.conformance import create_conformance_app
from server.store import Store, open_store
from server.webroutes import admin_ui_routes, demo_routes
from server.wire.sio_server import HuddleSocketServer

logger = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
SOCKETIO = web.AppKey("socketio", socketio.AsyncServer)
CLUSTER = web.AppKey("cluster", NodeRegistry)
RELAYING = web.AppKey("relaying", Relaying)
ADMIN_FEED = web.AppKey("admin_feed", AdminFeed)


def create_app(settings: Settings) -> web.Application:
    if settings.profile == "conformance":
        return create_conformance_app(settings)
    app = web.Application()
    store = open_store(settings.store_url, timeout_s=settings.redis_timeout_ms / 1000)
    sio = build_socketio(settings)
    cluster = NodeRegistry(store, settings.node_id, interval_ms=settings.heartbeat_interval_ms,
                           ttl_ms=settings.heartbeat_ttl_ms)
    fanout = sio.manager if isinstance(sio.manager, RedisFanout) else None
    namespaces = _namespaces(settings, store, cluster)
    if settings.admin:
        namespaces.append(_admin(app, settings, store, sio, fanout))
    for namespace in namespaces:
        sio.register_namespace(namespace)
    # Declared dead while cut off from Redis: our clients' seats are gone, make them rejoin.
    cluster.on_fenced(lambda: close_all_sessions(sio))
    sio.attach(app)
    app.add_routes(health_routes(settings, store, fanout, sio.eio))
    if settings.metrics:
        events = {ns.namespace: ns.count_events() for ns in namespaces}
        metrics = Metrics(node_id=settings.node_id, sio=sio, cluster=cluster, store=store,
                          fanout=fanout, events=events)
        app.add_routes(metrics_routes(metrics))
    if settings.demo and settings.profile == "default":
        app.add_routes(demo_routes())
    app[SETTINGS], app[STORE], app[SOCKETIO], app[CLUSTER] = settings, store, sio, cluster
    app[RELAYING] = join_relay(settings, store, sio.eio)
    app.cleanup_ctx.append(_store_lifetime)
    if settings.admin:
        app.cleanup_ctx.append(_feed_lifetime)
    return app


def _namespaces(settings: Settings, store: Store, cluster: NodeRegistry
                ) -> list[EventNamespace]:
    if settings.profile == "bench":
        return [BenchNamespace("/")]
    lobby = LobbyService(store, node_id=settings.node_id, registry=cluster)
    return [LobbyNamespace("/", lobby=lobby, cluster=cluster),
            _chat_namespace(settings, store, cluster)]


def _admin(app: web.Application, settings: Settings, store: Store, sio: HuddleSocketServer,
           fanout: RedisFanout | None) -> AdminNamespace:
    """The Admin UI's namespace, its live feed (started with the app) and its pages."""
    assert settings.admin_user is not None and settings.admin_password_hash is not None
    bus: ClusterBus = LocalBus() if fanout is None else RedisBus(fanout, settings.node_id)
    local = LocalSockets(sio, settings.node_id)
    auth = AdminAuth(store, user=settings.admin_user, password_hash=settings.admin_password_hash)
    feed = AdminFeed(local)
    service = AdminService(auth=auth, bus=bus, local=local, feed=feed,
                           readonly=settings.admin_readonly)
    sio.watch(feed)
    app[ADMIN_FEED] = feed
    app.add_routes(admin_ui_routes())
    return AdminNamespace(ADMIN_NAMESPACE, admin=service)


async def _feed_lifetime(app: web.Application) -> AsyncIterator[None]:
    """After the store's lifetime (which starts the fan-out), so the feed stops before it."""
    feed = app[ADMIN_FEED]
    feed.start()
    yield
    await feed.stop()


def _chat_namespace(settings: Settings, store: Store, cluster: NodeRegistry) -> ChatNamespace:
    auth = Authenticator(settings.auth_secret)
    auth.warn_if_insecure()
    chat = ChatService(
        store, rate_limit=settings.chat_rate_limit, rate_window_ms=settings.chat_rate_window_ms
    )
    presence = PresenceService(store, node_id=settings.node_id)
    return ChatNamespace("/chat", chat=chat, presence=presence, auth=auth, cluster=cluster)


async def _store_lifetime(app: web.Application) -> AsyncIterator[None]:
    store = app[STORE]
    try:
        await store.ping()
    except Unavailable:
        # Keep serving: /readyz reports 503 until the store is back.
        logger.warning("store %s is unreachable at start-up", store.kind)
    logger.info("node %s up with %s store", app[SETTINGS].node_id, store.kind)
    sio = app[SOCKETIO]
    start_fanout(sio)
    await app[CLUSTER].start()
    await app[RELAYING].start()
    yield
    await sio.shutdown()
    await app[RELAYING].stop()
    await app[CLUSTER].stop()
    if isinstance(sio.manager, RedisFanout):
        await sio.manager.close()
    await store.close()
