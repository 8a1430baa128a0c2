"""Run a tests/js/browser_*.mjs script (puppeteer-core driving Debian's headless Chromium)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

from tests.support import ROOT

JS = ROOT / "tests" / "js"
RUN_S = 90.0  # a whole browser script, start to finish (each wait inside is 10 s at most)


def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: HUDDLE_SCREENSHOTS (to refresh docs/images), else a temp dir."""
    wanted = os.environ.get("HUDDLE_SCREENSHOTS")
    return Path(wanted).resolve() if wanted else tmp_path


async def run_browser_script(script: str, *args: str) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "node is not installed; run scripts/bootstrap --test"
    assert shutil.which("chromium"), "chromium is not installed; run scripts/bootstrap --test"
    proc = await asyncio.create_subprocess_exec(
        node, str(JS / script), *args, cwd=JS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), RUN_S)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines = stdout.decode().strip().splitlines()
    assert lines, f"{script} printed nothing; stderr: {stderr.decode()[-2000:]}"
    seen: dict[str, Any] = json.loads(lines[-1])
    assert "error" not in seen, f"{seen['error']}\nstderr: {stderr.decode()[-2000:]}"
    return seen
