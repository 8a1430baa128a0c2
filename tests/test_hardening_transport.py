"""Hostile transport input (G3, G4, G5, G6, G10): sent on the wire; afterwards another client is
served and sessions and tasks are back to their baseline."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import WAIT_S, eventually
from tests.wire import (
    Wire,
    back_to_baseline,
    body_read_so_far,
    closed_without_reply,
    masked_frame,
    raw_websocket,
    recv_text,
    serve,
    server_load,
    sio_connect,
    still_serving,
)

pytestmark = pytest.mark.e2e


async def _after(wire: Wire, baseline: tuple[int, int]) -> None:
    await still_serving(wire)
    await back_to_baseline(wire, baseline)


@pytest.mark.parametrize("body", ["0", "6", "0{}", "5", "2", "4hi\x1e6", "", "b!!!"])
async def test_g3_bad_polling_post_is_answered_400_promptly(body: str) -> None:
    async with serve() as wire:
        baseline = server_load(wire)
        sid, _ = await wire.handshake()
        status, _ = await asyncio.wait_for(wire.post(sid, body), WAIT_S)
        assert status == 400
        assert (await wire.get(sid))[0] == 400  # and the session is closed
        await _after(wire, baseline)


async def test_g3_oversized_post_is_413() -> None:
    async with serve() as wire:
        baseline = server_load(wire)
        sid, _ = await wire.handshake()
        status, _ = await wire.post(sid, "4" + "x" * 1_000_001)
        assert status == 413
        assert (await wire.get(sid))[0] == 400
        await _after(wire, baseline)


async def test_g3_server_disconnect_of_idle_polling_client_returns() -> None:
    async with serve() as wire:
        baseline = server_load(wire)
        sid, _ = await wire.handshake()  # and then the client never polls again
        await asyncio.wait_for(wire.sio.eio.disconnect(sid), WAIT_S)
        await _after(wire, baseline)


async def _server_read_past(done: int) -> int:
    def more() -> int:
        read = body_read_so_far() or 0
        return read if read > done else 0

    got: int = await eventually(more, "the server reading the part sent")
    return got


async def _raw_post(wire: Wire, sid: str, parts: list[bytes], headers: str) -> bytes:
    host, port = wire.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write((f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
                      f"Host: {host}\r\nContent-Type: text/plain\r\n{headers}\r\n").encode())
        read = 0
        for part in parts[:-1]:
            writer.write(part)
            await writer.drain()
            # Send the next part only once the server has read this one: one body, two reads.
            read = await _server_read_past(read)
        writer.write(parts[-1])
        return await asyncio.wait_for(reader.readuntil(b"ok"), WAIT_S)
    finally:
        writer.close()


async def test_g4_body_in_two_tcp_writes_is_read_whole() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake()
        body = b'40\x1e42["message","split across writes"]'
        answer = await _raw_post(wire, sid, [body[:9], body[9:]],
                                 f"Content-Length: {len(body)}\r\n")
        assert answer.startswith(b"HTTP/1.1 200")
        _, got = await wire.get(sid)
        assert '42["auth",{}]\x1e42["message-back","split across writes"]' in got


async def test_g4_chunked_body_is_read() -> None:
    async with serve() as wire:
        sid, _ = await wire.handshake()
        chunks = [b"40", b'\x1e42["message","chunked"]']
        encoded = [f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks] + [b"0\r\n\r\n"]
        answer = await _raw_post(wire, sid, encoded, "Transfer-Encoding: chunked\r\n")
        assert answer.startswith(b"HTTP/1.1 200")
        _, got = await wire.get(sid)
        assert '42["message-back","chunked"]' in got


@pytest.mark.parametrize("frame", ["", "abc", "9", "b%%%", "0{}", "6"])
async def test_g5_garbage_websocket_frame_leaves_no_ghost(frame: str) -> None:
    async with serve() as wire:
        baseline = server_load(wire)
        ws = await sio_connect(wire)
        await ws.send_str(frame)
        await closed_without_reply(ws)
        assert not wire.sio.manager.rooms.get("/", {}).get(None)  # not left in any room
        await _after(wire, baseline)


async def test_g6_client_that_never_reads_is_disconnected() -> None:
    async with serve(max_queued_bytes=200_000) as wire:
        baseline = server_load(wire)
        async with raw_websocket(wire) as (_, writer):
            writer.write(masked_frame(b"40"))
            payload = b'42["message","' + b"x" * 100_000 + b'"]'
            for _ in range(150):  # 15 MB of echoes the client never reads
                if writer.is_closing():
                    break
                writer.write(masked_frame(payload))
                try:
                    await asyncio.wait_for(writer.drain(), WAIT_S)
                except ConnectionError:
                    break
            await back_to_baseline(wire, baseline)  # the slow consumer's session is gone
        await _after(wire, baseline)


async def test_g10_jsonp_is_refused() -> None:
    async with serve() as wire:
        status, _ = await wire.request("GET", EIO="4", transport="polling", j="0")
        assert status == 400
        assert not wire.sio.eio.sockets
        await still_serving(wire)


async def test_g10_a_second_poller_on_a_sid_ends_the_session() -> None:
    async with serve() as wire:
        baseline = server_load(wire)
        sid, _ = await wire.handshake()
        victim = asyncio.create_task(wire.get(sid))
        await wire.poll_pending(sid)
        assert (await wire.get(sid))[0] == 400  # the intruder gets nothing
        assert await victim == (200, "1")  # the owner is told the session is over
        await _after(wire, baseline)


async def test_g6_polling_client_that_never_polls_is_disconnected() -> None:
    async with serve(max_queued_bytes=200_000) as wire:
        baseline = server_load(wire)
        sid, _ = await wire.handshake()
        assert await wire.post(sid, "40") == (200, "ok")
        echo = '42["message","' + "x" * 50_000 + '"]'
        statuses = [(await wire.post(sid, echo))[0] for _ in range(10)]  # 500 KB never collected
        assert statuses[0] == 200 and statuses[-1] == 400  # dropped once over the bound
        await _after(wire, baseline)


async def test_connection_that_joins_no_namespace_is_closed() -> None:
    async with serve() as wire:
        baseline = server_load(wire)
        wire.sio.connect_timeout_s = 0.2  # 45 s in production, as in Node
        ws = await wire.ws()
        assert (await recv_text(ws)).startswith("0")
        await closed_without_reply(ws)  # pings answered, but no "40" ever sent
        await back_to_baseline(wire, baseline)
