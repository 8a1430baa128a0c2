"""The lobby service: game rooms with seats, readiness, chat and a host. No Socket.IO here.

A connection is identified by an opaque ``member`` string (the namespace passes its sid).
Room truth lives in the store so that every node sees the same lobby.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from server.clock import iso_now
from server.cluster.registry import NodeRegistry
from server.errors import Conflict, NotInRoom, RoomNotFound
from server.lobby.rules import CODE_ALPHABET, CODE_LENGTH, Player, Room
from server.lobby.views import LobbyMessage, RoomSummary, RoomView
from server.store import Doc, Store

logger = logging.getLogger(__name__)

DOMAIN = "lobby"  # this service's name in the per-node connection index
ROOM_INDEX = "lobby:rooms"
MESSAGE_HISTORY = 50
CREATE_ATTEMPTS = 16


def room_key(code: str) -> str:
    return f"lobby:{code}"


def messages_key(code: str) -> str:
    return f"lobby:{code}:messages"


def membership_key(member: str) -> str:
    return f"conn:{member}:lobby"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True)
class Left:
    """A member left ``code``; ``room`` is what remains, or None when the room was deleted."""

    code: str
    room: Room | None


@dataclass(frozen=True)
class Joined:
    room: Room
    view: RoomView  # the room as the joiner's ack shows it, with recent messages
    previous: Left | None  # the room the member had to leave to join this one
    rejoined: bool = False  # the member was already seated here; nothing changed


class LobbyService:
    def __init__(
        self,
        store: Store,
        *,
        node_id: str = "",
        now: Callable[[], str] = iso_now,
        make_code: Callable[[], str] = new_code,
        registry: NodeRegistry | None = None,
    ) -> None:
        self._store = store
        self._node = node_id
        self._registry = registry
        self._now = now
        self._make_code = make_code

    # -- commands ------------------------------------------------------------------------
    async def create_room(
        self, member: str, nickname: str, title: str | None, max_players: int
    ) -> Joined:
        host = self._player(member, nickname)
        await self._track(member)
        for _ in range(CREATE_ATTEMPTS):
            code = self._make_code()
            room = Room(
                code=code,
                title=title or f"{nickname}'s room",
                max_players=max_players,
                host=member,
                created_at=host.joined_at,
                players=[host],
            )
            if await self._store.mutate(room_key(code), _create(room), index=(ROOM_INDEX, code)):
                previous = await self._leave_current(member)
                await self._remember(member, code)
                return Joined(room, await self.room_view(room), previous)
        raise Conflict("Could not allocate a room code; please retry.")

    async def join_room(self, member: str, nickname: str, code: str) -> Joined:
        current = await self._current_code(member)
        if current == code:
            room = await self._load(code)
            if room.player(member) is not None:
                return Joined(room, await self.room_view(room), None, rejoined=True)
        player = self._player(member, nickname)
        await self._track(member)
        room = await self._store.mutate(room_key(code), _admit(code, player))
        previous = await self._leave(member, current) if current and current != code else None
        await self._remember(member, code)
        return Joined(room, await self.room_view(room), previous)

    async def leave_room(self, member: str) -> Left:
        left = await self._leave_current(member)
        if left is None:
            raise NotInRoom("You are not in a room.")
        return left

    async def disconnect(self, member: str) -> Left | None:
        """A disconnect counts as a leave. Also how a dead node's members are cleaned up."""
        left = await self._leave_current(member)
        if self._registry is not None:
            await self._registry.untrack(DOMAIN, member)
        return left

    async def set_ready(self, member: str, ready: bool) -> Room:
        code = await self._require_code(member)

        def apply(room: Room) -> None:
            room.set_ready(member, ready)

        return await self._store.mutate(room_key(code), _change(code, apply))

    async def start_game(self, member: str) -> Room:
        code = await self._require_code(member)
        now = self._now()

        def apply(room: Room) -> None:
            room.start(member, now)

        return await self._store.mutate(room_key(code), _change(code, apply))

    async def send_message(self, member: str, text: str) -> LobbyMessage:
        code = await self._require_code(member)
        room = await self._load(code)
        player = room.require(member)
        message = {
            "id": uuid.uuid4().hex,
            "code": code,
            "nickname": player.nickname,
            "message": text,
            "timestamp": self._now(),
        }
        stored = await self._store.log_append(messages_key(code), message, cap=MESSAGE_HISTORY)
        return cast(LobbyMessage, stored)  # the store adds ``seq``

    async def remove_node(self, node: str) -> list[Left]:
        """Unseat every player that ``node`` held: the sweep behind per-member cleanup, for
        a seat written by a node that died before it recorded the membership pointer."""
        codes = await self._store.index_members(ROOM_INDEX)
        docs = await self._store.get_many([room_key(code) for code in codes])
        ghosts = [
            (room.code, player.member)
            for room in (Room.from_doc(doc) for doc in docs if doc)
            for player in room.players
            if player.node == node
        ]
        return [await self._leave(member, code) for code, member in ghosts]

    # -- queries -------------------------------------------------------------------------
    async def list_rooms(self) -> list[RoomSummary]:
        codes = await self._store.index_members(ROOM_INDEX)
        docs = await self._store.get_many([room_key(code) for code in codes])
        rooms = sorted((Room.from_doc(d) for d in docs if d), key=lambda r: r.created_at)
        return [room.summary() for room in rooms]

    async def room_view(self, room: Room) -> RoomView:
        messages = await self._store.log_range(messages_key(room.code), limit=MESSAGE_HISTORY)
        return room.view(cast(list[LobbyMessage], messages))

    # -- internals -----------------------------------------------------------------------
    def _player(self, member: str, nickname: str) -> Player:
        return Player(member=member, nickname=nickname, joined_at=self._now(), node=self._node)

    async def _load(self, code: str) -> Room:
        doc = await self._store.get(room_key(code))
        if doc is None:
            raise RoomNotFound(f"Room {code} does not exist.")
        return Room.from_doc(doc)

    async def _track(self, member: str) -> None:
        # Before the seat is written: a crash right after still leaves a trace to clean up.
        if self._registry is not None:
            await self._registry.track(DOMAIN, member)

    async def _current_code(self, member: str) -> str | None:
        pointer = await self._store.get(membership_key(member))
        return None if pointer is None else str(pointer["code"])

    async def _require_code(self, member: str) -> str:
        code = await self._current_code(member)
        if code is None:
            raise NotInRoom("You are not in a room.")
        return code

    async def _remember(self, member: str, code: str) -> None:
        await self._store.put(membership_key(member), {"code": code, "node": self._node})

    async def _leave_current(self, member: str) -> Left | None:
        code = await self._current_code(member)
        return None if code is None else await self._leave(member, code)

    async def _leave(self, member: str, code: str) -> Left:
        room, deleted = await self._store.mutate(
            room_key(code), _remove(member), index=(ROOM_INDEX, code)
        )
        await self._store.delete(membership_key(member))
        if deleted:
            await self._store.log_delete(messages_key(code))
            logger.info("room %s deleted: last player left", code)
        return Left(code, room)


