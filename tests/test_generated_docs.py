"""docs/protocol.md and the README configuration table are generated and must not go stale."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT


def test_generated_docs_match_the_code() -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/gen_docs.py", "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
