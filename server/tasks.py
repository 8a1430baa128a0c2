"""Stopping background tasks without trusting that cancellation is always honoured.

On Python 3.11, ``asyncio.wait_for`` can swallow a cancellation when its inner awaitable
finishes at the same moment; a loop around it then carries on, and ``await task`` after
``task.cancel()`` hangs forever. Shutdown must never hang, so every stop is bounded.
"""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)


async def cancel_and_wait(*tasks: asyncio.Task[object] | None, timeout_s: float = 2.0) -> None:
    """Cancel ``tasks`` and wait at most ``timeout_s`` for them to finish."""
    live = [task for task in tasks if task is not None and not task.done()]
    for task in live:
        task.cancel()
    if not live:
        return
    _, pending = await asyncio.wait(live, timeout=timeout_s)
    for task in pending:
        logger.warning("task %s ignored cancellation; left behind at shutdown", task.get_name())
