"""The compiled loaders agree with marshmallow on every event schema, over hand-written and
seeded random payloads: a fast answer is always marshmallow's answer, every error is
marshmallow's own, and schemas the compiler does not understand are not compiled."""

from __future__ import annotations

import collections
import math
import random
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    missing,
    post_load,
    validate,
    validates,
    validates_schema,
)

from namespaces.bench import BenchNamespace
from namespaces.chat import ChatNamespace
from namespaces.lobby import LobbyNamespace
from schemas.compiled import compile_fast, compile_loader, unsupported_reason
from schemas.fields import EventSchema, StrictBool, StrictInt, Text
from schemas.lobby import RoomCode

pytestmark = pytest.mark.unit

RANDOM_PAYLOADS = 2_000  # per schema


def event_schemas() -> dict[str, Schema]:
    """Every inbound event schema of the project, by class name."""
    found: dict[str, Schema] = {}
    for namespace in (LobbyNamespace, ChatNamespace, BenchNamespace):
        for spec in namespace.events.values():
            found[type(spec.schema).__name__] = spec.schema
    return found


EVENT_SCHEMAS = event_schemas()
# Deliberately not compiled, and why (unsupported_reason must mention it).
FALLBACKS = {"SendMessage": "pre_load"}

VALID: dict[str, list[Any]] = {
    "CreateRoom": [{"nickname": "ann"}, {"nickname": " Ann ", "title": "t", "maxPlayers": 2},
                   {"nickname": "b", "title": None, "maxPlayers": 16.0}],
    "JoinRoom": [{"nickname": "ann", "code": "abc234"}, {"nickname": "x", "code": " ZZZZ22 "}],
    "Ready": [{"ready": True}, {"ready": False}],
    "SendMessage": [{"message": "hi"}, "bare string"],
    "StartGame": [{}],
    "LeaveRoom": [{}],
    "ListRooms": [{}],
    "OpenChat": [{"userId": "bob"}, {"userId": " bob@x "}],
    "CreateGroup": [{"title": "g", "members": ["a", " b "]}],
    "ListChats": [{}],
    "Subscribe": [{"chatId": "c1"}],
    "Unsubscribe": [{"chatId": "c1"}],
    "SendChat": [{"chatId": "c1", "text": " hello ", "clientMsgId": "m1"}],
    "DirectMessage": [{"toUserId": "bob", "text": "hi", "clientMsgId": "m1"}],
    "History": [{"chatId": "c1"}, {"chatId": "c1", "beforeSeq": 10, "limit": 100},
                {"chatId": "c1", "beforeSeq": None, "limit": 1.0}],
    "MarkRead": [{"chatId": "c1", "seq": 0}],
    "Typing": [{"chatId": "c1", "typing": True}],
    "BenchJoin": [{"room": "r"}],
    "BenchBroadcast": [{"room": "r", "payload": {"a": [1, 2]}}],
    "BenchEcho": [{"t": 123.4, "pad": "x" * 60}, {"t": 1}, {"t": -0.0, "pad": ""}],
}
INVALID: list[Any] = [
    None, [], "x", 1, 1.5, True, b"{}", [{}], {"unknown": 1}, collections.OrderedDict(),
]


class Sub(str):
    """A str subclass: marshmallow calls str() on it; the fast path must not guess."""

    def __str__(self) -> str:
        return "subclassed"


# -- the agreement harness -----------------------------------------------------------------

def same(got: Any, want: Any) -> bool:
    """Equal values of identical types, dict keys in the same order (nan equals nan)."""
    if type(got) is not type(want):
        return False
    if isinstance(got, dict):
        return list(got) == list(want) and all(same(got[k], want[k]) for k in got)
    if isinstance(got, list):
        return len(got) == len(want) and all(map(same, got, want))
    if isinstance(got, float) and math.isnan(got):
        return math.isnan(want)
    return bool(got == want)


def plain_json(value: Any) -> bool:
    """Exactly the types a JSON parser makes (no subclasses, no tuples)."""
    if type(value) is dict:
        return all(type(k) is str and plain_json(v) for k, v in value.items())
    if type(value) is list:
        return all(map(plain_json, value))
    return type(value) in (str, int, float, bool, type(None))


def float_from_string(schema: Schema, raw: Any) -> bool:
    """Float loads "3" as 3.0; the fast path leaves numeric strings to marshmallow."""
    return isinstance(raw, dict) and any(
        type(f) is fields.Float and isinstance(raw.get(f.data_key or name), str)
        for name, f in schema.load_fields.items()
    )


