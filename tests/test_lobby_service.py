"""Tier 1: the lobby rules through LobbyService on the memory store (no sockets)."""

from __future__ import annotations

import itertools

import pytest

from server.errors import (
    GameStarted,
    NicknameTaken,
    NotAllReady,
    NotHost,
    NotInRoom,
    RoomFull,
    RoomNotFound,
)
from server.lobby.service import LobbyService
from server.store import MemoryStore

pytestmark = pytest.mark.unit


def make_service() -> LobbyService:
    ticks = itertools.count()
    codes = (f"ROOM{n:02d}".replace("0", "A").replace("1", "B") for n in itertools.count())
    return LobbyService(
        MemoryStore(),
        node_id="n1",
        now=lambda: f"2026-01-01T00:00:{next(ticks):02d}.000Z",
        make_code=lambda: next(codes),
    )


async def test_creator_is_host_and_first_player() -> None:
    lobby = make_service()
    joined = await lobby.create_room("s1", "Ann", None, 8)
    assert joined.view["hostName"] == "Ann"
    assert joined.view["title"] == "Ann's room"
    assert joined.view["players"] == [{"nickname": "Ann", "isHost": True, "ready": False}]


async def test_all_ready_needs_two_players_and_every_guest_ready() -> None:
    lobby = make_service()
    code = (await lobby.create_room("s1", "Ann", None, 8)).room.code
    assert not (await lobby.set_ready("s1", True)).all_ready()  # alone: never all ready
    await lobby.join_room("s2", "Bob", code)
    await lobby.join_room("s3", "Cy", code)
    assert not (await lobby.set_ready("s2", True)).all_ready()
    room = await lobby.set_ready("s3", True)
    assert room.all_ready()
    assert not (await lobby.set_ready("s2", False)).all_ready()


async def test_nickname_unique_case_insensitively() -> None:
    lobby = make_service()
    code = (await lobby.create_room("s1", "Ann", None, 8)).room.code
    with pytest.raises(NicknameTaken):
        await lobby.join_room("s2", "aNN", code)


async def test_room_full_and_unknown_room() -> None:
    lobby = make_service()
    code = (await lobby.create_room("s1", "Ann", None, 2)).room.code
    await lobby.join_room("s2", "Bob", code)
    with pytest.raises(RoomFull):
        await lobby.join_room("s3", "Cy", code)
    with pytest.raises(RoomNotFound):
        await lobby.join_room("s3", "Cy", "ZZZZZZ")


async def test_start_rules() -> None:
    lobby = make_service()
    code = (await lobby.create_room("s1", "Ann", None, 8)).room.code
    await lobby.join_room("s2", "Bob", code)
    with pytest.raises(NotAllReady):
        await lobby.start_game("s1")
    await lobby.set_ready("s2", True)
    with pytest.raises(NotHost):
        await lobby.start_game("s2")
    room = await lobby.start_game("s1")
    assert room.started and room.started_at
    with pytest.raises(GameStarted):
        await lobby.start_game("s1")
    with pytest.raises(GameStarted):
        await lobby.join_room("s3", "Cy", code)


async def test_host_migrates_to_earliest_joined_and_empty_room_is_deleted() -> None:
    lobby = make_service()
    code = (await lobby.create_room("s1", "Ann", None, 8)).room.code
    await lobby.join_room("s2", "Bob", code)
    await lobby.join_room("s3", "Cy", code)
    left = await lobby.leave_room("s1")
    assert left.room is not None and left.room.host_name == "Bob"
    await lobby.disconnect("s2")
    await lobby.disconnect("s3")
    assert await lobby.list_rooms() == []
    with pytest.raises(RoomNotFound):
        await lobby.join_room("s4", "Dee", code)


async def test_joining_another_room_leaves_the_first() -> None:
    lobby = make_service()
    first = (await lobby.create_room("s1", "Ann", None, 8)).room.code
    second = (await lobby.create_room("s2", "Bob", None, 8)).room.code
    await lobby.join_room("s3", "Cy", first)
    joined = await lobby.join_room("s3", "Cy", second)
    assert joined.previous is not None and joined.previous.code == first
    counts = {r["code"]: r["players"] for r in await lobby.list_rooms()}
    assert counts == {first: 1, second: 2}


async def test_messages_need_a_room_and_keep_the_last_fifty() -> None:
    lobby = make_service()
    with pytest.raises(NotInRoom):
        await lobby.send_message("s1", "hi")
    code = (await lobby.create_room("s1", "Ann", None, 8)).room.code
    for n in range(55):
        await lobby.send_message("s1", f"m{n}")
    view = (await lobby.join_room("s2", "Bob", code)).view
    assert [m["message"] for m in view["messages"]] == [f"m{n}" for n in range(5, 55)]
    assert [m["seq"] for m in view["messages"]] == list(range(6, 56))
