"""One JSON policy for every packet Huddle decodes or encodes: finite numbers only.

JavaScript's JSON.parse rejects ``NaN``/``Infinity`` and turns ``1e999`` into Infinity, which
JSON.stringify then sends as ``null``; Python's json accepts and emits all three. A payload a
JS client cannot read is therefore refused on the way in and on the way out.
"""

from __future__ import annotations

import json
import math
from typing import Any


class NonFiniteNumber(ValueError):
    """A NaN, Infinity or overflowing number in a JSON payload."""


def _reject_constant(name: str) -> Any:
    raise NonFiniteNumber(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteNumber(f"{text} does not fit in a double")
    return value


def loads(text: str | bytes, **kwargs: Any) -> Any:
    kwargs.setdefault("parse_constant", _reject_constant)
    kwargs.setdefault("parse_float", _finite_float)
    return json.loads(text, **kwargs)


def dumps(obj: Any, **kwargs: Any) -> str:
    # allow_nan=False raises ValueError for float('nan'/'inf'): the emitter hears of its bug.
    kwargs["allow_nan"] = False
    kwargs.setdefault("separators", (",", ":"))
    return json.dumps(obj, **kwargs)


def check_finite(obj: Any) -> None:
    """Reject non-finite floats in an already-decoded value (msgpack carries them natively)."""
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise NonFiniteNumber("non-finite number")
    elif isinstance(obj, list | tuple):
        for item in obj:
            check_finite(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            check_finite(item)
