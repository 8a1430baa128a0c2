"""Measure how a three-node Huddle cluster behind nginx rides out faults (docs/deploy.md).

    .venv/bin/python -m bench.cluster_faults crash            # node kill -9: cleanup time
    .venv/bin/python -m bench.cluster_faults redis            # Redis kill/pause, 1/5/30 s
    .venv/bin/python -m bench.cluster_faults redis --durations 1 5 --modes pause

Runs real processes on loopback only (redis-server, three `python -m server`, nginx), with the
production defaults unless flags say otherwise, and prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from typing import Any

import aiohttp
import redis
import socketio

from tests.cluster_support import Cluster, cluster, wait_for_readiness
from tests.support import Client, connect

PROD = {"HUDDLE_HEARTBEAT_MS": "5000", "HUDDLE_GHOST_BOUND_MS": "30000",
        "HUDDLE_PING_INTERVAL_MS": "25000", "HUDDLE_PING_TIMEOUT_MS": "20000",
        "HUDDLE_LOG_LEVEL": "WARNING"}


async def seat(lb: Cluster, count: int) -> tuple[str, list[str], list[Client]]:
    keys = await lb.affinities(count)
    players = [await connect(f"{lb.lb.url}?affinity={k}") for k in keys]
    code = (await players[0].call("createRoom", {"nickname": "P0"}))["room"]["code"]
    for i, player in enumerate(players[1:], 1):
        assert (await player.call("joinRoom", {"nickname": f"P{i}", "code": code}))["ok"]
    return code, keys, players


async def crash(env: dict[str, str]) -> dict[str, Any]:
    with cluster(3, **env) as lb:
        code, keys, players = await seat(lb, 3)
        await asyncio.sleep(1.0)
        victim = await lb.node_of(keys[2])
        node = next(n for n in lb.nodes if n.env["HUDDLE_NODE_ID"] == victim)
        players[0].clear()
        killed = time.monotonic()
        node.kill9()
        bound_s = int(env["HUDDLE_GHOST_BOUND_MS"]) / 1000
        while time.monotonic() - killed < bound_s + 30:
            if any(len(ps) == 2 for ps in players[0].named(f"players{code}")):
                break
            await asyncio.sleep(0.01)
        cleaned = time.monotonic() - killed
        for player in players:
            await player.sio.disconnect()
        return {"measure": "node_crash_cleanup_s", "ghost_bound_s": bound_s,
                "heartbeat_s": int(env["HUDDLE_HEARTBEAT_MS"]) / 1000,
                "seconds": round(cleaned, 3)}


async def redis_fault(mode: str, duration: float, env: dict[str, str],
                      rate: float) -> dict[str, Any]:
    with cluster(3, **env) as lb:
        code, _, (sender, receiver, _third) = await seat(lb, 3)
        sent: list[dict[str, Any]] = []  # one per send: t, ok, latency, id, seq, code
        stop = asyncio.Event()

        async def send_loop() -> None:
            tick, i = time.monotonic(), 0
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    ack = await sender.call("sendMessage", {"message": f"m{i}"})
                except (TimeoutError, socketio.exceptions.TimeoutError):
                    ack = {"ok": False, "code": "ack_timeout"}
                entry = {"t": t0, "latency": time.monotonic() - t0, "ok": ack["ok"]}
                if ack["ok"]:
                    entry.update(id=ack["message"]["id"], seq=ack["message"]["seq"])
                else:
                    entry["code"] = ack["code"]
                sent.append(entry)
                i += 1
                tick += 1 / rate
                await asyncio.sleep(max(0.0, tick - time.monotonic()))

        received: dict[str, float] = {}
        copies: list[str] = []

        def on_message(message: dict[str, Any]) -> None:
            copies.append(message["id"])
            received.setdefault(message["id"], time.monotonic())

        receiver.sio.on("message", on_message)
        loop = asyncio.create_task(send_loop())
        await asyncio.sleep(2.0)
        fault_at = time.monotonic()
        if mode == "kill":
            lb.redis.kill()
        else:
            lb.redis.pause()
        await asyncio.sleep(duration)
        if mode == "kill":
            lb.redis.start()
        else:
            lb.redis.resume()
        back_at = time.monotonic()
        for node in lb.nodes:
            await wait_for_readiness(node.url, 200, timeout_s=30)
        ready_s = time.monotonic() - back_at
        await asyncio.sleep(8.0)
        stop.set()
        await loop
        await asyncio.sleep(1.0)

        summary = summarize(lb, code, sent, received, fault_at=fault_at, back_at=back_at)
        summary["fanout_dropped_all_nodes"] = sum([await fanout_dropped(n.url) for n in lb.nodes])
        for player in (sender, receiver, _third):
            await player.sio.disconnect()
        return {"measure": "redis_fault", "mode": mode, "fault_s": duration,
                "rate_per_s": rate, "readyz_back_s": round(ready_s, 3), **summary,
                "duplicates_live": len(copies) - len(set(copies))}


async def fanout_dropped(url: str) -> int:
    """The node's count of broadcasts it could not publish, from /readyz."""
    async with aiohttp.ClientSession() as http, http.get(f"{url}/readyz") as reply:
        return int((await reply.json())["fanout"]["dropped"])


