"""Bench: sendChat ack latency against a real ``python -m server`` process.

Usage: .venv/bin/python -m bench.chat_send [--redis] [--messages N] [--members M]
Sends N messages one after another into a chat of M members (M=2 is a 1:1 chat; the others
are offline, so the cost measured is storage plus per-member unread bookkeeping).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from contextlib import ExitStack

from tests.chat_support import open_tab
from tests.support import free_port, redis_server, server_process


async def run(url: str, messages: int, members: int) -> dict[str, float]:
    tab = await open_tab(url, "bench-sender")
    try:
        if members == 2:
            chat = await tab.ok("openChat", {"userId": "bench-peer"})
        else:
            others = [f"bench-{i}" for i in range(members - 1)]
            chat = await tab.ok("createGroup", {"title": "bench", "members": others})
        chat_id = chat["chat"]["chatId"]
        latencies = []
        started = time.perf_counter()
        for i in range(messages):
            t = time.perf_counter()
            await tab.send(chat_id, f"message {i}", f"b{i}")
            latencies.append((time.perf_counter() - t) * 1000)
        elapsed = time.perf_counter() - started
    finally:
        await tab.close()
    latencies.sort()
    return {
        "msgs_per_s": messages / elapsed,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1],
        "max_ms": latencies[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", action="store_true")
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--members", type=int, default=2)
    args = parser.parse_args()
    with ExitStack() as stack:
        # One client sends as fast as acks come back: lift both the chat quota and the
        # per-connection event rate limit, which would otherwise (rightly) refuse it.
        env = {"HUDDLE_CHAT_RATE_LIMIT": "100000", "HUDDLE_RATE_LIMIT_PER_S": "0",
               "HUDDLE_LOG_LEVEL": "WARNING"}
        if args.redis:
            env["REDIS_URL"] = stack.enter_context(redis_server())
        port = free_port()
        stack.enter_context(server_process(port, env))
        result = asyncio.run(run(f"http://127.0.0.1:{port}", args.messages, args.members))
    store = "redis" if args.redis else "memory"
    print(f"store={store} members={args.members} messages={args.messages} "
          + " ".join(f"{k}={v:.1f}" for k, v in result.items()))


if __name__ == "__main__":
    main()
