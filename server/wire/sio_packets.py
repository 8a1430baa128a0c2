"""Socket.IO packet classes under Huddle's JSON policy, and the checks on inbound packets."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from socketio import packet as sio_packet
from socketio.msgpack_packet import MsgPackPacket

from server.wire import jsonpolicy

# Names a client may never use for an event: they would run the server's lifecycle handlers
# with attacker-chosen arguments (Node's socket.io-parser refuses the same set).
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting",
                             "newListener", "removeListener"})


class ProtocolFault(ValueError):
    """An inbound Socket.IO packet that no conforming client sends."""


class HuddlePacket(sio_packet.Packet):  # type: ignore[misc]
    json: ModuleType = jsonpolicy
    # jsonpolicy.loads already refuses non-finite numbers: validate() need not walk the data.
    decodes_finite = True

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        """Same answer as the library's, short-circuiting (it builds a list at every level)."""
        return _has_binary(data)


class HuddleMsgPackPacket(MsgPackPacket):  # type: ignore[misc]
    json: ModuleType = jsonpolicy
    decodes_finite = False  # msgpack carries NaN and Infinity natively

    def encode(self) -> Any:
        jsonpolicy.check_finite(self.data)
        return super().encode()


def validate(pkt: Any, max_attachments: int) -> None:
    """Raise ProtocolFault unless ``pkt`` has the shape the spec allows for its type."""
    kind, data = pkt.packet_type, pkt.data
    if not isinstance(kind, int) or isinstance(kind, bool):
        raise ProtocolFault("packet type is not a number")
    if pkt.namespace is not None and not isinstance(pkt.namespace, str):
        raise ProtocolFault("namespace is not a string")
    if kind == sio_packet.CONNECT:
        # Node's parser insists on an object here; Python clients may send any JSON as auth, and
        # each namespace's connect handler validates it (refusing with connect_error data).
        pass
    elif kind == sio_packet.DISCONNECT:
        if data is not None:
            raise ProtocolFault("DISCONNECT carries no payload")
    elif kind in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
        _check_event(data)
    elif kind in (sio_packet.ACK, sio_packet.BINARY_ACK):
        if not isinstance(data, list) or pkt.id is None:
            raise ProtocolFault("ACK needs an id and an array")
    else:
        raise ProtocolFault(f"packet type {kind} is not sent by clients")
    if kind in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK):
        count = getattr(pkt, "attachment_count", 0)
        if not 1 <= count <= max_attachments:
            raise ProtocolFault(f"{count} binary attachments (at most {max_attachments})")
    if not getattr(pkt, "decodes_finite", False):
        jsonpolicy.check_finite(data)


def _has_binary(data: Any) -> bool:
    if isinstance(data, bytes | bytearray):
        return True
    if isinstance(data, dict):
        data = data.values()
    elif not isinstance(data, list):
        return False
    for item in data:  # noqa: SIM110 - a loop is cheaper than any(<genexpr>) on small payloads
        if _has_binary(item):
            return True
    return False


def _check_event(data: Any) -> None:
    if not isinstance(data, list) or not data:
        raise ProtocolFault("EVENT payload must be a non-empty array")
    name = data[0]
    if isinstance(name, bool) or not isinstance(name, str | int):
        raise ProtocolFault("event name must be a string")
    if name in RESERVED_EVENTS:
        raise ProtocolFault(f"{name!r} is a reserved event name")
