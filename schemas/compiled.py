"""Event schemas compiled into fast loaders at start-up; marshmallow stays the source of truth.

``compile_loader(schema)`` returns a function with exactly ``schema.load``'s results and
errors. Inside, a fast path built from the schema's declared fields answers only when it is
certain that the payload is valid and that its result is the one marshmallow would build.
Everything else (invalid input, unusual types, ``str``/``dict`` subclasses) is handed to
``schema.load``, so every error still comes from marshmallow, word for word.

A schema using anything this module does not know (hooks, nested schemas, other field
classes or validators, field subclasses) is not compiled at all: its loader is
``schema.load`` itself. Known classes are matched by exact type, never by isinstance, so a
subclass with new behaviour can never be misread as its parent.

The compiler reads private marshmallow names (the hook table, the methods it re-implements),
listed in server/private_api.py under "compiled loaders": when the installed marshmallow does
not have them as expected, nothing is compiled and every loader is ``schema.load``.

Schemas must not be mutated after compiling: the fast path copies their settings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, missing, validate
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

from schemas.fields import StrictBool, StrictInt, Text
from schemas.lobby import RoomCode
from server import private_api
from server.private_api import Feature

FastLoad = Callable[[Any], dict[str, Any] | None]
Loader = Callable[[Any], dict[str, Any]]
_Convert = Callable[[Any], Any]  # one wire value -> the loaded value, or _DEFER
_Check = Callable[[Any], bool]  # a validator's verdict on a loaded value

_DEFER: Final = object()  # "not certain": let marshmallow decide
_NUMBER_KINDS: Final = (StrictInt, fields.Float)
_SIZED_KINDS: Final = (fields.String, Text, RoomCode, fields.List, fields.Dict)
_STRING_KINDS: Final = (fields.String, Text, RoomCode)
# Choices whose `in` test is plain equality on JSON scalars, with no surprises.
_PLAIN_CHOICE_TYPES: Final = (str, int, float, bool, type(None))
_LOAD_HOOKS: Final = (PRE_LOAD, POST_LOAD, VALIDATES, VALIDATES_SCHEMA)
# Schema and Field methods the fast path re-implements: an override means other behaviour.
_SCHEMA_METHODS: Final = tuple(
    name for name in private_api.names_of(Feature.COMPILED_LOADERS, private_api.SCHEMA)
    if name != "_hooks")
_FIELD_METHODS: Final = private_api.names_of(Feature.COMPILED_LOADERS, private_api.FIELD)

# How a field absent from the payload is loaded (marshmallow's Field.deserialize on missing).
_REQUIRED: Final = 0  # an error: defer
_OMITTED: Final = 1  # no key in the result
_CONSTANT: Final = 2  # load_default as is, never validated
_FACTORY: Final = 3  # load_default() as is, called only once the payload is known valid


class Unsupported(Exception):
    """The schema uses something the compiler does not reproduce exactly."""


def compile_loader(schema: Schema) -> Loader:
    """A function with exactly schema.load's results and errors, faster for valid input."""
    fast = compile_fast(schema)
    if fast is None:
        load: Loader = schema.load
        return load
    fallback: Loader = schema.load

    def load_fast_first(raw: Any) -> dict[str, Any]:
        result = fast(raw)
        return fallback(raw) if result is None else result

    return load_fast_first


def compile_fast(schema: Schema) -> FastLoad | None:
    """The fast path alone, or None when the schema is not compiled.

    The fast path returns the loaded dict, or None whenever marshmallow must decide."""
    try:
        return _compile_schema(schema)
    except Unsupported:
        return None


def unsupported_reason(schema: Schema) -> str | None:
    """Why ``schema`` is not compiled, or None when it is."""
    try:
        _compile_schema(schema)
    except Unsupported as exc:
        return str(exc)
    return None


def _check_marshmallow() -> None:
    found = private_api.problems(Feature.COMPILED_LOADERS)
    if found:  # start-up already warned (server/engine.py)
        raise Unsupported(f"marshmallow's private API differs: {'; '.join(found)}")


# -- the schema ----------------------------------------------------------------------------