def assert_agrees(schema: Schema, raw: Any) -> bool:
    """Check one payload; True when the fast path answered it.

    The fast path may only defer a valid payload that a JSON parser could not have made."""
    fast = compile_fast(schema)
    loader = compile_loader(schema)
    fast_result = fast(raw) if fast is not None else None
    try:
        want = schema.load(raw)
    except ValidationError as error:
        assert fast_result is None, (raw, fast_result)
        with pytest.raises(ValidationError) as raised:
            loader(raw)
        messages = raised.value.normalized_messages  # untyped in marshmallow
        assert messages() == error.normalized_messages()  # type: ignore[no-untyped-call]
        return False
    if fast_result is not None:
        assert same(fast_result, want), (raw, fast_result, want)
    elif fast is not None:
        assert not plain_json(raw) or float_from_string(schema, raw), ("deferred", raw)
    assert same(loader(raw), want), raw
    return fast_result is not None


# -- a corpus built from each schema's fields ----------------------------------------------

SPECIAL_STRINGS: list[Any] = [
    "", " ", "  a  ", "\ta\n", "a b", "\x00", "\x7f", "\u00a0x\u00a0", "\u2003", "é", "ß" * 6,
    "ﬀ", "ǆ", "中文", "\ud800", "abc234", "ABC234", "ABCDE1", " zz2233 ", Sub("abc"),
    b"abc", b"\xff",
]
NON_STRINGS: list[Any] = [None, 0, 1, 1.5, True, False, [], {}, ["a"], float("nan")]
NUMBERS: list[Any] = [
    0, 1, -1, 2, 3.0, 3.5, -0.0, 1e20, 2**70, 10**400, float("nan"), float("inf"),
    float("-inf"), True, False, None, "3", "1.5", [], {}, 1.7976931348623157e308,
]


def lengths(field: fields.Field[Any]) -> set[int]:
    found = {0, 1, 2, 5, 6, 7}
    for v in field.validators:
        if isinstance(v, validate.Length):
            for bound in (v.min, v.max, v.equal):
                if bound is not None:
                    found |= {bound - 1, bound, bound + 1}
    return {n for n in found if n >= 0}


def bounds(field: fields.Field[Any]) -> list[Any]:
    found: list[Any] = []
    for v in field.validators:
        if isinstance(v, validate.Range):
            for bound in (v.min, v.max):
                if bound is not None:
                    found += [bound - 1, bound, bound + 1, float(bound), bound + 0.5]
    return found


def candidates(field: fields.Field[Any]) -> list[Any]:
    """Right and wrong values for one field, boundaries included."""
    kind = type(field)
    if isinstance(field, fields.List):
        inner = candidates(field.inner)
        good = [c for c in inner if isinstance(c, str) and c.strip()][:3] or inner[:3]
        lists: list[Any] = [[good[i % len(good)] for i in range(n)] for n in lengths(field)]
        return [*lists, [None], [1], [good[0], 1], ("a",), "abc", None, {}, [[]]]
    if isinstance(field, fields.Dict):
        return [{}, {"a": 1}, {"k": [1, {"n": None}]}, collections.OrderedDict(a=1), [], "x",
                None, 1]
    if kind in (StrictInt, fields.Float):
        return NUMBERS + bounds(field)
    if kind is StrictBool:
        return [True, False, 0, 1, "true", None, 1.0]
    strings = [fill * n for n in lengths(field) for fill in ("a", "A", "7", "é", " ")]
    strings += [f" {s} " for s in strings[:20]]
    return strings + SPECIAL_STRINGS + NON_STRINGS


def accepted(field: fields.Field[Any], value: Any) -> bool:
    try:
        field.deserialize(value)
    except ValidationError:
        return False
    return True


