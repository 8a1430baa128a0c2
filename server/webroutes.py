"""Browser-facing routes: the demo page at ``/`` and the Socket.IO Admin UI at ``/admin-ui/``.

The pages live in ``web/`` (the demo is plain HTML/CSS/JS in ``web/demo``). Third-party browser
code is served from ``web/node_modules``, installed from ``web/package-lock.json`` by
``scripts/bootstrap`` (``npm ci``): socket.io-client's own browser bundle, the Admin UI's built
``ui/dist`` and its icon font. Nothing is loaded from a CDN, so both pages work offline.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from aiohttp import web

logger = logging.getLogger(__name__)

WEB = Path(__file__).resolve().parent.parent / "web"
MODULES = WEB / "node_modules"
CLIENT_BUNDLE = MODULES / "socket.io-client" / "dist"
ADMIN_UI = MODULES / "@socket.io" / "admin-ui" / "ui" / "dist"
ICON_FONT = MODULES / "@mdi" / "font"
NO_CACHE = {"Cache-Control": "no-cache"}
# The Admin UI's index.html links Roboto from Google Fonts and its icon font from a CDN.
_EXTERNAL_CSS = re.compile(r'<link rel="stylesheet" href="https://[^"]+">')
LOCAL_ICONS = '<link rel="stylesheet" href="mdi/css/materialdesignicons.min.css">'


def _missing(what: Path) -> web.Response:
    return web.Response(status=503, text=f"{what} is not installed; run scripts/bootstrap "
                        "(it runs npm ci in web/).\n")


def demo_routes() -> list[web.AbstractRouteDef]:
    """``/`` (the page), ``/demo/*`` (its script and style) and ``/vendor/socket.io.min.js``."""
    if not CLIENT_BUNDLE.is_dir():
        logger.warning("demo page: %s is missing; run scripts/bootstrap", CLIENT_BUNDLE)

    async def page(_: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB / "demo" / "index.html", headers=NO_CACHE)

    async def client(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if not CLIENT_BUNDLE.is_dir():
            return _missing(CLIENT_BUNDLE)
        return web.FileResponse(CLIENT_BUNDLE / name)

    return [
        web.get("/", page),
        web.get(r"/vendor/{name:socket\.io\.min\.js(\.map)?}", client),
        web.static("/demo", WEB / "demo"),
    ]


def admin_ui_routes() -> list[web.AbstractRouteDef]:
    """The built Admin UI at ``/admin-ui/``, with its fonts served locally too."""
    if not ADMIN_UI.is_dir():
        logger.warning("admin UI: %s is missing; run scripts/bootstrap", ADMIN_UI)

        async def absent(_: web.Request) -> web.Response:
            return _missing(ADMIN_UI)

        return [web.get("/admin-ui/", absent)]

    index = _offline_index((ADMIN_UI / "index.html").read_text())

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound("/admin-ui/")

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=index, content_type="text/html", headers=NO_CACHE)

    return [
        web.get("/admin-ui", redirect),
        web.get("/admin-ui/", page),
        web.static("/admin-ui/mdi", ICON_FONT),
        web.static("/admin-ui", ADMIN_UI),
    ]


def _offline_index(html: str) -> str:
    """index.html without its CDN links: the icon font from web/node_modules, Roboto from the
    system (the UI falls back to sans-serif)."""
    html = _EXTERNAL_CSS.sub("", html)
    return html.replace("</title>", "</title>" + LOCAL_ICONS, 1)
