"""Live updates for the Admin UI: what happens to this node's sockets, emitted to ``/admin``.

The protocol layer reports each step synchronously (server/wire/observers.py); the feed only
appends to a bounded queue, and one task emits from it, so a connection storm costs the hot
path an append each. Emits to ``/admin`` reach the admin clients of every node (through Redis
in a cluster). Every two seconds the task also emits this node's ``server_stats``.

Only while someone watches: a node whose admin clients are connected tells every node so
(``watch``, through the cluster bus) every two seconds, and when an admin connects, before its
socket list is gathered. With nobody watching anywhere, a report costs a counter increment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from server.admin.local import LocalSockets, iso
from server.tasks import cancel_and_wait
from server.wire.observers import ConnectionObserver

logger = logging.getLogger(__name__)

ADMIN_NAMESPACE = "/admin"
STATS_EVERY_S = 2.0
WATCH_S = 3 * STATS_EVERY_S  # a node reports for this long after the last "someone watches"
BACKLOG = 10_000  # updates waiting to be emitted; beyond this the oldest are dropped


class AdminFeed(ConnectionObserver):
    wants_rooms = True

    def __init__(self, local: LocalSockets) -> None:
        self.local = local
        self.sio = local.sio
        self._queue: deque[tuple[str, tuple[Any, ...]]] = deque(maxlen=BACKLOG)
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Totals since start, and what the last server_stats reported (for its deltas).
        self._totals = {"rawConnection": 0, "rawDisconnection": 0}
        self._reported: dict[str, int] = {}
        self.active = False  # someone watches: report and emit
        self._watched_until = 0.0
        # Tells every node that this node has admin clients (set by AdminService).
        self.announce: Callable[[], Awaitable[None]] | None = None

    def watch(self) -> None:
        """Somebody watches (an admin client on some node): report for the next WATCH_S."""
        self._watched_until = time.monotonic() + WATCH_S
        self.active = True

    # -- what the protocol layer reports ---------------------------------------------------
    def _push(self, kind: str, *args: Any) -> None:
        self._queue.append((kind, args))
        self._wakeup.set()

    def connected(self, sid: str, namespace: str, eio_sid: str) -> None:
        self._totals["rawConnection"] += 1
        if self.active:
            self._push("connected", sid, namespace, eio_sid, time.time())

    def disconnected(self, sid: str, namespace: str, reason: str) -> None:
        self._totals["rawDisconnection"] += 1
        if self.active:
            self._push("socket_disconnected", namespace, sid, reason, time.time())

    def upgraded(self, eio_sid: str) -> None:
        if self.active:
            self._push("upgraded", eio_sid)

    def room_joined(self, sid: str, namespace: str, room: str) -> None:
        if self.active:
            self._push("room_joined", namespace, room, sid, time.time())

    def room_left(self, sid: str, namespace: str, room: str) -> None:
        if self.active:
            self._push("room_left", namespace, room, sid, time.time())

    # -- the emitting task -----------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="admin-feed")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        next_stats = time.monotonic()
        while True:
            if time.monotonic() >= next_stats:
                next_stats = time.monotonic() + STATS_EVERY_S
                await self._tick()
            while self._queue:
                kind, args = self._queue.popleft()
                await self._send(kind, args)
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), next_stats - time.monotonic())

    async def _tick(self) -> None:
        if self.announce is not None and self._watching_here():
            try:
                await self.announce()
            except Exception:
                logger.warning("admin feed: could not tell the other nodes that we watch")
        self.active = self._watched_until > time.monotonic()
        stats = self.local.stats(self._aggregated())
        if self.active:
            await self._emit_quietly("server_stats", stats)
        else:
            self._queue.clear()

    def _watching_here(self) -> bool:
        return next(iter(self.sio.manager.get_participants(ADMIN_NAMESPACE, None)), None) \
            is not None

    async def _send(self, kind: str, args: tuple[Any, ...]) -> None:
        if kind == "connected":
            sid, namespace, eio_sid, at = args
            described = await self.local.describe(sid, namespace, eio_sid)
            if described is not None:
                await self._emit_quietly("socket_connected", described, iso(at))
        elif kind == "upgraded":
            (eio_sid,) = args
            for namespace in list(self.sio.manager.get_namespaces()):
                sid = self.sio.manager.sid_from_eio_sid(eio_sid, namespace)
                if sid is not None:
                    update = {"id": sid, "nsp": namespace, "transport": "websocket"}
                    await self._emit_quietly("socket_updated", update)
        else:
            *rest, at = args
            await self._emit_quietly(kind, *rest, iso(at))

    async def _emit_quietly(self, event: str, *args: Any) -> None:
        try:
            await self.sio.emit(event, args, namespace=ADMIN_NAMESPACE)
        except Exception:
            logger.exception("admin feed: emitting %s failed", event)

    def _aggregated(self) -> list[dict[str, Any]]:
        """What happened since the last server_stats, as the UI's dashboard charts it."""
        wire = self.sio.stats
        totals = {**self._totals, "packetsOut": wire.packets_out, "bytesOut": wire.bytes_out}
        now_ms = int(time.time()) * 1000
        events = []
        for kind, total in totals.items():
            count = total - self._reported.get(kind, 0)
            if count > 0:
                events.append({"timestamp": now_ms, "type": kind, "count": count})
        self._reported = totals
        return events
