"""Inbound payloads of the game-lobby protocol on namespace ``/``."""

from __future__ import annotations

from typing import Any

from marshmallow import validate

from schemas.fields import AcceptsBareString, EventSchema, StrictBool, StrictInt, Text

CODE_PATTERN = r"^[A-HJ-NP-Z2-9]{6}$"  # matches server.lobby.rules.CODE_ALPHABET


class RoomCode(Text):
    """A 6-character room code, accepted in any case."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).upper()


def _nickname() -> Text:
    return Text(required=True, validate=validate.Length(min=1, max=20))


class CreateRoom(EventSchema):
    """``createRoom``: open a new room; the creator becomes its host."""

    nickname = _nickname()
    title = Text(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    max_players = StrictInt(
        data_key="maxPlayers", load_default=8, validate=validate.Range(min=2, max=16)
    )


class JoinRoom(EventSchema):
    """``joinRoom``: take a seat in an existing room."""

    nickname = _nickname()
    code = RoomCode(
        required=True,
        validate=validate.Regexp(CODE_PATTERN, error="Must be a 6-character room code."),
    )


class Ready(EventSchema):
    """``ready``: mark yourself ready (or not) to start."""

    ready = StrictBool(required=True)


class SendMessage(AcceptsBareString):
    """``sendMessage``: a chat line to your room; a bare string is accepted too."""

    bare_field = "message"
    message = Text(required=True, validate=validate.Length(min=1, max=500))


class StartGame(EventSchema):
    """``startGame``: the host starts the game; no payload, or ``{}``."""


class LeaveRoom(EventSchema):
    """``leaveRoom``: leave your room; no payload."""


class ListRooms(EventSchema):
    """``listRooms``: the open rooms; no payload."""