def random_payloads(schema: Schema, count: int) -> list[Any]:
    """Mostly values the field accepts, so that whole payloads are often valid too."""
    rng = random.Random(zlib.crc32(type(schema).__name__.encode()))
    keyed = []
    for name, field in schema.load_fields.items():
        values = candidates(field)
        good = [v for v in values if accepted(field, v)] or values
        keyed.append((field.data_key or name, name, good, values))
    payloads: list[Any] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.03:
            payloads.append(rng.choice(INVALID))
            continue
        raw: dict[Any, Any] = {}
        for wire_key, name, good, values in keyed:
            choice = rng.random()
            if choice < 0.05:
                continue  # missing
            if choice < 0.06 and wire_key != name:
                raw[name] = rng.choice(values)  # the attribute name is not the wire name
            else:
                raw[wire_key] = rng.choice(good if choice < 0.9 else values)
        if roll > 0.95:
            raw[rng.choice(["extra", "from", "senderId", 1, ""])] = 1
        payloads.append(raw)
    return payloads


def corpus(name: str, schema: Schema) -> list[Any]:
    return VALID.get(name, []) + INVALID + random_payloads(schema, RANDOM_PAYLOADS)


# -- tests ---------------------------------------------------------------------------------

def test_every_event_schema_has_hand_written_valid_payloads() -> None:
    assert set(EVENT_SCHEMAS) == set(VALID)


def test_which_schemas_compile() -> None:
    compiled = {n for n, s in EVENT_SCHEMAS.items() if compile_fast(s) is not None}
    assert compiled == set(EVENT_SCHEMAS) - set(FALLBACKS)
    for name, why in FALLBACKS.items():
        schema = EVENT_SCHEMAS[name]
        assert why in str(unsupported_reason(schema))
        assert compile_loader(schema) == schema.load  # the bound method itself, no wrapper


@pytest.mark.parametrize("name", sorted(EVENT_SCHEMAS))
def test_valid_payloads_take_the_fast_path(name: str) -> None:
    schema = EVENT_SCHEMAS[name]
    for raw in VALID[name]:
        answered = assert_agrees(schema, raw)
        assert answered == (name not in FALLBACKS), raw


@pytest.mark.parametrize("name", sorted(EVENT_SCHEMAS))
def test_compiled_loader_agrees_with_marshmallow(name: str) -> None:
    schema = EVENT_SCHEMAS[name]
    answered = sum(assert_agrees(schema, raw) for raw in corpus(name, schema))
    if name not in FALLBACKS:
        assert answered > RANDOM_PAYLOADS // 10  # the random corpus reaches the fast path


def test_the_fast_path_defers_what_it_must_not_guess() -> None:
    echo = compile_fast(EVENT_SCHEMAS["BenchEcho"])
    history = compile_fast(EVENT_SCHEMAS["History"])
    join = compile_fast(EVENT_SCHEMAS["JoinRoom"])
    assert echo is not None and history is not None and join is not None
    for t in (True, float("nan"), float("inf"), "1.5", 10**400):
        assert echo({"t": t}) is None
    assert echo({"t": 2}) == {"t": 2.0, "pad": ""}
    assert type(echo({"t": 2})["t"]) is float  # type: ignore[index]
    assert history({"chatId": "c", "limit": 3.0}) == {"chat_id": "c", "before_seq": None,
                                                      "limit": 3}
    assert history({"chatId": "c", "limit": True}) is None
    assert history({"chatId": "c", "limit": 3.5}) is None
    assert join({"nickname": "a", "code": Sub("abc234")}) is None
    assert join({"nickname": "a", "code": " abc234 "}) == {"nickname": "a", "code": "ABC234"}
    assert join({"nickname": "a", "code": "abc234", "x": 1}) is None
    assert join({"nickname": "a"}) is None
    assert join(collections.OrderedDict(nickname="a", code="abc234")) is None


# -- features beyond the project's schemas -------------------------------------------------

class Everything(EventSchema):
    """Compiled features the event schemas do not use yet, checked against marshmallow."""

    tags = fields.List(Text(validate=validate.OneOf(["a", "b"])), load_default=list)
    score = fields.Float(allow_nan=True, validate=validate.Range(0, 1, min_inclusive=False))
    level = StrictInt(load_default=None, validate=validate.Range(max=3, max_inclusive=False))
    pin = fields.String(validate=validate.Length(equal=4), attribute="pin_code")
    flag = StrictBool(allow_none=True, data_key="f")
    kind = Text(validate=[validate.OneOf(("x", "y")), validate.Regexp("x")])
    meta = fields.Dict(load_default=dict, validate=validate.Length(max=2))


