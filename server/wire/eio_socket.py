"""One Engine.IO session: exact heartbeat, bounded outgoing queue, strict polling semantics.

Replaces python-engineio's AsyncSocket request handling (see docs/compatibility.md for each
deviation it fixes); the WebSocket transport lives in eio_websocket.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from engineio import async_socket
from engineio import packet as eio_packet

from server.timing import Timings
from server.wire import eio_codec, wsframe
from server.wire.observers import WireStats
from server.wire.throttle import ThrottledLog

if TYPE_CHECKING:
    from aiohttp import web

logger = logging.getLogger(__name__)
# After a close, a polling client gets this long (at most one heartbeat) to collect the CLOSE
# packet (Node also keeps it for the next GET); then the session is forgotten.
CLOSE_LINGER_S = 5.0


class SessionHost(Protocol):
    """What a session needs from its engine (HuddleEngineServer): timings, limits, the fault
    log, background tasks, and the hooks into the Socket.IO layer above."""

    ping_interval: float
    ping_timeout: float
    max_queued_bytes: int
    max_http_buffer_size: int
    ws_deflate: bool
    ws_response: type[web.WebSocketResponse]  # the WebSocket transport's response class
    direct_writes: bool  # frames may be written straight to the transport (go_direct)
    reason: Any  # engineio's disconnect reasons
    faults: ThrottledLog
    # (sid, "4...") -> True if the Socket.IO layer took the message synchronously
    fast_message: Callable[[str, str], bool] | None
    stats: WireStats  # packets and bytes written (server/metrics, the admin dashboard)
    ping_rtt: Timings  # ping written -> pong received
    on_upgrade: Callable[[str], None] | None  # (sid) the session moved to WebSocket

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None: ...

    def forget(self, sid: str) -> None: ...

    async def _trigger_event(self, event: str, *args: Any, run_async: bool = ...) -> Any: ...


class HuddleSocket(async_socket.AsyncSocket):  # type: ignore[misc]
    server: SessionHost

    def __init__(self, server: SessionHost, sid: str) -> None:
        super().__init__(server, sid)
        self.closing: bool = False
        self.closed: bool = False
        self.queued_bytes = 0
        self.poll_pending = False
        self.transport: asyncio.Transport | None = None  # the WebSocket's TCP transport
        # Set once the session is on an uncompressed WebSocket: packets are then written as
        # frames straight to the transport, with no queue and no writer task (see go_direct).
        self.direct: web.WebSocketResponse | None = None
        # The heartbeat is two timer callbacks, not a task: an idle connection costs no task,
        # coroutine frame or Event (memory per connection is a benchmark target).
        self._timer: asyncio.TimerHandle | None = None
        self._pong_deadline: float | None = None  # set while a ping awaits its pong
        self._ping_at = 0.0  # when the outstanding ping was written (for the round-trip time)
        # True while the WebSocket reader waits for the next message with nothing unhandled:
        # only then may a message be handled as it is parsed (see fast_receive).
        self.inbound_idle = False

    # -- heartbeat: the server pings every pingInterval and needs a pong within pingTimeout --
    def start_heartbeat(self) -> None:
        self._schedule_ping(time.monotonic() + self.server.ping_interval)

    def _schedule_ping(self, due: float) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(0.0, due - time.monotonic()), self._ping, due)

    def _ping(self, due: float) -> None:
        if self.closing or self.closed:
            return
        # Measured from when the ping was due, so a slow loop never grants extra time.
        self._pong_deadline = deadline = due + self.server.ping_timeout
        self._ping_at = now = time.monotonic()
        self._timer = asyncio.get_running_loop().call_later(
            max(0.0, deadline - now), self._no_pong)
        if not self.offer(eio_packet.Packet(eio_packet.PING)):
            self.server.spawn(self.overflowed(), name=f"eio-overflow-{self.sid}")

    def _pong_received(self) -> None:
        if self._pong_deadline is None or self.closing or self.closed:
            return  # no ping outstanding
        self._pong_deadline = None
        if self._timer is not None:
            self._timer.cancel()
        now = time.monotonic()
        self.server.ping_rtt.observe(now - self._ping_at)
        self._schedule_ping(now + self.server.ping_interval)

    def _no_pong(self) -> None:
        if self._pong_deadline is None or self.closing or self.closed:
            return
        # The client is presumed gone: forget the session now (as Node does), so the next
        # request for it is refused instead of collecting a CLOSE packet.
        logger.info("ping timeout sid=%s", self.sid)
        self.server.spawn(
            self.close(wait=False, abort=True, reason=self.server.reason.PING_TIMEOUT),
            name=f"eio-ping-timeout-{self.sid}")

    def timed_out(self) -> bool:
        deadline = self._pong_deadline
        return deadline is not None and time.monotonic() > deadline

    async def check_ping_timeout(self) -> bool:
        if self.closed:
            return False
        if self.timed_out():
            await self.close(wait=False, abort=True, reason=self.server.reason.PING_TIMEOUT)
            return False
        return True

    # -- outgoing ----------------------------------------------------------------------------
    def offer(self, pkt: eio_packet.Packet) -> bool:
        """Send or queue ``pkt`` without waiting; False if that would put the session over its
        outgoing byte cap (the caller then closes it, see ``overflowed``)."""
        if self.closed or (self.closing and pkt.packet_type != eio_packet.CLOSE):
            return True
        if self.direct is not None:
            return self._write(pkt)
        size = eio_codec.packet_size(pkt)
        if self.queued_bytes + size > self.server.max_queued_bytes:
            return False
        self.queued_bytes += size
        self.queue.put_nowait(pkt)
        stats = self.server.stats
        stats.packets_out += 1
        stats.bytes_out += size
        return True

    def offer_message(self, text: str) -> bool:
        """``offer`` for one text MESSAGE to this session alone (an ack): on a direct WebSocket
        its frame is built here, with no packet object or frame cache."""
        if self.direct is None or self.closed or self.closing:
            return self.offer(eio_packet.Packet(eio_packet.MESSAGE, data=text))
        return self._write_frame(wsframe.text_frame("4" + text))

    def _write(self, pkt: eio_packet.Packet) -> bool:
        return self._write_frame(wsframe.frame(pkt))

    def _write_frame(self, data: bytes) -> bool:
        transport, ws = self.transport, self.direct
        if transport is None or ws is None or ws.closed or transport.is_closing():
            return True  # the connection is going away; the reader ends the session
        # Bytes the kernel has not taken yet stay in the transport's buffer: that is this
        # session's backlog, bounded like the queue of a polling session.
        size = len(data)
        if transport.get_write_buffer_size() + size > self.server.max_queued_bytes:
            return False
        transport.write(data)
        stats = self.server.stats
        stats.packets_out += 1
        stats.bytes_out += size
        return True

    async def send(self, pkt: eio_packet.Packet) -> None:
        if not self.offer(pkt):
            await self.overflowed()

    async def overflowed(self) -> None:
        self.server.faults.info("sid=%s reads too slowly (more than %s bytes queued); closing",
                                self.sid, self.server.max_queued_bytes)
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_ERROR)

    def go_direct(self, ws: web.WebSocketResponse) -> None:
        """Switch to direct frame writes, first flushing what the queue holds (in order).

        Safe only while aiohttp writes this WebSocket synchronously too (no permessage-deflate):
        then a frame written here and one written by aiohttp (a pong, the close frame) are
        ordered by the order of the calls, and no write is ever half done.
        """
        while not self.queue.empty():
            pkt = self._take(self.queue.get_nowait())
            if pkt is not None and self.transport is not None and not self.transport.is_closing():
                self.transport.write(wsframe.frame(pkt))
        self.direct = ws

    def _take(self, pkt: eio_packet.Packet | None) -> eio_packet.Packet | None:
        self.queue.task_done()
        if pkt is not None:
            self.queued_bytes -= eio_codec.packet_size(pkt)
        return pkt

    async def next_batch(self, wait_s: float | None) -> list[eio_packet.Packet] | None:
        """Everything queued, waiting up to ``wait_s`` for the first; None means 'stop'."""
        first = self._take(await asyncio.wait_for(self.queue.get(), wait_s))
        if first is None:
            return None
        batch = [first]
        while not self.queue.empty():
            pkt = self.queue.get_nowait()
            if pkt is None:
                self.queue.task_done()
                self.queue.put_nowait(None)  # keep the stop signal for the next reader
                break
            batch.append(pkt)
            self._take(pkt)
        return batch

    # -- HTTP long-polling -----------------------------------------------------------------
    async def handle_poll(self) -> list[eio_packet.Packet] | None:
        """Packets for one GET; None means answer 400 (the session is closed or misused)."""
        if self.poll_pending:
            # Two GETs on one session: a second poller is either a bug or someone else holding
            # the sid. Node closes the session; the first GET receives the CLOSE packet.
            self.server.faults.info("sid=%s overlapping polls; closing", self.sid)
            await self.close(wait=False, abort=False, reason=self.server.reason.TRANSPORT_ERROR)
            return None
        if self.upgrading:
            return [eio_packet.Packet(eio_packet.NOOP)]
        self.poll_pending = True
        try:
            batch = await self.next_batch(self.server.ping_interval + self.server.ping_timeout)
        except TimeoutError:
            await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_ERROR)
            return None
        finally:
            self.poll_pending = False
        if self.closed:
            self.server.forget(self.sid)
        return batch or [eio_packet.Packet(eio_packet.NOOP)]

    def end_poll(self) -> None:
        """End the pending GET now, with whatever is queued or a NOOP (asked by a node that
        relays that GET and is shutting down)."""
        if self.poll_pending and not self.closing and not self.closed:
            self.offer(eio_packet.Packet(eio_packet.NOOP))

    async def handle_post(self, packets: list[eio_packet.Packet]) -> None:
        for pkt in packets:
            if self.closing or self.closed:
                return  # e.g. an earlier packet of this payload was a protocol violation
            await self.receive(pkt)

    def fast_receive(self, text: str) -> bool:
        """Handle a text frame of an upgraded WebSocket as aiohttp parses it, if it is a pong
        or a message the Socket.IO layer takes synchronously (``server.fast_message``); False
        leaves it to ``receive``, which handles everything (server/wire/ws_inbound.py)."""
        if self.closing or self.closed:
            return False
        head = text[:1]
        if head == "4":
            hook = self.server.fast_message
            if hook is None:
                return False
            try:
                return hook(self.sid, text)
            except Exception:  # the full path will handle (and judge) this message
                logger.exception("sid=%s fast path failed; using the full path", self.sid)
                return False
        if text == "3":
            self._pong_received()
            return True
        return False

    async def receive(self, pkt: eio_packet.Packet) -> None:
        kind = pkt.packet_type
        if kind == eio_packet.PONG:
            self._pong_received()
        elif kind == eio_packet.MESSAGE:
            await self.server._trigger_event("message", self.sid, pkt.data, run_async=False)
        elif kind == eio_packet.CLOSE:
            await self.close(wait=False, abort=True, reason=self.server.reason.CLIENT_DISCONNECT)
        else:
            raise eio_codec.InvalidPacket(f"unexpected packet type {kind}")

    # -- closing -----------------------------------------------------------------------------
    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        """Close the session at once; ``wait`` is accepted for API compatibility but never
        blocks, because a client that stopped reading would block it forever."""
        if self.closed or self.closing:
            return
        self.closing = True
        client_close = reason == self.server.reason.CLIENT_DISCONNECT and not self.upgraded
        if self._timer is not None:
            self._timer.cancel()
        with contextlib.suppress(Exception):
            await self.server._trigger_event(
                "disconnect", self.sid, reason or self.server.reason.SERVER_DISCONNECT,
                run_async=False)
        if not abort:
            if self.direct is not None:
                self._write(eio_packet.Packet(eio_packet.CLOSE))
            else:
                self.queue.put_nowait(eio_packet.Packet(eio_packet.CLOSE))
        elif self.poll_pending or client_close:
            # Ends the pending GET with "6"; after a client's CLOSE also one still on its way:
            # through another node it may reach us after the POST it was sent before.
            self.queue.put_nowait(eio_packet.Packet(eio_packet.NOOP))
        self.closed = True
        if self.upgraded:
            if self.direct is not None:
                self._close_websocket(self.direct)
            else:
                self.queue.put_nowait(None)  # the writer flushes what is queued, then stops
            self.server.forget(self.sid)
            self._abort_later()
        elif self.poll_pending or (abort and not client_close):
            self.server.forget(self.sid)
        else:
            linger = min(CLOSE_LINGER_S, self.server.ping_interval + self.server.ping_timeout)
            asyncio.get_running_loop().call_later(linger, self.server.forget, self.sid)

    def _close_websocket(self, ws: web.WebSocketResponse) -> None:
        """Send the WebSocket close frame; this also ends the reader (serve's ``_read``)."""
        if not ws.closed:
            self.server.spawn(_quietly_close(ws), name=f"eio-ws-close-{self.sid}")

    def _abort_later(self) -> None:
        transport = self.transport
        if transport is None:
            return
        # A consumer that stopped reading keeps the writer blocked: cut the TCP connection.
        asyncio.get_running_loop().call_later(
            min(2.0, self.server.ping_timeout + 0.5), transport.abort)


async def _quietly_close(ws: web.WebSocketResponse) -> None:
    with contextlib.suppress(Exception):
        await ws.close()
