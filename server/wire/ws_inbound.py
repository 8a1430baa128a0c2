"""Inbound WebSocket messages offered to the session as aiohttp parses them.

aiohttp's reader parses frames (in C) inside ``data_received`` and puts each message on a queue,
which wakes the task awaiting ``ws.receive()``. For an upgraded Engine.IO session that task
wake-up, ``receive()``'s bookkeeping and the packet objects built after it cost more than the
Socket.IO event itself. ``InboundQueue`` offers each text message to the session first
(``HuddleSocket.fast_receive``), still inside ``data_received``; what the session does not take
(control frames, binary, anything unusual) goes on the queue and through the full path as
before.

Order is kept: a message is offered only while the queue is empty and the session's reader is
idle, i.e. while nothing that arrived earlier is still waiting to be handled.

This module subclasses a class of aiohttp's private reader module and copies a private method:
it is imported only after server/private_api.py found that surface as expected (see
``HuddleEngineServer.configure``); otherwise WebSockets are plain aiohttp ones.
"""

from __future__ import annotations

from typing import Any, Protocol

from aiohttp import WSMsgType, web
from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader
from aiohttp.helpers import DEFAULT_CHUNK_SIZE

TEXT, CLOSE = WSMsgType.TEXT, WSMsgType.CLOSE


class InboundSession(Protocol):
    """What the queue needs from the session it feeds (a HuddleSocket)."""

    # True while the session's reader waits with nothing unhandled: only then may a message
    # be handled as it is parsed.
    inbound_idle: bool

    def fast_receive(self, text: str) -> bool:
        """Handle ``text`` now; False leaves it to the queue and the full path."""
        ...


class InboundQueue(WebSocketDataQueue):
    """aiohttp's message queue for one WebSocket, offering text messages to ``sock`` first."""

    __slots__ = ("sock",)  # no per-connection __dict__ (memory per idle WebSocket is a target)

    def __init__(self, protocol: Any, limit: int, *, loop: Any) -> None:
        super().__init__(protocol, limit, loop=loop)
        self.sock: InboundSession | None = None  # set once the session reads through this queue

    def feed_data(self, data: Any, size: int) -> None:
        sock = self.sock
        if (sock is not None and data[0] is TEXT and sock.inbound_idle and not self._buffer
                and sock.fast_receive(data[1])):
            return
        if data[0] is CLOSE:
            self.sock = None  # nothing after a close frame is the session's to handle
        super().feed_data(data, size)


class HuddleWebSocketResponse(web.WebSocketResponse):
    """A WebSocketResponse whose parser feeds an InboundQueue.

    ``_post_start`` is aiohttp's own (3.14), with the queue class swapped: the queue must exist
    before ``set_parser``, which already parses bytes that came with the upgrade request. The
    sha256 of aiohttp's source of it is in server/private_api.py: when it differs, the fast
    path is off.
    """

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        self._ws_protocol = protocol
        self._writer = writer
        self._reset_heartbeat()
        self._reader = InboundQueue(request.protocol, DEFAULT_CHUNK_SIZE, loop=self._loop)
        self._parser = WebSocketReader(self._reader, self._max_msg_size,
                                       compress=bool(self._compress),
                                       decode_text=self._decode_text)
        cb = None if self._heartbeat is None else self._on_data_received
        request.protocol.set_parser(self._parser, data_received_cb=cb)
        request.protocol.keep_alive(False)

    def feed(self, session: InboundSession | None) -> None:
        """Offer text messages to ``session`` as they are parsed (None: stop)."""
        reader = self._reader
        assert isinstance(reader, InboundQueue)
        reader.sock = session
