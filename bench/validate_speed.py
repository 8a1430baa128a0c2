"""Bench: microseconds per payload load, marshmallow's Schema.load vs schemas.compiled.

Usage: .venv/bin/python -m bench.validate_speed [--number N] [--repeat R]
Valid payloads only (the fast path's case); the best of R runs of N loads each is printed.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from typing import Any

from marshmallow import Schema

from schemas.bench import BenchEcho
from schemas.chat import SendChat
from schemas.compiled import compile_loader
from schemas.lobby import JoinRoom

CASES: list[tuple[str, Schema, dict[str, Any]]] = [
    ("BenchEcho", BenchEcho(), {"t": 123.4, "pad": "x" * 60}),
    ("JoinRoom", JoinRoom(), {"nickname": " Ann ", "code": "abc234"}),
    ("SendChat", SendChat(), {"chatId": "c-1f3a", "text": "hello there", "clientMsgId": "m-17"}),
]


def microseconds(load: Callable[[Any], Any], raw: Any, number: int, repeat: int) -> float:
    runs = timeit.repeat(lambda: load(raw), number=number, repeat=repeat)
    return min(runs) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'schema':<10} {'marshmallow':>12} {'compiled':>10} {'speed-up':>9}   (us/load)")
    for name, schema, raw in CASES:
        loader = compile_loader(schema)
        assert loader(raw) == schema.load(raw)
        slow = microseconds(schema.load, raw, args.number, args.repeat)
        fast = microseconds(loader, raw, args.number, args.repeat)
        print(f"{name:<10} {slow:>12.2f} {fast:>10.2f} {slow / fast:>8.1f}x")


if __name__ == "__main__":
    main()
