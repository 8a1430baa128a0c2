"""Raw Engine.IO requests spread over several nodes on purpose, for the relay tests.

``Nodes`` sends each request to the node a test names (``at=i``), or else to the next node in
turn, so consecutive requests of one session land on different nodes: the handshake picks the
owner, everything after it is relayed unless it happens to come back to the owner.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from tests.cluster_support import Cluster
from tests.support import WAIT_S


@dataclass
class Nodes:
    urls: list[str]
    http: aiohttp.ClientSession
    turn: int = 0
    path: str = "engine.io"
    seen: list[int] = field(default_factory=list)  # which node each request went to

    def pick(self, at: int | None) -> str:
        if at is None:
            at, self.turn = self.turn % len(self.urls), self.turn + 1
        self.seen.append(at)
        return self.urls[at]

    def endpoint(self, at: int | None, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"EIO": "4", **params}.items())
        return f"{self.pick(at)}/{self.path}/?{query}"

    async def request(self, method: str, body: bytes | str | None = None, *,
                      at: int | None = None, headers: dict[str, str] | None = None,
                      **params: str) -> tuple[int, str]:
        async with self.http.request(method, self.endpoint(at, **params), data=body,
                                     headers=headers,
                                     timeout=aiohttp.ClientTimeout(total=WAIT_S)) as resp:
            return resp.status, await resp.text()

    async def handshake(self, at: int | None = None) -> str:
        status, text = await self.request("GET", at=at, transport="polling")
        assert status == 200 and text.startswith("0"), (status, text)
        return str(json.loads(text[1:])["sid"])

    async def get(self, sid: str, at: int | None = None,
                  headers: dict[str, str] | None = None) -> tuple[int, str]:
        return await self.request("GET", at=at, headers=headers, transport="polling", sid=sid)

    async def post(self, sid: str, body: bytes | str, at: int | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, str]:
        return await self.request("POST", body, at=at, headers=headers, transport="polling",
                                  sid=sid)

    async def ws(self, sid: str | None = None, at: int | None = None
                 ) -> aiohttp.ClientWebSocketResponse:
        params = {"transport": "websocket", **({"sid": sid} if sid else {})}
        url = self.endpoint(at, **params).replace("http://", "ws://")
        return await self.http.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=WAIT_S))

    def on(self, path: str) -> Nodes:
        """The same nodes and HTTP session, at another Engine.IO path (``socket.io``)."""
        return Nodes(self.urls, self.http, self.turn, path)


async def directory(lb: Cluster) -> dict[str, dict[str, Any]]:
    """The relay directory as the nodes wrote it in Redis: tag -> {node, url, key}."""
    client = aioredis.Redis.from_url(lb.redis.url)
    try:
        tags = [t.decode() if isinstance(t, bytes) else t
                for t in await client.smembers("relay:tags")]
        docs = [await client.get(f"relay:{tag}") for tag in tags]
    finally:
        await client.aclose()
    return {tag: json.loads(doc) for tag, doc in zip(tags, docs, strict=True) if doc}


async def owner_index(lb: Cluster, sid: str) -> int:
    """Which of ``lb.nodes`` owns ``sid`` (read from the relay directory)."""
    entry = (await directory(lb))[sid[:8]]
    urls = [node.url for node in lb.nodes]
    return urls.index(entry["url"])


def deadline(seconds: float = WAIT_S) -> float:
    return time.monotonic() + seconds


async def poll(nodes: Nodes, sid: str, at: int | None = None, count: int = 1) -> list[str]:
    """The packets of the next GETs on ``at`` until ``count`` non-ping packets arrived (bounded);
    pings are answered, so a slow run cannot turn them into a ping timeout."""
    got: list[str] = []
    end = deadline()
    while len(got) < count:
        assert time.monotonic() < end, f"only {got} arrived"
        status, body = await nodes.get(sid, at=at)
        assert status == 200, body
        packets = body.split("\x1e")
        if "2" in packets:
            assert await nodes.post(sid, "3", at=at) == (200, "ok")
        got += [p for p in packets if p != "2"]
    return got
