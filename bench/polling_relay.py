"""Polling-only clients behind nginx: round-robin (most requests relayed) vs sticky (issue 12).

Usage: .venv/bin/python -m bench.polling_relay [--reps 3] [--seconds 10] [--write-docs]

Three Huddle nodes (``--profile bench``, rate limit off) share one Redis behind real nginx,
running either deploy/nginx-round-robin.conf or the sticky deploy/nginx.conf (which hashes on
the ``affinity`` query parameter every load-generator client sends). The load generator is the
real socket.io-client with ``transports: ["polling"]``:

- echo-polling: N clients, each with one ack round trip in flight;
- fanout-polling: N receivers in one room, one polling sender keeps 16 broadcasts in flight.

Servers (nodes, nginx, Redis) are pinned to CPU 0, the generator to CPU 1, as in compare.py.
Each run starts fresh processes; runs of the two balancers are interleaved and repeated.
CPU per message is the nodes' CPU (utime + stime) over the run divided by messages; "all
server CPU" adds nginx and Redis.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.compare import (
    BENCH,
    ROOT,
    SERVER_CPU,
    cpu_seconds,
    process,
    run_loadgen,
    server_argv,
)
from tests.cluster_support import ROUND_ROBIN, STICKY, nginx
from tests.support import free_port

NODES = 3
BALANCERS = {"round-robin": ROUND_ROBIN, "sticky": STICKY}


def scenarios(seconds: int, clients: int) -> dict[str, tuple[str, dict[str, Any]]]:
    common = {"transports": ["polling"], "affinity": True, "seconds": seconds}
    return {
        f"echo-polling-{clients}": ("echo", {**common, "clients": clients}),
        f"fanout-polling-{4 * clients}": ("fanout", {**common, "clients": 4 * clients,
                                                     "window": 16}),
    }


def pids_of_nginx(master: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:  # ppid
            children.append(int(stat.parent.name))
    return [master, *children]


@contextmanager
def stack(balancer: str) -> Iterator[tuple[str, list[int], list[int]]]:
    """Redis, three nodes and nginx; yields (url, node pids, nginx + Redis pids)."""
    with ExitStack() as es:
        redis_port = free_port()
        workdir = es.enter_context(tempfile.TemporaryDirectory(prefix="huddle-bench-redis-"))
        redis_pid = es.enter_context(process(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir], {}, redis_port)).pid  # taskset execs it
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        ports, node_pids = [], []
        for index in range(NODES):
            port = free_port()
            argv, env = server_argv("huddle", port)
            env = {**env, "REDIS_URL": redis_url, "HUDDLE_NODE_ID": f"bench{index + 1}"}
            node_pids.append(es.enter_context(process(argv, env, port)).pid)
            ports.append(port)
        lb = es.enter_context(nginx(ports, BALANCERS[balancer]))
        assert lb.proc is not None
        infra = [*pids_of_nginx(lb.proc.pid), redis_pid]
        for pid in infra:
            os.sched_setaffinity(pid, {int(SERVER_CPU)})
        yield lb.url, node_pids, infra


def run(balancer: str, kind: str, options: dict[str, Any]) -> dict[str, Any]:
    with stack(balancer) as (url, node_pids, infra):
        before = sum(cpu_seconds(pid) for pid in infra)
        result = run_loadgen(kind, {**options, "urls": [url]}, node_pids)
        infra_cpu = sum(cpu_seconds(pid) for pid in infra) - before
    ops = result.get("delivered") or result.get("trips") or 1
    result["allServerCpuUsPerOp"] = result["serverCpuUsPerOp"] + infra_cpu / ops * 1e6
    return result


METRICS = [("perSecond", "messages/s"), ("p50Ms", "p50 ms"), ("p99Ms", "p99 ms"),
           ("serverCpuUsPerOp", "nodes' CPU µs/message"),
           ("allServerCpuUsPerOp", "all server CPU µs/message (+ nginx, Redis)"),
           ("loadgenCpuPct", "load generator CPU %"), ("lost", "lost")]


def render(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> str:
    lines = ["| scenario | metric | round-robin | sticky | round-robin / sticky |",
             "|---|---|---|---|---|"]
    for name, by_lb in runs.items():
        for key, label in METRICS:
            cells, medians = [], {}
            for balancer in BALANCERS:
                values = [r[key] for r in by_lb.get(balancer, []) if r.get(key) is not None]
                if not values:
                    cells.append("n/a")
                    continue
                medians[balancer] = statistics.median(values)
                cells.append(f"{medians[balancer]:,.1f} ({min(values):,.1f} to "
                             f"{max(values):,.1f})")
            ratio = (f"{medians['round-robin'] / medians['sticky']:.2f}x"
                     if medians.get("sticky") and "round-robin" in medians else "")
            lines.append(f"| {name} | {label} | {cells[0]} | {cells[1]} | {ratio} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--out", default=str(BENCH / "results"))
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    loads = []
    for rep in range(args.reps):
        for name, (kind, options) in scenarios(args.seconds, args.clients).items():
            order = list(BALANCERS) if rep % 2 == 0 else list(reversed(BALANCERS))
            for balancer in order:
                print(f"rep {rep + 1}/{args.reps} {name} {balancer} ...", file=sys.stderr)
                loads.append(os.getloadavg()[0])
                result = run(balancer, kind, options)
                runs.setdefault(name, {}).setdefault(balancer, []).append(result)
    header = (f"{os.cpu_count()} cores (shared with other work: 1-min load average "
              f"{min(loads):.2f} to {max(loads):.2f} at the start of the runs); "
              f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; reps {args.reps}; "
              f"{args.seconds} s per run; command: `.venv/bin/python -m bench.polling_relay "
              f"--reps {args.reps} --seconds {args.seconds} --clients {args.clients}`.")
    report = render(runs)
    print(header)
    print(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "polling_relay.json").write_text(json.dumps({"header": header, "runs": runs},
                                                       indent=1))
    if args.write_docs:
        write_docs(header, report)
    return 0


def write_docs(header: str, report: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    begin, end = "<!-- BEGIN POLLING RELAY -->", "<!-- END POLLING RELAY -->"
    head, rest = doc.read_text().split(begin, 1)
    _, tail = rest.split(end, 1)
    doc.write_text(f"{head}{begin}\n{header}\n\n{report}\n{end}{tail}")


if __name__ == "__main__":
    raise SystemExit(main())
