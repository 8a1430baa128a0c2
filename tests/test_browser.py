"""Tier 3: the demo page and the Admin UI in real headless Chromium (Debian's package)."""

from __future__ import annotations

from pathlib import Path

from server.config import Settings
from tests.browser_support import run_browser_script, screenshot_dir
from tests.support import free_port, running_app


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_two_browsers_play_a_lobby_and_exchange_a_dm(tmp_path: Path) -> None:
    shots = screenshot_dir(tmp_path)
    async with running_app(Settings(port=free_port())) as url:
        seen = await run_browser_script("browser_demo.mjs", url, str(shots))
    assert seen["problems"] == []
    lobby = seen["lobby"]
    assert len(lobby["code"]) == 6
    assert lobby["players"] == [["Ada", "host"], ["Bob", "ready"]]
    assert lobby["adaGame"].startswith("Game started") and lobby["bobGame"].startswith("Game")
    assert "good luck!" in lobby["adaMessages"]
    messenger = seen["messenger"]
    assert messenger["bobBadge"] == {"total": "1", "chat": "ada1"}
    assert messenger["bobRead"] == "0"
    assert messenger["typing"] == "bob is typing…"
    assert "hello bob" in messenger["adaChat"] and "hi" in messenger["adaChat"]
    assert is_png(shots / "demo.png")
