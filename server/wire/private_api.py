"""Every private python-engineio / python-socketio name Huddle's wire layer relies on.

pyproject pins python-socketio>=5.18,<5.19 and python-engineio>=4.15,<4.16, the versions this
was written against; tests/test_wire_private_api.py fails if any of these names, their
signatures, or the call paths noted below change underneath us.
"""

from __future__ import annotations

SUPPORTED = {"python-engineio": "4.15.", "python-socketio": "5.18.", "aiohttp": "3.14."}

# (import path of the owner, attribute, the parameters we call it with or None if not callable)
ATTRIBUTES: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("engineio.AsyncServer", "_make_response", ("response_dict", "environ")),
    ("engineio.AsyncServer", "_trigger_event", ("event",)),
    ("engineio.AsyncServer", "_cors_allowed_origins", ("environ",)),
    ("engineio.AsyncServer", "_upgrades", ("sid", "transport")),
    ("engineio.AsyncServer", "_unauthorized", ("message",)),
    ("engineio.AsyncServer", "_gzip", ("response",)),
    ("engineio.AsyncServer", "_deflate", ("response",)),
    ("engineio.AsyncServer", "_handle_connect", ("environ", "transport", "jsonp_index")),
    ("engineio.AsyncServer", "compression_methods", None),
    ("engineio.async_socket.AsyncSocket", "__init__", ("server", "sid")),
    ("socketio.AsyncServer", "_engineio_server_class", ()),
    ("socketio.AsyncServer", "_send_packet", ("eio_sid", "pkt")),
    ("socketio.AsyncServer", "_send_eio_packet", ("eio_sid", "eio_pkt")),
    ("socketio.AsyncServer", "_handle_connect", ("eio_sid", "namespace", "data")),
    ("socketio.AsyncServer", "_handle_disconnect", ("eio_sid", "namespace", "reason")),
    ("socketio.AsyncServer", "_handle_event", ("eio_sid", "namespace", "id", "data")),
    ("socketio.AsyncServer", "_handle_ack", ("eio_sid", "namespace", "id", "data")),
    ("socketio.AsyncServer", "_handle_eio_message", ("eio_sid", "data")),
    ("socketio.AsyncServer", "_handle_eio_disconnect", ("eio_sid", "reason")),
    # Every namespace disconnect (client, transport, kick) runs its handler through this; the
    # connection lifecycle (server/wire/lifecycle.py) closes the Connection there, and the
    # observers (server/wire/observers.py) hear of it.
    ("socketio.AsyncServer", "_trigger_event", ("event", "namespace")),
    ("socketio.packet.Packet", "add_attachment", ("attachment",)),
    ("socketio.packet.Packet", "json", None),
    ("socketio.msgpack_packet.MsgPackPacket", "uses_binary_events", None),
    ("socketio.base_manager.BaseManager", "eio_sid_from_sid", ("sid", "namespace")),
    ("socketio.base_manager.BaseManager", "sid_from_eio_sid", ("eio_sid", "namespace")),
    # FastEmit (server/wire/broadcast.py) overrides emit with the same parameters and reads
    # the room through get_participants.
    ("socketio.async_manager.AsyncManager", "emit",
     ("event", "data", "namespace", "room", "skip_sid", "callback", "to")),
    ("socketio.base_manager.BaseManager", "get_participants", ("namespace", "room")),
    # The inbound fast path (server/wire/ws_inbound.py): aiohttp's parser calls the queue's
    # feed_data for every message; our subclass overrides it and reads _buffer.
    ("aiohttp._websocket.reader.WebSocketDataQueue", "feed_data", ("data", "size")),
    ("aiohttp._websocket.reader.WebSocketDataQueue", "_buffer", None),
    ("aiohttp.web_ws.WebSocketResponse", "_post_start", ("request", "protocol", "writer")),
    ("aiohttp.web_ws.WebSocketResponse", "_reset_heartbeat", ()),
    ("aiohttp.web_ws.WebSocketResponse", "_on_data_received", ()),
)

# Methods copied into a Huddle subclass, with the sha256 of the library's source they were
# copied from: any change to it fails tests/test_wire_private_api.py until the copy is re-read.
COPIED = (
    # HuddleWebSocketResponse._post_start swaps in InboundQueue (server/wire/ws_inbound.py).
    ("aiohttp.web_ws", "WebSocketResponse._post_start",
     "5537cb3f2ecae6ed9f4d27d6d9255adb414e81efcc4d23ede6bacd762d56ed93"),
)

# Instance state read or written, set in these constructors.
INSTANCE_STATE = {
    "engineio.AsyncServer": ("_async", "sockets", "reason", "ping_interval_grace_period",
                             "transports", "cors_allowed_origins", "http_compression",
                             "compression_threshold", "max_http_buffer_size", "handlers"),
    "engineio.async_socket.AsyncSocket": ("queue", "connected", "upgrading", "upgraded",
                                          "closing", "closed"),
    "socketio.AsyncServer": ("_binary_packet", "environ", "packet_class", "manager"),
    "socketio.base_manager.BaseManager": ("rooms", "server"),
}

# Call paths our overrides depend on: (module, function, text its source must contain).
CALL_PATHS = (
    # Room emits reach clients through _send_eio_packet (held while a client connects).
    ("socketio.async_manager", "AsyncManager.emit", "self.server._send_eio_packet("),
    # The constructor builds the engine through our _engineio_server_class override.
    ("socketio.base_server", "BaseServer.__init__", "self._engineio_server_class()("),
    # Client DISCONNECTs and server kicks run the disconnect handler via _trigger_event.
    ("socketio.async_server", "AsyncServer._handle_disconnect",
     "await self._trigger_event('disconnect', namespace, sid,"),
    ("socketio.async_server", "AsyncServer.disconnect",
     "await self._trigger_event('disconnect', namespace, sid,"),
    # The CONNECT ack and refusals go through _send_packet (never held).
    ("socketio.async_server", "AsyncServer._handle_connect", "await self._send_packet("),
    # A pub/sub emit is delivered locally (and on every other node) by _handle_emit through
    # super().emit, which is FastEmit.emit in RedisFanout's MRO.
    ("socketio.async_pubsub_manager", "AsyncPubSubManager.emit",
     "await self._handle_emit(message)"),
    ("socketio.async_pubsub_manager", "AsyncPubSubManager._handle_emit", "await super().emit("),
    # Direct frame writes (HuddleSocket.offer) are ordered with aiohttp's own writes only
    # because aiohttp writes an uncompressed frame synchronously, without its send lock.
    ("aiohttp._websocket.writer", "WebSocketWriter.send_frame",
     "self._write_websocket_frame(message, opcode, 0)"),
)
