"""Tier 3: the real socket.io-client (npm, locked) drives /chat as a browser frontend would."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

from tests.support import ROOT, WAIT_S

pytestmark = pytest.mark.js

SCRIPT = ROOT / "tests" / "js" / "chat_walkthrough.mjs"


async def test_js_client_walkthrough_two_users_three_tabs(server: str) -> None:
    node = shutil.which("node")
    assert node, "node is not installed; run scripts/bootstrap --test"
    proc = await asyncio.create_subprocess_exec(
        node, str(SCRIPT), server, cwd=SCRIPT.parent,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), WAIT_S * 4)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    seen = json.loads(stdout.decode().strip().splitlines()[-1])
    assert "error" not in seen, (seen, stderr.decode())

    assert seen["refused"]["data"]["code"] == "unauthorized"
    assert seen["refused"]["message"] == seen["refused"]["data"]["message"]
    assert seen["bobSession"]["userId"] == "bob"
    assert seen["sent"]["ok"] is True and seen["sent"]["message"]["seq"] == 1
    chat_id = seen["sent"]["chat"]["chatId"]
    assert seen["badges"] == [{"totalUnread": 1, "chats": {chat_id: 1}}] * 2
    assert seen["read"] == {"ok": True, "seq": 1, "unread": 0, "totalUnread": 0}
    assert seen["receipt"] == {"chatId": chat_id, "userId": "alice", "seq": 1}
    assert seen["cleared"] == [{"totalUnread": 0, "chats": {chat_id: 0}}] * 2
    assert seen["forged"]["code"] == "validation_error" and "senderId" in seen["forged"]["fields"]
