"""The committed contract (docs/asyncapi.yaml) as validators, for the tests' clients.

Every ack a test ``Client`` receives and every server event it records is checked against the
JSON Schemas of the committed AsyncAPI document (tests/support.py), so each shape any test
provokes over a real socket is checked against what the generated clients promise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.yaml"
BASE = "urn:huddle:asyncapi"


@dataclass(frozen=True)
class Channel:
    name: str  # Lobby, Chat, ...
    acks: dict[str, Draft7Validator]  # client event -> its ack
    payloads: dict[str, Draft7Validator]  # client event -> its payload
    events: list[tuple[re.Pattern[str], str, Draft7Validator]]  # server events


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text())
    return loaded


@cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(document(), default_specification=DRAFT7)
    registry: Registry[Any] = Registry().with_resource(BASE, resource)
    return registry


def validator(schema: dict[str, Any]) -> Draft7Validator:
    """A validator for a schema of the document (its ``$ref``s resolve within it)."""
    return Draft7Validator(_rebase(schema), registry=_registry())


def component(name: str) -> Draft7Validator:
    return validator({"$ref": f"#/components/schemas/{name}"})


def _rebase(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (BASE + v if k == "$ref" and v.startswith("#") else _rebase(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


@cache
def channels() -> dict[str, Channel]:
    """Each namespace path's validators."""
    doc = document()
    messages = doc["components"]["messages"]
    found = {}
    for name, channel in doc["channels"].items():
        acks, payloads, events = {}, {}, []
        for ref in channel["messages"].values():
            key = ref["$ref"].rsplit("/", 1)[1]
            message = messages[key]
            check = validator(message["payload"])
            direction = key.split(".")[1]
            if direction == "emit" and key.endswith(".ack"):
                acks[key.split(".")[2]] = check
            elif direction == "emit":
                payloads[message["name"]] = check
            else:
                pattern = message.get("x-huddle-event-name-pattern") or \
                    "^" + re.escape(message["name"]) + "$"
                events.append((re.compile(pattern), message["name"], check))
        found[channel["address"]] = Channel(name, acks, payloads, events)
    return found


def _problems(check: Draft7Validator, value: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in check.iter_errors(value)]


def server_event_problems(namespace: str, event: str, args: tuple[Any, ...]) -> list[str]:
    """Why a received server event breaks the contract ([] when it keeps it)."""
    channel = channels().get(namespace)
    if channel is None:
        return [f"no namespace {namespace} in docs/asyncapi.yaml"]
    declared = [(name, check) for pattern, name, check in channel.events
                if pattern.match(event)]
    if not declared:
        return [f"{namespace} {event!r} is not a declared server event"]
    if len(args) != 1:
        return [f"{namespace} {event!r} carries {len(args)} arguments, not one"]
    name, check = declared[0]
    return [f"{namespace} {name}: {p}" for p in _problems(check, args[0])]


def ack_problems(namespace: str, event: str, ack: Any) -> list[str]:
    """Why an ack breaks the contract; an unknown event's ack must be a Failure."""
    channel = channels().get(namespace)
    if channel is None:
        return [f"no namespace {namespace} in docs/asyncapi.yaml"]
    check = channel.acks.get(event) or component("Failure")
    return [f"{namespace} {event} ack: {p}" for p in _problems(check, ack)]
