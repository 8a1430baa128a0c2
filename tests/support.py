"""Test helpers: real servers on free loopback ports, real Socket.IO clients, bounded waits."""

from __future__ import annotations

import asyncio
import inspect
import itertools
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

from server.app import SOCKETIO, create_app
from server.config import Settings
from server.errors import ErrorCode
from tests.contract_check import ack_problems, server_event_problems

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 5.0  # upper bound for any single expected event; tests never wait longer
POLL_S = 0.02  # how often eventually() looks again


def attempts(within_s: float, every_s: float = POLL_S) -> Iterator[float]:
    """The time left before each look of a bounded poll: at most ``within_s / every_s + 2``
    looks, none after ``within_s`` seconds (the last one at the deadline)."""
    deadline = time.monotonic() + within_s
    for _ in range(int(within_s / every_s) + 2):
        yield max(0.0, deadline - time.monotonic())
        if time.monotonic() >= deadline:
            return


async def eventually(check: Callable[[], Any], what: str, *, within_s: float = WAIT_S,
                     every_s: float = POLL_S) -> Any:
    """Wait for observable state: look at ``check()`` (a value, or an awaitable one) until it
    is truthy and return it; an AssertionError it raises counts as "not yet". Bounded in count
    and in time; fails naming ``what`` and the last answer. The one polling loop of the tests:
    use it only for state nothing announces (an event arriving has ``Client.wait_for``)."""
    last: Any = None
    for remaining in attempts(within_s, every_s):
        try:
            answer = check()
            if inspect.isawaitable(answer):
                answer = await asyncio.wait_for(answer, max(remaining, every_s))
        except AssertionError as exc:
            last = exc
        else:
            if answer:
                return answer
            last = answer
        if remaining > 0:
            await asyncio.sleep(min(every_s, remaining))
    raise AssertionError(f"not {what} within {within_s} s; last look: {last!r}")


# Server events a test client received that break docs/asyncapi.yaml; conftest.py fails the
# test that received them (a Socket.IO handler cannot fail the test itself).
CONTRACT_BREAKS: list[str] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Base URL -> the app serving it in this process (see running_app, delivered).
_APPS: dict[str, web.Application] = {}
BARRIER = "test:barrier"  # the event delivered() sends; no Huddle event has a colon
_barriers = itertools.count(1)


@asynccontextmanager
async def running_app(settings: Settings, *, app: web.Application | None = None
                      ) -> AsyncIterator[str]:
    """Serve ``app`` (by default create_app(settings)) in this event loop; yield its base URL."""
    app = app or create_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    url = f"http://{settings.host}:{settings.port}"
    _APPS[url] = app
    try:
        yield url
    finally:
        _APPS.pop(url, None)
        await runner.cleanup()


def registered(ack: Any) -> Any:
    """``ack`` itself, after checking that a failure is one the registry allows: a registered
    code with exactly its extra fields (server/errors.py). Every ack a test Client receives
    passes through here, so each failure any test provokes is checked against the registry."""
    if isinstance(ack, dict) and ack.get("ok") is False:
        code = ErrorCode(ack["code"])  # ValueError: not a registered code
        assert isinstance(ack["error"], str), ack
        code.check_extra(ack.keys() - {"ok", "error", "code"})
    return ack


@dataclass
class Client:
    """A python-socketio client that records every event it receives."""

    sio: socketio.AsyncClient
    events: list[tuple[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""  # the server it connected to
    contract: bool = True  # check acks and server events against docs/asyncapi.yaml

    async def call(self, event: str, data: Any = None, *, namespace: str = "/") -> Any:
        """Emit ``event`` with one payload (None sends no payload) and return the ack."""
        ack = await self.sio.call(event, data, namespace=namespace, timeout=WAIT_S)
        return self.checked(namespace, event, ack)

    async def call_args(self, event: str, args: tuple[Any, ...], *, namespace: str = "/") -> Any:
        """Emit ``event`` with exactly ``args`` as its arguments and return the ack."""
        ack = await self.sio.call(event, args, namespace=namespace, timeout=WAIT_S)
        return self.checked(namespace, event, ack)

    def checked(self, namespace: str, event: str, ack: Any) -> Any:
        """``ack`` after the registry check and, unless opted out, the contract check."""
        if self.contract:
            problems = ack_problems(namespace, event, ack)
            assert not problems, problems
        return registered(ack)

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
                  namespaces: list[str] | None = None, auth: Any = None,
                  contract: bool = True) -> Client:
    """A recording client; with ``contract`` (the default), every ack and server event it
    receives is checked against docs/asyncapi.yaml (off for the benchmark profile)."""
    sio = socketio.AsyncClient(reconnection=False)
    client = Client(sio, url=url.split("?", maxsplit=1)[0], contract=contract)

    async def record(event: str, namespace: str, *args: Any) -> None:
        # Events of every namespace land here; tests name namespaces apart by event name.
        # The barrier is the tests' own marker (delivered()), not part of the contract.
        if contract and event != BARRIER:
            CONTRACT_BREAKS.extend(server_event_problems(namespace, event, args))
        client.events.append((event, args[0] if len(args) == 1 else args))
        client.arrived.set()

    sio.on("*", record, namespace="*")
    await sio.connect(url, transports=transports or ["websocket"], namespaces=namespaces,
                      auth=auth, wait_timeout=WAIT_S)
    return client


async def delivered(client: Client, namespace: str = "/") -> None:
    """Wait until everything the server sent ``client`` so far has arrived, so that a test may
    assert that something did NOT arrive. The server (running in this process) sends the client
    a marker through the same path as every emit (memory or Redis manager, one connection's
    order), and the marker arrives after all of it; it is then dropped from the record."""
    app = _APPS.get(client.url)
    assert app is not None, f"{client.url} is not served in this process"
    token = next(_barriers)
    await app[SOCKETIO].emit(BARRIER, token, to=client.sio.get_sid(namespace),
                             namespace=namespace)
    await client.until(BARRIER, lambda seen: seen == token)
    client.events[:] = [(event, data) for event, data in client.events if event != BARRIER]


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


# A process start is an upper bound, never a speed: on a loaded 2-core machine a node (imports,
# reaping its previous life after kill -9) has been seen to need more than 10 s.
START_S = 30.0


def wait_for_port(port: int, timeout_s: float = START_S) -> None:
    """``eventually`` for code that cannot await (process fixtures): the port accepts."""
    for remaining in attempts(timeout_s, 0.05):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(min(0.05, remaining))
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
