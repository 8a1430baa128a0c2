"""The common inbound case, decoded without packet objects: a text EVENT on a WebSocket.

``parse_event`` accepts exactly the frames for which python-socketio's decoder plus Huddle's
checks (``sio_packets.validate``) would produce an EVENT with a string event name, and returns
None for anything else, which then takes the full path (and its errors and refusals). The
agreement is tested frame by frame in tests/test_sio_fast.py.
"""

from __future__ import annotations

import re
from typing import Any

from server.wire import jsonpolicy
from server.wire.sio_packets import RESERVED_EVENTS

# "4" (Engine.IO MESSAGE), "2" (Socket.IO EVENT), an optional "/namespace," (no query string),
# an optional ack id of ASCII digits, then the JSON array.
_EVENT = re.compile(r"42(?:(/[^,?]*),)?([0-9]{1,15})?(?=\[)")


def parse_event(frame: str) -> tuple[str, int | None, list[Any]] | None:
    """(namespace, ack id, [name, *args]) of an Engine.IO message frame, or None."""
    match = _EVENT.match(frame)
    if match is None:
        return None
    namespace, ack_id = match.groups()
    try:
        data = jsonpolicy.loads(frame[match.end():])
    except Exception:  # the full path reports (and closes on) undecodable packets
        return None
    if type(data) is not list or not data:
        return None
    name = data[0]
    if type(name) is not str or name in RESERVED_EVENTS:
        return None
    return namespace or "/", None if ack_id is None else int(ack_id), data


def ack_frame(namespace: str, ack_id: int, args: list[Any]) -> str | None:
    """The Socket.IO ACK packet text (as ``Packet.encode`` writes it), or None if ``args``
    is not plain JSON: binary data (a BINARY_ACK) and every error are the packet class's."""
    try:
        body = jsonpolicy.dumps(args, separators=(",", ":"))
    except TypeError:  # bytes, or something JSON cannot carry: neither JSON encoder writes it
        return None
    prefix = "3" if namespace == "/" else f"3{namespace},"
    return f"{prefix}{ack_id}{body}"
