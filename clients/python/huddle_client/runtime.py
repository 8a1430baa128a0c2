"""What every generated client shares: the connection, the ack envelope, server-event queues.

Hand-written; the namespaces' clients (``lobby.py``, ``chat.py``, ...) are generated from the
server's schemas by Huddle's ``scripts/gen_docs.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar, cast

import socketio

T = TypeVar("T")
Listener = Callable[[T], Awaitable[None] | None]
DEFAULT_TIMEOUT_S = 5.0
BUFFERED = 1_000  # server events kept per event name until read


class HuddleError(Exception):
    """A failed ack: ``{ok: false, error, code, fields?, ...}``.

    ``code`` is one of ``huddle_client.ErrorCode``; ``fields`` maps offending payload fields
    to messages (``validation_error``); ``extra`` holds the other fields (``retryAfterMs``,
    ``limit``)."""

    def __init__(self, event: str, failure: Mapping[str, Any]) -> None:
        self.event = event
        self.code: str = str(failure.get("code", ""))
        self.error: str = str(failure.get("error", ""))
        self.fields: dict[str, Any] = dict(failure.get("fields") or {})
        self.extra: dict[str, Any] = {k: v for k, v in failure.items()
                                      if k not in ("ok", "error", "code", "fields")}
        super().__init__(f"{event}: {self.code}: {self.error}")


class EventStream(Generic[T]):
    """One server event's arrivals, in order: ``await stream.next()`` or ``subscribe(fn)``.

    Events are queued from the moment the client connects, so an event that arrived before
    ``next()`` was awaited (a broadcast sent before the ack that caused it) is not missed.
    """

    def __init__(self, name: str, buffered: int = BUFFERED) -> None:
        self.name = name
        self._queue: deque[T] = deque(maxlen=buffered)
        self._listeners: list[Listener[T]] = []
        self._arrived = asyncio.Event()
        self.count = 0  # every arrival so far, read or not

    async def next(self, *, where: Callable[[T], bool] | None = None,
                   within_s: float = DEFAULT_TIMEOUT_S) -> T:
        """The oldest unread arrival (matching ``where``; others are skipped as read);
        TimeoutError after ``within_s`` seconds."""
        async with asyncio.timeout(within_s):
            while True:
                while self._queue:
                    item = self._queue.popleft()
                    if where is None or where(item):
                        return item
                self._arrived.clear()
                await self._arrived.wait()

    def drain(self) -> list[T]:
        """Every unread arrival, now, without waiting."""
        items = list(self._queue)
        self._queue.clear()
        return items

    def subscribe(self, listener: Listener[T]) -> Callable[[], None]:
        """Call ``listener`` with each arrival from now on; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def _deliver(self, data: T) -> None:
        self.count += 1
        self._queue.append(data)
        self._arrived.set()
        for listener in list(self._listeners):
            result = listener(data)
            if inspect.isawaitable(result):
                await result


class BaseClient:
    """One Socket.IO connection to one namespace of a Huddle server."""

    namespace = "/"

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_S, buffered: int = BUFFERED,
                 sio: socketio.AsyncClient | None = None) -> None:
        self.sio = sio or socketio.AsyncClient(reconnection=False)
        self.timeout = timeout
        self._buffered = buffered
        self._streams: dict[str, EventStream[Any]] = {}
        self.sio.on("*", self._arrive, namespace=self.namespace)

    async def connect(self, url: str, *, auth: Mapping[str, Any] | None = None,
                      transports: list[str] | None = None, **options: Any) -> None:
        """Connect to ``url`` (``http://host:port``); ``auth`` is the namespace's auth payload."""
        await self.sio.connect(url, namespaces=[self.namespace], auth=dict(auth or {}) or None,
                               transports=transports or ["websocket"],
                               wait_timeout=self.timeout, **options)

    async def disconnect(self) -> None:
        await self.sio.disconnect()

    async def __aenter__(self) -> BaseClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.disconnect()

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    def stream(self, name: str) -> EventStream[Any]:
        """The queue of server event ``name`` (the generated ``on.<event>`` are typed)."""
        found = self._streams.get(name)
        if found is None:
            found = self._streams[name] = EventStream(name, self._buffered)
        return found

    async def _arrive(self, event: str, *args: Any) -> None:
        await self.stream(event)._deliver(args[0] if len(args) == 1 else list(args))

    async def _call(self, event: str, payload: Mapping[str, Any] | None) -> dict[str, Any]:
        """Emit ``event`` and wait for its ack; a failure raises HuddleError."""
        ack = await self.sio.call(event, dict(payload) if payload is not None else None,
                                  namespace=self.namespace, timeout=self.timeout)
        if not isinstance(ack, dict) or ack.get("ok") is not True:
            raise HuddleError(event, ack if isinstance(ack, dict) else {"error": repr(ack)})
        return cast(dict[str, Any], ack)


def payload(required: Mapping[str, Any], optional: Mapping[str, Any]) -> dict[str, Any]:
    """An event's payload: every required field, and the optional ones not left at None."""
    return {**required, **{key: value for key, value in optional.items() if value is not None}}
