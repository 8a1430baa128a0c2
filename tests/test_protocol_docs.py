"""docs/protocol.md is generated from the schemas and must not go stale."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT


def test_protocol_doc_matches_the_schemas() -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/gen_protocol_docs.py", "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
