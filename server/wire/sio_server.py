"""HuddleSocketServer: python-socketio's AsyncServer with Huddle's protocol fixes.

- the CONNECT ack goes out before anything the connect handler emits;
- unknown namespaces get ``{"message": "Invalid namespace"}``;
- malformed, reserved-name or over-attached packets close the connection (as Node's parser does);
- inbound events are rate-limited per connection;
- rooms must be non-empty strings; a server-side disconnect also closes the transport;
- the connection lifecycle has one owner (``lifecycle.Connections``): per-connection state is
  born on a successful connect, dropped on disconnect or refusal, and an event whose sid is not
  connected when its turn comes is dropped, on the fast path and the full path alike.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from server.errors import ErrorCode, Failure
from server.wire import sio_fast
from server.wire.eio_server import HuddleEngineServer
from server.wire.inbox import Inbox
from server.wire.lifecycle import Connection, Connections
from server.wire.observers import ConnectionObserver, WireStats
from server.wire.sio_packets import HuddlePacket, ProtocolFault, validate
from server.wire.throttle import ThrottledLog, TokenBucket

logger = logging.getLogger(__name__)
MAX_ROOM_LENGTH = 256
# A connection that joins no namespace within this time is closed (Node's connectTimeout).
CONNECT_TIMEOUT_S = 45.0
# The registry (server/errors.py) gives rate_limited a retryAfterMs, as the chat quota's has;
# issue 10 bug 9 (branch i10-lifecycle) adds it here, then this ack is built by failure().
RATE_LIMITED: Failure = {"ok": False, "code": ErrorCode.RATE_LIMITED,
                         "error": "Too many events; slow down and try again."}


class HuddleSocketServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *, rate_limit_per_s: int = 50, rate_limit_burst: int = 200,
                 max_attachments: int = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rate_limit_per_s = rate_limit_per_s
        self.rate_limit_burst = rate_limit_burst
        self.max_attachments = max_attachments
        self.connect_timeout_s = CONNECT_TIMEOUT_S
        self.faults = ThrottledLog(logger)
        self._held: dict[str, list[eio_packet.Packet]] = {}  # eio_sid -> sends held during connect
        self._buckets: dict[str, tuple[TokenBucket, TokenBucket]] = {}
        self._expiring: set[asyncio.Future[None]] = set()
        self.connections = Connections()
        # Inbound events run from one FIFO on worker tasks, not a task each (wire/inbox.py).
        self.inbox = Inbox("sio-events")
        self.fast_events = 0  # events taken by fast_event (tests and benchmarks read it)
        # JSON: text frames carry whole EVENT packets, and acks can be written as text.
        self._json_frames = self.packet_class is HuddlePacket
        if self._json_frames:
            self.eio.fast_message = self.fast_event
        self.stats: WireStats = self.eio.stats
        # Observers of connections (server/wire/observers.py); none unless metrics/admin are on.
        self.watchers: list[ConnectionObserver] = []
        self._room_watchers: list[ConnectionObserver] = []

    def watch(self, observer: ConnectionObserver) -> None:
        """Report every connect, refusal, disconnect and upgrade (and rooms, if it asks)."""
        self.watchers.append(observer)
        if observer.wants_rooms:
            self._room_watchers.append(observer)
        self.eio.on_upgrade = self._upgraded

    def _upgraded(self, eio_sid: str) -> None:
        for observer in self.watchers:
            observer.upgraded(eio_sid)

    def _refused(self, namespace: str, data: Any) -> None:
        reason = refusal_reason(data)
        for observer in self.watchers:
            observer.refused(namespace, reason)

    def _engineio_server_class(self) -> type[HuddleEngineServer]:
        return HuddleEngineServer

    # -- outgoing: hold a connecting client's packets until its CONNECT ack is sent ----------
    async def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        if self.watchers and pkt.packet_type == sio_packet.CONNECT_ERROR:
            self._refused(pkt.namespace or "/", pkt.data)
        if eio_sid in self._held and pkt.packet_type not in (sio_packet.CONNECT,
                                                             sio_packet.CONNECT_ERROR):
            encoded = pkt.encode()
            for part in encoded if isinstance(encoded, list) else [encoded]:
                self._held[eio_sid].append(eio_packet.Packet(eio_packet.MESSAGE, data=part))
            return
        await super()._send_packet(eio_sid, pkt)

    async def _send_eio_packet(self, eio_sid: str, eio_pkt: eio_packet.Packet) -> None:
        if eio_sid in self._held:
            self._held[eio_sid].append(eio_pkt)
            return
        await super()._send_eio_packet(eio_sid, eio_pkt)

    async def deliver(self, eio_sids: list[str], pkts: list[eio_packet.Packet]) -> None:
        """Hand the same packets to each connection in one synchronous pass (the broadcast fast
        path, server/wire/broadcast.py); then close those that went over their byte cap."""
        held, sockets = self._held, self.eio.sockets
        slow = []
        for eio_sid in eio_sids:
            waiting = held.get(eio_sid)
            if waiting is not None:
                waiting.extend(pkts)
                continue
            sock = sockets.get(eio_sid)
            if sock is None:
                continue
            for pkt in pkts:
                if not sock.offer(pkt):
                    slow.append(sock)
                    break
        for sock in slow:
            await sock.overflowed()

    def serves(self, namespace: str) -> bool:
        return bool(namespace in self.handlers or namespace in self.namespace_handlers
                    or self.namespaces == "*" or namespace in self.namespaces)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        namespace = namespace or "/"
        if not self.serves(namespace):
            await self._send_packet(eio_sid, self.packet_class(
                sio_packet.CONNECT_ERROR, data={"message": "Invalid namespace"},
                namespace=namespace))
            return
        if self.manager.sid_from_eio_sid(eio_sid, namespace) is not None:
            # Connected (or connecting) there already: the library refuses the duplicate.
            await super()._handle_connect(eio_sid, namespace, data)
            return
        self._held.setdefault(eio_sid, [])
        try:
            with self.connections.connecting(eio_sid, namespace):
                await self._connect(eio_sid, namespace, data)
        finally:
            held = self._held.pop(eio_sid, [])
        for pkt in held:
            await self.eio.send_packet(eio_sid, pkt)

    async def _connect(self, eio_sid: str, namespace: str, data: Any) -> None:
        """The library's connect; the Connection is born only if the handler accepted it."""
        try:
            await super()._handle_connect(eio_sid, namespace, data)
        except Exception:
            logger.exception("connect handler failed for eio_sid=%s ns=%s", eio_sid, namespace)
            await self._refuse_failed_connect(eio_sid, namespace)
            return
        sid = self._connected_sid(eio_sid, namespace)
        if sid is not None:
            handler = self.namespace_handlers.get(namespace)
            self.connections.born(sid, namespace, eio_sid,
                                  ordered=bool(getattr(handler, "ordered_events", False)))
            for observer in self.watchers:
                observer.connected(sid, namespace, eio_sid)

    async def _refuse_failed_connect(self, eio_sid: str, namespace: str) -> None:
        """A connect handler raised: refuse the connect and drop what the library set up."""
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or self.manager.is_connected(sid, namespace):
            return
        await self._send_packet(eio_sid, self.packet_class(
            sio_packet.CONNECT_ERROR, data={"message": "Internal server error"},
            namespace=namespace))
        await self.manager.disconnect(sid, namespace, ignore_queue=True)

    # -- incoming ----------------------------------------------------------------------------
    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            pkt = self._decode(eio_sid, data)
        except Exception as exc:  # decoding client bytes: any failure is the client's fault
            self.faults.info("eio_sid=%s sent an invalid packet (%s: %s); closing",
                             eio_sid, type(exc).__name__, exc)
            await self.eio.disconnect(eio_sid)
            return
        if pkt is not None:
            await self._dispatch(eio_sid, pkt)

    def _decode(self, eio_sid: str, data: Any) -> Any:
        """The complete packet, None while attachments are pending; raises on bad input."""
        pending = self._binary_packet.get(eio_sid)
        if pending is not None:
            if not isinstance(data, bytes):
                raise ProtocolFault("expected a binary attachment")
            if not pending.add_attachment(data):
                return None
            del self._binary_packet[eio_sid]
            return pending
        if data is None:
            raise ProtocolFault("empty message")
        if isinstance(data, bytes) and self.packet_class.uses_binary_events:
            raise ProtocolFault("binary data without a binary packet")
        pkt = self.packet_class(encoded_packet=data)
        validate(pkt, self.max_attachments)
        if pkt.packet_type in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
            if not self.manager.sid_from_eio_sid(eio_sid, pkt.namespace or "/"):
                raise ProtocolFault("binary packet for a namespace that is not connected")
            self._binary_packet[eio_sid] = pkt
            return None
        return pkt

    async def _dispatch(self, eio_sid: str, pkt: Any) -> None:
        kind = pkt.packet_type
        if kind == sio_packet.CONNECT:
            await self._handle_connect(eio_sid, pkt.namespace, pkt.data)
        elif kind == sio_packet.DISCONNECT:
            await self._handle_disconnect(eio_sid, pkt.namespace, self.reason.CLIENT_DISCONNECT)
            if not self._namespaces_of(eio_sid):
                # Nothing left on this connection: close it, as the reference server does.
                await self.eio.disconnect(eio_sid)
        elif kind in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
            if await self._admit(eio_sid, pkt):
                await self._handle_event(eio_sid, pkt.namespace, pkt.id, pkt.data)
        else:
            await self._handle_ack(eio_sid, pkt.namespace, pkt.id, pkt.data)

    # -- events: one FIFO for the full path and the fast path ---------------------------------
    def fast_event(self, eio_sid: str, frame: str) -> bool:
        """Take an Engine.IO message frame of an upgraded WebSocket synchronously if it is a
        plain text EVENT for a connected namespace that the rate limit admits; False leaves the
        frame to the full path (``_handle_eio_message``), which also makes every refusal."""
        parsed = sio_fast.parse_event(frame)
        if parsed is None or eio_sid in self._binary_packet or eio_sid in self._held:
            return False
        namespace, ack_id, data = parsed
        conn = self._connection(eio_sid, namespace)
        if conn is None:
            return False
        # A refused token is not spent: the full path takes it again and answers the refusal.
        if self.rate_limit_per_s > 0 and not self._buckets_of(eio_sid)[0].take():
            return False
        # With no function handlers (Huddle registers none) the namespace object is the handler;
        # otherwise the library's own lookup runs (_trigger_event).
        handler = None if self.handlers else self.namespace_handlers.get(namespace)
        self.inbox.put(self._run_event, conn, handler, ack_id, data)
        self.fast_events += 1
        return True

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None,
                            data: list[Any]) -> None:
        namespace = namespace or "/"
        conn = self._connection(eio_sid, namespace)
        if conn is None:
            logger.debug("event from eio_sid=%s, not connected to %s", eio_sid, namespace)
            return
        self.inbox.put(self._run_event, conn, None, id, data)

    def _connection(self, eio_sid: str, namespace: str) -> Connection | None:
        """The open Connection of ``eio_sid`` in ``namespace``, or None: its events are
        dropped (not connected, still connecting, or disconnecting)."""
        sid = self._connected_sid(eio_sid, namespace)
        conn = None if sid is None else self.connections.get(sid)
        return conn if conn is not None and conn.open else None

    def _connected_sid(self, eio_sid: str, namespace: str) -> str | None:
        """The connection's sid in ``namespace``, or None unless it is fully connected there
        (not connecting or disconnecting): its events are dropped, as the library drops them."""
        sid: str | None = self.manager.sid_from_eio_sid(eio_sid, namespace)
        return sid if sid is not None and self.manager.is_connected(sid, namespace) else None

    # Positional on purpose: called per event through Inbox.put(fn, *args), no wrapper object.
    async def _run_event(self, conn: Connection, handler: Any, ack_id: int | None,
                         data: list[Any]) -> None:
        """Run one event in its connection's turn, or drop it if the connection closed before
        its turn came (a late event must not re-create state for a gone sid)."""
        lock = conn.lock
        if lock is None:  # not an ordered namespace: handlers may overlap, as in Node
            if conn.open:
                await self._answer_event(conn, handler, ack_id, data)
            return
        async with lock:
            if not conn.open:
                logger.debug("event %r dropped: sid=%s left ns=%s", data[0], conn.sid,
                             conn.namespace)
                return
            conn.holder = asyncio.current_task()
            try:
                await self._answer_event(conn, handler, ack_id, data)
            finally:
                conn.holder = None

    async def _answer_event(self, conn: Connection, handler: Any, ack_id: int | None,
                            data: list[Any]) -> None:
        """python-socketio's _handle_event_internal; ``handler`` is the namespace object when
        the fast path already resolved it."""
        sid, namespace, eio_sid = conn.sid, conn.namespace, conn.eio_sid
        if handler is None:
            r = await self._trigger_event(data[0], namespace, sid, *data[1:])
        else:
            r = await handler.trigger_event(data[0], sid, *data[1:])
        if ack_id is None or r == self.not_handled:
            return
        args = [] if r is None else list(r) if isinstance(r, tuple) else [r]
        sock = self.eio.sockets.get(eio_sid)
        text = None
        if self._json_frames and sock is not None and eio_sid not in self._held:
            text = sio_fast.ack_frame(namespace, ack_id, args)
        if text is None or sock is None:
            await self._send_packet(eio_sid, self.packet_class(
                sio_packet.ACK, namespace=namespace, id=ack_id, data=args))
        elif not sock.offer_message(text):
            await sock.overflowed()

    async def shutdown(self) -> None:
        await super().shutdown()
        await self.inbox.close()

    def _namespaces_of(self, eio_sid: str) -> list[str]:
        return [ns for ns in self.manager.get_namespaces()
                if self.manager.sid_from_eio_sid(eio_sid, ns) is not None]

    def _buckets_of(self, eio_sid: str) -> tuple[TokenBucket, TokenBucket]:
        buckets = self._buckets.get(eio_sid)
        if buckets is None:
            rate, burst = self.rate_limit_per_s, self.rate_limit_burst
            # Rejections drain a second bucket that refills at a tenth of the rate: a client
            # that keeps sending well above the limit runs it dry and is disconnected.
            self._buckets[eio_sid] = buckets = (TokenBucket(rate, burst),
                                                TokenBucket(rate / 10, burst))
        return buckets

    async def _admit(self, eio_sid: str, pkt: Any) -> bool:
        """Token bucket per connection; persistent flooders are disconnected."""
        if self.rate_limit_per_s <= 0:
            return True
        events, strikes = self._buckets_of(eio_sid)
        if events.take():
            return True
        self.stats.limited_events += 1
        if not strikes.take():
            self.stats.flood_disconnects += 1
            self.faults.info("eio_sid=%s keeps flooding events; disconnecting", eio_sid)
            await self.eio.disconnect(eio_sid)
            return False
        self.faults.info("eio_sid=%s over the event rate limit (event %r)", eio_sid, pkt.data[0])
        if pkt.id is not None:
            self.stats.limited_acks += 1
            await self._send_packet(eio_sid, self.packet_class(
                sio_packet.ACK, namespace=pkt.namespace or "/", id=pkt.id, data=[RATE_LIMITED]))
        return False

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        environ["huddle.issued"] = time.time()  # the handshake time the admin UI shows
        asyncio.get_running_loop().call_later(self.connect_timeout_s, self._expire, eio_sid)
        return await super()._handle_eio_connect(eio_sid, environ)

    def _expire(self, eio_sid: str) -> None:
        if eio_sid in self.eio.sockets and not self._namespaces_of(eio_sid):
            self.faults.info("eio_sid=%s joined no namespace in time; closing", eio_sid)
            task = asyncio.ensure_future(self.eio.disconnect(eio_sid))
            self._expiring.add(task)
            task.add_done_callback(self._expiring.discard)

    async def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        if event == "disconnect":
            # Whoever ends the connection (client, transport, kick) comes through here.
            conn = self.connections.end(args[0])
            if conn is not None:
                try:
                    return await conn.close(
                        functools.partial(super()._trigger_event, event, namespace, *args))
                finally:
                    if self.watchers:
                        self._disconnected(conn, args)
        return await super()._trigger_event(event, namespace, *args)

    def _disconnected(self, conn: Connection, args: tuple[Any, ...]) -> None:
        reason = str(args[1]) if len(args) > 1 else self.reason.SERVER_DISCONNECT
        for observer in self.watchers:
            observer.disconnected(conn.sid, conn.namespace, reason)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        # A connect handler still running would otherwise finish after this disconnect and
        # leave a connected sid (and whatever the handler set up) with no transport.
        await self.connections.settled(eio_sid)
        self._buckets.pop(eio_sid, None)
        self._held.pop(eio_sid, None)
        self._binary_packet.pop(eio_sid, None)
        await super()._handle_eio_disconnect(eio_sid, reason)

    # -- server-side API ---------------------------------------------------------------------
    async def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        await super().enter_room(sid, check_room(room), namespace)
        for observer in self._room_watchers:
            observer.room_joined(sid, namespace or "/", room)

    async def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        await super().leave_room(sid, check_room(room), namespace)
        for observer in self._room_watchers:
            observer.room_left(sid, namespace or "/", room)

    async def disconnect(self, sid: str, namespace: str | None = None,
                         ignore_queue: bool = False, close_transport: bool = True) -> None:
        """Disconnect ``sid`` from ``namespace`` and, by default, close its transport: a kick
        that left the connection open would let the client reconnect the namespace at once."""
        namespace = namespace or "/"
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        conn = self.connections.get(sid)
        if conn is not None:
            conn.open = False  # from now on no event of this sid starts
        await super().disconnect(sid, namespace, ignore_queue)
        if close_transport and eio_sid is not None and eio_sid in self.eio.sockets:
            await self.eio.disconnect(eio_sid)


def refusal_reason(data: Any) -> str:
    """What refused a connect, from its CONNECT_ERROR data: the handler's registry code if it
    gave one, ``invalid_namespace``, or ``refused`` (e.g. the library's duplicate connect)."""
    if isinstance(data, dict):
        given = data.get("code")
        if given:
            return str(given)
        if data.get("message") == "Invalid namespace":
            return "invalid_namespace"
    return "refused"


def check_room(room: Any) -> str:
    if not isinstance(room, str) or not room or len(room) > MAX_ROOM_LENGTH:
        raise ValueError(f"invalid room {room!r}: rooms are non-empty strings "
                         f"of at most {MAX_ROOM_LENGTH} characters")
    return room
