"""What /metrics and the admin namespace cost: Huddle alone, under the same socket.io-client load.

Usage: .venv/bin/python bench/ops_cost.py [--reps 3] [--seconds 5] [--baseline DIR]

Configurations (one ``--profile bench`` process pinned like bench/run; runs interleaved):
  metrics-off     HUDDLE_METRICS=false
  metrics-on      the default
  admin-on        metrics on, the admin namespace on, nobody watching
  admin-watching  as admin-on, with one admin client connected to /admin (receiving the live
                  updates and server_stats) for the whole run
  baseline        (with --baseline DIR) the server from another checkout, e.g. main before
                  issue 13 (git archive main | tar -x -C DIR)
Scenarios: echo-50 (ack round trips/s) and connect-ws-1000 (connections/s, which is where the
admin feed does its work). Prints medians (min to max) of ops/s and server CPU µs per op.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
from bench.compare import LOAD_CPU, SERVER_CPU, run_loadgen  # noqa: E402
from server.admin.password import hash_password  # noqa: E402
from tests.support import free_port, stop_process, wait_for_port  # noqa: E402

ADMIN = {"HUDDLE_ADMIN_USER": "bench", "HUDDLE_ADMIN_PASSWORD_HASH": hash_password("bench", 4)}
CONFIGS: dict[str, dict[str, str]] = {
    "metrics-off": {"HUDDLE_METRICS": "false"},
    "metrics-on": {},
    "admin-on": ADMIN,
    "admin-watching": ADMIN,
}
WATCHER = """
import asyncio, signal, socketio, sys
async def main():
    sio, seen = socketio.AsyncClient(reconnection=False), [0]
    sio.on("*", lambda *a: seen.__setitem__(0, seen[0] + 1), namespace="/admin")
    await sio.connect(sys.argv[1], namespaces=["/admin"], transports=["websocket"],
                      auth={"username": "bench", "password": "bench"}, wait_timeout=10)
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    print(seen[0], flush=True)
    await sio.disconnect()
asyncio.run(main())
"""


@contextmanager
def server(root: Path, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    port = free_port()
    argv = ["taskset", "-c", SERVER_CPU, sys.executable, "-m", "server", "--profile", "bench",
            "--port", str(port), "--log-level", "WARNING", "--rate-limit-per-s", "0"]
    proc = subprocess.Popen(argv, cwd=root, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout_s=30)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        stop_process(proc)


@contextmanager
def watcher(url: str) -> Iterator[list[int]]:
    """An admin client on /admin for the whole run; yields [events it received] at the end."""
    proc = subprocess.Popen(["taskset", "-c", LOAD_CPU, sys.executable, "-c", WATCHER, url],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", "admin watcher did not connect"
    received: list[int] = []
    try:
        yield received
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        received.append(int(out.strip() or 0))


def run(root: Path, config: str, scenario: str, seconds: int) -> dict[str, Any]:
    env = CONFIGS.get(config, {})
    options: dict[str, Any] = ({"clients": 50, "seconds": seconds} if scenario == "echo"
                               else {"clients": 1000, "transports": ["websocket"]})
    with server(root, env) as (url, pid):
        if config != "admin-watching":
            return run_loadgen(scenario, {**options, "urls": [url]}, [pid])
        with watcher(url) as received:
            result = run_loadgen(scenario, {**options, "urls": [url]}, [pid])
        result["adminEvents"] = received[0] if received else 0
        return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--baseline", default="")
    parser.add_argument("--scenarios", default="echo,connect")
    args = parser.parse_args()
    configs = [*CONFIGS, *(["baseline"] if args.baseline else [])]
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rep in range(args.reps):
        for scenario in args.scenarios.split(","):
            order = configs[rep % len(configs):] + configs[:rep % len(configs)]
            for config in order:
                root = Path(args.baseline) if config == "baseline" else ROOT
                print(f"rep {rep + 1} {scenario} {config}", file=sys.stderr)
                results.setdefault((scenario, config), []).append(
                    run(root, config, scenario, args.seconds))
    print("| scenario | configuration | ops/s | server CPU µs/op | load generator CPU % |")
    print("|---|---|---|---|---|")
    for (scenario, config), runs in results.items():
        cells = []
        for key in ("perSecond", "serverCpuUsPerOp", "loadgenCpuPct"):
            values = [r[key] for r in runs if r.get(key) is not None]
            cells.append(f"{statistics.median(values):,.1f} ({min(values):,.1f} to "
                         f"{max(values):,.1f})" if values else "n/a")
        print(f"| {scenario} | {config} | " + " | ".join(cells) + " |")
    watched = [r.get("adminEvents") for rs in results.values() for r in rs if "adminEvents" in r]
    if watched:
        print(f"\nadmin events received by the watcher per run: {watched}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
