"""Test helpers: real servers on free loopback ports, real Socket.IO clients, bounded waits."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio
from aiohttp import web

from server.app import create_app
from server.config import Settings

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 5.0  # upper bound for any single expected event; tests never wait longer
QUIET_S = 0.3  # settle window before asserting that something did NOT arrive


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running_app(settings: Settings, *, app: web.Application | None = None
                      ) -> AsyncIterator[str]:
    """Serve ``app`` (by default create_app(settings)) in this event loop; yield its base URL."""
    runner = web.AppRunner(app or create_app(settings), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    try:
        yield f"http://{settings.host}:{settings.port}"
    finally:
        await runner.cleanup()


@dataclass
class Client:
    """A python-socketio client that records every event it receives."""

    sio: socketio.AsyncClient
    events: list[tuple[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(self, event: str, data: Any = None, *, namespace: str = "/") -> Any:
        """Emit ``event`` with one payload (None sends no payload) and return the ack."""
        return await self.sio.call(event, data, namespace=namespace, timeout=WAIT_S)

    async def call_args(self, event: str, args: tuple[Any, ...], *, namespace: str = "/") -> Any:
        """Emit ``event`` with exactly ``args`` as its arguments and return the ack."""
        return await self.sio.call(event, args, namespace=namespace, timeout=WAIT_S)

    def named(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    async def wait_for(self, name: str, count: int = 1, *, within_s: float = WAIT_S
                       ) -> list[Any]:
        """Wait (bounded) until at least ``count`` events called ``name`` have arrived."""
        deadline = time.monotonic() + within_s
        while len(self.named(name)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {count}x {name!r}; got {self.events}")
            self.arrived.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)
        return self.named(name)

    async def until(self, name: str, predicate: Callable[[Any], bool]) -> Any:
        """Wait (bounded) for an event called ``name`` whose data satisfies ``predicate``."""
        return await self.until_within(name, predicate, WAIT_S)

    async def until_within(self, name: str, predicate: Callable[[Any], bool],
                           within_s: float) -> Any:
        """``until``, with the whole wait bounded by ``within_s`` seconds."""
        deadline = time.monotonic() + within_s
        for count in range(1, 1000):
            remaining = max(0.0, deadline - time.monotonic())
            data = (await self.wait_for(name, count, within_s=remaining))[count - 1]
            if predicate(data):
                return data
        raise AssertionError(f"no {name!r} matched; got {self.events}")

    async def last(self, name: str, count: int = 1) -> Any:
        """The latest ``name`` event once ``count`` have arrived. Racy when earlier events of
        the same name exist: prefer ``until`` with a predicate for the state you expect."""
        return (await self.wait_for(name, count))[-1]

    async def first(self, name: str) -> Any:
        """The first event called ``name`` (bounded wait)."""
        return (await self.wait_for(name))[0]

    def clear(self) -> None:
        self.events.clear()


async def connect(url: str, *, transports: list[str] | None = None,
                  namespaces: list[str] | None = None, auth: Any = None) -> Client:
    sio = socketio.AsyncClient(reconnection=False)
    client = Client(sio)

    async def record(event: str, namespace: str, *args: Any) -> None:
        # Events of every namespace land here; tests name namespaces apart by event name.
        client.events.append((event, args[0] if len(args) == 1 else args))
        client.arrived.set()

    sio.on("*", record, namespace="*")
    await sio.connect(url, transports=transports or ["websocket"], namespaces=namespaces,
                      auth=auth, wait_timeout=WAIT_S)
    return client


@contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server on a free loopback port, in a temporary directory."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed; run the README test command")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="huddle-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop_process(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout_s}s")


@contextmanager
def server_process(port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m server`` as a separate OS process, stopped at the end even on failure."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "server", "--port", str(port)],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port)
        yield proc
    finally:
        stop_process(proc)
        if proc.stderr:
            proc.stderr.close()


def stop_process(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM (after SIGCONT, should it be paused), then SIGKILL if it lingers; bounded."""
    if proc.poll() is not None:
        return
    with suppress(ProcessLookupError):
        proc.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout_s)
