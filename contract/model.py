"""The client contract as data: every registered namespace, its events both ways, their shapes.

``build()`` walks the Socket.IO namespaces that ``create_app`` registers, so a namespace that
lands later is in the contract after regeneration, with no change here. Per namespace:

- client events: each ``@event``'s wire name, schema, handler docstring and typed ack
  (``namespaces/dispatch.py``, ``namespaces/acks.py``);
- server events: the namespace's ``server_events`` declarations (``namespaces/outbound.py``).

Its name in the generated clients is the class name without ``Namespace``: ``Lobby`` for
``/``, ``Chat`` for ``/chat``.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contract.json_schema import (
    Components,
    JsonSchema,
    failure_schema,
    payload_schema,
    type_schema,
)
from namespaces.dispatch import EventNamespace
from namespaces.outbound import ServerEvent
from schemas.fields import AcceptsBareString
from server.app import SOCKETIO, create_app
from server.config import Settings


@dataclass(frozen=True)
class ClientEvent:
    """An event a client emits, with its payload and its ack."""

    name: str
    method: str  # the snake_case name in the Python client
    summary: str  # the schema's docstring
    ack_doc: str  # the handler's docstring: the ack shape and what it emits
    payload: JsonSchema  # a $ref to the payload component
    payload_name: str
    fields: tuple[Field, ...]  # the payload's fields, for typed arguments
    bare_string: bool  # a bare string payload is accepted too
    success: JsonSchema  # the success ack
    success_name: str | None  # the success ack's component, when it is a TypedDict
    success_type: Any  # the Python type of the success ack


@dataclass(frozen=True)
class Field:
    wire: str
    python: str  # snake_case keyword in the Python client
    schema: JsonSchema
    required: bool


@dataclass(frozen=True)
class ServerEventSpec:
    template: str  # "message", or "players{code}"
    params: tuple[str, ...]
    audience: str
    payload: JsonSchema
    payload_type: Any


@dataclass(frozen=True)
class NamespaceSpec:
    path: str
    name: str  # Lobby, Chat, ...
    summary: str
    client_events: tuple[ClientEvent, ...]
    server_events: tuple[ServerEventSpec, ...]


@dataclass(frozen=True)
class Contract:
    namespaces: tuple[NamespaceSpec, ...]
    components: dict[str, JsonSchema]
    failure: JsonSchema


def registered_namespaces() -> dict[str, EventNamespace]:
    """The namespaces a default server registers, by path, as ``create_app`` builds them."""
    app = create_app(Settings(auth_secret="contract-generator"))
    handlers: dict[str, EventNamespace] = dict(app[SOCKETIO].namespace_handlers)
    return handlers


def build(namespaces: Mapping[str, EventNamespace] | None = None) -> Contract:
    """The contract of ``namespaces`` (path -> handler); by default, the registered ones."""
    components = Components()
    failure = failure_schema(components)
    found = registered_namespaces() if namespaces is None else namespaces
    spaces = [_namespace(path, handler, components) for path, handler in sorted(found.items())]
    return Contract(tuple(spaces), components.schemas, failure)


def _namespace(path: str, handler: EventNamespace, components: Components) -> NamespaceSpec:
    cls = type(handler)
    name = cls.__name__.removesuffix("Namespace")
    summary = (inspect.getdoc(inspect.getmodule(cls)) or "").split("\n\n")[0]
    client = tuple(_client_event(cls, spec_name, components) for spec_name in cls.events)
    declared: tuple[ServerEvent[Any], ...] = getattr(cls, "server_events", ())
    server = tuple(ServerEventSpec(e.template, e.params, e.audience,
                                   type_schema(e.payload, components), e.payload)
                   for e in declared)
    return NamespaceSpec(path, name, summary.replace("``", "`"), client, server)


def _client_event(cls: type[EventNamespace], name: str, components: Components) -> ClientEvent:
    spec = cls.events[name]
    handler = getattr(cls, spec.handler)
    success_type = typing.get_type_hints(handler)["return"]
    schema = spec.schema
    payload = payload_schema(schema, components)
    wires = [(f.data_key or attr, bool(f.required)) for attr, f in schema.load_fields.items()]
    fields = tuple(Field(wire, snake_case(wire),
                         _property(components, type(schema).__name__, wire), required)
                   for wire, required in wires)
    success = type_schema(success_type, components) if typing.is_typeddict(success_type) else {}
    return ClientEvent(
        name=name,
        method=snake_case(name),
        summary=_doc(type(schema)),
        ack_doc=_doc(handler),
        payload=payload,
        payload_name=type(schema).__name__,
        fields=fields,
        bare_string=isinstance(schema, AcceptsBareString),
        success=success,
        success_name=success_type.__name__ if typing.is_typeddict(success_type) else None,
        success_type=success_type,
    )


def _property(components: Components, component: str, wire: str) -> JsonSchema:
    shape = components.schemas[component]
    if "oneOf" in shape:  # a bare-string payload: the object form comes first
        shape = shape["oneOf"][0]
    found: JsonSchema = shape["properties"][wire]
    return found


def _doc(obj: Any) -> str:
    return (inspect.getdoc(obj) or "").replace("``", "`")


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
