"""What the protocol layer reports about connections, for metrics and the admin namespace.

``HuddleSocketServer`` calls every registered ``ConnectionObserver`` synchronously at each step
of a connection's life: when its ``lifecycle.Connection`` is born and when it ends, on a
refused connect and on an upgrade. With none registered (metrics and admin off) each step costs
one check of an empty list; room changes, which happen per event, are reported only to
observers that ask. Observers must be quick and must not raise: they count, or queue work.
"""

from __future__ import annotations


class ConnectionObserver:
    """Override what you need; every method is a no-op here."""

    wants_rooms = False  # True: room_joined / room_left are reported too

    def connected(self, sid: str, namespace: str, eio_sid: str) -> None:
        """``sid`` joined ``namespace`` (its CONNECT ack is on its way)."""

    def refused(self, namespace: str, code: str) -> None:
        """A connect to ``namespace`` was refused with ``code``."""

    def disconnected(self, sid: str, namespace: str, reason: str) -> None:
        """``sid`` left ``namespace``; ``reason`` is python-socketio's reason text."""

    def upgraded(self, eio_sid: str) -> None:
        """The Engine.IO session ``eio_sid`` moved from polling to WebSocket."""

    def room_joined(self, sid: str, namespace: str, room: str) -> None: ...

    def room_left(self, sid: str, namespace: str, room: str) -> None: ...


class WireStats:
    """Counters kept by the protocol layer (plain ints; server/metrics reads them)."""

    __slots__ = (
        "bytes_out",
        "flood_disconnects",
        "limited_acks",
        "limited_events",
        "packets_out",
    )

    def __init__(self) -> None:
        self.packets_out = 0  # Engine.IO packets written to a WebSocket or queued for a poll
        self.bytes_out = 0  # their size: WebSocket frames as written, polling packets encoded
        self.limited_events = 0  # inbound events refused by the per-connection rate limit
        self.limited_acks = 0  # of those, the ones answered with a rate_limited ack
        self.flood_disconnects = 0  # connections closed for flooding past the limit
