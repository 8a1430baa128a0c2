"""Marshmallow schemas, one per inbound event, named after the event they validate."""

from schemas.chat import (
    CreateGroup,
    DirectMessage,
    History,
    ListChats,
    MarkRead,
    OpenChat,
    SendChat,
    Subscribe,
    Typing,
    Unsubscribe,
)
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
    "CreateGroup",
    "CreateRoom",
    "DirectMessage",
    "History",
    "JoinRoom",
    "LeaveRoom",
    "ListChats",
    "ListRooms",
    "MarkRead",
    "OpenChat",
    "Ready",
    "SendChat",
    "SendMessage",
    "StartGame",
    "Subscribe",
    "Typing",
    "Unsubscribe",
]
