"""Strict wire field types shared by every schema: no silent coercion from JSON."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load


class EventSchema(Schema):
    """Base for inbound payloads: unknown fields are an error, never ignored."""

    class Meta:
        unknown = RAISE


class AcceptsBareString(EventSchema):
    """A payload that may also be a bare string: ``"hi"`` loads as ``{bare_field: "hi"}``.

    Declared here (not as an ad-hoc hook) so the contract generators can say so too."""

    bare_field: ClassVar[str]

    @pre_load
    def _accept_bare_string(self, data: Any, **_: Any) -> Any:
        return {self.bare_field: data} if isinstance(data, str) else data


class Text(fields.String):
    """A string, trimmed of surrounding whitespace before validation."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs)).strip()


class StrictBool(fields.Field[bool]):
    """Only JSON true/false; 1, "true" and friends are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value


class StrictInt(fields.Field[int]):
    """Only JSON integers (not booleans, floats or numeric strings)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("Must be an integer.")
        if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
            raise ValidationError("Must be an integer.")
        return int(value)
