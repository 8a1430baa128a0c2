"""Liveness and readiness endpoints for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from aiohttp import web

from server.cluster.fanout import RedisFanout
from server.config import Settings
from server.errors import Unavailable
from server.store import Store
from server.wire.eio_server import HuddleEngineServer

READINESS_TIMEOUT_S = 1.0


def health_routes(
    settings: Settings, store: Store, fanout: RedisFanout | None = None,
    engine: HuddleEngineServer | None = None,
) -> list[web.RouteDef]:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "node": settings.node_id})

    async def readyz(_: web.Request) -> web.Response:
        auth = "jwt" if settings.auth_secret else "dev"  # the /chat identity mode
        body: dict[str, object] = {"node": settings.node_id, "store": store.kind, "auth": auth}
        if fanout is not None:
            # Without a live subscription this node would miss other nodes' broadcasts.
            body["fanout"] = {"listening": fanout.listening, "publishing": fanout.publishing,
                              "dropped": fanout.stats.dropped}
        if engine is not None:
            # Engine.IO sessions this node owns, and its relay hop to the other nodes' sessions.
            body["sessions"] = len(engine.sockets)
            if engine.relay is not None:
                body["relay"] = asdict(engine.relay.stats)
        try:
            await asyncio.wait_for(store.ping(), READINESS_TIMEOUT_S)
        except (Unavailable, TimeoutError):
            return web.json_response({**body, "status": "unavailable"}, status=503)
        if fanout is not None and not fanout.healthy:
            return web.json_response({**body, "status": "unavailable"}, status=503)
        return web.json_response({**body, "status": "ready"})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz)]
