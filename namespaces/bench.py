"""The benchmark protocol on ``/`` (``--profile bench``): the same wire as bench/node/server.mjs.

It runs on the production stack (engine, dispatch, validation) so the numbers are Huddle's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from namespaces.acks import Done
from namespaces.dispatch import EventNamespace, Payload, event
from namespaces.outbound import ServerEvent
from schemas.bench import BenchBroadcast, BenchEcho, BenchJoin

MSG = ServerEvent("msg", dict[str, Any], "a broadcast's payload, to everyone in the room")


class BenchNamespace(EventNamespace):
    server_events: ClassVar[tuple[ServerEvent[Any], ...]] = (MSG,)

    @event("join", BenchJoin)
    async def join(self, sid: str, data: Payload) -> Done:
        """BenchJoin -> ``{ok}``."""
        await self.enter_room(sid, f"bench:{data['room']}")
        return {"ok": True}

    @event("broadcast", BenchBroadcast)
    async def broadcast(self, sid: str, data: Payload) -> Done:
        """BenchBroadcast -> ``{ok}`` after ``msg`` was emitted to the room."""
        await MSG.emit(self, data["payload"], room=f"bench:{data['room']}")
        return {"ok": True}

    @event("echo", BenchEcho)
    async def echo(self, sid: str, data: Payload) -> Payload:
        """BenchEcho -> the payload itself (no envelope, as the Node reference answers)."""
        return data
