"""Rate limits and fault logging (G11, inbound event rate limit) and the trusted-proxy client IP."""

from __future__ import annotations

import json
import logging
import time

import aiohttp
import pytest

from server.wire.throttle import TokenBucket
from tests.support import eventually
from tests.wire import (
    back_to_baseline,
    recv,
    serve,
    server_load,
    sio_connect,
    still_serving,
)

pytestmark = pytest.mark.e2e


def has_token(bucket: TokenBucket) -> bool:
    """The bucket would give a token now (its refill computed, nothing taken)."""
    return bucket.tokens + (time.monotonic() - bucket.stamp) * bucket.rate >= 1


async def test_g11_malformed_packets_do_not_flood_the_log(caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    caplog.set_level(logging.INFO, logger="server")
    caplog.set_level(logging.INFO, logger="socketio")
    caplog.set_level(logging.INFO, logger="engineio")
    sent = 150
    async with serve() as wire:
        baseline = server_load(wire)

        async def fault() -> None:
            sid, _ = await wire.handshake()
            assert (await wire.post(sid, "4abc"))[0] == 200  # Socket.IO garbage, Engine.IO fine

        started = time.monotonic()
        for _ in range(sent):
            await fault()
        # A token comes back: the next fault is logged, with the count of those that were not.
        await eventually(lambda: has_token(wire.sio.faults.bucket), "a log token back")
        elapsed = time.monotonic() - started
        await fault()
        await still_serving(wire)
        await back_to_baseline(wire, baseline)
    messages = [r.getMessage() for r in caplog.records]
    logged = [m for m in messages if "invalid packet" in m]
    skipped = [int(m.split()[0].strip("(")) for m in messages if "not logged" in m]
    assert len(logged) + sum(skipped) == sent + 1  # every fault is logged or counted
    # A burst of 20, then 5 a second (ThrottledLog): not one line per packet.
    allowed = 20 + 5 * elapsed + 1
    assert allowed < sent, f"inconclusive: {sent} faults took {elapsed:.1f}s"
    assert len(logged) <= allowed
    assert not [r for r in caplog.records if r.exc_info]  # and never a traceback


@pytest.mark.parametrize(("trusted", "forwarded", "expected"), [
    ((), "203.0.113.7", "127.0.0.1"),  # nobody trusted: the header is ignored
    (("127.0.0.1",), "203.0.113.7", "203.0.113.7"),
    (("127.0.0.0/8", "10.0.0.0/8"), "198.51.100.1, 203.0.113.7, 10.1.2.3", "203.0.113.7"),
    (("127.0.0.1",), "not-an-ip", "127.0.0.1"),
])
async def test_g11_client_ip_comes_from_trusted_proxies_only(
        trusted: tuple[str, ...], forwarded: str, expected: str) -> None:
    async with serve(trusted_proxies=trusted) as wire:
        async with wire.http.get(wire.endpoint(EIO="4", transport="polling"),
                                 headers={"X-Forwarded-For": forwarded}) as resp:
            sid = json.loads((await resp.text())[1:])["sid"]
        assert wire.sio.environ[sid]["REMOTE_ADDR"] == expected


async def test_event_flood_is_answered_rate_limited() -> None:
    async with serve(rate_limit_per_s=10, rate_limit_burst=20) as wire:
        ws = await sio_connect(wire)
        for i in range(30):
            await ws.send_str(f'42{i}["message-with-ack",{i}]')
        acks = [await recv(ws) for _ in range(30)]
        limited = [a for a in acks if "rate_limited" in str(a)]
        served = [a for a in acks if a not in limited]
        assert len(served) >= 20 and limited  # the burst is served, the rest refused
        assert json.loads(str(limited[0])[4:])[0]["code"] == "rate_limited"
        # Tokens refill at 10/s: once one is back, the client may go on.
        [(events, _)] = wire.sio._buckets.values()
        await eventually(lambda: has_token(events), "an event token back")
        await ws.send_str('42100["message-with-ack","later"]')
        assert await recv(ws) == '43100["later"]'
        await ws.close()


async def test_persistent_flooder_is_disconnected() -> None:
    async with serve(rate_limit_per_s=10, rate_limit_burst=20) as wire:
        baseline = server_load(wire)
        ws = await sio_connect(wire)
        for _ in range(100):
            await ws.send_str('42["message","flood"]')
        frames = []
        while (frame := await recv(ws)) is not None:
            frames.append(frame)
        assert frames[-1:] == ["1"]  # disconnected
        assert frames.count('42["message-back","flood"]') < 100  # not all were served
        await still_serving(wire)
        await back_to_baseline(wire, baseline)


async def test_rate_limit_can_be_switched_off() -> None:
    async with serve(rate_limit_per_s=0) as wire:
        ws = await sio_connect(wire)
        for i in range(300):
            await ws.send_str(f'42{i}["message-with-ack",{i}]')
        acks = [await recv(ws) for _ in range(300)]
        assert acks == [f"43{i}[{i}]" for i in range(300)]
        await ws.close()


async def test_g11_client_ip_is_the_real_peer_address() -> None:
    async with serve() as wire:
        # Linux routes all of 127/8 to loopback: connect from 127.0.0.2 to see a real peer.
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0), force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http, http.get(
                wire.endpoint(EIO="4", transport="polling"),
                headers={"X-Forwarded-For": "203.0.113.7"}) as resp:
            sid = json.loads((await resp.text())[1:])["sid"]
        assert wire.sio.environ[sid]["REMOTE_ADDR"] == "127.0.0.2"
