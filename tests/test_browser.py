"""Tier 3: the demo page and the Admin UI in real headless Chromium (Debian's package)."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import Settings
from tests.admin_support import ADMIN_PASSWORD, ADMIN_USER, admin_env
from tests.browser_support import run_browser_script, screenshot_dir
from tests.cluster_support import cluster
from tests.support import connect, free_port, running_app

pytestmark = pytest.mark.js


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


async def test_the_admin_ui_shows_a_three_node_cluster(tmp_path: Path) -> None:
    """The real Admin UI, through nginx, logs in and shows every node and every node's sockets."""
    shots = screenshot_dir(tmp_path)
    with cluster(3, **admin_env()) as running:
        players = [await connect(node.url) for node in running.nodes]
        players.append(await connect(running.nodes[1].url, transports=["polling"]))
        sids = [str(p.sio.get_sid("/")) for p in players]
        seen = await run_browser_script("browser_admin.mjs", running.lb.url, ADMIN_USER,
                                        ADMIN_PASSWORD, str(shots), "node1,node2,node3", *sids)
        for player in players:
            await player.sio.disconnect()
    assert seen["problems"] == []
    servers = "\n".join(seen["servers"])
    assert all(f"node{i}" in servers for i in (1, 2, 3)) and "HEALTHY" in servers
    rows = "\n".join(seen["sockets"])
    for sid in sids:
        assert sid in rows
    assert rows.count("WebSocket") == 3 and rows.count("HTTP long-polling") == 1
    assert is_png(shots / "admin-sockets.png") and is_png(shots / "admin-dashboard.png")
