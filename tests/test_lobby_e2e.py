"""Tier 2: the lobby protocol end to end over real sockets, on both store twins."""

from __future__ import annotations

import re
from typing import Any

import pytest
from huddle_client import LobbyClient

from tests.conftest import ClientFactory, TypedConnect
from tests.support import Client, delivered, eventually

pytestmark = pytest.mark.e2e

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def room_of(host: Client, *guests: tuple[Client, str], nickname: str = "Ann") -> str:
    res = await host.call("createRoom", {"nickname": nickname, "title": "Beat night"})
    assert res["ok"], res
    code: str = res["room"]["code"]
    for guest, name in guests:
        joined = await guest.call("joinRoom", {"nickname": name, "code": code})
        assert joined["ok"], joined
    return code


def names(players: list[dict[str, Any]]) -> list[str]:
    return [p["nickname"] for p in players]


async def test_create_room_ack_shape(client_factory: ClientFactory) -> None:
    ann = await client_factory()
    res = await ann.call("createRoom", {"nickname": " Ann ", "maxPlayers": 4})
    assert res["ok"] is True
    room = res["room"]
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", room["code"])
    assert room == {
        "code": room["code"], "title": "Ann's room", "hostName": "Ann", "maxPlayers": 4,
        "started": False, "players": [{"nickname": "Ann", "isHost": True, "ready": False}],
        "messages": [],
    }


async def test_join_broadcasts_players_and_all_ready_false(client_factory: ClientFactory) -> None:
    ann, bob = await client_factory(), await client_factory()
    code = await room_of(ann)
    res = await bob.call("joinRoom", {"nickname": "Bob", "code": code.lower()})
    assert res["ok"] and res["room"]["code"] == code
    assert names(res["room"]["players"]) == ["Ann", "Bob"]
    for client in (ann, bob):
        assert await client.until(f"players{code}", lambda p: names(p) == ["Ann", "Bob"])
        assert await client.first("allReady") is False


async def test_full_game_flow_three_players(client_factory: ClientFactory) -> None:
    ann, bob, cy = await client_factory(), await client_factory(), await client_factory()
    code = await room_of(ann, (bob, "Bob"), (cy, "Cy"))

    assert (await bob.call("ready", {"ready": True}))["ok"]
    bob_ready = {"nickname": "Bob", "isHost": False, "ready": True}
    assert await ann.until(f"players{code}", lambda p: bob_ready in p)
    assert (await cy.call("ready", {"ready": True})) == {"ok": True}
    for client in (ann, bob, cy):
        assert await client.until("allReady", lambda ready: ready is True)

    said = await bob.call("sendMessage", "gl hf")
    assert said["ok"]
    message = said["message"]
    assert message["nickname"] == "Bob" and message["message"] == "gl hf"
    assert message["code"] == code and ISO_UTC.match(message["timestamp"]) and message["id"]
    for client in (ann, bob, cy):
        assert (await client.first("message")) == message

    assert await ann.call("startGame") == {"ok": True}
    for client in (ann, bob, cy):
        start = await client.first("gameStart")
        assert start["code"] == code and ISO_UTC.match(start["startedAt"])
    listed = await cy.call("listRooms")
    assert listed["rooms"] == [{"code": code, "title": "Beat night", "players": 3,
                                "maxPlayers": 8, "started": True}]


async def test_messages_reach_only_the_room(client_factory: ClientFactory) -> None:
    ann, bob, eve = await client_factory(), await client_factory(), await client_factory()
    code = await room_of(ann, (bob, "Bob"))
    other = await room_of(eve, nickname="Eve")
    await ann.call("sendMessage", {"message": "secret"})
    assert (await bob.first("message"))["message"] == "secret"
    await delivered(eve)
    await delivered(ann)
    assert eve.named("message") == []
    assert not [e for e, _ in eve.events if e == f"players{code}"]
    assert not [e for e, _ in ann.events if e == f"players{other}"]


async def test_late_joiner_sees_recent_messages(typed: TypedConnect) -> None:
    ann, bob = await typed(LobbyClient()), await typed(LobbyClient())
    room = await ann.create_room(nickname="Ann")
    for text in ("one", "two"):
        await ann.send_message(message=text)
    joined = await bob.join_room(nickname="Bob", code=room["code"])
    assert [m["message"] for m in joined["messages"]] == ["one", "two"]
    assert [m["seq"] for m in joined["messages"]] == [1, 2]


async def test_leave_migrates_host_and_notifies(client_factory: ClientFactory) -> None:
    ann, bob, cy = await client_factory(), await client_factory(), await client_factory()
    code = await room_of(ann, (bob, "Bob"), (cy, "Cy"))
    assert await ann.call("leaveRoom") == {"ok": True}
    players = await _players_after(bob, code, ["Bob", "Cy"])
    assert players[0] == {"nickname": "Bob", "isHost": True, "ready": False}
    assert await cy.call("sendMessage", "still here")
    await delivered(ann)
    assert ann.named("message") == []  # a player who left no longer receives the room


async def test_disconnect_counts_as_leave(client_factory: ClientFactory) -> None:
    ann, bob = await client_factory(), await client_factory()
    code = await room_of(ann, (bob, "Bob"))
    await ann.sio.disconnect()
    players = await _players_after(bob, code, ["Bob"])
    assert players == [{"nickname": "Bob", "isHost": True, "ready": False}]
    assert (await bob.wait_for("allReady", 2))[1] is False  # one on join, one on the leave
    await bob.sio.disconnect()
    probe = await client_factory()

    # The server handles a disconnect after the client has gone: wait for its effect.
    async def no_rooms() -> bool:
        return not (await probe.call("listRooms"))["rooms"]

    await eventually(no_rooms, "the empty room deleted")


async def test_joining_another_room_leaves_the_first(client_factory: ClientFactory) -> None:
    ann, bob, cy = await client_factory(), await client_factory(), await client_factory()
    first = await room_of(ann, (cy, "Cy"))
    second = await room_of(bob, nickname="Bob")
    assert (await cy.call("joinRoom", {"nickname": "Cy", "code": second}))["ok"]
    assert names(await _players_after(ann, first, ["Ann"])) == ["Ann"]
    await ann.call("sendMessage", "first room only")
    await delivered(cy)
    assert cy.named("message") == []


async def _players_after(client: Client, code: str, expected: list[str]) -> list[dict[str, Any]]:
    players: list[dict[str, Any]] = await client.until(
        f"players{code}", lambda players: names(players) == expected
    )
    return players