def _compile_schema(schema: Schema) -> FastLoad:
    _check_marshmallow()
    _check_schema(schema)
    plan: list[tuple[str, str, _Convert, int, Any]] = []
    for name, field in schema.load_fields.items():
        wire_key = field.data_key if field.data_key is not None else name
        result_key = field.attribute or name
        if "." in result_key:  # marshmallow's set_value would nest it
            raise Unsupported(f"{name}: dotted attribute {result_key!r}")
        plan.append((wire_key, result_key, _compile_field(field, name), *_when_missing(field)))
    wire_keys = [wire_key for wire_key, *_ in plan]
    if len(set(wire_keys)) != len(wire_keys):  # the unknown-key count below needs them unique
        raise Unsupported(f"duplicate data keys {wire_keys}")
    steps = tuple(plan)

    def fast(raw: Any) -> dict[str, Any] | None:
        if type(raw) is not dict:
            return None
        result: dict[str, Any] = {}
        factories: list[tuple[str, Any]] = []
        present = 0
        for wire_key, result_key, convert, absent, default in steps:
            value = raw.get(wire_key, missing)
            if value is missing:
                if absent == _CONSTANT:
                    result[result_key] = default
                elif absent == _FACTORY:
                    result[result_key] = None  # holds the key's place in the result order
                    factories.append((result_key, default))
                elif absent == _REQUIRED:
                    return None
                continue
            present += 1
            value = convert(value)
            if value is _DEFER:
                return None
            result[result_key] = value
        if present != len(raw):  # a key that is no field's data key: unknown = RAISE
            return None
        for result_key, factory in factories:
            try:
                value = factory()
            except ValidationError:  # marshmallow reports it under the field's name
                return None
            if value is missing:  # marshmallow omits a field that loads as missing
                del result[result_key]
            else:
                result[result_key] = value
        return result

    return fast


def _check_schema(schema: Schema) -> None:
    kind = type(schema)
    for method in _SCHEMA_METHODS:
        if getattr(kind, method) is not getattr(Schema, method):
            raise Unsupported(f"Schema.{method} is overridden")
    hooks = [hook for hook in _LOAD_HOOKS if schema._hooks[hook]]
    if hooks:
        raise Unsupported(f"hooks {hooks}")
    if schema.many:
        raise Unsupported("many")
    if schema.partial not in (None, False):
        raise Unsupported("partial")
    if schema.unknown != RAISE:
        raise Unsupported(f"unknown={schema.unknown!r}")
    if schema.only is not None or schema.exclude:
        raise Unsupported("only/exclude")
    if schema.dict_class is not dict:
        raise Unsupported(f"dict_class {schema.dict_class!r}")


def _when_missing(field: fields.Field[Any]) -> tuple[int, Any]:
    if field.required:
        return _REQUIRED, None
    default = field.load_default
    if default is missing:
        return _OMITTED, None
    if callable(default):
        return _FACTORY, default
    return _CONSTANT, default


# -- one field -----------------------------------------------------------------------------

def _compile_field(field: fields.Field[Any], name: str) -> _Convert:
    """Field.deserialize for a present value: None check, _deserialize, then validators."""
    kind = type(field)
    overridden = [method for method in _FIELD_METHODS if method in vars(field)]
    if overridden:
        raise Unsupported(f"{name}: instance overrides {overridden}")
    if field.pre_load or field.post_load:
        raise Unsupported(f"{name}: field pre_load/post_load")
    load = _deserializer(field, name)
    checks = tuple(_compile_validator(v, kind, name) for v in field.validators)
    allow_none = bool(field.allow_none)

    if not checks:
        def convert_unchecked(value: Any) -> Any:
            if value is None:  # marshmallow skips _deserialize and validators for None
                return None if allow_none else _DEFER
            return load(value)

        return convert_unchecked

    def convert(value: Any) -> Any:
        if value is None:
            return None if allow_none else _DEFER
        loaded = load(value)
        if loaded is _DEFER:
            return _DEFER
        for check in checks:
            if not check(loaded):
                return _DEFER
        return loaded

    return convert


def _deserializer(field: fields.Field[Any], name: str) -> _Convert:
    """The field class's _deserialize for the inputs it is certain about, else _DEFER."""
    kind = type(field)
    simple = _SIMPLE_DESERIALIZERS.get(kind)
    if simple is not None:
        return simple
    # isinstance only narrows the type for mypy; the exact `kind is` test decides.
    if isinstance(field, fields.Float) and kind is fields.Float:
        return _load_finite_float if field.allow_nan is False else _load_any_float
    if isinstance(field, fields.Dict) and kind is fields.Dict:
        if field.key_field is not None or field.value_field is not None:
            raise Unsupported(f"{name}: Dict with keys/values fields")
        return _load_dict
    if isinstance(field, fields.List) and kind is fields.List:
        return _list_loader(_compile_field(field.inner, f"{name}[]"))
    raise Unsupported(f"{name}: field class {kind.__qualname__}")


