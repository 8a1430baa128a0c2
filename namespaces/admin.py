"""The Socket.IO Admin UI's namespace, ``/admin``: its 0.5 protocol, served cluster-wide.

On connect (auth ``{username, password}`` or ``{sessionId}``) the UI gets ``session`` (after a
password login), ``config {supportedFeatures}`` and ``all_sockets`` (every node's sockets);
``server_stats`` and the live updates come from every node's feed (server/admin/feed.py).
Commands apply to the matching sockets of every node and are refused in read-only mode.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar, TypedDict

import socketio

from namespaces.acks import Done, SocketsAck
from namespaces.dispatch import EventNamespace, Payload, event
from namespaces.outbound import ServerEvent
from schemas.admin import AdminDisconnect, AdminEmit, AdminJoin, AdminLeave
from server.admin.service import AdminService
from server.errors import DomainError

logger = logging.getLogger(__name__)

# The UI sends positional arguments; they are named in this order before validation.
POSITIONAL: dict[str, tuple[str, ...]] = {
    "join": ("nsp", "room", "filter"),
    "leave": ("nsp", "room", "filter"),
    "_disconnect": ("nsp", "close", "filter"),
    "emit": ("nsp", "filter", "ev"),  # then the event's own arguments
}


def name_arguments(event_name: str, args: tuple[Any, ...]) -> Any:
    """``("/", "room1", None)`` -> ``{"nsp": "/", "room": "room1", "filter": None}``.

    A single object argument is taken as already named; extra arguments of ``emit`` become
    ``args``, and extra arguments of anything else are left for the schema to refuse.
    """
    if len(args) == 1 and isinstance(args[0], dict):
        return args[0]
    names = POSITIONAL[event_name]
    named: dict[str, Any] = dict(zip(names, args, strict=False))
    rest = list(args[len(names):])
    if event_name == "emit":
        named["args"] = rest
    elif rest:
        named["_extra"] = rest
    return named


class AdminConfig(TypedDict):
    supportedFeatures: list[str]


# What this namespace emits itself; server_stats and the live updates (socket_connected, ...)
# come from every node's feed (server/admin/feed.py). None of it is in the client contract.
SESSION = ServerEvent("session", str, "the admin socket, after a password login: its session id")
CONFIG = ServerEvent("config", AdminConfig, "the admin socket, on connect: the UI's features")
ALL_SOCKETS = ServerEvent("all_sockets", list[dict[str, Any]],
                          "the admin socket, on connect: the sockets of every node")


class AdminNamespace(EventNamespace):
    server_events: ClassVar[tuple[ServerEvent[Any], ...]] = (SESSION, CONFIG, ALL_SOCKETS)

    def __init__(self, namespace: str, *, admin: AdminService) -> None:
        super().__init__(namespace)
        self.admin = admin
        self._greetings: set[asyncio.Task[None]] = set()

    async def trigger_event(self, event_name: str, *args: Any) -> Any:
        if event_name in POSITIONAL:
            args = (args[0], name_arguments(event_name, args[1:]))
        return await super().trigger_event(event_name, *args)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Refused with connect_error ``invalid credentials`` (code ``unauthorized``).

        Emits ``session <id>`` after a password login, then ``config`` and ``all_sockets``.
        """
        try:
            session_id = await self.admin.login(auth)
        except DomainError as exc:
            logger.info("admin connect refused sid=%s from %s", sid, environ.get("REMOTE_ADDR"))
            refusal = socketio.exceptions.ConnectionRefusedError(exc.message,
                                                                 {"code": exc.code})
            refusal.error_args["code"] = exc.code
            raise refusal from None
        logger.info("admin connected sid=%s from %s", sid, environ.get("REMOTE_ADDR"))
        # Held until the CONNECT ack is out (server/wire/sio_server.py), so they follow it.
        if session_id is not None:
            await SESSION.emit(self, session_id, to=sid)
        await CONFIG.emit(self, {"supportedFeatures": self.admin.features()}, to=sid)
        task = asyncio.create_task(self._send_sockets(sid))
        self._greetings.add(task)
        task.add_done_callback(self._greetings.discard)

    async def _send_sockets(self, sid: str) -> None:
        try:
            await ALL_SOCKETS.emit(self, await self.admin.all_sockets(), to=sid)
        except Exception:
            logger.exception("admin: listing the cluster's sockets failed")

    @event("join", AdminJoin)
    async def join(self, sid: str, data: Payload) -> SocketsAck:
        """AdminJoin -> ``{ok, sockets}``: how many sockets joined, on every node."""
        count = await self.admin.command("join", data["nsp"], room=data["room"],
                                         filter=data["filter"])
        return {"ok": True, "sockets": count}

    @event("leave", AdminLeave)
    async def leave(self, sid: str, data: Payload) -> SocketsAck:
        """AdminLeave -> ``{ok, sockets}``: how many sockets left, on every node."""
        count = await self.admin.command("leave", data["nsp"], room=data["room"],
                                         filter=data["filter"])
        return {"ok": True, "sockets": count}

    @event("_disconnect", AdminDisconnect)
    async def disconnect_sockets(self, sid: str, data: Payload) -> SocketsAck:
        """AdminDisconnect -> ``{ok, sockets}``: how many were disconnected, on every node."""
        count = await self.admin.command("disconnect", data["nsp"], filter=data["filter"],
                                         close=data["close"])
        return {"ok": True, "sockets": count}

    @event("emit", AdminEmit)
    async def emit_event(self, sid: str, data: Payload) -> Done:
        """AdminEmit -> ``{ok}``; ``ev`` with ``args`` goes to the namespace (or room)."""
        await self.admin.send_event(data["nsp"], data["filter"], data["ev"], data["args"])
        return {"ok": True}
