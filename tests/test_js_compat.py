"""The real socket.io-client 4.8 (tests/js, locked by package-lock.json) against Huddle.

Each test runs a node script (bounded by a timeout) that prints JSON; the assertions are here.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from contextlib import ExitStack
from typing import Any

import pytest

from tests.support import ROOT, free_port, server_process
from tests.wire import serve

pytestmark = pytest.mark.js

JS_DIR = ROOT / "tests" / "js"
NODE_TIMEOUT_S = 45.0


def _node() -> str:
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/bootstrap --test"
    assert (JS_DIR / "node_modules" / "socket.io-client").is_dir(), \
        "tests/js/node_modules is missing: run scripts/bootstrap --test"
    return node


async def _start(script: str, scenario: str, url: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        _node(), script, scenario, url, cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _line(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdout is not None
    raw = await asyncio.wait_for(proc.stdout.readline(), NODE_TIMEOUT_S)
    assert raw, f"node exited early: {await _stderr(proc)}"
    result: dict[str, Any] = json.loads(raw)
    assert "error" not in result, result["error"]
    return result


async def _stderr(proc: asyncio.subprocess.Process) -> str:
    assert proc.stderr is not None
    return (await asyncio.wait_for(proc.stderr.read(), NODE_TIMEOUT_S)).decode()


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.kill()
    await asyncio.wait_for(proc.wait(), NODE_TIMEOUT_S)


async def run(script: str, scenario: str, url: str) -> dict[str, Any]:
    proc = await _start(script, scenario, url)
    try:
        result = await _line(proc)
        assert await asyncio.wait_for(proc.wait(), NODE_TIMEOUT_S) == 0
        return result
    finally:
        await _stop(proc)


async def protocol(scenario: str, **settings: Any) -> dict[str, Any]:
    async with serve(**settings) as wire:
        return await run("compat_protocol.mjs", scenario, wire.url)


async def test_polling_websocket_and_upgrade() -> None:
    result = await protocol("transports")
    assert result["polling"]["transport"] == "polling"
    assert result["websocket"]["transport"] == "websocket"
    assert result["upgrade"]["transport"] == "websocket"
    for mode in ("polling", "websocket", "upgrade"):
        assert result[mode]["back"] == [1, "2", {"3": [True]}], mode


async def test_connect_with_auth_and_refused_connect() -> None:
    result = await protocol("auth")
    assert result["auth"] == {"token": "abc"}
    assert result["refused"]["message"] == "Invalid namespace"


async def test_refused_connect_carries_connect_error_data() -> None:
    async with serve(profile="default") as wire:
        result = await run("compat_protocol.mjs", "refusedWithData", wire.url)
    assert result["data"]["code"] == "unauthorized"
    assert result["message"] == result["data"]["message"]
    assert result["active"] is False  # a refusal by the server is final: no retry


async def test_emit_with_ack_and_timeout() -> None:
    result = await protocol("acks")
    assert result["answered"] == {"n": 42}
    assert result["timedOut"] == "operation has timed out"


async def test_binary_buffer_and_arraybuffer_args_and_acks() -> None:
    result = await protocol("binary")
    assert result["echoed"] == ["bin", [1, 2, 3], [4, 5, 6]]
    assert result["echoedIsBuffer"] is True
    assert result["acked"] == [4, 5, 6]


async def test_volatile_emits() -> None:
    result = await protocol("volatile")
    # A volatile emit before connecting is dropped; buffered and connected ones arrive in order.
    assert result["received"] == ["buffered-before-connect", "volatile-while-connected", "last"]


async def test_msgpack_parser() -> None:
    result = await protocol("msgpack", parser="msgpack")
    assert result["auth"] == {"token": "mp"}
    assert result["back"] == [1, "two", {"three": [True]}, [7, 8]]
    assert result["acked"] == {"n": 1.5}


async def test_motion_beat_lobby_flow() -> None:
    async with serve(profile="default") as wire:
        result = await run("compat_lobby.mjs", "flow", wire.url)
    code = result["code"]
    assert result["listed"]["rooms"][0]["code"] == code
    assert [p["nickname"] for p in result["joined"]["room"]["players"]] == ["Host", "Guest"]
    assert result["taken"]["code"] == "nickname_taken"
    assert result["invalid"]["code"] == "validation_error"
    assert isinstance(result["invalid"]["error"], str)
    assert result["ready"] == {"ok": True} and result["started"] == {"ok": True}
    assert result["left"] == {"ok": True}
    host, guest = result["hostSaw"], result["guestSaw"]
    assert host["allReady"][-1] is False  # the guest left: the host alone is not all ready
    assert True in host["allReady"] and True in guest["allReady"]
    assert [m["message"] for m in host["message"]] == ["hello beat"]
    assert [m["message"] for m in guest["message"]] == ["hello beat"]
    assert host["gameStart"][0]["code"] == code == guest["gameStart"][0]["code"]
    assert [p["nickname"] for p in host["players"][-1]] == ["Host"]


async def test_reconnection_after_server_restart_and_lobby_rejoin() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ExitStack() as first_life:
        first_life.enter_context(server_process(port, {}))
        proc = await _start("compat_lobby.mjs", "restart", url)
        try:
            seated = await _line(proc)
            assert seated["phase"] == "seated"
            first_life.close()  # SIGTERM: the node drains and exits
            gone = await _line(proc)
            assert gone["reasons"] == ["transport close", "transport close"]  # so they retry
            with server_process(port, {}):
                done = await _line(proc)
        finally:
            await _stop(proc)
    assert done["recovered"] is False
    # The in-memory room died with the process; the frontend's re-join says so, then it seats
    # everyone in a fresh room and play goes on.
    assert done["rejoin"]["code"] == "room_not_found"
    assert done["joined"]["ok"] is True
    assert [p["nickname"] for p in done["players"]] == ["Host", "Guest"]
    assert done["sent"]["ok"] is True