def test_more_features_agree_with_marshmallow() -> None:
    schema = Everything()
    assert compile_fast(schema) is not None
    hand = [{}, {"tags": ["a", " b "]}, {"score": 1}, {"score": 0}, {"score": float("nan")},
            {"level": 2, "pin": "1234", "f": None, "kind": " x ", "meta": {"a": 1}},
            {"level": 3}, {"pin": "123"}, {"flag": True}, {"kind": "y"}, {"meta": {1: 1, 2: 2,
                                                                                   3: 3}}]
    answered = sum(assert_agrees(schema, raw) for raw in hand + random_payloads(schema, 2_000))
    assert answered > 200
    fast = compile_fast(schema)
    assert fast is not None
    first, second = fast({}), fast({})
    assert first == {"tags": [], "level": None, "meta": {}}
    assert first is not None and second is not None and first["tags"] is not second["tags"]


def test_a_default_factory_returning_missing_omits_the_key_as_marshmallow_does() -> None:
    schema = with_field(fields.String(load_default=lambda: missing))
    assert compile_fast(schema) is not None
    assert assert_agrees(schema, {})
    assert compile_loader(schema)({}) == {}
    assert assert_agrees(schema, {"x": "y"})


def _refuse() -> str:
    raise ValidationError("no default")


def test_a_default_factory_raising_validation_error_is_reported_by_marshmallow() -> None:
    schema = with_field(fields.String(load_default=_refuse))
    assert compile_fast(schema) is not None
    assert not assert_agrees(schema, {})
    with pytest.raises(ValidationError) as raised:
        compile_loader(schema)({})
    assert raised.value.messages == {"x": ["no default"]}


class CustomString(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return "custom"


class CustomText(Text):
    pass


class Inner(Schema):
    a = fields.String()


def with_field(field: fields.Field[Any]) -> Schema:
    return type("Probe", (EventSchema,), {"x": field})()  # type: ignore[no-any-return]


class SchemaValidated(EventSchema):
    x = fields.String()

    @validates_schema
    def check(self, data: Any, **_: Any) -> None:
        raise ValidationError("no")


class FieldValidated(EventSchema):
    x = fields.String()

    @validates("x")
    def check(self, value: Any, **_: Any) -> None:
        raise ValidationError("no")


class PostLoaded(EventSchema):
    x = fields.String()

    @post_load
    def wrap(self, data: Any, **_: Any) -> Any:
        return {"wrapped": data}


class Lenient(Schema):
    class Meta:
        unknown = EXCLUDE

    x = fields.String()


class LoadOverridden(EventSchema):
    x = fields.String()

    def load(self, data: Any, **kwargs: Any) -> Any:
        return {"x": "overridden"}


def _is_even(value: Any) -> None:
    if value % 2:
        raise ValidationError("odd")


UNSUPPORTED: dict[str, Callable[[], Schema]] = {
    "custom field subclass": lambda: with_field(CustomString()),
    "subclass of a known field": lambda: with_field(CustomText()),
    "nested": lambda: with_field(fields.Nested(Inner)),
    "list of nested": lambda: with_field(fields.List(fields.Nested(Inner))),
    "integer": lambda: with_field(fields.Integer()),
    "raw": lambda: with_field(fields.Raw()),
    "dict with values": lambda: with_field(fields.Dict(values=fields.Integer())),
    "function validator": lambda: with_field(StrictInt(validate=_is_even)),
    "predicate": lambda: with_field(fields.String(validate=validate.Predicate("isdigit"))),
    "range on a string": lambda: with_field(fields.String(validate=validate.Range(min="a"))),
    "bytes regexp": lambda: with_field(fields.String(validate=validate.Regexp(b"a"))),
    "field pre_load": lambda: with_field(fields.String(pre_load=str.lower)),
    "room code subclass of Text is exact-typed": lambda: with_field(
        type("Code", (RoomCode,), {})()),
    "dotted attribute": lambda: with_field(fields.String(attribute="a.b")),
    "validates_schema": SchemaValidated,
    "validates": FieldValidated,
    "post_load": PostLoaded,
    "unknown=EXCLUDE": Lenient,
    "load overridden": LoadOverridden,
    "many": lambda: Inner(many=True),
    "partial": lambda: Inner(partial=True),
    "only": lambda: Inner(only=("a",)),
}


@pytest.mark.parametrize("feature", sorted(UNSUPPORTED))
def test_unsupported_features_fall_back_to_marshmallow(feature: str) -> None:
    schema = UNSUPPORTED[feature]()
    assert compile_fast(schema) is None
    assert unsupported_reason(schema)
    assert compile_loader(schema) == schema.load
