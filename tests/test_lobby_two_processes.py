"""Tier 3: two real server processes sharing one real Redis act as one lobby server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack

import pytest

from tests.support import Client, connect, free_port, server_process
from tests.test_lobby_e2e import names, room_of

pytestmark = pytest.mark.cluster


@pytest.fixture
def two_nodes(redis_url: str) -> Iterator[tuple[str, str]]:
    ports = free_port(), free_port()
    with ExitStack() as stack:
        for port in ports:
            stack.enter_context(server_process(port, {"REDIS_URL": redis_url}))
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    made: list[Client] = []
    yield made
    for client in made:
        await client.sio.disconnect()


async def test_broadcasts_cross_processes(two_nodes: tuple[str, str],
                                          clients: list[Client]) -> None:
    node_a, node_b = two_nodes
    ann, bob, cy = await connect(node_a), await connect(node_b), await connect(node_b)
    clients += [ann, bob, cy]
    code = await room_of(ann, (bob, "Bob"), (cy, "Cy"))
    assert names(await ann.until(f"players{code}", lambda p: len(p) == 3)) == ["Ann", "Bob", "Cy"]

    await bob.call("ready", {"ready": True})
    await cy.call("ready", {"ready": True})
    assert await ann.until("allReady", lambda ready: ready is True)

    sent = (await ann.call("sendMessage", "across"))["message"]
    for client in (bob, cy):
        assert await client.until("message", lambda m: m["id"] == sent["id"]) == sent

    listed = (await cy.call("listRooms"))["rooms"]
    assert [(r["code"], r["players"]) for r in listed] == [(code, 3)]

    assert (await ann.call("leaveRoom"))["ok"]
    migrated = await bob.until(f"players{code}", lambda p: names(p) == ["Bob", "Cy"])
    assert migrated[0]["isHost"] is True
    assert (await bob.call("startGame"))["ok"]
    assert (await cy.first("gameStart"))["code"] == code


async def test_last_seat_race_across_processes_has_one_winner(
    two_nodes: tuple[str, str], clients: list[Client]
) -> None:
    node_a, node_b = two_nodes
    host = await connect(node_a)
    clients.append(host)
    code = (await host.call("createRoom", {"nickname": "Host", "maxPlayers": 2}))["room"]["code"]
    racers = [await connect(node_a if n % 2 else node_b) for n in range(8)]
    clients.extend(racers)

    results = await asyncio.gather(
        *(r.call("joinRoom", {"nickname": f"P{n}", "code": code}) for n, r in enumerate(racers))
    )
    assert sorted(res.get("code", "ok") for res in results) == ["ok"] + ["room_full"] * 7
    listed = (await host.call("listRooms"))["rooms"]
    assert listed[0]["players"] == 2


async def test_nickname_race_across_processes_has_one_winner(
    two_nodes: tuple[str, str], clients: list[Client]
) -> None:
    node_a, node_b = two_nodes
    host = await connect(node_a)
    clients.append(host)
    code = await room_of(host)
    racers = [await connect(node_a if n % 2 else node_b) for n in range(6)]
    clients.extend(racers)
    results = await asyncio.gather(
        *(r.call("joinRoom", {"nickname": "Same", "code": code}) for r in racers)
    )
    assert sorted(res.get("code", "ok") for res in results) == ["nickname_taken"] * 5 + ["ok"]
