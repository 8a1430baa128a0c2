"""Drive tests/js/cluster_client.mjs (the real socket.io-client under node) from pytest."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from tests.support import ROOT, WAIT_S

SCRIPT = ROOT / "tests" / "js" / "cluster_client.mjs"


class JsClient:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self._next_id = 0
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            self.lines.append(json.loads(raw))
            self._arrived.set()

    async def wait_line(self, key: str, value: Any = None) -> dict[str, Any]:
        """The first output line that has ``key`` (equal to ``value`` when given); bounded."""
        deadline = time.monotonic() + WAIT_S
        while True:
            for line in self.lines:
                if key in line and (value is None or line[key] == value):
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._reader.done():
                raise AssertionError(f"JS client: no {key}={value!r}; got {self.lines}")
            self._arrived.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def _send(self, **command: Any) -> dict[str, Any]:
        self._next_id += 1
        command["id"] = self._next_id
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        await self.proc.stdin.drain()
        return await self.wait_line("id", self._next_id)

    async def call(self, event: str, data: Any = None) -> Any:
        reply = await self._send(emit=event, data=data)
        assert "ack" in reply, reply
        return reply["ack"]

    async def transport(self) -> str:
        return str((await self._send(transport=True))["transport"])

    async def engine_sid(self) -> str:
        """The Engine.IO session id the client uses now."""
        return str((await self._send(transport=True))["engine"])

    def events(self, name: str) -> list[Any]:
        return [line["data"] for line in self.lines if line.get("event") == name]

    async def wait_for(self, name: str, count: int = 1) -> list[Any]:
        deadline = time.monotonic() + WAIT_S
        while len(self.events(name)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"JS client: no {count}x {name!r}; got {self.lines}")
            self._arrived.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), 0.2)
        return self.events(name)


@asynccontextmanager
async def js_client(url: str, **options: Any) -> AsyncIterator[JsClient]:
    """A connected JS client; the node process is stopped at the end, even on failure."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed; run scripts/bootstrap --test")
    proc = await asyncio.create_subprocess_exec(
        node, str(SCRIPT), url, json.dumps(options), cwd=SCRIPT.parent,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    client = JsClient(proc)
    try:
        await client.wait_line("connect")
        yield client
    finally:
        if proc.returncode is None:
            proc.kill()
        await asyncio.wait_for(proc.wait(), WAIT_S)
        client._reader.cancel()
        with suppress(asyncio.CancelledError):
            await client._reader
