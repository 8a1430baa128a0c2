"""The event table and the one ack envelope shared by every namespace.

Wire event names (camelCase, fixed by existing frontends) are bound to snake_case handlers and
to their schema in one place, the ``@event`` decorator, so no event exists without a schema.
A handler returns its success shape (``namespaces/acks.py``); every failure is answered here,
from the error-code registry (``server/errors.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, TypeVar

import socketio
from marshmallow import Schema, ValidationError

from namespaces.acks import Ack
from schemas.compiled import Loader, compile_loader
from server.errors import DomainError, ErrorCode, Failure, failure
from server.timing import Timings

logger = logging.getLogger(__name__)

Payload = dict[str, Any]
H = TypeVar("H", bound=Callable[..., Awaitable[Ack]])
LIFECYCLE_EVENTS = ("connect", "disconnect")


@dataclass(frozen=True)
class EventSpec:
    name: str
    schema: Schema
    handler: str
    # schema.load's exact results and errors, faster for valid payloads (schemas/compiled.py):
    # compiled when a namespace is created (at start-up), not at import.
    load: Loader = field(repr=False, compare=False)

    def compiled(self) -> EventSpec:
        return replace(self, load=compile_loader(self.schema))


class EventStats:
    """What one namespace's dispatcher counts, for /metrics (read at scrape time).

    ``handler_seconds[name].count`` is also the number of ``name`` events received: every
    event in the table is timed, including those answered with a validation error.
    """

    def __init__(self, names: list[str]) -> None:
        self.handler_seconds = {name: Timings() for name in names}
        self.unknown = 0  # events whose name is not in the table (the "other" label)
        self.error_acks: dict[str, int] = {}  # code -> acks answered {ok: false, code}

    def failed(self, ack: Mapping[str, Any]) -> None:
        code = str(ack.get("code"))  # an ErrorCode (a StrEnum): its str() is the code
        self.error_acks[code] = self.error_acks.get(code, 0) + 1


def event(name: str, schema: type[Schema]) -> Callable[[H], H]:
    """Bind a handler to wire event ``name``; its payload is validated by ``schema`` first."""

    def mark(fn: H) -> H:
        fn.__huddle_event__ = (name, schema)  # type: ignore[attr-defined]
        return fn

    return mark


def validation_failure(messages: dict[str, Any] | list[Any]) -> Failure:
    fields = messages if isinstance(messages, dict) else {"_schema": messages}
    parts = []
    for name, problems in fields.items():
        text = problems[0] if isinstance(problems, list) and problems else str(problems)
        text = str(text).rstrip(".")
        parts.append(text if name == "_schema" else f"{name}: {text}")
    return failure(ErrorCode.VALIDATION_ERROR, "Invalid payload: " + "; ".join(parts) + ".",
                   fields=fields)


class EventNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Dispatches wire events through the table; every handler answers its ack."""

    events: ClassVar[dict[str, EventSpec]] = {}
    # Read by the wire layer (server/wire/lifecycle.py): one event of a connection at a time,
    # in arrival order, and its disconnect waits for the event in flight.
    ordered_events: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[str, EventSpec] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                marked = getattr(value, "__huddle_event__", None)
                if marked:
                    name, schema = marked
                    instance = schema()
                    table[name] = EventSpec(name, instance, attr, instance.load)
        cls.events = table

    def __init__(self, namespace: str) -> None:
        super().__init__(namespace)
        # The event table with each schema's compiled loader.
        self.specs = {name: spec.compiled() for name, spec in self.events.items()}

    # Set by count_events when /metrics is on; None keeps the dispatcher free of timing.
    stats: EventStats | None = None

    def count_events(self) -> EventStats:
        """Count and time every event from now on (server/metrics reads the result)."""
        self.stats = EventStats(list(self.events))
        return self.stats

    async def trigger_event(self, event_name: str, *args: Any) -> Any:
        """One event of a connected sid. The wire layer owns the connection lifecycle
        (server/wire/lifecycle.py): it runs a connection's events one at a time in arrival
        order, makes its disconnect wait for the event in flight, and never calls this for a
        sid that is gone; so namespaces keep no per-sid state of their own."""
        if event_name in LIFECYCLE_EVENTS:
            return await super().trigger_event(event_name, *args)
        sid = args[0]
        spec = self.specs.get(event_name)
        stats = self.stats
        if spec is None:
            logger.info("unknown event %r from sid=%s ns=%s", event_name, sid, self.namespace)
            unknown = failure(ErrorCode.UNKNOWN_EVENT, f"Unknown event {event_name!r}.")
            if stats is not None:
                stats.unknown += 1
                stats.failed(unknown)
            return unknown
        if stats is None:
            return await self._dispatch(spec, sid, args[1:])
        started = time.perf_counter()
        ack = await self._dispatch(spec, sid, args[1:])
        stats.handler_seconds[event_name].observe(time.perf_counter() - started)
        if type(ack) is dict and ack.get("ok") is False:
            stats.failed(ack)
        return ack

    async def _dispatch(self, spec: EventSpec, sid: str, payload: tuple[Any, ...]) -> Ack:
        try:
            if len(payload) > 1:
                raise ValidationError("Expected a single payload argument.")
            raw = payload[0] if payload and payload[0] is not None else {}
            data: Payload = spec.load(raw)
            handler: Callable[[str, Payload], Awaitable[Ack]] = getattr(self, spec.handler)
            return await handler(sid, data)
        except ValidationError as exc:
            messages = exc.normalized_messages()  # type: ignore[no-untyped-call]
            logger.info("invalid %s from sid=%s ns=%s: %s", spec.name, sid, self.namespace,
                        messages)
            return validation_failure(messages)
        except DomainError as exc:
            logger.info("%s refused for sid=%s ns=%s: %s", spec.name, sid, self.namespace,
                        exc.code)
            return failure(exc.code, exc.message, **exc.data)
        except Exception:
            logger.exception("%s failed for sid=%s ns=%s", spec.name, sid, self.namespace)
            return failure(ErrorCode.INTERNAL_ERROR, "Something went wrong on the server.")
