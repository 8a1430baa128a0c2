"""Both paths of each private-API feature over a real WebSocket: the fast path is taken when
the installed library matches server/private_api.py, and a library whose private surface
changed (simulated here by changing it) makes the server warn once and use the public path."""

from __future__ import annotations

import importlib
import logging
from typing import Any

import marshmallow
import pytest
from aiohttp import web

import server.app
from schemas.compiled import unsupported_reason
from server.config import Settings
from server.engine import build_socketio
from server.private_api import Feature
from server.wire.sio_server import HuddleSocketServer
from server.wire.ws_inbound import HuddleWebSocketResponse
from tests.support import connect, free_port, running_app

pytestmark = pytest.mark.e2e


def _settings() -> Settings:
    return Settings(port=free_port(), ping_interval_ms=1000, ping_timeout_ms=2000,
                    rate_limit_per_s=0)


async def _echo_over_websocket(settings: Settings) -> tuple[HuddleSocketServer, list[Any]]:
    """Start the app, play a short lobby over a WebSocket, return the server and the acks."""
    async with running_app(settings) as url:
        app_sio = _the_sio()
        client = await connect(url, transports=["websocket"])
        try:
            acks = [await client.call("createRoom", {"nickname": "Ann"}),
                    await client.call("sendMessage", "hello"),
                    await client.call("sendMessage", {"message": 5}),
                    await client.call("listRooms")]
        finally:
            await client.sio.disconnect()
    return app_sio, acks


_built: list[HuddleSocketServer] = []


@pytest.fixture(autouse=True)
def _record_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep each HuddleSocketServer the app factory builds, to look inside it."""
    def recording(settings: Settings) -> HuddleSocketServer:
        sio = build_socketio(settings)
        _built.append(sio)
        return sio

    _built.clear()
    monkeypatch.setattr(server.app, "build_socketio", recording)


def _the_sio() -> HuddleSocketServer:
    assert len(_built) == 1
    return _built[0]


def _check_acks(acks: list[Any]) -> None:
    assert acks[0]["ok"] and acks[1]["ok"] and acks[3]["ok"]
    assert acks[1]["message"]["message"] == "hello"
    assert acks[2]["code"] == "validation_error" and "message" in acks[2]["fields"]


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and r.name == "server.engine"]


async def test_the_fast_paths_are_taken_when_the_surface_matches(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sio, acks = await _echo_over_websocket(_settings())
    _check_acks(acks)
    assert _warnings(caplog) == []
    assert sio.eio.ws_response is HuddleWebSocketResponse and sio.eio.direct_writes
    assert sio.fast_events >= 3  # the events were decoded as aiohttp parsed them
    lobby = sio.namespace_handlers["/"]
    compilable = [spec for spec in lobby.specs.values() if unsupported_reason(spec.schema) is None]
    assert len(compilable) >= 5
    for spec in compilable:
        assert spec.load != spec.schema.load, spec.name  # the compiled loader


def _changed_post_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiohttp's _post_start with another source (as after an upgrade), same behaviour."""
    original = web.WebSocketResponse._post_start

    def _post_start(self: Any, *args: Any) -> None:
        original(self, *args)

    monkeypatch.setattr(web.WebSocketResponse, "_post_start", _post_start)


def _reader_queue_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(importlib.import_module("aiohttp._websocket.reader"),
                        "WebSocketDataQueue")


def _writer_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    writer = importlib.import_module("aiohttp._websocket.writer").WebSocketWriter
    original = writer.send_frame

    async def send_frame(self: Any, *args: Any, **kwargs: Any) -> None:
        await original(self, *args, **kwargs)

    monkeypatch.setattr(writer, "send_frame", send_frame)


@pytest.mark.parametrize(("change", "feature"), [
    (_changed_post_start, Feature.INBOUND_FAST_PATH),
    (_reader_queue_gone, Feature.INBOUND_FAST_PATH),
    (_writer_changed, Feature.DIRECT_WRITES),
], ids=["copied-method-changed", "private-class-gone", "writer-call-path-changed"])
async def test_a_changed_aiohttp_degrades_to_the_public_path(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    change: Any, feature: Feature,
) -> None:
    change(monkeypatch)
    sio, acks = await _echo_over_websocket(_settings())
    _check_acks(acks)
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and str(feature) in warnings[0], warnings
    if feature is Feature.INBOUND_FAST_PATH:
        assert sio.eio.ws_response is web.WebSocketResponse
        assert sio.fast_events == 0  # every event took aiohttp's receive() and the full path
        assert sio.eio.direct_writes
    else:
        assert not sio.eio.direct_writes and sio.fast_events >= 3


async def test_a_changed_marshmallow_degrades_to_schema_load(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delattr(marshmallow.Schema, "_hooks")  # subclasses keep their own table
    sio, acks = await _echo_over_websocket(_settings())
    _check_acks(acks)
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and str(Feature.COMPILED_LOADERS) in warnings[0], warnings
    lobby = sio.namespace_handlers["/"]
    for spec in lobby.specs.values():
        assert spec.load == spec.schema.load, spec.name  # marshmallow itself
