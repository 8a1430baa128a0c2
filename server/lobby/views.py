"""The lobby's documents as the wire shows them: acks and broadcasts of namespace ``/``.

These TypedDicts are the one declaration of each shape: the rules build them (mypy checks
every key), the namespace emits them, and the contract generators turn them into the
TypeScript, AsyncAPI and Python client types (scripts/gen_docs.py).
"""

from __future__ import annotations

from typing import Annotated, TypedDict

from server.shapes import DATE_TIME


class PlayerView(TypedDict):
    """A seat in a room, in join order."""

    nickname: str
    isHost: bool
    ready: bool


class LobbyMessage(TypedDict):
    """A chat line in a room."""

    seq: Annotated[int, "the message's offset in its room: 1, 2, 3 ... strictly increasing"]
    id: Annotated[str, "unique"]
    code: Annotated[str, "the room's code"]
    nickname: str
    message: str
    timestamp: Annotated[str, DATE_TIME, "ISO-8601 UTC with milliseconds (toISOString)"]


class RoomView(TypedDict):
    """A room as its players see it, with its last 50 messages."""

    code: str
    title: str
    hostName: str
    maxPlayers: int
    started: bool
    players: list[PlayerView]
    messages: list[LobbyMessage]


class RoomSummary(TypedDict):
    """A room as ``listRooms`` shows it."""

    code: str
    title: str
    players: Annotated[int, "how many players are seated"]
    maxPlayers: int
    started: bool


class GameStart(TypedDict):
    """The host started the game."""

    code: str
    startedAt: Annotated[str, DATE_TIME]
