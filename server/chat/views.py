"""The messenger's documents as the wire shows them: acks and broadcasts of ``/chat``.

These TypedDicts are the one declaration of each shape: the service builds them (mypy checks
every key), the namespace emits them, and the contract generators turn them into the
TypeScript, AsyncAPI and Python client types (scripts/gen_docs.py).
"""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from server.shapes import DATE_TIME

ChatKind = Literal["direct", "group"]


class ChatMessage(TypedDict):
    """A message in a chat."""

    seq: Annotated[int, "the message's offset in its chat: 1, 2, 3 ... without gaps"]
    id: Annotated[str, "unique"]
    chatId: str
    senderId: str
    senderName: str
    text: str
    clientMsgId: Annotated[str, "the sender's id for the send; a retry returns this message"]
    createdAt: Annotated[str, DATE_TIME]


class ChatSummary(TypedDict):
    """A chat as the viewer's chat list shows it."""

    chatId: str
    kind: ChatKind
    title: Annotated[str, "a group's title; a direct chat is titled after the other person"]
    members: Annotated[list[str], "user ids"]
    lastMessage: ChatMessage | None
    unread: Annotated[int, "messages above the viewer's read cursor that others sent"]


class UnreadBadge(TypedDict):
    """The viewer's unread counts."""

    totalUnread: int
    chats: Annotated[dict[str, int], "unread per chat id, for chats with unread messages"]


class Session(TypedDict):
    """Sent once to a connecting socket, right after connect."""

    userId: str
    nickname: str
    totalUnread: int
    chats: Annotated[list[ChatSummary], "newest activity first"]
    online: Annotated[list[str], "the user ids of online people who share a chat with you"]


class ReadReceipt(TypedDict):
    """``userId`` has read ``chatId`` up to and including ``seq``."""

    chatId: str
    userId: str
    seq: int


class TypingNotice(TypedDict):
    """``userId`` started or stopped typing in ``chatId``."""

    chatId: str
    userId: str
    typing: bool


class PresenceNotice(TypedDict):
    """``userId`` came online (first connection) or went offline (last one closed)."""

    userId: str
    online: bool
