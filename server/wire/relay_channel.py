"""The channel that carries relayed polling requests between two nodes.

One WebSocket per (owner node, Engine.IO path), opened by the relaying node on the owner's own
Engine.IO route with ``transport=huddle-relay`` and kept open. Requests and answers are binary
frames matched by a correlation id, so any number of long polls share it:

    request:  op (1 byte) | id (4) | sid (36 ASCII) | POST body
    answer:   id (4) | HTTP status (2) | content type (1: 0 text, 1 JSON) | body

Compared with one HTTP request per relayed request, this saves the HTTP client on the relaying
node and the HTTP server on the owner (docs/benchmarks.md has the numbers), and the owner learns
at once when a relaying node goes away: the channel closes, and the polls it carried end
without taking anything from the session's queue.

Opening a channel needs ``X-Huddle-Relay-Auth``, an HMAC with the owner's key (which only the
directory, i.e. the store, hands out) over both tags; anyone else is refused with 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import logging
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

logger = logging.getLogger(__name__)

CHANNEL_TRANSPORT = "huddle-relay"
AUTH_HEADER = "X-Huddle-Relay-Auth"
OP_GET, OP_POST, OP_POST_TOO_LARGE, OP_END_POLL = 1, 2, 3, 4
_REQUEST = struct.Struct("!BI")
_ANSWER = struct.Struct("!IHB")
SID_BYTES = 36
CONTENT_TYPES = ("text/plain; charset=UTF-8", "application/json")
HEARTBEAT_S = 5.0  # WebSocket pings: a half-open channel is closed within two of these
# What one channel may hold in request bodies not answered yet, on the owner's side.
MAX_PENDING_BYTES = 32_000_000

# The owner's side: (op, sid, body) -> the answer, as the engine builds it for HTTP.
Handler = Callable[[int, str, bytes], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Relayed:
    """The owner's answer to a relayed polling request."""

    status: int
    content_type: str
    body: bytes


class ChannelClosed(ConnectionError):
    """The channel went away before the owner answered."""


def channel_token(owner_key: bytes, relay_tag: str, owner_tag: str) -> str:
    message = f"huddle-relay-channel:{relay_tag}:{owner_tag}".encode("ascii")
    return hmac.new(owner_key, message, hashlib.sha256).hexdigest()


class Channel:
    """The relaying node's end: send a request, wait for its answer."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Relayed]] = {}
        self._reader = asyncio.create_task(self._read(), name="relay-channel-reader")

    @property
    def open(self) -> bool:
        return not self.ws.closed and not self._reader.done()

    async def call(self, op: int, sid: str, body: bytes, timeout_s: float) -> Relayed:
        """Raises ChannelClosed, or TimeoutError after ``timeout_s``."""
        ident = next(self._ids) & 0xFFFFFFFF
        answer: asyncio.Future[Relayed] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = answer
        try:
            async with asyncio.timeout(timeout_s):
                await self.ws.send_bytes(_REQUEST.pack(op, ident) + sid.encode("ascii") + body)
                return await answer
        except (ConnectionError, RuntimeError) as exc:
            raise ChannelClosed(str(exc)) from None
        finally:
            self._waiting.pop(ident, None)

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY or len(msg.data) < _ANSWER.size:
                    break
                ident, status, kind = _ANSWER.unpack_from(msg.data)
                answer = self._waiting.get(ident)
                if answer is not None and not answer.done():
                    answer.set_result(Relayed(status, CONTENT_TYPES[kind & 1],
                                              msg.data[_ANSWER.size:]))
        finally:
            for answer in self._waiting.values():
                if not answer.done():
                    answer.set_exception(ChannelClosed("relay channel closed"))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def serve_channel(request: web.Request, *, key: bytes, tag: str,
                        handle: Handler) -> web.StreamResponse:
    """The owner's end: authenticate, then answer each request from its own task. Polls still
    waiting when the channel closes are cancelled (they take nothing from the queue); POSTs run
    to completion, since the packets may already be half delivered."""
    relay_tag = request.headers.get("X-Huddle-Relay", "")
    token = request.headers.get(AUTH_HEADER, "")
    if not hmac.compare_digest(token, channel_token(key, relay_tag, tag)):
        return web.Response(status=403, text="relay channel refused")
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=0)
    await ws.prepare(request)
    server = _ChannelServer(ws, handle)
    try:
        await server.run()
    finally:
        server.stop_polls()
    return ws


class _ChannelServer:
    def __init__(self, ws: web.WebSocketResponse, handle: Handler) -> None:
        self.ws, self.handle = ws, handle
        self.polls: set[asyncio.Task[None]] = set()
        self.posts: set[asyncio.Task[None]] = set()
        self.pending_bytes = 0

    async def run(self) -> None:
        async for msg in self.ws:
            if msg.type != WSMsgType.BINARY or len(msg.data) < _REQUEST.size + SID_BYTES:
                return
            op, ident = _REQUEST.unpack_from(msg.data)
            start = _REQUEST.size
            sid = msg.data[start:start + SID_BYTES].decode("ascii", "replace")
            body = msg.data[start + SID_BYTES:]
            if self.pending_bytes + len(body) > MAX_PENDING_BYTES:
                await self._answer(ident, {"status": "503 X", "headers": [],
                                           "response": b"relay channel overloaded"})
                continue
            tasks = self.polls if op == OP_GET else self.posts
            task = asyncio.create_task(self._serve(op, ident, sid, body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _serve(self, op: int, ident: int, sid: str, body: bytes) -> None:
        self.pending_bytes += len(body)
        try:
            answer = await self.handle(op, sid, body)
        except Exception:
            logger.exception("relayed request for sid=%s failed", sid)
            answer = {"status": "500 X", "headers": [], "response": b""}
        finally:
            self.pending_bytes -= len(body)
        await self._answer(ident, answer)

    async def _answer(self, ident: int, answer: dict[str, Any]) -> None:
        status = int(str(answer["status"]).split(" ", 1)[0])
        kind = int(any("json" in str(v) for k, v in answer["headers"] if k == "Content-Type"))
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_bytes(_ANSWER.pack(ident, status, kind) + answer["response"])

    def stop_polls(self) -> None:
        for task in list(self.polls):
            task.cancel()
