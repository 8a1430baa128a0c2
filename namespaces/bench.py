"""The benchmark protocol on ``/`` (``--profile bench``): the same wire as bench/node/server.mjs.

It runs on the production stack (engine, dispatch, validation) so the numbers are Huddle's.
"""

from __future__ import annotations

from namespaces.acks import Done
from namespaces.dispatch import EventNamespace, Payload, event
from schemas.bench import BenchBroadcast, BenchEcho, BenchJoin


class BenchNamespace(EventNamespace):
    @event("join", BenchJoin)
    async def join(self, sid: str, data: Payload) -> Done:
        """BenchJoin -> ``{ok}``."""
        await self.enter_room(sid, f"bench:{data['room']}")
        return {"ok": True}

    @event("broadcast", BenchBroadcast)
    async def broadcast(self, sid: str, data: Payload) -> Done:
        """BenchBroadcast -> ``{ok}`` after ``msg`` was emitted to the room."""
        await self.emit("msg", data["payload"], room=f"bench:{data['room']}")
        return {"ok": True}

    @event("echo", BenchEcho)
    async def echo(self, sid: str, data: Payload) -> Payload:
        """BenchEcho -> the payload itself (no envelope, as the Node reference answers)."""
        return data
