"""The ways users start Huddle: the `huddle` script, `python -m server`, and the Procfile."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support import ROOT, free_port, wait_for_port

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as res:  # loopback only
        return dict(json.load(res))


def _serve(command: list[str] | str, port: int, extra_env: dict[str, str]) -> str:
    """Start a server, fetch /healthz, stop it; return what it logged."""
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PORT": str(port), **extra_env}
    # A Procfile line runs under bash, as on Heroku; its own process group lets us stop it all.
    argv = ["bash", "-c", command] if isinstance(command, str) else command
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port)
        assert _get_json(f"http://127.0.0.1:{port}/healthz")["status"] == "ok"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    return out


def test_huddle_console_script_serves() -> None:
    port = free_port()
    _serve([str(BIN / "huddle"), "--port", str(port)], port, {})


def test_procfile_web_command_serves_on_port_with_json_logs() -> None:
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines()
               if line.startswith("web:"))
    port = free_port()
    out = _serve(web.removeprefix("web:").strip(), port, {"HUDDLE_LOG_FORMAT": "json"})
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any("listening" in r["msg"] and r["level"] == "INFO" for r in records), out


def test_event_loop_is_uvloop_unless_asked_for_asyncio() -> None:
    for flag, loop in (([], "uvloop"), (["--event-loop", "asyncio"], "asyncio")):
        port = free_port()
        out = _serve([sys.executable, "-m", "server", "--port", str(port), *flag], port, {})
        assert f"({loop} event loop)" in out, out
