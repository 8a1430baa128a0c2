"""Tier 3: the admin namespace across three nodes (OS processes, one Redis) behind real nginx.

Players connect to three different nodes; the admin client goes through nginx and sees, and
commands, all of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
import socketio

from tests.admin_support import admin, admin_env, stats_nodes
from tests.cluster_support import Cluster, cluster
from tests.metrics_support import scrape_until, value
from tests.support import WAIT_S, Client, connect

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def admin_cluster() -> Iterator[Cluster]:
    with cluster(3, **admin_env()) as running:
        yield running


@pytest.fixture
async def players(admin_cluster: Cluster) -> AsyncIterator[list[Client]]:
    """One player connected straight to each node (node1, node2, node3). They receive what the
    admin emits, which is no declared server event: no contract check."""
    made = [await connect(node.url, contract=False) for node in admin_cluster.nodes]
    yield made
    for client in made:
        if client.sio.connected:
            await client.sio.disconnect()


async def test_stats_and_sockets_from_every_node(
        admin_cluster: Cluster, players: list[Client]) -> None:
    ops = await admin(admin_cluster.lb.url)
    listed = await ops.first("all_sockets")
    by_sid = {s["id"]: s for s in listed if s["nsp"] == "/"}
    for index, player in enumerate(players):
        socket = by_sid[player.sio.get_sid("/")]
        assert socket["data"]["node"] == admin_cluster.node_id(index)
        assert socket["transport"] == "websocket"
    # server_stats: every node reports every two seconds, each under its own serverId.
    deadline_events = 30
    for count in range(1, deadline_events):
        await ops.wait_for("server_stats", count, within_s=WAIT_S)
        if stats_nodes(ops) == {"node1", "node2", "node3"}:
            break
    assert stats_nodes(ops) == {"node1", "node2", "node3"}
    await ops.sio.disconnect()


async def test_commands_apply_on_every_node(
        admin_cluster: Cluster, players: list[Client]) -> None:
    ops = await admin(admin_cluster.lb.url)
    await ops.first("config")
    sids = [p.sio.get_sid("/") for p in players]
    joined = await ops.call_args("join", ("/", "vip", None), namespace="/admin")
    assert joined["ok"] is True and joined["sockets"] >= 3
    await ops.call_args("emit", ("/", "vip", "hello", "everyone"), namespace="/admin")
    for player in players:
        assert await player.first("hello") == "everyone"

    # Disconnect the player of the node that the admin client is not on.
    mine = await admin_node(ops)
    target = next(i for i in range(3) if admin_cluster.node_id(i) != mine)
    gone = await ops.call_args("_disconnect", ("/", True, sids[target]), namespace="/admin")
    assert gone == {"ok": True, "sockets": 1}
    await players[target].sio.wait()
    assert not players[target].sio.connected
    await ops.until("socket_disconnected", lambda args: args[:2] == ("/", sids[target]))
    others = [p for i, p in enumerate(players) if i != target]
    for player in others:
        assert (await player.call("listRooms"))["ok"] is True
    await ops.sio.disconnect()


async def admin_node(ops: Client) -> str:
    listed = await ops.first("all_sockets")
    mine = next(s for s in listed if s["id"] == ops.sio.get_sid("/admin"))
    return str(mine["data"]["node"])


async def test_a_session_opened_on_one_node_is_good_on_another(admin_cluster: Cluster) -> None:
    first, second = admin_cluster.nodes[0], admin_cluster.nodes[1]
    ops = await admin(first.url)
    session_id = await ops.first("session")
    await ops.sio.disconnect()
    again = await admin(second.url, auth={"sessionId": session_id})
    assert "DISCONNECT" in (await again.first("config"))["supportedFeatures"]
    await again.sio.disconnect()


async def test_a_wrong_password_is_refused_through_nginx(admin_cluster: Cluster) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    errors: list[object] = []
    sio.on("connect_error", errors.append, namespace="/admin")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(admin_cluster.lb.url, namespaces=["/admin"], transports=["websocket"],
                          auth={"username": "ops", "password": "wrong"}, wait_timeout=WAIT_S)
    assert [e["message"] for e in errors] == ["invalid credentials"]  # type: ignore[index]
    await sio.disconnect()


async def test_read_only_cluster_refuses_commands() -> None:
    with cluster(2, **admin_env(HUDDLE_ADMIN_READONLY="true")) as running:
        player = await connect(running.nodes[1].url)
        ops = await admin(running.nodes[0].url)
        config = await ops.first("config")
        assert config["supportedFeatures"] == ["AGGREGATED_EVENTS", "ALL_EVENTS"]
        listed = await ops.first("all_sockets")
        assert player.sio.get_sid("/") in {s["id"] for s in listed}
        refused = await ops.call_args("_disconnect", ("/", True, player.sio.get_sid("/")),
                                      namespace="/admin")
        assert refused["code"] == "forbidden"
        assert (await player.call("listRooms"))["ok"] is True
        await player.sio.disconnect()
        await ops.sio.disconnect()


async def test_metrics_are_scraped_per_node_not_through_nginx(admin_cluster: Cluster) -> None:
    for node in admin_cluster.nodes:
        # Each node counts the live heartbeats at its scans (every 500 ms here).
        samples = await scrape_until(
            node.url, lambda s: value(s, "huddle_cluster_nodes_alive") == 3)
        assert value(samples, "huddle_cluster_nodes_alive") == 3
    async with aiohttp.ClientSession() as http, http.get(f"{admin_cluster.lb.url}/metrics") as lb:
        assert lb.status == 404
