"""The ack shapes of every event: the client contract, checked by mypy in the handlers.

A handler returns its success shape, written as a dict literal so that mypy checks every key
and value type against it; every failure is a ``server.errors.Failure`` built by the
dispatcher (``namespaces/dispatch.py``). tests/test_error_codes.py checks that each handler's
docstring names the keys of the shape it returns, because that docstring is the documentation.

The nested documents (a room, a message, a chat summary) are the services' own TypedDicts
(``server/lobby/views.py``, ``server/chat/views.py``). The contract generators read these
shapes from the handlers' return annotations (scripts/gen_docs.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypedDict

from server.chat.views import ChatMessage, ChatSummary
from server.errors import Failure
from server.lobby.views import LobbyMessage, RoomSummary, RoomView


class Done(TypedDict):
    ok: Literal[True]


# -- game lobby (/) -----------------------------------------------------------------------
class RoomAck(TypedDict):
    ok: Literal[True]
    room: RoomView


class MessageAck(TypedDict):
    ok: Literal[True]
    message: LobbyMessage


class RoomsAck(TypedDict):
    ok: Literal[True]
    rooms: Annotated[list[RoomSummary], "oldest room first"]


# -- messenger (/chat) ----------------------------------------------------------------------
class ChatAck(TypedDict):
    ok: Literal[True]
    chat: ChatSummary


class ChatsAck(TypedDict):
    ok: Literal[True]
    chats: Annotated[list[ChatSummary], "newest activity first"]


class ChatMessageAck(TypedDict):
    ok: Literal[True]
    message: ChatMessage


class SubscribeAck(TypedDict):
    ok: Literal[True]
    messages: Annotated[list[ChatMessage], "the last 50, ascending seq"]
    readCursors: Annotated[dict[str, int], "each member's read cursor (seq), by user id"]


class DirectMessageAck(TypedDict):
    ok: Literal[True]
    chat: ChatSummary
    message: ChatMessage


class HistoryAck(TypedDict):
    ok: Literal[True]
    messages: Annotated[list[ChatMessage], "ascending seq"]
    hasMore: Annotated[bool, "older messages remain below the page"]


class MarkReadAck(TypedDict):
    ok: Literal[True]
    seq: Annotated[int, "your read cursor now"]
    unread: Annotated[int, "unread messages left in this chat"]
    totalUnread: int


# -- the Admin UI's namespace (/admin): an operator's tool, not part of the client contract ---
class SocketsAck(TypedDict):
    ok: Literal[True]
    sockets: Annotated[int, "sockets the command touched, on every node"]


# What the dispatcher hands to python-socketio: any success shape above (or the benchmark's
# bare echo), or a Failure.
Ack = Mapping[str, Any]
__all__ = ["Ack", "ChatAck", "ChatMessageAck", "ChatsAck", "DirectMessageAck", "Done",
           "Failure", "HistoryAck", "MarkReadAck", "MessageAck", "RoomAck", "RoomsAck",
           "SocketsAck", "SubscribeAck"]
