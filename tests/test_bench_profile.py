"""The benchmark protocol (--profile bench) answers like bench/node/server.mjs."""

from __future__ import annotations

import pytest

from server.config import Settings
from tests.support import connect, free_port, running_app

pytestmark = pytest.mark.e2e


async def test_bench_protocol_join_broadcast_echo() -> None:
    async with running_app(Settings(port=free_port(), profile="bench")) as url:
        sender = await connect(url, contract=False)
        receiver = await connect(url, contract=False)
        try:
            assert await receiver.call("join", {"room": "r"}) == {"ok": True}
            payload = {"t": 1.5, "seq": 1, "pad": "xx"}
            assert await sender.call("broadcast", {"room": "r", "payload": payload}) == {"ok": True}
            assert await receiver.first("msg") == payload
            assert await sender.call("echo", {"t": 2.0, "pad": "p"}) == {"t": 2.0, "pad": "p"}
            assert (await sender.call("echo", {"t": "soon"}))["code"] == "validation_error"
            assert sender.named("msg") == []  # the sender never joined the room
        finally:
            await sender.sio.disconnect()
            await receiver.sio.disconnect()
