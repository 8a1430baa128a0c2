"""The one owner of per-connection state: a ``Connection`` per namespace connection.

- Born when a namespace CONNECT succeeds (the connect handler accepted it); a refused or failed
  connect never creates one.
- Dropped when the namespace connection ends, whoever ends it: the client's DISCONNECT, a closed
  transport, a server-side kick. From that moment it is closed: an event that has not started
  yet is dropped, so a late event can never re-create state for a sid that is gone.
- Events start in arrival order. In a namespace that asks for it (``ordered_events = True``,
  as every Huddle ``EventNamespace`` does) they also run one at a time under the connection's
  lock, as Node's synchronous handlers do, and the disconnect handler waits for the event in
  flight. Other namespaces run a suspended handler beside the next one, as Node's async
  handlers do.

``HuddleSocketServer`` (sio_server.py) is the only writer; namespaces keep no per-sid tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class Connection:
    """One sid connected to one namespace."""

    __slots__ = ("eio_sid", "holder", "lock", "namespace", "open", "sid")

    def __init__(self, sid: str, namespace: str, eio_sid: str, *, ordered: bool) -> None:
        self.sid, self.namespace, self.eio_sid = sid, namespace, eio_sid
        self.lock = asyncio.Lock() if ordered else None
        self.open = True
        self.holder: asyncio.Task[Any] | None = None  # the task running this sid's event

    async def close(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Close now (no event starts after this), then ``await fn()`` (the disconnect handler)
        once the event in flight is done. Inline when called from that event itself (e.g. it
        overflowed its own client), which would otherwise wait for itself."""
        self.open = False
        if self.lock is None or self.holder is asyncio.current_task():
            return await fn()
        async with self.lock:
            return await fn()


class Connections:
    """Every open namespace connection of this server, by sid (sids are unique across
    namespaces)."""

    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}
        # eio_sid -> namespace -> (task running the connect handler, set when it is over)
        self._connecting: dict[str, dict[str, tuple[asyncio.Task[Any] | None, asyncio.Event]]] = {}

    def __len__(self) -> int:
        """Open connections plus connects in progress: 0 once every client has gone."""
        return len(self._by_sid) + sum(len(c) for c in self._connecting.values())

    @contextmanager
    def connecting(self, eio_sid: str, namespace: str) -> Iterator[None]:
        """Mark a namespace connect of ``eio_sid`` as in progress for the ``with`` body."""
        entry = (asyncio.current_task(), asyncio.Event())
        self._connecting.setdefault(eio_sid, {})[namespace] = entry
        try:
            yield
        finally:
            entry[1].set()
            pending = self._connecting.get(eio_sid, {})
            if pending.get(namespace) is entry:
                del pending[namespace]
                if not pending:
                    del self._connecting[eio_sid]

    async def settled(self, eio_sid: str) -> None:
        """Wait until no namespace connect of ``eio_sid`` is in progress, so that a transport
        closed during a connect handler disconnects what that handler set up. A connect run by
        the calling task itself is not waited for (it would wait for itself)."""
        me = asyncio.current_task()
        for task, done in list(self._connecting.get(eio_sid, {}).values()):
            if task is not me:
                await done.wait()

    def born(self, sid: str, namespace: str, eio_sid: str, *, ordered: bool) -> Connection:
        conn = self._by_sid[sid] = Connection(sid, namespace, eio_sid, ordered=ordered)
        return conn

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def end(self, sid: str) -> Connection | None:
        """Drop ``sid``'s connection and close it; None if it has none (never connected)."""
        conn = self._by_sid.pop(sid, None)
        if conn is not None:
            conn.open = False
        return conn
