"""Server-to-client WebSocket frames (RFC 6455, unmasked, no extensions), built once per packet.

A broadcast hands the same Engine.IO packet object to every recipient, so the frame bytes are
cached on it: the UTF-8 encoding and the header are computed once per broadcast, and each
recipient costs one ``transport.write`` (what Node's ``ws`` does with a pre-built frame).
"""

from __future__ import annotations

import struct

from engineio import packet as eio_packet

OP_TEXT, OP_BINARY = 0x1, 0x2
_CACHE = "_huddle_ws_frame"
_LEN2 = struct.Struct("!BBH").pack
_LEN8 = struct.Struct("!BBQ").pack


def header(opcode: int, length: int) -> bytes:
    first = 0x80 | opcode  # FIN, no RSV bits: permessage-deflate frames never take this path
    if length < 126:
        return bytes((first, length))
    if length < 65536:
        return _LEN2(first, 126, length)
    return _LEN8(first, 127, length)


def text_frame(text: str) -> bytes:
    payload = text.encode("utf-8")
    return header(OP_TEXT, len(payload)) + payload


def build(pkt: eio_packet.Packet) -> bytes:
    if pkt.binary:
        payload = bytes(pkt.data)
        return header(OP_BINARY, len(payload)) + payload
    return text_frame(str(pkt.encode()))


def frame(pkt: eio_packet.Packet) -> bytes:
    """The complete frame for ``pkt``, built on first use and then reused."""
    cached: bytes | None = pkt.__dict__.get(_CACHE)
    if cached is None:
        cached = build(pkt)
        setattr(pkt, _CACHE, cached)
    return cached
