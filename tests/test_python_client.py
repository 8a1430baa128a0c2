"""The generated typed client (clients/python, ``huddle_client``) against a real server, on
both stores: a whole lobby game, a direct-message exchange, errors raised as HuddleError; and
``mypy --strict`` accepts the example that uses it and refuses misuse."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from huddle_client import ChatClient, HuddleError, LobbyClient

from tests.conftest import TypedConnect
from tests.support import ROOT

pytestmark = pytest.mark.e2e

EXAMPLE = ROOT / "clients" / "python" / "examples" / "quickstart.py"


async def test_a_whole_lobby_game(typed: TypedConnect) -> None:
    host, guest, late = [await typed(LobbyClient()) for _ in range(3)]
    room = await host.create_room(nickname="ann", title="Finals", max_players=3)
    assert (room["title"], room["maxPlayers"], room["hostName"]) == ("Finals", 3, "ann")
    joined = await guest.join_room(nickname="bob", code=room["code"].lower())
    assert [p["nickname"] for p in joined["players"]] == ["ann", "bob"]
    players = await host.on.players(room["code"]).next(where=lambda p: len(p) == 2)
    assert players[1] == {"nickname": "bob", "isHost": False, "ready": False}
    assert await host.on.all_ready.next() is False
    summary = next(r for r in await late.list_rooms() if r["code"] == room["code"])
    assert (summary["players"], summary["started"]) == (2, False)

    sent = await guest.send_message(message="  good luck  ")
    assert (sent["message"], sent["nickname"], sent["seq"]) == ("good luck", "bob", 1)
    assert await host.on.message.next() == sent
    with pytest.raises(HuddleError) as refused:
        await guest.start_game()
    assert refused.value.code == "not_host"
    await guest.ready(ready=True)
    assert await host.on.all_ready.next(where=bool) is True
    await host.start_game()
    start = await guest.on.game_start.next()
    assert start["code"] == room["code"] and start["startedAt"].endswith("Z")
    with pytest.raises(HuddleError) as late_join:
        await late.join_room(nickname="cat", code=room["code"])
    assert late_join.value.code == "game_started"
    await guest.leave_room()
    left = await host.on.players(room["code"]).next(where=lambda p: len(p) == 1)
    assert left[0]["isHost"] is True


async def test_a_direct_message_exchange(typed: TypedConnect) -> None:
    ann = await typed(ChatClient(), auth={"userId": "ann", "nickname": "Ann"})
    bob = await typed(ChatClient(), auth={"userId": "bob", "nickname": "Bob"})
    assert (await ann.on.session.next())["userId"] == "ann"
    assert (await bob.on.session.next())["chats"] == []

    sent = await ann.direct_message(to_user_id="bob", text="hi Bob", client_msg_id="m1")
    chat_id, message = sent["chat"]["chatId"], sent["message"]
    assert (sent["chat"]["kind"], sent["chat"]["title"], message["seq"]) == ("direct", "Bob", 1)
    update = await bob.on.chat_list_update.next(where=lambda c: c["chatId"] == chat_id)
    assert (update["title"], update["unread"]) == ("Ann", 1)
    assert (await bob.on.unread_badge.next())["totalUnread"] == 1

    page = await bob.subscribe(chat_id=chat_id)
    assert [m["text"] for m in page["messages"]] == ["hi Bob"]
    await ann.subscribe(chat_id=chat_id)
    await ann.typing(chat_id=chat_id, typing=True)
    notice = await bob.on.typing.next()
    assert notice == {"chatId": chat_id, "userId": "ann", "typing": True}
    reply = await bob.send_chat(chat_id=chat_id, text="hello Ann", client_msg_id="r1")
    assert (await ann.on.chat_message.next(where=lambda m: m["id"] == reply["id"]))["seq"] == 2
    read = await ann.mark_read(chat_id=chat_id, seq=reply["seq"])
    assert (read["seq"], read["unread"]) == (2, 0)
    receipt = await bob.on.message_read.next(where=lambda r: r["userId"] == "ann")
    assert receipt["seq"] == 2
    history = await bob.history(chat_id=chat_id, limit=1)
    assert ([m["text"] for m in history["messages"]], history["hasMore"]) == (["hello Ann"], True)
    assert [c["chatId"] for c in await ann.list_chats()] == [chat_id]

    with pytest.raises(HuddleError) as invalid:
        await ann.open_chat(user_id="   ")
    assert invalid.value.code == "validation_error" and "userId" in invalid.value.fields
    with pytest.raises(HuddleError) as missing:
        await ann.send_chat(chat_id="no-such-chat", text="?", client_msg_id="x")
    assert missing.value.code == "not_found"


async def test_the_quickstart_example_runs(server: str) -> None:
    spec = importlib.util.spec_from_file_location("quickstart", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    players = await module.lobby_game(server)
    assert [p["nickname"] for p in players] == ["ann", "bob"]
    message = await module.direct_message(server)
    assert (message["senderName"], message["text"]) == ("Ann", "hi Bob")


MISUSE = '''
from huddle_client import ChatClient, LobbyClient

async def misuse(lobby: LobbyClient, chat: ChatClient) -> None:
    await lobby.join_room(nickname="bob", room="ABC234")
    await lobby.create_room(nickname="ann", max_players="8")
    room = await lobby.create_room(nickname="ann")
    room["hostname"]
    await chat.send_chat(chat_id="c1", text="hi")
    badge = await chat.on.unread_badge.next()
    total: str = badge["totalUnread"]
'''


def test_mypy_strict_accepts_the_example_and_refuses_misuse(tmp_path: Path) -> None:
    def mypy(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(path)],
            cwd=ROOT, capture_output=True, text=True, timeout=170, check=False)

    good = mypy(EXAMPLE)
    assert good.returncode == 0, good.stdout
    bad_file = tmp_path / "misuse.py"
    bad_file.write_text(MISUSE)
    bad = mypy(bad_file)
    assert bad.returncode == 1
    errors = [line.split(": error: ", 1)[1] for line in bad.stdout.splitlines()
              if ": error: " in line]
    expected = [
        'Unexpected keyword argument "room" for "join_room"',
        'Argument "max_players" to "create_room" of "LobbyClient" has incompatible type "str"',
        'TypedDict "RoomView" has no key "hostname"',
        'Missing named argument "client_msg_id" for "send_chat"',
        'Incompatible types in assignment (expression has type "int", variable has type "str")',
    ]
    for want in expected:
        assert any(want in error for error in errors), (want, errors)
