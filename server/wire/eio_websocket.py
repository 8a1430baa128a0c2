"""The WebSocket transport of a HuddleSocket: a fresh session or an upgrade from polling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol, runtime_checkable

from aiohttp import WSMsgType, web
from engineio import packet as eio_packet

from server.wire import eio_codec
from server.wire.eio_socket import HuddleSocket

logger = logging.getLogger(__name__)
PROBE_TYPES = frozenset({eio_packet.PING, eio_packet.UPGRADE})


@runtime_checkable
class FeedsSession(Protocol):
    """A WebSocket response that offers text messages to a session as aiohttp parses them
    (ws_inbound.HuddleWebSocketResponse, when the inbound fast path is on)."""

    def feed(self, session: HuddleSocket | None) -> None: ...


def _response(sock: HuddleSocket) -> web.WebSocketResponse:
    server = sock.server
    return server.ws_response(max_msg_size=server.max_http_buffer_size,
                              compress=server.ws_deflate, timeout=2.0)


async def accept_and_close(request: web.Request) -> web.WebSocketResponse:
    """A WebSocket for a session that already has one: accepted, then closed (as Node does)."""
    ws = web.WebSocketResponse(timeout=1.0)
    await ws.prepare(request)
    await ws.close()
    return ws


async def serve(sock: HuddleSocket, request: web.Request) -> web.WebSocketResponse:
    ws = _response(sock)
    await ws.prepare(request)
    sock.transport = request.transport
    if sock.connected and not await _upgrade(sock, ws):
        await ws.close()
        return ws
    if sock.connected and sock.server.on_upgrade is not None:
        sock.server.on_upgrade(sock.sid)  # from polling (a fresh WebSocket session is no upgrade)
    sock.connected = sock.upgraded = True
    writer = None
    if ws.compress or not sock.server.direct_writes:
        # permessage-deflate: aiohttp compresses (possibly in an executor) under its own lock,
        # so frames go through ws.send_* from one writer task in queue order.
        writer = asyncio.create_task(_write(sock, ws), name=f"eio-ws-writer-{sock.sid}")
    else:
        sock.go_direct(ws)
    feed = ws if isinstance(ws, FeedsSession) and not ws.compress else None
    if feed is not None:
        # Text messages are now offered to the session as they are parsed (ws_inbound.py).
        feed.feed(sock)
    try:
        await _read(sock, ws)
    finally:
        sock.inbound_idle = False
        if feed is not None:
            feed.feed(None)
        if not sock.closed:
            await sock.close(wait=False, abort=True, reason=sock.server.reason.TRANSPORT_CLOSE)
        if writer is not None:
            await _stop(sock, writer)
        await ws.close()
    return ws


async def _stop(sock: HuddleSocket, writer: asyncio.Task[None]) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        sock.queue.put_nowait(None)
    try:
        await asyncio.wait_for(writer, 2.0)
    except (TimeoutError, asyncio.CancelledError):
        writer.cancel()


async def _upgrade(sock: HuddleSocket, ws: web.WebSocketResponse) -> bool:
    """``2probe`` -> ``3probe``, then ``5``. False leaves the session on polling."""
    sock.upgrading = True
    try:
        probe = await _next(ws, sock)
        if probe is None or probe.packet_type != eio_packet.PING or probe.data != "probe":
            return False
        await ws.send_str("3probe")
        if sock.poll_pending:
            # End the pending GET so the client can pause polling. Only then: a NOOP left in
            # the queue would later go out over the WebSocket as a stray "6".
            sock.queue.put_nowait(eio_packet.Packet(eio_packet.NOOP))
        done = await _next(ws, sock)
        return done is not None and done.packet_type == eio_packet.UPGRADE
    finally:
        sock.upgrading = False


async def _next(ws: web.WebSocketResponse, sock: HuddleSocket) -> eio_packet.Packet | None:
    timeout = sock.server.ping_interval + sock.server.ping_timeout
    try:
        msg = await ws.receive(timeout=timeout)
    except TimeoutError:
        return None
    if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
        return None
    try:
        return eio_codec.decode_frame(msg.data, allowed=PROBE_TYPES)
    except eio_codec.InvalidPacket:
        return None


async def _read(sock: HuddleSocket, ws: web.WebSocketResponse) -> None:
    while not sock.closed:
        sock.inbound_idle = True
        msg = await ws.receive()
        sock.inbound_idle = False
        if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            return  # close frame, error, or a message over maxPayload
        try:
            await sock.receive(eio_codec.decode_frame(msg.data))
        except eio_codec.InvalidPacket as exc:
            # Empty or garbage frames end the session now rather than leaving a ghost in its
            # rooms until the ping timeout.
            sock.server.faults.info("sid=%s invalid frame: %s; closing", sock.sid, exc)
            await sock.close(wait=False, abort=True, reason=sock.server.reason.TRANSPORT_ERROR)
            return


async def _write(sock: HuddleSocket, ws: web.WebSocketResponse) -> None:
    try:
        while True:
            batch = await sock.next_batch(None)
            if batch is None:
                return
            for pkt in batch:
                data = eio_codec.encode_for_ws(pkt)
                if isinstance(data, bytes):
                    await ws.send_bytes(data)
                else:
                    await ws.send_str(data)
                if pkt.packet_type == eio_packet.CLOSE:
                    return
    except (ConnectionError, RuntimeError) as exc:
        logger.debug("writer for sid=%s stopped: %s", sock.sid, exc)
    finally:
        with contextlib.suppress(Exception):
            await ws.close()
