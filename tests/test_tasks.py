"""Shutdown never hangs on a task that swallowed its cancellation (seen with 3.11 wait_for)."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from server.tasks import cancel_and_wait

pytestmark = pytest.mark.unit


async def test_a_task_that_ignores_cancel_does_not_block_shutdown() -> None:
    stop, running = asyncio.Event(), asyncio.Event()

    async def stubborn() -> None:
        running.set()
        while not stop.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await stop.wait()

    task = asyncio.create_task(stubborn())
    await running.wait()
    await cancel_and_wait(task, timeout_s=0.2)
    assert not task.done()  # it really ignored the cancel, and we still returned
    stop.set()
    task.cancel()
    await asyncio.wait([task], timeout=2)
    assert task.done()


async def test_cooperative_tasks_are_cancelled() -> None:
    task = asyncio.create_task(asyncio.Event().wait())  # waits for ever, until cancelled
    await cancel_and_wait(task, None)
    assert task.cancelled()
