"""HuddleEngineServer: python-engineio's AsyncServer with Huddle's own HTTP request handling.

``handle_request`` is replaced (not wrapped) so that every request is validated before a session
is touched and every request gets a prompt answer; sessions are HuddleSockets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import engineio
from aiohttp import web
from engineio import packet as eio_packet

from server.private_api import Feature, Surfaces
from server.timing import NETWORK_BOUNDS, Timings
from server.wire import eio_codec, eio_websocket
from server.wire.clientip import ClientAddress
from server.wire.eio_socket import HuddleSocket
from server.wire.observers import WireStats
from server.wire.relay import RELAY_HEADER, Refused, Relay, RelayFailed
from server.wire.relay_channel import (
    CHANNEL_TRANSPORT,
    OP_END_POLL,
    OP_GET,
    OP_POST,
    OP_POST_TOO_LARGE,
    serve_channel,
)
from server.wire.sids import SessionIds
from server.wire.throttle import ThrottledLog

logger = logging.getLogger(__name__)
Response = dict[str, Any]


class HuddleEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.start_service_task = False  # each HuddleSocket runs its own exact heartbeat
        self.client_address = ClientAddress(())
        self.max_queued_bytes = 8_000_000
        self.ws_deflate = False
        # The private-API fast paths stay off until configure() is told they are usable.
        self.ws_response: type[web.WebSocketResponse] = web.WebSocketResponse
        self.direct_writes = False
        self.surfaces = Surfaces(frozenset())
        self.faults = ThrottledLog(logger)
        self._background: set[asyncio.Task[None]] = set()
        # (sid, "4...") -> True if the Socket.IO layer took this message synchronously; set by
        # HuddleSocketServer (see HuddleSocket.fast_receive).
        self.fast_message: Callable[[str, str], bool] | None = None
        # Sids name this process (server/wire/sids.py); requests for other nodes' sids go
        # through the relay, or are refused as unknown when there is none.
        self.sids = SessionIds()
        self.relay: Relay | None = None
        # Counters for /metrics and the admin namespace (cheap enough to keep always).
        self.stats = WireStats()
        self.ping_rtt = Timings(NETWORK_BOUNDS)  # ping sent -> pong received, in seconds
        self.on_upgrade: Callable[[str], None] | None = None  # (sid) a session is on WebSocket

    def configure(self, *, trusted_proxies: tuple[str, ...], max_queued_bytes: int,
                  ws_deflate: bool, surfaces: Surfaces) -> None:
        self.client_address = ClientAddress(trusted_proxies)
        self.max_queued_bytes = max_queued_bytes
        self.ws_deflate = ws_deflate
        self.surfaces = surfaces
        self.direct_writes = surfaces.allows(Feature.DIRECT_WRITES)
        if surfaces.allows(Feature.INBOUND_FAST_PATH):
            # Imported only now: the module builds on aiohttp's private reader module.
            from server.wire.ws_inbound import HuddleWebSocketResponse  # noqa: PLC0415

            self.ws_response = HuddleWebSocketResponse
        else:
            self.ws_response = web.WebSocketResponse

    def join_cluster(self, sids: SessionIds, relay: Relay | None) -> None:
        self.sids, self.relay = sids, relay

    def attach(self, app: web.Application, engineio_path: str = "engine.io") -> None:
        # Every method reaches handle_request, so that e.g. PUT gets the protocol's 400, not
        # aiohttp's 405.
        app.router.add_route("*", f"/{engineio_path.strip('/')}/", self.handle_request)
        app.on_shutdown.append(self._drain)

    async def _drain(self, app: web.Application) -> None:
        """On shutdown, close every session at once: each client gets an Engine.IO CLOSE (a
        'transport close' to socket.io-client, which then reconnects, possibly to another node)
        instead of waiting for aiohttp's shutdown timeout or the ping timeout. Polls relayed
        to other nodes' sessions end without ending those sessions."""
        await self.shutdown()
        if self.relay is not None:
            await self.relay.drain()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``coro`` in the background, holding a reference until it is done."""
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def forget(self, sid: str) -> None:
        self.sockets.pop(sid, None)

    def _response(self, status: int, body: bytes | str, content_type: str = "text/plain"
                  ) -> Response:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        return {"status": f"{status} X", "headers": [("Content-Type", content_type)],
                "response": raw}

    def _bad(self, message: str, status: int = 400) -> Response:
        return self._response(status, eio_packet.Packet.json.dumps(
            {"code": 0 if status == 400 else 1, "message": message}), "application/json")

    def _ok(self, packets: list[eio_packet.Packet] | None = None, headers: Any = None,
            jsonp_index: Any = None) -> Response:
        if packets is None:
            return self._response(200, b"ok", "text/plain; charset=UTF-8")
        r = self._response(200, eio_codec.encode_payload(packets), "text/plain; charset=UTF-8")
        r["headers"] += headers or []
        return r

    async def handle_request(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("transport") == CHANNEL_TRANSPORT and self.relay is not None:
            # Another node's relay channel (relay_channel.py), not an Engine.IO request.
            return await serve_channel(request, key=self.sids.key, tag=self.sids.tag,
                                       handle=self.serve_relayed)
        environ = self._async["translate_request"](request)
        environ["REMOTE_ADDR"] = self.client_address.resolve(
            request.remote, request.headers.get("X-Forwarded-For"))
        r = await self._route(request, environ)
        if isinstance(r, web.StreamResponse):
            return r
        return await self._make_response(self._compress(r, environ), environ)  # type: ignore[no-any-return]

    async def _route(self, request: web.Request, environ: dict[str, Any]
                     ) -> Response | web.StreamResponse:
        origin = environ.get("HTTP_ORIGIN")
        if self.cors_allowed_origins != [] and origin:
            allowed = self._cors_allowed_origins(environ)
            if allowed is not None and origin not in allowed:
                return self._bad(f"{origin} is not an accepted origin.")
        if request.method == "OPTIONS":
            return self._response(204, b"")
        query = request.query
        transport = query.get("transport")
        if "j" in query:
            return self._bad("JSONP is not supported")
        if transport is None or transport not in self.transports:
            return self._bad("Transport unknown")
        sid = query.get("sid")
        if sid is None:
            return await self._open(request, environ, transport)
        return await self._session(request, sid, transport)

    async def _session(self, request: web.Request, sid: str, transport: str
                       ) -> Response | web.StreamResponse:
        if not self.sids.owns(sid):
            return await self._relay(request, sid, transport)
        sock = await self._live(sid)
        if sock is None:
            return self._bad("Session ID unknown")
        if transport == "websocket":
            return await self._upgrade(request, sock)
        body = None
        if request.method == "POST" and not sock.closed and not sock.upgraded:
            body = await self._read(request)
        return await self._polling(sock, request.method, body)

    async def _live(self, sid: str) -> HuddleSocket | None:
        """This node's session ``sid``, unless it is unknown or just timed out."""
        sock = self.sockets.get(sid)
        if sock is not None:
            await sock.check_ping_timeout()  # exact, even if the heartbeat task is running late
        return sock if sock is not None and sid in self.sockets else None

    async def _polling(self, sock: HuddleSocket, method: str, body: bytes | None) -> Response:
        """A polling request for one of this node's sessions, sent by its client or relayed by
        another node; ``body`` is a POST's body, None when it was over maxPayload."""
        if sock.closed:
            return self._leftovers(sock, method)
        if sock.upgraded:
            return self._bad("Session is on another transport")
        if method == "GET":
            packets = await sock.handle_poll()
            return self._bad("Session closed") if packets is None else self._ok(packets)
        if method == "POST":
            return await self._post(sock, body)
        return self._bad("Bad request method")

    async def serve_relayed(self, op: int, sid: str, body: bytes) -> Response:
        """A polling request that another node relayed on its channel (relay_channel.py)."""
        sock = await self._live(sid) if self.sids.owns(sid) else None
        if sock is None:
            return self._bad("Session ID unknown")
        if op == OP_END_POLL:  # the relaying node is shutting down
            sock.end_poll()
            return self._ok()
        if op == OP_GET:
            return await self._polling(sock, "GET", None)
        return await self._polling(sock, "POST", body if op == OP_POST else None)

    async def _open(self, request: web.Request, environ: dict[str, Any], transport: str
                    ) -> Response | web.StreamResponse:
        if request.query.get("EIO") != "4":
            return self._bad("Unsupported protocol version")
        if request.method != "GET":
            return self._bad("Bad handshake method")
        if transport == "websocket" and request.headers.get("Upgrade", "").lower() != "websocket":
            return self._bad("Bad request")
        return await self._handle_connect(environ, transport)

    async def _upgrade(self, request: web.Request, sock: HuddleSocket
                       ) -> Response | web.StreamResponse:
        if request.method != "GET" or request.headers.get("Upgrade", "").lower() != "websocket":
            return self._bad("Bad request")
        if sock.closed or sock.upgraded or sock.upgrading:
            return await eio_websocket.accept_and_close(request)
        return await eio_websocket.serve(sock, request)

    async def _relay(self, request: web.Request, sid: str, transport: str
                     ) -> Response | web.StreamResponse:
        """Forward a request for another node's session to that node (server/wire/relay.py).
        Unknown owners, bad MACs and requests that were relayed already are refused exactly
        like an unknown sid, so a forged sid never reaches any session."""
        relay = self.relay
        peer = None
        if relay is not None and RELAY_HEADER not in request.headers:
            peer = await relay.owner(sid)
        if relay is None or peer is None:
            return self._bad("Session ID unknown")
        if request.method not in ("GET", "POST"):
            return self._bad("Bad request method")
        try:
            if transport == "websocket":
                return await relay.websocket(request, peer)
            op, body = OP_GET, b""
            if request.method == "POST":
                raw = await self._read(request)
                op, body = (OP_POST, raw) if raw is not None else (OP_POST_TOO_LARGE, b"")
            answer = await relay.call(request, peer, op, sid, body)
        except Refused as exc:
            return self._bad("Session ID unknown", exc.status)
        except RelayFailed as exc:
            self.faults.info("sid=%s relay failed: %s", sid, exc)
            return self._bad("Session owner unreachable")
        return self._response(answer.status, answer.body, answer.content_type)

    async def _read(self, request: web.Request) -> bytes | None:
        """A POST's whole body; None when it is over maxPayload."""
        try:
            return await eio_codec.read_body(request, self.max_http_buffer_size)
        except eio_codec.BodyTooLarge:
            return None

    async def _post(self, sock: HuddleSocket, body: bytes | None) -> Response:
        if body is None:
            self.faults.info("sid=%s POST over %s bytes; closing", sock.sid,
                             self.max_http_buffer_size)
            await sock.close(wait=False, abort=True, reason=self.reason.TRANSPORT_ERROR)
            return self._bad("Payload too large", 413)
        try:
            packets = eio_codec.decode_payload(body)
        except eio_codec.InvalidPacket as exc:
            self.faults.info("sid=%s invalid POST: %s; closing", sock.sid, exc)
            await sock.close(wait=False, abort=True, reason=self.reason.TRANSPORT_ERROR)
            return self._bad("Invalid packet")
        await sock.handle_post(packets)
        return self._ok()

    def _leftovers(self, sock: HuddleSocket, method: str) -> Response:
        """A polling session closed by the server (still lingering in ``sockets``) owes its
        client the queued packets, ending with CLOSE; one GET collects them."""
        self.forget(sock.sid)
        packets = []
        while method == "GET" and not sock.queue.empty():
            pkt = sock.queue.get_nowait()
            if pkt is not None:
                packets.append(pkt)
        return self._ok(packets) if packets else self._bad("Session ID unknown")

    async def _handle_connect(self, environ: dict[str, Any], transport: str,
                              jsonp_index: Any = None) -> Response | web.StreamResponse:
        sid = self.sids.new()
        sock = HuddleSocket(self, sid)
        self.sockets[sid] = sock
        await sock.send(eio_packet.Packet(eio_packet.OPEN, {
            "sid": sid,
            "upgrades": self._upgrades(sid, transport),
            # Milliseconds, rounded: the library truncates seconds first (300 ms -> 0).
            "pingInterval": round((self.ping_interval + self.ping_interval_grace_period) * 1000),
            "pingTimeout": round(self.ping_timeout * 1000),
            "maxPayload": self.max_http_buffer_size,
        }))
        ret = await self._trigger_event("connect", sid, environ, run_async=False)
        if ret is not None and ret is not True:
            self.forget(sid)
            return self._unauthorized(ret or None)  # type: ignore[no-any-return]
        sock.start_heartbeat()
        if transport == "websocket":
            return await eio_websocket.serve(sock, environ["aiohttp.request"])
        sock.connected = True
        packets = await sock.handle_poll()
        return self._ok(packets) if packets is not None else self._bad("Session closed")

    def _compress(self, r: Response, environ: dict[str, Any]) -> Response:
        if not self.http_compression or len(r["response"]) < self.compression_threshold:
            return r
        accepted = [e.split(";")[0].strip()
                    for e in environ.get("HTTP_ACCEPT_ENCODING", "").split(",")]
        for encoding in accepted:
            if encoding in self.compression_methods:
                r["response"] = getattr(self, "_" + encoding)(r["response"])
                r["headers"] += [("Content-Encoding", encoding)]
                break
        return r

    async def shutdown(self) -> None:
        for sock in list(self.sockets.values()):
            await sock.close(wait=False, abort=False, reason=self.reason.SERVER_DISCONNECT)
        self.sockets.clear()

    async def disconnect(self, sid: str | None = None) -> None:
        """Close one session (or all); never waits for a client to collect its packets."""
        if sid is None:
            await self.shutdown()
            return
        sock = self.sockets.get(sid)
        if sock is not None:
            await sock.close(wait=False, abort=False, reason=self.reason.SERVER_DISCONNECT)