def summarize(lb: Cluster, code: str, sent: list[dict[str, Any]], received: dict[str, float], *,
              fault_at: float, back_at: float) -> dict[str, Any]:
    acked = [s for s in sent if s["ok"]]
    lost_live = [s for s in acked if s["id"] not in received]
    after = [s for s in acked if s["t"] >= back_at and s["id"] in received]
    resume_s = (received[after[0]["id"]] - back_at) if after else None
    during = [s for s in sent if fault_at <= s["t"] < back_at]
    seqs = [s["seq"] for s in acked]
    store = redis.Redis.from_url(lb.redis.url, decode_responses=True)
    counter = int(store.get(f"lobby:{code}:messages:seq") or 0)
    kept = {json.loads(str(raw))["id"] for raw in store.zrange(f"lobby:{code}:messages", 0, -1)}
    players = len(json.loads(store.get(f"lobby:{code}") or "{}").get("players", []))
    store.close()
    newest = [s["id"] for s in acked[-50:]]  # the lobby keeps its last 50 messages
    return {
        "sent": len(sent), "acked": len(acked),
        "refused": sorted({s["code"] for s in sent if not s["ok"]}),
        "refused_count": len(sent) - len(acked),
        "acked_lost_live": len(lost_live),
        # Missing among the newest 50 acked, plus 1 if the seq counter went backwards.
        "acked_lost_persisted": sum(1 for i in newest if i not in kept)
        + (0 if counter >= max(seqs, default=0) else 1),
        "seq_strictly_increasing": all(a < b for a, b in itertools.pairwise(seqs)),
        "fanout_resume_s": None if resume_s is None else round(resume_s, 3),
        "worst_ack_latency_during_fault_s": round(
            max((s["latency"] for s in during), default=0.0), 3),
        "worst_ack_latency_s": round(max(s["latency"] for s in sent), 3),
        "players_after": players,
        "nodes_alive": all(n.proc is not None and n.proc.poll() is None for n in lb.nodes),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["crash", "redis"])
    parser.add_argument("--durations", type=float, nargs="+", default=[1, 5, 30])
    parser.add_argument("--modes", nargs="+", default=["pause", "kill"])
    parser.add_argument("--rate", type=float, default=10.0, help="messages per second")
    parser.add_argument("--ghost-bound-ms", nargs="+", default=["30000", "3000"])
    args = parser.parse_args()
    if args.what == "crash":
        for bound in args.ghost_bound_ms:
            beat = str(max(50, int(bound) // 6))
            env = {**PROD, "HUDDLE_GHOST_BOUND_MS": bound, "HUDDLE_HEARTBEAT_MS": beat}
            print(json.dumps(await crash(env)), flush=True)
    else:
        for mode in args.modes:
            for duration in args.durations:
                print(json.dumps(await redis_fault(mode, duration, PROD, args.rate)),
                      flush=True)


if __name__ == "__main__":
    asyncio.run(main())
