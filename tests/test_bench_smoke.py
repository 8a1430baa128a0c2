"""bench/ keeps working from the test command: one short comparison run against Huddle and the
reference Node server. Speed is never asserted here (numbers live in docs/benchmarks.md, written
by bench/run); what is asserted is that both servers answered every operation and lost no
broadcast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.js

ROOT = Path(__file__).resolve().parent.parent


def test_bench_compare_runs_fanout_and_echo_on_huddle_and_node(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "bench/compare.py", "--quick", "--reps", "1", "--only",
         "fanout-200,echo-50", "--servers", "node,huddle", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=170, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    runs = json.loads((tmp_path / "latest.json").read_text())["runs"]
    for server in ("node", "huddle"):
        [fanout] = runs[f"fanout-200|{server}"]
        assert fanout["delivered"] > 0 and fanout["lost"] == 0, (server, fanout)
        [echo] = runs[f"echo-50|{server}"]
        assert echo["trips"] > 0, (server, echo)
    assert "| echo-50 | ops/s |" in proc.stdout  # the comparison table was printed
