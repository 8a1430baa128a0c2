"""Engine.IO v4 packet and payload codec, strict about what a client may send.

python-engineio's Packet is reused for the packet objects; decoding is done here so that any
malformed input raises ``InvalidPacket`` (and closes the session) instead of an arbitrary
exception deep in a handler.
"""

from __future__ import annotations

import base64
import binascii

from aiohttp import web
from engineio import packet as eio_packet

SEPARATOR = "\x1e"
# What a client may send after the handshake. OPEN and NOOP are server-to-client only; a PING
# from an EIO=4 client has the heartbeat backwards (Node closes on it too). The upgrade probe
# is read by the WebSocket upgrade itself, not through here.
CLIENT_TYPES = frozenset({eio_packet.CLOSE, eio_packet.PONG, eio_packet.MESSAGE})


class InvalidPacket(ValueError):
    """The client sent something that is not an Engine.IO v4 packet it may send."""


class BodyTooLarge(ValueError):
    """A POST body is larger than maxPayload."""


def decode_text(text: str, *, allowed: frozenset[int] = CLIENT_TYPES) -> eio_packet.Packet:
    if not text:
        raise InvalidPacket("empty packet")
    if text[0] == "b":
        try:
            data = base64.b64decode(text[1:], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidPacket("bad base64 binary packet") from None
        return eio_packet.Packet(eio_packet.MESSAGE, data=data)
    if not text[0].isdigit() or int(text[0]) not in allowed:
        raise InvalidPacket(f"packet type {text[0]!r} not allowed from a client")
    # Message data stays a string: it is the Socket.IO packet, which has its own parser.
    return eio_packet.Packet(int(text[0]), data=text[1:] or None)


def decode_frame(data: str | bytes, *, allowed: frozenset[int] = CLIENT_TYPES
                 ) -> eio_packet.Packet:
    if isinstance(data, bytes):
        return eio_packet.Packet(eio_packet.MESSAGE, data=data)
    return decode_text(data, allowed=allowed)


def decode_payload(body: bytes) -> list[eio_packet.Packet]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidPacket("payload is not UTF-8") from None
    return [decode_text(part) for part in text.split(SEPARATOR)]


def encode_for_ws(pkt: eio_packet.Packet) -> str | bytes:
    if pkt.binary:
        return bytes(pkt.data)
    return str(pkt.encode())


def encode_payload(packets: list[eio_packet.Packet]) -> bytes:
    # Not Payload.encode(): Packet caches its first encoding, so a broadcast packet shared
    # with a WebSocket recipient would hand raw bytes to this text payload.
    parts = []
    for pkt in packets:
        if pkt.binary:
            parts.append("b" + base64.b64encode(pkt.data).decode("ascii"))
        else:
            parts.append(str(pkt.encode()))
    return SEPARATOR.join(parts).encode("utf-8")


def packet_size(pkt: eio_packet.Packet) -> int:
    data = pkt.data
    if isinstance(data, str | bytes | bytearray):
        return len(data) + 1
    return 64


async def read_body(request: web.BaseRequest, limit: int) -> bytes:
    """The whole body, however many TCP writes or chunks it took; BodyTooLarge past ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(f"{request.content_length} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"more than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
