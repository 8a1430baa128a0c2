"""The generators walk whatever namespaces are registered: a new namespace (here a made-up
``/rtc``) appears in every artifact with no change to the generators, under its class name;
and they refuse what they cannot state exactly instead of writing a wrong contract."""

from __future__ import annotations

import ast
from typing import Any, ClassVar, TypedDict

import pytest
from marshmallow import fields, validate

from contract import asyncapi, python_client, typescript
from contract.json_schema import Components, payload_schema
from contract.model import build, registered_namespaces
from contract.strings import Unexpressible
from namespaces.acks import Done
from namespaces.dispatch import EventNamespace, Payload, event
from namespaces.outbound import ServerEvent
from schemas.fields import EventSchema, Text

pytestmark = pytest.mark.unit


class Offer(EventSchema):
    """``offer``: an SDP offer for ``peer``."""

    peer = Text(required=True, validate=validate.Length(min=1, max=64))
    sdp = Text(required=True, validate=validate.Length(min=1, max=20_000))


class Relayed(TypedDict):
    """An offer relayed from ``fromPeer``."""

    fromPeer: str
    sdp: str


RELAYED = ServerEvent("offer{peer}", Relayed, "the addressed peer")


class RtcNamespace(EventNamespace):
    server_events: ClassVar[tuple[ServerEvent[Any], ...]] = (RELAYED,)

    @event("offer", Offer)
    async def offer(self, sid: str, data: Payload) -> Done:
        """Offer -> ``{ok}``; emits ``offer<peer>`` to the peer."""
        return {"ok": True}


def test_a_new_namespace_appears_everywhere_under_its_class_name() -> None:
    spaces = {**registered_namespaces(), "/rtc": RtcNamespace("/rtc")}
    made = build(spaces)
    assert [s.name for s in made.namespaces] == ["Lobby", "Chat", "Rtc"]
    ts = typescript.render(made)
    assert "export namespace Rtc {" in ts
    assert "offer: (payload: Offer, ack: (response: Ack<Done>) => void) => void;" in ts
    assert "[event: `offer${string}`]: (offer: Relayed) => void;" in ts
    document = asyncapi.build(made)
    assert document["channels"]["Rtc"]["address"] == "/rtc"
    assert document["operations"]["Rtc.offer"]["action"] == "receive"
    assert document["components"]["messages"]["Rtc.on.offer_peer"]["name"] == "offer{peer}"
    modules = python_client.render(made)
    rtc = modules["rtc.py"]
    ast.parse(rtc)
    assert "class RtcClient(BaseClient):" in rtc
    assert "async def offer(self, *, peer: str, sdp: str) -> None:" in rtc
    assert "def offer(self, peer: str) -> EventStream[Relayed]:" in rtc
    assert "from huddle_client.rtc import RtcClient" in modules["__init__.py"]


def test_the_default_contract_is_the_registered_namespaces() -> None:
    assert [(s.path, s.name) for s in build().namespaces] == [("/", "Lobby"), ("/chat", "Chat")]


@pytest.mark.parametrize("field", [
    fields.Integer(),
    Text(validate=validate.OneOf(["a", "b"])),
    Text(validate=validate.Regexp(r"a")),  # not anchored
    fields.String(validate=validate.Regexp(r"^a$")),  # a pattern on an untrimmed string
    fields.Nested(Offer),
], ids=["integer", "one-of", "unanchored", "untrimmed-pattern", "nested"])
def test_what_cannot_be_stated_exactly_is_refused(field: fields.Field[Any]) -> None:
    schema = type("Probe", (EventSchema,), {"x": field})()
    with pytest.raises(Unexpressible):
        payload_schema(schema, Components())
