"""Inbound payloads of the messenger on namespace ``/chat``.

Identity comes from the connection, never from a payload: every schema refuses unknown
fields, so a ``from`` or ``senderId`` field is a validation_error, never silently ignored.
"""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.fields import EventSchema, StrictBool, StrictInt, Text
from server.chat.rules import (
    HISTORY_PAGE,
    MAX_GROUP_MEMBERS,
    MAX_HISTORY_PAGE,
    MAX_TEXT,
    MAX_TITLE,
)

ID_PATTERN = r"^[^\s\x00-\x1f\x7f]+$"  # printable, no whitespace (server.identity.USER_ID)


def _user_id(**kwargs: object) -> Text:
    return Text(
        validate=[validate.Length(min=1, max=128),
                  validate.Regexp(ID_PATTERN, error="Must be a user id without spaces.")],
        **kwargs,  # type: ignore[arg-type]
    )


def _chat_id() -> Text:
    return Text(
        required=True, data_key="chatId",
        validate=[validate.Length(min=1, max=64),
                  validate.Regexp(ID_PATTERN, error="Must be a chat id.")],
    )


def _text() -> Text:
    return Text(required=True, validate=validate.Length(min=1, max=MAX_TEXT))


def _client_msg_id() -> Text:
    return Text(required=True, data_key="clientMsgId", validate=validate.Length(min=1, max=64))


class OpenChat(EventSchema):
    """``openChat``: the 1:1 chat with ``userId`` (created on first open, by either side)."""

    user_id = _user_id(required=True, data_key="userId")


class CreateGroup(EventSchema):
    """``createGroup``: a group titled ``title`` with ``members`` (user ids) and you."""

    title = Text(required=True, validate=validate.Length(min=1, max=MAX_TITLE))
    members = fields.List(
        _user_id(), required=True, validate=validate.Length(min=1, max=MAX_GROUP_MEMBERS)
    )


class ListChats(EventSchema):
    """``listChats``: your chats, newest activity first; no payload."""


class Subscribe(EventSchema):
    """``subscribe``: receive ``chatMessage``/``messageRead``/``typing`` of ``chatId``."""

    chat_id = _chat_id()


class Unsubscribe(EventSchema):
    """``unsubscribe``: stop receiving a chat's live events on this connection."""

    chat_id = _chat_id()


class SendChat(EventSchema):
    """``sendChat``: post ``text`` (1-2000 chars, trimmed) to ``chatId``; ``clientMsgId``
    (1-64 chars, unique per sender and chat) makes retries safe."""

    chat_id = _chat_id()
    text = _text()
    client_msg_id = _client_msg_id()


class DirectMessage(EventSchema):
    """``directMessage``: ``openChat`` with ``toUserId`` and ``sendChat`` in one step."""

    to_user_id = _user_id(required=True, data_key="toUserId")
    text = _text()
    client_msg_id = _client_msg_id()


class History(EventSchema):
    """``history``: up to ``limit`` (1-100, default 50) messages below ``beforeSeq``."""

    chat_id = _chat_id()
    before_seq = StrictInt(
        data_key="beforeSeq", load_default=None, allow_none=True,
        validate=validate.Range(min=1),
    )
    limit = StrictInt(
        load_default=HISTORY_PAGE, validate=validate.Range(min=1, max=MAX_HISTORY_PAGE)
    )


class MarkRead(EventSchema):
    """``markRead``: you have read ``chatId`` up to and including ``seq``."""

    chat_id = _chat_id()
    seq = StrictInt(required=True, validate=validate.Range(min=0))


class Typing(EventSchema):
    """``typing``: tell the chat's other subscribers whether you are typing."""

    chat_id = _chat_id()
    typing = StrictBool(required=True)
