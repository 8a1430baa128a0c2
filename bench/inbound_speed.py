"""Bench: Python CPU per inbound echo event, fast path vs full path, without sockets or kernel.

Usage: .venv/bin/python -m bench.inbound_speed [--events N] [--batch B] [--metrics]

One Huddle server (``--profile bench``, rate limit off) in this process, one session whose
transport discards what it is given. Each event is the frame socket.io-client sends for
``emitWithAck("echo", {t, pad})``, handed over as aiohttp's parser would hand it (``fast_receive``)
or as the full path receives it (``HuddleSocket.receive``); B events per loop iteration, as
under load. What is left out is what the echo benchmark adds: the kernel, the event loop's I/O
and aiohttp's C frame parser. Repeatable to a few percent, unlike the socket benchmarks.
With ``--metrics`` the namespace also counts and times every event, as it does when
/metrics is on (HUDDLE_METRICS, the default); without it, as with HUDDLE_METRICS=false.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import uvloop

from namespaces.bench import BenchNamespace
from server.config import Settings
from server.engine import build_socketio
from server.wire import eio_codec
from server.wire.eio_socket import HuddleSocket

FRAME = '4212["echo",{"t":1234.5678901234,"pad":"' + "x" * 60 + '"}]'


class NullTransport:
    written = 0

    def write(self, data: bytes) -> None:
        self.written += 1

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0


class OpenSocket:
    closed = False


async def session(metrics: bool) -> tuple[Any, HuddleSocket, NullTransport]:
    sio = build_socketio(Settings(profile="bench", rate_limit_per_s=0))
    namespace = BenchNamespace("/")
    if metrics:
        namespace.count_events()
    sio.register_namespace(namespace)
    sock = HuddleSocket(sio.eio, "s1")
    sio.eio.sockets["s1"] = sock
    transport = NullTransport()
    sock.connected = sock.upgraded = True
    sock.transport, sock.direct = transport, OpenSocket()  # type: ignore[assignment]
    sock.inbound_idle = True
    await sio._handle_eio_connect("s1", {"REMOTE_ADDR": "127.0.0.1"})
    await sio._handle_connect("s1", "/", None)
    return sio, sock, transport


async def run(events: int, batch: int, fast: bool, metrics: bool) -> float:
    sio, sock, transport = await session(metrics)
    full = eio_codec.decode_frame
    before = transport.written
    started = time.process_time()
    for _ in range(events // batch):
        for _ in range(batch):
            if fast:
                sock.fast_receive(FRAME)
            else:
                await sock.receive(full(FRAME))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    for _ in range(10):
        await asyncio.sleep(0)
    elapsed = time.process_time() - started
    assert transport.written - before == events // batch * batch, "every event was acked"
    await sio.inbox.close()
    return elapsed / (events // batch * batch) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--metrics", action="store_true",
                        help="count and time events as with HUDDLE_METRICS=true")
    args = parser.parse_args()
    for fast in (True, False):
        best = min(uvloop.run(run(args.events, args.batch, fast, args.metrics))
                   for _ in range(3))
        print(f"{'fast path' if fast else 'full path':<10} {best:6.2f} us/event (Python only"
              f"{', metrics on' if args.metrics else ''})")


if __name__ == "__main__":
    main()
