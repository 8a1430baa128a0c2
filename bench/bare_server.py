"""Baseline: a bare python-socketio AsyncServer on aiohttp with default options, speaking the
benchmark protocol. It shows what Huddle adds or removes relative to the library defaults.

Usage: python bench/bare_server.py PORT
"""

from __future__ import annotations

import sys
from typing import Any

import socketio
from aiohttp import web


def make_app() -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    app = web.Application()
    sio.attach(app)

    @sio.on("join")  # type: ignore[untyped-decorator]
    async def join(sid: str, data: dict[str, Any]) -> dict[str, bool]:
        await sio.enter_room(sid, data["room"])
        return {"ok": True}

    @sio.on("broadcast")  # type: ignore[untyped-decorator]
    async def broadcast(sid: str, data: dict[str, Any]) -> dict[str, bool]:
        await sio.emit("msg", data["payload"], room=data["room"])
        return {"ok": True}

    @sio.on("echo")  # type: ignore[untyped-decorator]
    async def echo(sid: str, data: Any) -> Any:
        return data

    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[1]), print=None)
