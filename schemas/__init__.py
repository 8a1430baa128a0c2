"""Marshmallow schemas, one per inbound event, named after the event they validate."""

from schemas.lobby import (
    CreateRoom,
    JoinRoom,
    LeaveRoom,
    ListRooms,
    Ready,
    SendMessage,
    StartGame,
)

__all__ = [
    "CreateRoom",
    "JoinRoom",
    "LeaveRoom",
    "ListRooms",
    "Ready",
    "SendMessage",
    "StartGame",
]
