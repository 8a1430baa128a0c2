"""One FIFO of inbound events per server, run by a worker task instead of a task per event.

python-socketio starts an asyncio task for every inbound event. Most Huddle handlers finish
without ever suspending (memory store, validation errors, the benchmark's echo), so that task is
pure overhead: creating it, scheduling it and running one loop iteration for it cost more than
the handler itself.

Here a worker task takes calls from the FIFO and awaits each in turn. A call that suspends (a
Redis round trip, a contended lock) keeps its worker: the worker is that call's task for as long
as it runs, so ``asyncio.current_task()``, ``asyncio.timeout`` and cancellation behave exactly as
under a task per event. The next ``put`` then starts a fresh worker for the rest of the FIFO, so
a slow handler never delays other events. Calls start in ``put`` order, which is arrival order;
each connection's lock (``lifecycle.Connection``) keeps its events in order even when one of
them suspends.

Difference from a task per event: calls that run on the same worker share its contextvars
context (as with python-socketio's ``async_handlers=False``). Huddle sets no context variables.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from server.tasks import cancel_and_wait

logger = logging.getLogger(__name__)
Call = tuple[Callable[..., Awaitable[None]], tuple[Any, ...]]


class Inbox:
    def __init__(self, name: str = "inbox") -> None:
        self.name = name
        self._calls: deque[Call] = deque()
        self._current: asyncio.Task[None] | None = None  # the worker that takes new calls
        self._busy = False  # the current worker is inside a call (suspended, if put runs)
        self._check_due = False  # a _check_suspended callback is scheduled
        self._workers: set[asyncio.Task[None]] = set()
        self.closed = False
        self.workers_started = 0  # for tests and benchmarks: how often a worker was needed

    def put(self, fn: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Queue ``await fn(*args)``; it starts after every call put before it has started."""
        if self.closed:
            return
        self._calls.append((fn, args))
        if self._current is None or self._busy:
            # No worker, or the current one is suspended inside a call (put only ever runs
            # while no worker is running): hand the rest of the FIFO to a new worker.
            self._start_worker()

    def _start_worker(self) -> None:
        task = asyncio.get_running_loop().create_task(self._work(), name=self.name)
        self._current, self._busy = task, False
        self._workers.add(task)
        task.add_done_callback(self._workers.discard)
        self.workers_started += 1

    async def _work(self) -> None:
        me = asyncio.current_task()
        calls = self._calls
        lingered = False
        while self._current is me and not self.closed:
            if not calls:
                if lingered:
                    break
                # Under load the next events arrive in the next loop iteration: wait one
                # iteration for them rather than ending and starting another worker. An idle
                # server keeps no worker.
                lingered = True
                await asyncio.sleep(0)
                continue
            lingered = False
            fn, args = calls.popleft()
            if calls and not self._check_due:
                # If this call suspends, the calls queued behind it must not wait for it.
                self._check_due = True
                asyncio.get_running_loop().call_soon(self._check_suspended)
            self._busy = True
            try:
                await fn(*args)
            except Exception:
                logger.exception("%s: call %r failed", self.name, fn)
            finally:
                if self._current is me:
                    self._busy = False
        if self._current is me:
            self._current = None
        # (Replaced while suspended in a call: the newer worker owns the FIFO now.)

    def _check_suspended(self) -> None:
        """Runs only while no worker runs: a busy current worker is suspended inside a call."""
        self._check_due = False
        if self._calls and self._busy and not self.closed:
            self._start_worker()

    async def close(self) -> None:
        """Stop taking calls and cancel the workers (bounded; see server.tasks)."""
        self.closed = True
        self._calls.clear()
        await cancel_and_wait(*self._workers)
