"""Requests from one node to every node of the cluster, and their replies.

``ask_all(kind, body)`` runs the handler registered for ``kind`` on every live node (this one
included) and returns the replies that came back in time. The admin namespace lists sockets and
applies commands this way. Two twins, chosen like the store's: ``LocalBus`` for one process,
``RedisBus`` over Redis pub/sub, riding on the fan-out's health-checked subscription.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

from server.cluster.fanout import RedisFanout

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[Any]]  # body -> a JSON-able reply
REQUESTS = "huddle:bus"  # every node listens here


def reply_channel(node: str) -> str:
    return f"huddle:bus:{node}"


class ClusterBus(ABC):
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def on(self, kind: str, handler: Handler) -> None:
        """Answer ``kind`` requests on this node with ``handler``."""
        self._handlers[kind] = handler

    @abstractmethod
    async def ask_all(self, kind: str, body: dict[str, Any], *, timeout_s: float = 2.0
                      ) -> list[Any]:
        """Every node's reply to ``kind`` (those that answered within ``timeout_s``); None
        stands for a node whose handler failed (it logs why).

        Raises server.errors.Unavailable when the request cannot be sent at all.
        """

    async def _answer(self, kind: str, body: dict[str, Any]) -> Any:
        handler = self._handlers.get(kind)
        if handler is None:
            raise LookupError(f"no handler for {kind!r}")
        return await handler(body)


class LocalBus(ClusterBus):
    """One process is the whole cluster."""

    async def ask_all(self, kind: str, body: dict[str, Any], *, timeout_s: float = 2.0
                      ) -> list[Any]:
        try:
            return [await asyncio.wait_for(self._answer(kind, body), timeout_s)]
        except Exception:
            logger.exception("bus %s failed", kind)
            return [None]


class _Gathering:
    def __init__(self) -> None:
        self.replies: list[Any] = []
        self.expected: int | None = None
        self.done = asyncio.Event()

    def add(self, reply: Any) -> None:
        self.replies.append(reply)
        self._check()

    def expect(self, count: int) -> None:
        self.expected = count
        self._check()

    def _check(self) -> None:
        if self.expected is not None and len(self.replies) >= self.expected:
            self.done.set()


class RedisBus(ClusterBus):
    """Requests on ``huddle:bus``; each node replies on the asker's ``huddle:bus:<node>``.

    PUBLISH returns how many subscribers received the request, one per live node, so the asker
    knows how many replies to wait for.
    """

    def __init__(self, fanout: RedisFanout, node_id: str) -> None:
        super().__init__()
        self.fanout, self.node = fanout, node_id
        self._pending: dict[str, _Gathering] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        fanout.route(REQUESTS, self._on_request)
        fanout.route(reply_channel(node_id), self._on_reply)

    async def ask_all(self, kind: str, body: dict[str, Any], *, timeout_s: float = 2.0
                      ) -> list[Any]:
        request_id = uuid.uuid4().hex
        gathering = self._pending[request_id] = _Gathering()
        try:
            message = {"id": request_id, "from": self.node, "kind": kind, "body": body}
            gathering.expect(await self.fanout.publish_now(REQUESTS, json.dumps(message)))
            try:
                await asyncio.wait_for(gathering.done.wait(), timeout_s)
            except TimeoutError:
                logger.warning("bus %s: %d of %s node(s) answered within %ss", kind,
                               len(gathering.replies), gathering.expected, timeout_s)
            return list(gathering.replies)
        finally:
            del self._pending[request_id]

    def _on_request(self, raw: bytes) -> None:
        task = asyncio.ensure_future(self._reply(json.loads(raw)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reply(self, request: dict[str, Any]) -> None:
        answer: dict[str, Any] = {"id": request["id"], "from": self.node}
        try:
            answer["reply"] = await self._answer(request["kind"], request["body"])
        except Exception as exc:
            logger.exception("bus %s from node %s failed", request.get("kind"),
                             request.get("from"))
            answer["error"] = f"{type(exc).__name__}: {exc}"
        try:
            await self.fanout.publish_now(reply_channel(request["from"]), json.dumps(answer))
        except Exception:
            logger.warning("bus: could not answer node %s", request.get("from"))

    def _on_reply(self, raw: bytes) -> None:
        answer = json.loads(raw)
        gathering = self._pending.get(answer.get("id"))
        if gathering is None:
            return  # answered after the asker gave up
        if "error" in answer:
            logger.warning("bus: node %s failed: %s", answer.get("from"), answer["error"])
            gathering.add(None)
        else:
            gathering.add(answer["reply"])