def _load_string(value: Any) -> Any:
    return value if type(value) is str else _DEFER


def _load_text(value: Any) -> Any:
    return value.strip() if type(value) is str else _DEFER


def _load_room_code(value: Any) -> Any:
    return value.strip().upper() if type(value) is str else _DEFER


def _load_strict_bool(value: Any) -> Any:
    return value if type(value) is bool else _DEFER


def _load_strict_int(value: Any) -> Any:
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value) and value.is_integer():
        return int(value)  # StrictInt loads 3.0 as 3
    return _DEFER


def _load_any_float(value: Any) -> Any:
    # Exact int/float only: bool is an int, and Float refuses it.
    if type(value) is float:
        return value
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:  # a huge int: marshmallow's "Number too large."
            return _DEFER
    return _DEFER


def _load_finite_float(value: Any) -> Any:
    loaded = _load_any_float(value)
    if loaded is _DEFER or not math.isfinite(loaded):  # allow_nan=False refuses nan and inf
        return _DEFER
    return loaded


def _load_dict(value: Any) -> Any:
    return dict(value) if type(value) is dict else _DEFER  # Dict loads a shallow copy


# Only exact `str` values: String would decode bytes and call a subclass's __str__.
_SIMPLE_DESERIALIZERS: Final[dict[type, _Convert]] = {
    fields.String: _load_string,
    Text: _load_text,
    RoomCode: _load_room_code,
    StrictBool: _load_strict_bool,
    StrictInt: _load_strict_int,
}


def _list_loader(convert_item: _Convert) -> _Convert:
    def load_list(value: Any) -> Any:
        if type(value) is not list:
            return _DEFER
        loaded = []
        for item in value:
            loaded_item = convert_item(item)
            if loaded_item is _DEFER:
                return _DEFER
            loaded.append(loaded_item)
        return loaded

    return load_list


# -- validators ----------------------------------------------------------------------------

def _compile_validator(validator: Any, kind: type, name: str) -> _Check:
    """The validator's pass/fail on a loaded value, with marshmallow's exact comparisons."""
    v_kind = type(validator)
    if v_kind is validate.Length and kind in _SIZED_KINDS:
        return _length_check(validator, name)
    if v_kind is validate.Range and kind in _NUMBER_KINDS:
        return _range_check(validator, name)
    if v_kind is validate.Regexp and kind in _STRING_KINDS:
        pattern = validator.regex
        if not isinstance(pattern, re.Pattern) or type(pattern.pattern) is not str:
            raise Unsupported(f"{name}: Regexp over bytes")
        match = pattern.match
        return lambda value: match(value) is not None
    if v_kind is validate.OneOf:
        choices = validator.choices
        if type(choices) not in (list, tuple, set, frozenset) or not all(
            type(choice) in _PLAIN_CHOICE_TYPES for choice in choices
        ):
            raise Unsupported(f"{name}: OneOf choices {choices!r}")
        # OneOf turns a TypeError (unhashable value, set choices) into an error: Dict/List
        # values are therefore never fast-pathed here.
        if kind in (fields.Dict, fields.List):
            raise Unsupported(f"{name}: OneOf on {kind.__qualname__}")
        return lambda value: value in choices
    raise Unsupported(f"{name}: validator {validator!r} on {kind.__qualname__}")


def _length_check(length: validate.Length, name: str) -> _Check:
    equal, low, high = length.equal, length.min, length.max
    if any(bound is not None and type(bound) is not int for bound in (equal, low, high)):
        raise Unsupported(f"{name}: Length bounds {length!r}")
    if equal is not None:  # marshmallow ignores min and max then
        return lambda value: len(value) == equal
    if low is not None and high is not None:
        return lambda value: low <= len(value) <= high
    if low is not None:
        return lambda value: len(value) >= low
    if high is not None:
        return lambda value: len(value) <= high
    return lambda value: True


def _range_check(bounds: validate.Range, name: str) -> _Check:
    low, high = bounds.min, bounds.max
    if any(b is not None and type(b) not in (int, float) for b in (low, high)):
        raise Unsupported(f"{name}: Range bounds {bounds!r}")
    low_ok = bounds.min_inclusive
    high_ok = bounds.max_inclusive

    # Written as marshmallow's failure tests, negated: with nan every comparison is False.
    def within(value: Any) -> bool:
        if low is not None and (value < low if low_ok else value <= low):
            return False
        return not (high is not None and (value > high if high_ok else value >= high))

    return within
