"""Tier 2: every lobby error code and a bad payload for every event, over real sockets."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from server.config import Settings
from tests.conftest import ClientFactory
from tests.support import connect, free_port, running_app
from tests.test_lobby_e2e import room_of

pytestmark = pytest.mark.e2e

BAD_PAYLOADS: list[tuple[str, Any, str]] = [
    ("createRoom", None, "nickname"),
    ("createRoom", {"nickname": "x" * 21}, "nickname"),
    ("createRoom", {"nickname": "   "}, "nickname"),
    ("createRoom", {"nickname": "Ann", "maxPlayers": 1}, "maxPlayers"),
    ("createRoom", {"nickname": "Ann", "maxPlayers": 17}, "maxPlayers"),
    ("createRoom", {"nickname": "Ann", "maxPlayers": "8"}, "maxPlayers"),
    ("createRoom", {"nickname": "Ann", "maxPlayers": True}, "maxPlayers"),
    ("createRoom", {"nickname": "Ann", "isHost": True}, "isHost"),
    ("createRoom", "Ann", "_schema"),
    ("joinRoom", {"nickname": "Bob"}, "code"),
    ("joinRoom", {"nickname": "Bob", "code": "ABC"}, "code"),
    ("joinRoom", {"nickname": "Bob", "code": "ABCDE0"}, "code"),
    ("joinRoom", {"nickname": 42, "code": "ABCDEF"}, "nickname"),
    ("joinRoom", ["Bob", "ABCDEF"], "_schema"),
    ("ready", None, "ready"),
    ("ready", {"ready": "yes"}, "ready"),
    ("ready", {"ready": 1}, "ready"),
    ("sendMessage", "", "message"),
    ("sendMessage", "   ", "message"),
    ("sendMessage", "x" * 501, "message"),
    ("sendMessage", {"message": 5}, "message"),
    ("sendMessage", {"message": "hi", "nickname": "Mallory"}, "nickname"),
    ("startGame", {"force": True}, "force"),
    ("startGame", "now", "_schema"),
    ("leaveRoom", {"code": "ABCDEF"}, "code"),
    ("listRooms", {"all": True}, "all"),
]


@pytest.mark.parametrize(("event", "payload", "field"), BAD_PAYLOADS)
async def test_bad_payload_is_refused_with_field_messages(
    client_factory: ClientFactory, event: str, payload: Any, field: str
) -> None:
    ann, bob = await client_factory(), await client_factory()
    code = await room_of(ann, (bob, "Bob"))
    await ann.call("sendMessage", "accepted before")

    res = await bob.call(event, payload)
    assert res["ok"] is False and res["code"] == "validation_error"
    assert isinstance(res["error"], str) and res["error"].startswith("Invalid payload")
    assert field in res["fields"], res

    # The server keeps serving, and nothing already accepted is lost.
    assert (await ann.call("sendMessage", "accepted after"))["ok"]
    assert await bob.until("message", lambda m: m["message"] == "accepted after")
    probe = await client_factory()
    room = (await probe.call("joinRoom", {"nickname": "Probe", "code": code}))["room"]
    assert [m["message"] for m in room["messages"]] == ["accepted before", "accepted after"]


async def test_several_arguments_are_refused(client_factory: ClientFactory) -> None:
    ann = await client_factory()
    res = await ann.call_args("createRoom", ({"nickname": "Ann"}, {"nickname": "Bob"}))
    assert res["code"] == "validation_error"


async def test_unknown_event_is_answered(client_factory: ClientFactory) -> None:
    ann = await client_factory()
    res = await ann.call("dropTables", {})
    assert res == {"ok": False, "code": "unknown_event", "error": "Unknown event 'dropTables'."}


async def test_room_not_found(client_factory: ClientFactory) -> None:
    bob = await client_factory()
    res = await bob.call("joinRoom", {"nickname": "Bob", "code": "zzzzzz"})
    assert res["ok"] is False and res["code"] == "room_not_found" and "ZZZZZZ" in res["error"]


async def test_room_full(client_factory: ClientFactory) -> None:
    ann, bob, cy = await client_factory(), await client_factory(), await client_factory()
    code = (await ann.call("createRoom", {"nickname": "Ann", "maxPlayers": 2}))["room"]["code"]
    assert (await bob.call("joinRoom", {"nickname": "Bob", "code": code}))["ok"]
    res = await cy.call("joinRoom", {"nickname": "Cy", "code": code})
    assert res["code"] == "room_full" and res["ok"] is False


async def test_nickname_taken_case_insensitive(client_factory: ClientFactory) -> None:
    ann, bob = await client_factory(), await client_factory()
    code = await room_of(ann)
    res = await bob.call("joinRoom", {"nickname": "ANN", "code": code})
    assert res["code"] == "nickname_taken"


@pytest.mark.parametrize(
    ("event", "payload"),
    [("ready", {"ready": True}), ("sendMessage", "hi"), ("startGame", None), ("leaveRoom", None)],
)
async def test_not_in_room(client_factory: ClientFactory, event: str, payload: Any) -> None:
    loner = await client_factory()
    res = await loner.call(event, payload)
    assert res["code"] == "not_in_room" and res["ok"] is False


async def test_not_host_not_all_ready_and_game_started(client_factory: ClientFactory) -> None:
    ann, bob, cy = await client_factory(), await client_factory(), await client_factory()
    code = await room_of(ann, (bob, "Bob"))
    assert (await ann.call("startGame"))["code"] == "not_all_ready"
    await bob.call("ready", {"ready": True})
    assert (await bob.call("startGame"))["code"] == "not_host"
    assert await ann.call("startGame", {}) == {"ok": True}
    assert (await ann.call("startGame"))["code"] == "game_started"
    assert (await cy.call("joinRoom", {"nickname": "Cy", "code": code}))["code"] == "game_started"


async def test_internal_error_is_answered_and_others_keep_playing(redis_url: str) -> None:
    """A corrupt room record (e.g. written by an incompatible version) fails one request only."""
    settings = Settings(port=free_port(), redis_url=redis_url)
    async with running_app(settings) as url:
        ann, bob = await connect(url), await connect(url)
        try:
            code = await room_of(ann)
            raw = redis.Redis.from_url(redis_url)
            raw.set("lobby:BADBAD", '{"code": "BADBAD"}')
            raw.close()
            res = await bob.call("joinRoom", {"nickname": "Bob", "code": "BADBAD"})
            assert res == {"ok": False, "code": "internal_error",
                           "error": "Something went wrong on the server."}
            assert (await bob.call("joinRoom", {"nickname": "Bob", "code": code}))["ok"]
        finally:
            await ann.sio.disconnect()
            await bob.sio.disconnect()