# Mutators: pure functions of the stored document, safe to re-run on a write conflict.
def _create(room: Room) -> Callable[[Doc | None], tuple[Doc | None, bool]]:
    def fn(doc: Doc | None) -> tuple[Doc | None, bool]:
        if doc is not None:
            return doc, False  # code collision: keep the existing room, try another code
        return room.to_doc(), True

    return fn


def _admit(code: str, player: Player) -> Callable[[Doc | None], tuple[Doc | None, Room]]:
    def fn(doc: Doc | None) -> tuple[Doc | None, Room]:
        if doc is None:
            raise RoomNotFound(f"Room {code} does not exist.")
        room = Room.from_doc(doc)
        room.admit(player)
        return room.to_doc(), room

    return fn


def _change(
    code: str, apply: Callable[[Room], None]
) -> Callable[[Doc | None], tuple[Doc | None, Room]]:
    def fn(doc: Doc | None) -> tuple[Doc | None, Room]:
        if doc is None:
            raise NotInRoom(f"Room {code} no longer exists.")
        room = Room.from_doc(doc)
        apply(room)
        return room.to_doc(), room

    return fn


def _remove(member: str) -> Callable[[Doc | None], tuple[Doc | None, tuple[Room | None, bool]]]:
    def fn(doc: Doc | None) -> tuple[Doc | None, tuple[Room | None, bool]]:
        if doc is None:
            return None, (None, False)
        room = Room.from_doc(doc)
        if room.player(member) is None:
            return doc, (room, False)
        room.remove(member)
        if not room.players:
            return None, (None, True)
        return room.to_doc(), (room, False)

    return fn
