"""HTTP routes, transports and WebSocket options over real sockets."""

from __future__ import annotations

import base64
import os

import aiohttp
import pytest
import redis

from server.config import Settings
from tests.support import connect, free_port, redis_server, running_app

pytestmark = pytest.mark.e2e


async def test_healthz_and_readyz_are_json(server: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server}/healthz") as res:
            assert res.status == 200 and (await res.json())["status"] == "ok"
        async with http.get(f"{server}/readyz") as res:
            body = await res.json()
            assert res.status == 200 and body["status"] == "ready"
            assert body["store"] in ("memory", "redis")


async def test_readyz_is_503_while_redis_is_unreachable() -> None:
    with redis_server() as url:
        settings = Settings(port=free_port(), redis_url=url)
        async with running_app(settings) as base, aiohttp.ClientSession() as http:
            async with http.get(f"{base}/readyz") as res:
                assert res.status == 200
            _stop_redis(url)
            async with http.get(f"{base}/readyz") as res:
                assert res.status == 503
                assert (await res.json())["status"] == "unavailable"
            async with http.get(f"{base}/healthz") as res:
                assert res.status == 200  # alive, just not ready


def _stop_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # the server closes the connection as it exits
    finally:
        client.close()


async def test_polling_client_upgrades_to_websocket() -> None:
    settings = Settings(port=free_port())
    async with running_app(settings) as url:
        client = await connect(url, transports=["polling", "websocket"])
        try:
            assert (await client.call("listRooms"))["ok"]
            assert client.sio.transport() in ("polling", "websocket")
        finally:
            await client.sio.disconnect()


async def _offered_deflate(url: str) -> str | None:
    """Open a raw WebSocket offering permessage-deflate; return what the server accepted."""
    key = base64.b64encode(os.urandom(16)).decode()
    headers = {
        "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": key, "Sec-WebSocket-Extensions": "permessage-deflate",
    }
    async with aiohttp.ClientSession() as http, http.get(
        f"{url}/socket.io/?EIO=4&transport=websocket", headers=headers
    ) as res:
        assert res.status == 101
        return res.headers.get("Sec-WebSocket-Extensions")


async def test_websocket_deflate_is_off_by_default_and_can_be_enabled() -> None:
    async with running_app(Settings(port=free_port())) as url:
        assert await _offered_deflate(url) is None
    async with running_app(Settings(port=free_port(), ws_deflate=True)) as url:
        accepted = await _offered_deflate(url)
        assert accepted is not None and "permessage-deflate" in accepted
