"""The ack shapes of every event: the client contract, checked by mypy in the handlers.

A handler returns its success shape, written as a dict literal so that mypy checks every key
and value type against it; every failure is a ``server.errors.Failure`` built by the
dispatcher (``namespaces/dispatch.py``). tests/test_error_codes.py checks that each handler's
docstring names the keys of the shape it returns, because that docstring is the documentation.

Nested objects (a room, a message, a chat summary) are the services' JSON documents, described
in docs/protocol.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypedDict

from server.errors import Failure

JsonObject = dict[str, Any]


class Done(TypedDict):
    ok: Literal[True]


# -- game lobby (/) -----------------------------------------------------------------------
class RoomAck(TypedDict):
    ok: Literal[True]
    room: JsonObject


class MessageAck(TypedDict):
    ok: Literal[True]
    message: JsonObject


class RoomsAck(TypedDict):
    ok: Literal[True]
    rooms: list[JsonObject]


# -- messenger (/chat) ----------------------------------------------------------------------
class ChatAck(TypedDict):
    ok: Literal[True]
    chat: JsonObject


class ChatsAck(TypedDict):
    ok: Literal[True]
    chats: list[JsonObject]


class SubscribeAck(TypedDict):
    ok: Literal[True]
    messages: list[JsonObject]
    readCursors: dict[str, int]


class DirectMessageAck(TypedDict):
    ok: Literal[True]
    chat: JsonObject
    message: JsonObject


class HistoryAck(TypedDict):
    ok: Literal[True]
    messages: list[JsonObject]
    hasMore: bool


class MarkReadAck(TypedDict):
    ok: Literal[True]
    seq: int
    unread: int
    totalUnread: int


# What the dispatcher hands to python-socketio: any success shape above (or the benchmark's
# bare echo), or a Failure.
Ack = Mapping[str, Any]
__all__ = ["Ack", "ChatAck", "ChatsAck", "DirectMessageAck", "Done", "Failure", "HistoryAck",
           "JsonObject", "MarkReadAck", "MessageAck", "RoomAck", "RoomsAck", "SubscribeAck"]
