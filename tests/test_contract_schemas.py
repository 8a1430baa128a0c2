"""The JSON Schemas of docs/asyncapi.yaml accept exactly the payloads the server accepts.

Checked against marshmallow (the server's validator) on the seeded corpus the compiled
loaders are checked on (tests/test_compiled_schemas.py), plus the strings where trimming and
upper-casing are easiest to get wrong. Payloads that a JSON text cannot carry (bytes, tuples,
NaN, str subclasses) are left out: they never reach a schema from a JSON packet. The checks
that the tests' clients run on every ack and server event are themselves checked here.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from marshmallow import Schema, ValidationError

from contract.model import registered_namespaces
from tests.contract_check import (
    ack_problems,
    channels,
    component,
    document,
    server_event_problems,
)
from tests.test_compiled_schemas import corpus, plain_json

pytestmark = pytest.mark.unit


def contract_schemas() -> dict[str, Schema]:
    return {type(spec.schema).__name__: spec.schema
            for handler in registered_namespaces().values()
            for spec in type(handler).events.values()}


SCHEMAS = contract_schemas()
LONG_S, SHARP_S, DOTLESS_I = "\u017f", "\u00df", "\u0131"  # upper(): S, SS, I
FFL, FFI, FF = "\ufb04", "\ufb03", "\ufb00"  # ligatures; upper(): FFL, FFI, FF
FULLWIDTH_CODE = "\uff21\uff22\uff23\uff12\uff13\uff14"  # ABC234 in full-width forms
TRICKY_STRINGS = [
    LONG_S * 6, SHARP_S * 3, FFL + "AB2", FFI + "AB2", "ABCDE" + FF, DOTLESS_I * 6,
    " abc234\n", "abc234\n", "\nabc234", "\u3000abc234\u3000", "abc\u200b234", "\ufeffabc234",
    "\x1cabc234\x1f", FULLWIDTH_CODE, "a" * 20 + "\n", " " * 30 + "b" * 20 + "\t", "a\n" * 10,
    "\x85a\x85", "\U0001f600", "\U0001f600" * 20, "\U0001f600" * 21, "a\u2028b", "", " ", "\u00a0",
]


def tricky(schema: Schema) -> list[Any]:
    """Each string field set to each tricky string, the other fields from a valid payload."""
    payloads: list[Any] = []
    for name, field in schema.load_fields.items():
        for text in TRICKY_STRINGS:
            payloads.append({**_filled(schema), field.data_key or name: text})
    return payloads


def _filled(schema: Schema) -> dict[str, Any]:
    samples = {"nickname": "ann", "code": "ABC234", "userId": "bob", "chatId": "c1",
               "toUserId": "bob", "text": "hi", "clientMsgId": "m1", "message": "hi",
               "title": "t", "members": ["a"], "seq": 1, "ready": True, "typing": True}
    return {f.data_key or n: samples[f.data_key or n] for n, f in schema.load_fields.items()
            if f.required}


def json_text_can_carry(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(map(json_text_can_carry, value.values()))
    if isinstance(value, list):
        return all(map(json_text_can_carry, value))
    return True


def server_accepts(schema: Schema, raw: Any) -> bool:
    try:
        schema.load(raw)
    except ValidationError:
        return False
    return True


def test_every_client_event_schema_is_in_the_contract() -> None:
    components = document()["components"]["schemas"]
    assert set(SCHEMAS) <= set(components)
    assert {"JoinRoom", "SendChat"} <= set(SCHEMAS)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_json_schema_accepts_exactly_what_the_server_accepts(name: str) -> None:
    schema, check = SCHEMAS[name], component(name)
    payloads = [raw for raw in corpus(name, schema) + tricky(schema)
                if plain_json(raw) and json_text_can_carry(raw)]
    verdicts = [(raw, server_accepts(schema, raw)) for raw in payloads]
    disagree = [(raw, server) for raw, server in verdicts if check.is_valid(raw) != server]
    assert disagree == []
    accepted = sum(server for _, server in verdicts)
    assert accepted > 20 and len(verdicts) - accepted > 20  # both sides are exercised


def test_room_codes_are_matched_after_trimming_and_upper_casing() -> None:
    check = component("JoinRoom")
    for code in ("abc234", " ABC234 ", LONG_S * 6, SHARP_S * 3, FFL + "AB2"):
        assert check.is_valid({"nickname": "a", "code": code}), code
    for code in ("ABC23", "ABC2345", "ABCDE1", FFI + "AB2", "ab c234", FULLWIDTH_CODE):
        assert not check.is_valid({"nickname": "a", "code": code}), code


def test_the_event_checks_catch_what_breaks_the_contract() -> None:
    player = {"nickname": "a", "isHost": True, "ready": False}
    assert server_event_problems("/", "playersAB12CD", ([player],)) == []
    assert server_event_problems("/", "allReady", (True,)) == []
    assert server_event_problems("/", "allReady", ("yes",))
    assert server_event_problems("/", "playersAB12CD", ([{**player, "extra": 1}],))
    assert server_event_problems("/", "playersAB12CD", ([{"nickname": "a"}],))
    assert server_event_problems("/", "players", ([player],))  # no code: not the template
    assert server_event_problems("/", "surprise", ({},))
    assert server_event_problems("/", "allReady", (True, False))
    assert server_event_problems("/chat", "presence", ({"userId": "u", "online": True},)) == []
    assert server_event_problems("/nowhere", "x", ({},))


def test_the_ack_checks_catch_what_breaks_the_contract() -> None:
    assert ack_problems("/", "ready", {"ok": True}) == []
    assert ack_problems("/", "ready", {"ok": True, "room": {}})
    failed = {"ok": False, "error": "slow", "code": "rate_limited", "retryAfterMs": 5}
    assert ack_problems("/chat", "sendChat", failed) == []
    assert ack_problems("/chat", "sendChat", {**failed, "code": "made_up"})
    assert ack_problems("/chat", "sendChat", {k: v for k, v in failed.items()
                                              if k != "retryAfterMs"})
    assert ack_problems("/", "noSuchEvent", {"ok": False, "error": "?",
                                             "code": "unknown_event"}) == []
    assert ack_problems("/", "noSuchEvent", {"ok": True})


def test_every_namespace_of_the_server_is_a_channel() -> None:
    assert set(channels()) == set(registered_namespaces())
