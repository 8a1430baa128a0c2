"""The broadcast fast path: one encoding per emit, a synchronous hand-off per recipient.

python-socketio's ``AsyncManager.emit`` encodes a callback-less emit once, then creates one
asyncio task per recipient and waits for all of them. ``FastEmit`` keeps the single encoding and
hands the same Engine.IO packet objects to each recipient's HuddleSocket in a plain loop
(``HuddleSocketServer.deliver``): no task, no await per recipient. A WebSocket recipient writes
the frame (built once, cached on the packet) straight to its transport; a polling recipient
queues it. Per-socket order is the order of the calls, and the per-session byte cap still closes
a consumer that stopped reading.

Mix it in below a pub/sub manager (``class RedisFanout(AsyncRedisManager, FastEmit)``): the
pub/sub ``emit`` still publishes, and its local delivery (``super().emit`` in ``_handle_emit``)
lands here. Emits with a callback need a packet per recipient and keep the library's path.
"""

from __future__ import annotations

from typing import Any, Protocol

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet


class Deliverer(Protocol):
    async def deliver(self, eio_sids: list[str], pkts: list[eio_packet.Packet]) -> None: ...


class FastEmit(socketio.AsyncManager):  # type: ignore[misc]
    # Broadcasts that took the fast path; tests read it to prove the path is taken.
    fast_emits: int = 0

    async def emit(  # noqa: PLR0917 - the signature of AsyncManager.emit
        self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
        callback: Any = None, to: Any = None, **kwargs: Any
    ) -> None:
        server = self.server
        if callback is not None or not hasattr(server, "deliver"):
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                               callback=callback, to=to, **kwargs)
            return
        room = to or room
        if namespace not in self.rooms:
            return
        # Same argument rules as AsyncManager.emit: a tuple is several arguments.
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = server.packet_class(sio_packet.EVENT, namespace=namespace,
                                      data=[event, *args]).encode()
        parts = encoded if isinstance(encoded, list) else [encoded]
        pkts = [eio_packet.Packet(eio_packet.MESSAGE, part) for part in parts]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        eio_sids = [eio_sid for sid, eio_sid in self.get_participants(namespace, room)
                    if sid not in skip]
        self.fast_emits += 1
        if eio_sids:
            await self._deliverer().deliver(eio_sids, pkts)

    def _deliverer(self) -> Deliverer:
        server: Deliverer = self.server
        return server
