"""One JSON policy for every packet Huddle decodes or encodes: finite numbers only.

JavaScript's JSON.parse rejects ``NaN``/``Infinity`` and turns ``1e999`` into Infinity, which
JSON.stringify then sends as ``null``; Python's json accepts and emits all three. A payload a
JS client cannot read is therefore refused on the way in and on the way out.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

# orjson reads integers of more than 64 bits as floats; the standard library keeps them exact.
_LONG_INT = re.compile(r"[0-9]{19}")  # JSON digits are ASCII; [0-9] scans twice as fast as \d
# Types orjson would write but the standard library refuses (or writes differently) are handed
# back to the standard library, so emitting them behaves as before.
_ORJSON_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                   | orjson.OPT_PASSTHROUGH_SUBCLASS)


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
    """orjson when it gives the standard library's answer (it refuses NaN, Infinity and 1e999
    itself); anything it refuses or might read differently is decided by the standard library,
    so what is accepted, and as what, does not depend on which parser ran."""
    if not kwargs and isinstance(text, str) and not _LONG_INT.search(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # e.g. a lone surrogate escape, which the standard library accepts
    kwargs.setdefault("parse_constant", _reject_constant)
    kwargs.setdefault("parse_float", _finite_float)
    return json.loads(text, **kwargs)


def dumps(obj: Any, **kwargs: Any) -> str:
    """Compact JSON, refusing non-finite numbers (the emitter hears of its bug)."""
    if kwargs.keys() <= {"separators"} and kwargs.get("separators", (",", ":")) == (",", ":"):
        try:
            out = orjson.dumps(obj, option=_ORJSON_OPTIONS)
        except TypeError:
            pass  # >64-bit ints, non-string keys, lone surrogates: the standard library's job
        else:
            # orjson writes NaN and Infinity as null: only then is the walk needed.
            if b"null" in out:
                check_finite(obj)
            return out.decode("utf-8")
    # allow_nan=False raises ValueError for float('nan'/'inf').
    kwargs["allow_nan"] = False
    kwargs.setdefault("separators", (",", ":"))
    return json.dumps(obj, **kwargs)


def check_finite(obj: Any) -> None:
    """Reject non-finite floats in an already-decoded value (msgpack carries them natively)."""
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise NonFiniteNumber("a non-finite number is not valid JSON")
    elif isinstance(obj, list | tuple):
        for item in obj:
            check_finite(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            check_finite(item)
