"""The demo page's routes: served from web/ by default, gone with HUDDLE_DEMO=false."""

from __future__ import annotations

import aiohttp
import pytest

from server.config import Settings
from tests.support import free_port, running_app

pytestmark = pytest.mark.e2e


async def test_demo_page_and_its_assets_are_served() -> None:
    async with (running_app(Settings(port=free_port())) as url,
                aiohttp.ClientSession() as http):
        async with http.get(f"{url}/") as page:
            assert page.status == 200 and page.content_type == "text/html"
            html = await page.text()
        assert '<script src="/vendor/socket.io.min.js">' in html and "https://" not in html
        for path, kind in (("/vendor/socket.io.min.js", "javascript"),
                           ("/demo/app.js", "javascript"), ("/demo/style.css", "css")):
            async with http.get(f"{url}{path}") as asset:
                assert asset.status == 200, path
                assert kind in asset.content_type, (path, asset.content_type)
        async with http.get(f"{url}/vendor/engine.io.js") as other:
            assert other.status == 404  # only the client bundle is exposed


async def test_demo_can_be_turned_off() -> None:
    async with (running_app(Settings(port=free_port(), demo=False)) as url,
                aiohttp.ClientSession() as http):
        for path in ("/", "/demo/app.js", "/vendor/socket.io.min.js"):
            async with http.get(f"{url}{path}") as reply:
                assert reply.status == 404, path
        async with http.get(f"{url}/healthz") as health:
            assert health.status == 200
