"""Every machine error code Huddle answers with, in one closed registry, and the domain errors.

``ErrorCode`` is the whole list: each ``code`` that can be put in a failed ack
(``{ok: false, error, code, ...extra}``) or in a refused connect's ``connect_error`` data
(``{message, code}``), with its meaning and the extra fields it carries (as Zulip's
``ErrorCode`` and ``JsonableError.data_fields``). Nothing else may put a code on the wire:

- a ``DomainError`` subclass names its member, and its extra data is checked against it;
- ``failure()`` builds every failed ack from a member and checks the extra fields too;
- tests/test_error_codes.py fails on a code written as a bare string anywhere in the code.

docs/protocol.md's error table is generated from this module (scripts/gen_docs.py).
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Literal, TypedDict, cast


@dataclass(frozen=True)
class Extra:
    """A field that a failure with this code carries next to ``ok``, ``error`` and ``code``."""

    name: str  # the wire key
    json_type: str
    meaning: str
    always: bool = True  # False: only in some of the failures with this code


FIELDS = Extra("fields", "object", "maps each offending field (by its wire name; `_schema` for "
               "the payload as a whole) to a list of messages")
RETRY_AFTER_MS = Extra("retryAfterMs", "integer",
                       "milliseconds until the same request can succeed again")
LIMIT = Extra("limit", "integer", "the per-user limit that was reached", always=False)


class ErrorCode(StrEnum):
    """The closed registry: ``ErrorCode("room_full")`` raises ValueError for any other code."""

    meaning: str
    extra: tuple[Extra, ...]

    def __new__(cls, value: str, meaning: str = "", extra: tuple[Extra, ...] = ()) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        member.extra = extra
        return member

    # -- every namespace
    VALIDATION_ERROR = (
        "validation_error",
        "the payload does not match the event's schema (wrong type, out of range, unknown "
        "field, several arguments), or breaks a rule only the service can check",
        (FIELDS,))
    UNKNOWN_EVENT = ("unknown_event", "no such event on this namespace")
    RATE_LIMITED = (
        "rate_limited",
        "over a quota: the connection's inbound event rate (every namespace) or the chat "
        "message quota (`/chat`); nothing was done",
        (RETRY_AFTER_MS,))
    UNAVAILABLE = ("unavailable",
                   "the data store (Redis) could not be reached in time; retry. Also refuses a "
                   "`/chat` connect")
    CONFLICT = ("conflict",
                "too many simultaneous writers on one record, or no free room code; retry")
    INTERNAL_ERROR = ("internal_error", "a server fault; it is logged with its traceback")
    # -- game lobby (/)
    ROOM_NOT_FOUND = ("room_not_found", "no room with that code")
    ROOM_FULL = ("room_full", "the room has `maxPlayers` players")
    NICKNAME_TAKEN = ("nickname_taken",
                      "someone in the room has that nickname (case-insensitive)")
    NOT_IN_ROOM = ("not_in_room", "the event needs you to be in a room")
    NOT_HOST = ("not_host", "only the host may do this")
    NOT_ALL_READY = ("not_all_ready",
                     "start needs ≥ 2 players and every non-host player ready")
    GAME_STARTED = ("game_started",
                    "the room's game has started: no joins, no ready changes")
    # -- messenger (/chat)
    UNAUTHORIZED = ("unauthorized",
                    "`/chat` connect only (`connect_error`): no valid identity (token "
                    "missing, invalid or expired)")
    FORBIDDEN = ("forbidden",
                 "not a member of that chat, or a per-user limit (chats per user) is reached",
                 (LIMIT,))
    NOT_FOUND = ("not_found", "no chat with that id")

    def check_extra(self, given: Set[str]) -> None:
        """TypeError unless ``given`` is a valid set of extra fields for this code."""
        names = {extra.name for extra in self.extra}
        required = {extra.name for extra in self.extra if extra.always}
        if not given <= names or not required <= given:
            raise TypeError(f"{self.value!r} carries {sorted(required)} and may carry "
                            f"{sorted(names - required)}; got {sorted(given)}")


# ``fields`` of a validation_error: messages per wire field, or per index in a list field.
FieldErrors = dict[str, list[str] | dict[str, list[str]]]


class _Envelope(TypedDict):
    ok: Literal[False]
    error: str  # human text: existing frontends display res.error
    code: ErrorCode


class Failure(_Envelope, total=False):
    """A failed ack. Its optional fields are exactly the union of the registered ``Extra``s
    (tests/test_error_codes.py keeps the two in step)."""

    fields: FieldErrors
    retryAfterMs: int
    limit: int


def failure(code: ErrorCode, error: str, **extra: Any) -> Failure:
    """The failed ack for ``code``; TypeError if ``extra`` is not what ``code`` carries."""
    member = ErrorCode(code)  # ValueError for a string that is no registered code
    member.check_extra(extra.keys())
    return cast(Failure, {"ok": False, "error": error, "code": member, **extra})


class DomainError(Exception):
    """A rule of the game refused the request. Answered as ``failure(code, message, **data)``.

    Raise a subclass: each names its ``ErrorCode``; ``data`` must be that code's extra fields.
    """

    code: ClassVar[ErrorCode]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.__dict__.get("code"), ErrorCode):
            raise TypeError(f"{cls.__name__}.code must be an ErrorCode member")

    def __init__(self, message: str, **data: Any) -> None:
        if type(self) is DomainError:
            raise TypeError("raise a DomainError subclass: it names the error code")
        self.code.check_extra(data.keys())
        super().__init__(message)
        self.message = message
        self.data = data


class RoomNotFound(DomainError):
    code = ErrorCode.ROOM_NOT_FOUND


class RoomFull(DomainError):
    code = ErrorCode.ROOM_FULL


class NicknameTaken(DomainError):
    code = ErrorCode.NICKNAME_TAKEN


class NotInRoom(DomainError):
    code = ErrorCode.NOT_IN_ROOM


class NotHost(DomainError):
    code = ErrorCode.NOT_HOST


class NotAllReady(DomainError):
    code = ErrorCode.NOT_ALL_READY


class GameStarted(DomainError):
    code = ErrorCode.GAME_STARTED


class Unavailable(DomainError):
    """The backing store could not be reached in time."""

    code = ErrorCode.UNAVAILABLE


class Conflict(DomainError):
    """Too many concurrent writers kept the update from committing (or no free key was found)."""

    code = ErrorCode.CONFLICT


class Unauthorized(DomainError):
    """The connection carries no valid identity."""

    code = ErrorCode.UNAUTHORIZED


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class RateLimited(DomainError):
    """Over a quota; the data carries ``retryAfterMs``."""

    code = ErrorCode.RATE_LIMITED


class InvalidRequest(DomainError):
    """A well-formed payload that breaks a rule only the service can check; carries
    ``fields`` as a schema error does."""

    code = ErrorCode.VALIDATION_ERROR
