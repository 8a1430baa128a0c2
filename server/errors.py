"""Domain errors: each carries a stable machine code and a human message for the ack."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the game refused the request. Answered as {ok: false, error, code, ...data}."""

    code = "domain_error"

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class RoomNotFound(DomainError):
    code = "room_not_found"


class RoomFull(DomainError):
    code = "room_full"


class NicknameTaken(DomainError):
    code = "nickname_taken"


class NotInRoom(DomainError):
    code = "not_in_room"


class NotHost(DomainError):
    code = "not_host"


class NotAllReady(DomainError):
    code = "not_all_ready"


class GameStarted(DomainError):
    code = "game_started"


class Unavailable(DomainError):
    """The backing store could not be reached in time."""

    code = "unavailable"


class Conflict(DomainError):
    """Too many concurrent writers kept the update from committing."""

    code = "conflict"


class Unauthorized(DomainError):
    """The connection carries no valid identity."""

    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class RateLimited(DomainError):
    """Over a quota; the data carries ``retryAfterMs``."""

    code = "rate_limited"


class InvalidRequest(DomainError):
    """A well-formed payload that breaks a rule only the service can check."""

    code = "validation_error"
