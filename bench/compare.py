"""Compare Huddle with Node socket.io 4.8 and bare python-socketio on the same load.

Usage: bench/run [--reps 3] [--quick] [--only fanout-1000,echo-50] [--write-docs]

Servers are pinned to CPU 0 and the load generator to CPU 1 (taskset); runs of the different
servers are interleaved and repeated; medians with min-max are printed, with Huddle/Node ratios.
Everything listens on 127.0.0.1 only, and every run is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NODE_DIR = BENCH / "node"
PY = sys.executable
sys.path.insert(0, str(ROOT))
from tests.support import free_port, stop_process, wait_for_port  # noqa: E402

SERVER_CPU, LOAD_CPU = "0", "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str
    options: dict[str, Any]
    servers: tuple[str, ...] = ("node", "bare", "huddle")
    nodes: int = 1  # >1: Huddle nodes sharing one Redis, receivers spread over them
    baseline: str | None = None  # a single-node scenario this one's Huddle ops/s is compared to


def scenarios(quick: bool) -> list[Scenario]:
    secs = 2 if quick else 5
    return [
        Scenario("fanout-200", "fanout", {"clients": 200, "window": 16, "seconds": secs}),
        Scenario("fanout-1000", "fanout", {"clients": 1000, "window": 16, "seconds": secs}),
        Scenario("fanout-2000", "fanout", {"clients": 2000, "window": 16, "seconds": secs}),
        Scenario("rate-5k", "rate", {"clients": 500, "perSecond": 5000, "seconds": 2 * secs}),
        Scenario("echo-50", "echo", {"clients": 50, "seconds": secs}),
        Scenario("connect-ws-1000", "connect", {"clients": 1000, "transports": ["websocket"]}),
        Scenario("connect-upgrade-1000", "connect",
                 {"clients": 1000, "transports": ["polling", "websocket"]}),
        Scenario("fanout-1000-2nodes", "fanout", {"clients": 1000, "window": 16, "seconds": secs},
                 servers=("huddle",), nodes=2, baseline="fanout-1000"),
    ]


def cpu_seconds(pid: int) -> float:
    fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields_[11]) + int(fields_[12])) / CLK_TCK  # utime + stime


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def server_argv(kind: str, port: int) -> tuple[list[str], dict[str, str]]:
    if kind == "node":
        return ["node", str(NODE_DIR / "server.mjs")], {"PORT": str(port)}
    if kind == "bare":
        return [PY, str(BENCH / "bare_server.py"), str(port)], {}
    # One bench connection sends thousands of events/s, far beyond any game client: Huddle's
    # per-connection rate limit (docs/compatibility.md) is off: all three servers do the same work.
    return ([PY, "-m", "server", "--profile", "bench", "--port", str(port),
             "--log-level", "WARNING", "--rate-limit-per-s", "0"], {})


@contextmanager
def process(argv: list[str], env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, *argv], cwd=ROOT,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout_s=30)
        yield proc
    finally:
        stop_process(proc)


@contextmanager
def redis(port: int) -> Iterator[str]:
    workdir = tempfile.mkdtemp(prefix="huddle-bench-redis-")
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", workdir]
    try:
        with process(argv, {}, port):
            yield f"redis://127.0.0.1:{port}/0"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_loadgen(kind: str, options: dict[str, Any], pids: list[int]) -> dict[str, Any]:
    argv = ["taskset", "-c", LOAD_CPU, "node", str(NODE_DIR / "loadgen.mjs"), kind,
            json.dumps(options)]
    timeout = options.get("seconds", 10) + 180
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    rss_before = sum(rss_kb(pid) for pid in pids)
    # The generator is the only child reaped during this call: its CPU share tells whether a
    # scenario measured the server or the generator (echo saturates the generator's core).
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=NODE_DIR, stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = {}
    held_rss = 0
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        record = json.loads(line)
        if record.get("phase") == "connected":
            time.sleep(1.0)  # let the server settle with all connections idle
            held_rss = sum(rss_kb(pid) for pid in pids)
        else:
            result = record
        if time.monotonic() > deadline:
            break
    proc.wait(timeout=30)
    wall = time.monotonic() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    loadgen_cpu = (children.ru_utime - children_before.ru_utime
                   + children.ru_stime - children_before.ru_stime)
    if proc.returncode != 0 or not result:
        raise RuntimeError(f"loadgen {kind} failed with {proc.returncode}")
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    ops = result.get("delivered") or result.get("trips") or result.get("clients") or 1
    result["serverCpuUsPerOp"] = cpu / ops * 1e6
    result["loadgenCpuPct"] = 100 * loadgen_cpu / wall
    if held_rss:
        result["rssPerConnKb"] = (held_rss - rss_before) / result["clients"]
    return result


def run_once(scenario: Scenario, server: str) -> dict[str, Any]:
    if scenario.nodes == 1:
        port = free_port()
        argv, env = server_argv(server, port)
        with process(argv, env, port) as proc:
            url = f"http://127.0.0.1:{port}"
            return run_loadgen(scenario.kind, {**scenario.options, "urls": [url]}, [proc.pid])
    with redis(free_port()) as redis_url, ExitStack() as stack:
        urls, pids = [], []
        for _ in range(scenario.nodes):
            port = free_port()
            argv, env = server_argv(server, port)
            proc = stack.enter_context(process(argv, {**env, "REDIS_URL": redis_url}, port))
            urls.append(f"http://127.0.0.1:{port}")
            pids.append(proc.pid)
        return run_loadgen(scenario.kind, {**scenario.options, "urls": urls,
                                           "senderUrl": urls[0]}, pids)


@dataclass
class Table:
    runs: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, scenario: str, server: str, result: dict[str, Any]) -> None:
        self.runs.setdefault((scenario, server), []).append(result)

    def stat(self, scenario: str, server: str, key: str) -> tuple[float, float, float] | None:
        values = [r[key] for r in self.runs.get((scenario, server), []) if r.get(key) is not None]
        if not values:
            return None
        return statistics.median(values), min(values), max(values)


METRICS = [("perSecond", "ops/s", True), ("p50Ms", "p50 ms", False), ("p99Ms", "p99 ms", False),
           ("serverCpuUsPerOp", "server CPU µs/op", False),
           ("loadgenCpuPct", "load generator CPU % (whole run)", False),
           ("rssPerConnKb", "KB/conn", False),
           ("lost", "lost", False)]


def render(table: Table, order: list[Scenario]) -> str:
    lines = [
        "| scenario | metric | Node socket.io 4.8 | bare python-socketio | Huddle | Huddle/Node |",
        "|---|---|---|---|---|---|",
    ]
    for scenario in order:
        for key, label, _ in METRICS:
            cells, medians = [], {}
            for server in ("node", "bare", "huddle"):
                stat = table.stat(scenario.name, server, key)
                if stat is None:
                    cells.append("n/a")
                    continue
                med, lo, hi = stat
                medians[server] = med
                cells.append(f"{med:,.1f} ({lo:,.1f} to {hi:,.1f})")
            if all(c == "n/a" for c in cells):
                continue
            ratio = ""
            if medians.get("node") and "huddle" in medians:
                ratio = f"{medians['huddle'] / medians['node']:.2f}x"
            lines.append(f"| {scenario.name} | {label} | " + " | ".join(cells) + f" | {ratio} |")
    for scenario in order:
        here = table.stat(scenario.name, "huddle", "perSecond")
        base = table.stat(scenario.baseline, "huddle", "perSecond") if scenario.baseline else None
        if here and base:
            lines.append(f"| {scenario.name} | Huddle ops/s vs {scenario.baseline} (one node) "
                         f"| | | {here[0] / base[0]:.2f}x | |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--out", default=str(BENCH / "results"),
                        help="where latest.json (every run's raw numbers) is written")
    parser.add_argument("--servers", default="",
                        help="only these servers, e.g. huddle or node,huddle (while iterating)")
    args = parser.parse_args()
    chosen = [s for s in scenarios(args.quick)
              if not args.only or s.name in args.only.split(",")]
    table = Table()
    for rep in range(args.reps):
        for scenario in chosen:
            servers = [s for s in scenario.servers
                       if not args.servers or s in args.servers.split(",")]
            servers = servers[rep % len(servers):] + servers[: rep % len(servers)]  # interleave
            for server in servers:
                print(f"rep {rep + 1}/{args.reps} {scenario.name} {server} ...", file=sys.stderr)
                with suppress(RuntimeError):
                    table.add(scenario.name, server, run_once(scenario, server))
    report = render(table, chosen)
    header = (f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()}; "
              f"Python {platform.python_version()}; node {node_version()}; "
              f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; reps {args.reps}"
              f"{' (quick)' if args.quick else ''}.")
    print(header)
    print(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(
        {"header": header, "runs": {f"{k[0]}|{k[1]}": v for k, v in table.runs.items()}},
        indent=1))
    if args.write_docs:
        write_docs(header, report)
    return 0


def node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True,
                          check=False).stdout.strip()


def write_docs(header: str, report: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    begin, end = "<!-- BEGIN RESULTS -->", "<!-- END RESULTS -->"
    text = doc.read_text()
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(f"{head}{begin}\n{header}\n\n{report}\n{end}{tail}")


if __name__ == "__main__":
    raise SystemExit(main())
