"""Tier 3: three Huddle nodes (OS processes) on one real Redis, behind real nginx running
deploy/nginx.conf. Clients are spread over the nodes with the `affinity` query parameter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from aiohttp import web

from tests.cluster_js import js_client
from tests.cluster_support import Cluster, cluster, nginx
from tests.support import WAIT_S, Client, connect, eventually, free_port

pytestmark = [pytest.mark.cluster, pytest.mark.js]

POLLING_THEN_WS = ["polling", "websocket"]


@pytest.fixture(scope="module")
def lb_cluster() -> Iterator[Cluster]:
    with cluster(3) as running:
        yield running


@pytest.fixture
async def spread(lb_cluster: Cluster) -> AsyncIterator[list[str]]:
    """Three affinity keys that nginx routes to three different nodes."""
    yield await lb_cluster.affinities(3)


class Clients:
    def __init__(self, lb: Cluster) -> None:
        self.lb, self.made = lb, list[Client]()

    async def __call__(self, affinity: str, transports: list[str] | None = None) -> Client:
        client = await connect(f"{self.lb.lb.url}?affinity={affinity}",
                               transports=transports or ["websocket"])
        self.made.append(client)
        return client


@pytest.fixture
async def clients(lb_cluster: Cluster) -> AsyncIterator[Clients]:
    made = Clients(lb_cluster)
    yield made
    for client in made.made:
        if client.sio.connected:
            await client.sio.disconnect()


async def wait_transport(client: Client, name: str) -> None:
    await eventually(lambda: client.sio.transport() == name, f"on {name}")


async def test_python_client_upgrades_from_polling_to_websocket(
    clients: Clients, spread: list[str]
) -> None:
    client = await clients(spread[0], POLLING_THEN_WS)
    await wait_transport(client, "websocket")
    assert (await client.call("listRooms"))["ok"] is True


async def test_polling_only_stays_on_one_node(clients: Clients, spread: list[str]) -> None:
    # Every poll is a separate HTTP request: without stickiness they would hit other nodes
    # and fail with "Invalid session".
    client = await clients(spread[1], ["polling"])
    for _ in range(20):
        assert (await client.call("listRooms"))["ok"] is True
    assert client.sio.transport() == "polling"
    assert client.sio.connected


async def test_websocket_only_through_nginx(clients: Clients, spread: list[str]) -> None:
    client = await clients(spread[2], ["websocket"])
    assert client.sio.transport() == "websocket"
    assert (await client.call("listRooms"))["ok"] is True


async def test_lobby_with_players_on_three_nodes(
    clients: Clients, spread: list[str], lb_cluster: Cluster
) -> None:
    nodes = {await lb_cluster.node_of(key) for key in spread}
    assert len(nodes) == 3
    host = await clients(spread[0], POLLING_THEN_WS)
    ann = await clients(spread[1])
    bob = await clients(spread[2], ["polling"])

    created = await host.call("createRoom", {"nickname": "Host", "maxPlayers": 4})
    code = created["room"]["code"]
    assert (await ann.call("joinRoom", {"nickname": "Ann", "code": code}))["ok"]
    assert (await bob.call("joinRoom", {"nickname": "Bob", "code": code}))["ok"]
    names = ["Host", "Ann", "Bob"]
    for player in (host, ann, bob):
        await player.until(f"players{code}", lambda ps: [p["nickname"] for p in ps] == names)

    # listRooms is cluster-wide: asked on a third node, it counts players of all three.
    rooms = (await bob.call("listRooms"))["rooms"]
    assert {"code": code, "players": 3}.items() <= next(
        r for r in rooms if r["code"] == code).items()

    assert (await ann.call("ready", {"ready": True}))["ok"]
    assert (await bob.call("ready", {"ready": True}))["ok"]
    for player in (host, ann, bob):
        await player.until("allReady", lambda ready: ready is True)
    assert (await host.call("startGame"))["ok"]
    for player in (host, ann, bob):
        start = await player.last("gameStart")
        assert start["code"] == code

    # The host (node A) leaves: Ann (node B) inherits the host role, Bob (node C) sees it.
    assert (await host.call("leaveRoom"))["ok"]
    for player in (ann, bob):
        await player.until(f"players{code}", lambda ps: ps == [
            {"nickname": "Ann", "isHost": True, "ready": True},
            {"nickname": "Bob", "isHost": False, "ready": True},
        ])
    sent = await bob.call("sendMessage", {"message": "still here"})
    assert sent["ok"]
    for player in (ann, bob):
        await player.until("message", lambda m: m["id"] == sent["message"]["id"])


async def test_nickname_and_seat_races_have_one_winner_across_nodes(
    clients: Clients, spread: list[str]
) -> None:
    host = await clients(spread[0])
    code = (await host.call("createRoom", {"nickname": "Host", "maxPlayers": 3}))["room"]["code"]
    racers = [await clients(spread[i % 3]) for i in range(6)]

    same_name = await asyncio.gather(*(
        r.call("joinRoom", {"nickname": "Twin", "code": code}) for r in racers))
    assert sum(a["ok"] for a in same_name) == 1
    assert {a["code"] for a in same_name if not a["ok"]} == {"nickname_taken"}

    # One seat left (3 max: Host + Twin + 1); four other racers want it.
    losers = [r for r, a in zip(racers, same_name, strict=True) if not a["ok"]]
    seat = await asyncio.gather(*(
        r.call("joinRoom", {"nickname": f"P{i}", "code": code}) for i, r in enumerate(losers)))
    assert sum(a["ok"] for a in seat) == 1
    assert {a["code"] for a in seat if not a["ok"]} == {"room_full"}
    final = await host.last(f"players{code}", 3)
    assert len(final) == 3


@pytest.mark.parametrize("transports", [POLLING_THEN_WS, ["websocket"]])
async def test_js_client_through_nginx(
    clients: Clients, spread: list[str], lb_cluster: Cluster, transports: list[str]
) -> None:
    host = await clients(spread[0])
    code = (await host.call("createRoom", {"nickname": "Py"}))["room"]["code"]
    url = lb_cluster.lb.url
    async with js_client(url, transports=transports, query={"affinity": spread[1]}) as js:
        joined = await js.call("joinRoom", {"nickname": "Js", "code": code})
        assert joined["ok"], joined
        await host.until(f"players{code}", lambda ps: len(ps) == 2)
        async def upgraded() -> bool:
            return await js.transport() == "websocket"

        await eventually(upgraded, "the JS client on websocket", every_s=0.1)

        sent = await host.call("sendMessage", {"message": "hi from python"})
        got = await js.wait_for("message")
        assert got[-1]["id"] == sent["message"]["id"]
        reply = await js.call("sendMessage", {"message": "hi from js"})
        assert reply["ok"]
        await host.until("message", lambda m: m["message"] == "hi from js")
        players = await js.wait_for(f"players{code}")
        assert [p["nickname"] for p in players[-1]] == ["Py", "Js"]



async def test_nginx_sets_forwarded_headers_instead_of_passing_them_through() -> None:
    # An echo upstream shows what a node behind deploy/nginx.conf receives.
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({h: request.headers.get(h) for h in FORWARDED})

    app = web.Application()
    app.router.add_get("/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        with nginx([port]) as lb:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT_S)) as http,
                http.get(f"{lb.url}/socket.io/", headers={
                    "X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6",
                    "X-Forwarded-Proto": "https"}) as reply,
            ):
                seen = await reply.json()
    finally:
        await runner.cleanup()
    assert seen == {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1",
                    "X-Forwarded-Proto": "http"}


FORWARDED = ("X-Forwarded-For", "X-Real-IP", "X-Forwarded-Proto")
