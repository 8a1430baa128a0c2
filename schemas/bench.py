"""Inbound payloads of the benchmark protocol (``--profile bench``), shared with bench/node."""

from __future__ import annotations

from marshmallow import fields, validate

from schemas.fields import EventSchema, Text


class BenchJoin(EventSchema):
    """``join``: enter a fan-out room."""

    room = Text(required=True, validate=validate.Length(min=1, max=64))


class BenchBroadcast(EventSchema):
    """``broadcast``: emit ``msg`` with ``payload`` to everyone in ``room``."""

    room = Text(required=True, validate=validate.Length(min=1, max=64))
    payload = fields.Dict(required=True)


class BenchEcho(EventSchema):
    """``echo``: the ack carries the payload back."""

    t = fields.Float(required=True, allow_nan=False)
    pad = fields.String(load_default="", validate=validate.Length(max=65_536))
