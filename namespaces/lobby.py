"""The game-lobby protocol on ``/``, wire-compatible with Motion Beat frontends."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from namespaces.acks import Done, MessageAck, RoomAck, RoomsAck
from namespaces.dispatch import EventNamespace, Payload, event
from namespaces.outbound import ServerEvent
from schemas import CreateRoom, JoinRoom, LeaveRoom, ListRooms, Ready, SendMessage, StartGame
from server.cluster.registry import NodeRegistry
from server.lobby.rules import Room
from server.lobby.service import DOMAIN, Joined, Left, LobbyService
from server.lobby.views import GameStart, LobbyMessage, PlayerView

logger = logging.getLogger(__name__)

# What the server emits on /, each to the room's fan-out room. Broadcasts for a room are
# emitted before the ack of the event that caused them.
PLAYERS = ServerEvent("players{code}", list[PlayerView],
                      "the room's players in join order: on join, ready, leave, disconnect")
ALL_READY = ServerEvent("allReady", bool,
                        "whether the game may start (>= 2 players, every non-host ready), "
                        "whenever it may have changed: a non-host joined (false), ready, leave, "
                        "disconnect")
MESSAGE = ServerEvent("message", LobbyMessage, "a sendMessage, to the room, sender included")
GAME_START = ServerEvent("gameStart", GameStart, "startGame, to the room")


def fanout_room(code: str) -> str:
    """The Socket.IO room used only to fan out a lobby's broadcasts."""
    return f"lobby:{code}"


class LobbyNamespace(EventNamespace):
    server_events: ClassVar[tuple[ServerEvent[Any], ...]] = (
        PLAYERS, ALL_READY, MESSAGE, GAME_START)

    def __init__(
        self, namespace: str, *, lobby: LobbyService, cluster: NodeRegistry | None = None
    ) -> None:
        super().__init__(namespace)
        self.lobby = lobby
        self.cluster = cluster
        if cluster is not None:
            cluster.on_dead_member(DOMAIN, self.remove_member)
            cluster.on_dead_node(self.remove_node)

    @event("createRoom", CreateRoom)
    async def create_room(self, sid: str, data: Payload) -> RoomAck:
        """CreateRoom -> ``{ok, room}``; the creator is the host and first player."""
        joined = await self.lobby.create_room(
            sid, data["nickname"], data["title"], data["max_players"]
        )
        await self._seat(sid, joined)
        return {"ok": True, "room": joined.view}

    @event("joinRoom", JoinRoom)
    async def join_room(self, sid: str, data: Payload) -> RoomAck:
        """JoinRoom -> ``{ok, room}``; emits ``players<code>`` and ``allReady`` to the room."""
        joined = await self.lobby.join_room(sid, data["nickname"], data["code"])
        await self._seat(sid, joined)
        return {"ok": True, "room": joined.view}

    @event("ready", Ready)
    async def ready(self, sid: str, data: Payload) -> Done:
        """Ready -> ``{ok}``; emits ``players<code>`` and ``allReady`` to the room."""
        room = await self.lobby.set_ready(sid, data["ready"])
        await self._announce(room)
        return {"ok": True}

    @event("sendMessage", SendMessage)
    async def send_message(self, sid: str, data: Payload) -> MessageAck:
        """SendMessage -> ``{ok, message}``; emits ``message`` to the room, sender included."""
        message = await self.lobby.send_message(sid, data["message"])
        await MESSAGE.emit(self, message, room=fanout_room(message["code"]))
        return {"ok": True, "message": message}

    @event("startGame", StartGame)
    async def start_game(self, sid: str, data: Payload) -> Done:
        """StartGame -> ``{ok}``; emits ``gameStart {code, startedAt}`` to the room."""
        room = await self.lobby.start_game(sid)
        await GAME_START.emit(self, room.game_start(), room=fanout_room(room.code))
        return {"ok": True}

    @event("leaveRoom", LeaveRoom)
    async def quit_room(self, sid: str, data: Payload) -> Done:
        """LeaveRoom -> ``{ok}``; emits ``players<code>`` and ``allReady`` to those who remain."""
        left = await self.lobby.leave_room(sid)
        await self._after_leave(sid, left)
        return {"ok": True}

    @event("listRooms", ListRooms)
    async def list_rooms(self, sid: str, data: Payload) -> RoomsAck:
        """ListRooms -> ``{ok, rooms: [{code, title, players, maxPlayers, started}]}``."""
        return {"ok": True, "rooms": await self.lobby.list_rooms()}

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        """A disconnect counts as a leave."""
        try:
            await self.remove_member(sid)
        except Exception:
            logger.exception("leave on disconnect failed for sid=%s ns=%s", sid, self.namespace)
            if self.cluster is not None:
                self.cluster.defer(DOMAIN, sid)  # retried on the next heartbeat tick

    async def remove_member(self, member: str) -> None:
        """Unseat a gone connection (this node's, or a dead node's) and tell the room."""
        left = await self.lobby.disconnect(member)
        if left is not None and left.room is not None:
            await self._announce(left.room)

    async def remove_node(self, node: str) -> None:
        """Unseat whatever a dead node left behind untracked, and tell the rooms."""
        for left in await self.lobby.remove_node(node):
            if left.room is not None:
                await self._announce(left.room)

    # -- fan-out -------------------------------------------------------------------------
    async def _seat(self, sid: str, joined: Joined) -> None:
        if joined.previous is not None:
            await self._after_leave(sid, joined.previous)
        if joined.rejoined:
            return
        room = joined.room
        await self.enter_room(sid, fanout_room(room.code))
        await PLAYERS.named(code=room.code).emit(self, room.player_views(),
                                                 room=fanout_room(room.code))
        if room.host != sid:
            await ALL_READY.emit(self, room.all_ready(), room=fanout_room(room.code))

    async def _after_leave(self, sid: str, left: Left) -> None:
        # Not the leaveRoom handler (that is quit_room): the base class's fan-out room exit.
        await self.leave_room(sid, fanout_room(left.code))
        if left.room is not None:
            await self._announce(left.room)

    async def _announce(self, room: Room) -> None:
        await PLAYERS.named(code=room.code).emit(self, room.player_views(),
                                                 room=fanout_room(room.code))
        await ALL_READY.emit(self, room.all_ready(), room=fanout_room(room.code))
