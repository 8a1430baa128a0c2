"""Inbound commands of the Socket.IO Admin UI on ``/admin`` (its 0.5 protocol).

The UI sends positional arguments, e.g. ``socket.emit("join", nsp, room, filter)``;
namespaces/admin.py names them in the order listed here before validation.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

from schemas.fields import EventSchema, StrictBool

ROOM = validate.Length(min=1, max=256)
# Event names Socket.IO reserves (as server/wire/sio_packets.RESERVED_EVENTS, which the wire
# layer refuses inbound; schemas sit below the wire layer, tests/test_admin.py keeps them equal).
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting",
                             "newListener", "removeListener"})


def _namespace() -> fields.String:
    return fields.String(required=True, validate=[
        validate.Length(min=1, max=256), validate.Regexp(r"^/", error="Must start with /.")])


def _filter() -> fields.String:
    # A room (a socket id is a room too); none means every socket of the namespace.
    return fields.String(load_default=None, allow_none=True, validate=ROOM)


def _not_reserved(name: str) -> None:
    if name in RESERVED_EVENTS:
        raise ValidationError(f"{name!r} is a reserved event name.")


class AdminJoin(EventSchema):
    """``join``: the sockets of ``nsp`` (in room ``filter``, if given) join ``room``."""

    nsp = _namespace()
    room = fields.String(required=True, validate=ROOM)
    filter = _filter()


class AdminLeave(EventSchema):
    """``leave``: the sockets of ``nsp`` (in room ``filter``, if given) leave ``room``."""

    nsp = _namespace()
    room = fields.String(required=True, validate=ROOM)
    filter = _filter()


class AdminDisconnect(EventSchema):
    """``_disconnect``: disconnect the sockets of ``nsp`` (in room ``filter``, if given);
    ``close`` also closes their connection."""

    nsp = _namespace()
    close = StrictBool(load_default=False)
    filter = _filter()


class AdminEmit(EventSchema):
    """``emit``: send event ``ev`` with ``args`` to ``nsp`` (room ``filter``, if given)."""

    nsp = _namespace()
    filter = _filter()
    ev = fields.String(required=True, validate=[validate.Length(min=1, max=256), _not_reserved])
    args = fields.List(fields.Raw(allow_none=True), load_default=list)
