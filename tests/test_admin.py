"""The Admin UI's namespace on one node: auth, sockets, live updates, commands, read-only."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import aiohttp
import pytest
import socketio

from schemas import admin as admin_schemas
from server.admin.auth import check_password
from server.app import ADMIN_FEED, create_app
from server.config import Settings, load_settings
from server.wire import sio_packets
from tests.admin_support import ADMIN_HASH, ADMIN_USER, LOGIN, admin
from tests.support import ROOT, WAIT_S, connect, free_port, running_app
from tests.wire import recv, serve

pytestmark = pytest.mark.e2e

NODE = "solo"


def admin_settings(**changes: object) -> Settings:
    base = Settings(port=free_port(), node_id=NODE, admin_user=ADMIN_USER,
                    admin_password_hash=ADMIN_HASH)
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_login_session_config_sockets_and_stats() -> None:
    async with running_app(admin_settings()) as url:
        player = await connect(url, transports=["polling"], )
        ops = await admin(url)
        session_id = await ops.first("session")
        assert isinstance(session_id, str) and len(session_id) == 32
        config = await ops.first("config")
        assert "DISCONNECT" in config["supportedFeatures"]
        assert "AGGREGATED_EVENTS" in config["supportedFeatures"]
        listed = await ops.first("all_sockets")
        mine = [s for s in listed if s["id"] == player.sio.get_sid("/")]
        assert len(mine) == 1
        socket = mine[0]
        assert socket["nsp"] == "/" and socket["transport"] == "polling"
        assert socket["rooms"] == [player.sio.get_sid("/")]
        assert socket["data"] == {"node": NODE}
        assert socket["handshake"]["address"] == "127.0.0.1"
        assert socket["handshake"]["query"]["transport"] == "polling"
        assert socket["handshake"]["issued"] > 0
        assert "user-agent" in socket["handshake"]["headers"]
        stats = await ops.first("server_stats")
        assert stats["serverId"] == NODE
        assert stats["clientsCount"] == 2 and stats["pollingClientsCount"] == 1
        assert {"name": "/", "socketsCount": 1} in stats["namespaces"]

        # The session id stands in for the password, and gets no new session.
        again = await admin(url, auth={"sessionId": session_id})
        assert (await again.first("config")) == config
        assert again.named("session") == []
        for client in (player, ops, again):
            await client.sio.disconnect()


async def test_wrong_credentials_are_refused() -> None:
    async with running_app(admin_settings()) as url:
        for auth in ({"username": ADMIN_USER, "password": "nope"},
                     {"username": "root", "password": LOGIN["password"]},
                     {"sessionId": "0" * 32}, None, "x"):
            sio = socketio.AsyncClient(reconnection=False)
            errors: list[object] = []
            sio.on("connect_error", errors.append, namespace="/admin")
            with pytest.raises(socketio.exceptions.ConnectionError):
                await sio.connect(url, namespaces=["/admin"], transports=["websocket"],
                                  auth=auth if auth is not None else {}, wait_timeout=WAIT_S)
            # The UI shows its own text for exactly this message.
            assert errors == [{"message": "invalid credentials",
                               "data": {"code": "unauthorized"}, "code": "unauthorized"}]
            await sio.disconnect()


async def test_live_updates_and_commands() -> None:
    async with running_app(admin_settings()) as url:
        ops = await admin(url)
        await ops.first("all_sockets")
        # It receives an event the admin emits, which is no declared server event of "/".
        player = await connect(url, contract=False)
        sid = player.sio.get_sid("/")
        connected = await ops.until("socket_connected", lambda args: args[0]["id"] == sid)
        assert connected[0]["transport"] == "websocket" and connected[1].endswith("Z")
        created = await player.call("createRoom", {"nickname": "Ada"})
        room = f"lobby:{created['room']['code']}"
        await ops.until("room_joined", lambda args: args[:3] == ("/", room, sid))

        joined = await ops.call_args("join", ("/", "vip", sid), namespace="/admin")
        assert joined == {"ok": True, "sockets": 1}
        await ops.until("room_joined", lambda args: args[:3] == ("/", "vip", sid))
        await ops.call_args("emit", ("/", "vip", "hello", {"from": "ops"}), namespace="/admin")
        assert await player.first("hello") == {"from": "ops"}
        left = await ops.call_args("leave", ("/", "vip", None), namespace="/admin")
        assert left == {"ok": True, "sockets": 1}
        await ops.until("room_left", lambda args: args[:3] == ("/", "vip", sid))

        bad = await ops.call_args("join", ("lobby", "vip"), namespace="/admin")
        assert bad["code"] == "validation_error" and "nsp" in bad["fields"]

        gone = await ops.call_args("_disconnect", ("/", True, sid), namespace="/admin")
        assert gone == {"ok": True, "sockets": 1}
        await ops.until("socket_disconnected", lambda args: args[:2] == ("/", sid))
        await player.sio.wait()  # returns once the server has dropped the connection
        assert not player.sio.connected
        await ops.sio.disconnect()


async def test_read_only_mode_refuses_commands() -> None:
    async with running_app(admin_settings(admin_readonly=True)) as url:
        player = await connect(url)
        ops = await admin(url)
        config = await ops.first("config")
        assert config == {"supportedFeatures": ["AGGREGATED_EVENTS", "ALL_EVENTS"]}
        sid = player.sio.get_sid("/")
        for args in (("_disconnect", ("/", True, sid)), ("join", ("/", "vip", None)),
                     ("emit", ("/", None, "hello"))):
            answer = await ops.call_args(*args, namespace="/admin")
            assert answer["ok"] is False and answer["code"] == "forbidden", answer
        assert (await player.call("listRooms"))["ok"] is True  # still connected
        assert player.named("hello") == []
        await player.sio.disconnect()
        await ops.sio.disconnect()


async def test_admin_is_off_unless_configured() -> None:
    async with running_app(Settings(port=free_port())) as url:
        sio = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(url, namespaces=["/admin"], transports=["websocket"],
                              auth=LOGIN, wait_timeout=WAIT_S)
        await sio.disconnect()
        async with aiohttp.ClientSession() as http, http.get(f"{url}/admin-ui/") as reply:
            assert reply.status == 404


async def test_the_ui_is_served_offline() -> None:
    async with (running_app(admin_settings()) as url, aiohttp.ClientSession() as http):
        async with http.get(f"{url}/admin-ui/") as page:
            assert page.status == 200
            html = await page.text()
        assert "https://" not in html  # no CDN: the icon font comes from web/node_modules
        async with http.get(f"{url}/admin-ui/mdi/css/materialdesignicons.min.css") as css:
            assert css.status == 200


def test_the_password_tool_prints_a_hash_the_server_accepts() -> None:
    made = subprocess.run([sys.executable, "-m", "server.admin.password"], input="s3cret\n",
                          capture_output=True, text=True, timeout=60, check=True, cwd=ROOT)
    hashed = made.stdout.strip()
    assert load_settings({"HUDDLE_ADMIN_USER": "ops",
                          "HUDDLE_ADMIN_PASSWORD_HASH": hashed}).admin
    assert check_password("s3cret", hashed) and not check_password("s3cret!", hashed)


async def test_the_ui_learns_of_an_upgrade_to_websocket() -> None:
    async with running_app(admin_settings()) as url:
        ops = await admin(url)
        await ops.first("all_sockets")
        player = await connect(url, transports=["polling", "websocket"])
        sid = player.sio.get_sid("/")
        connected = (await ops.until("socket_connected", lambda args: args[0]["id"] == sid))[0]
        # The client upgrades while it connects the namespace: whichever comes first, the UI
        # ends up showing a WebSocket (socket_connected says so, or socket_updated follows).
        if connected["transport"] != "websocket":
            update = await ops.until("socket_updated", lambda u: u["id"] == sid)
            assert update == {"id": sid, "nsp": "/", "transport": "websocket"}
        await player.sio.disconnect()
        await ops.sio.disconnect()


async def test_an_upgrade_after_the_connect_is_a_socket_update() -> None:
    # A raw client, so that the namespace is connected over polling before the upgrade starts.
    async with serve(profile="default", node_id=NODE, admin_user=ADMIN_USER,
                     admin_password_hash=ADMIN_HASH) as wire:
        ops = await admin(wire.url)
        await ops.first("all_sockets")
        eio_sid, _ = await wire.handshake()
        assert (await wire.post(eio_sid, "40"))[0] == 200
        status, text = await wire.get(eio_sid)
        assert status == 200 and text.startswith("40{"), text
        sid = json.loads(text[2:])["sid"]
        connected = (await ops.until("socket_connected", lambda args: args[0]["id"] == sid))[0]
        assert connected["transport"] == "polling"
        ws = await wire.ws(sid=eio_sid)
        await ws.send_str("2probe")
        assert await recv(ws) == "3probe"
        await ws.send_str("5")
        update = await ops.until("socket_updated", lambda u: u["id"] == sid)
        assert update == {"id": sid, "nsp": "/", "transport": "websocket"}
        await ws.close()
        await ops.sio.disconnect()


async def test_the_feed_reports_only_while_someone_watches() -> None:
    settings = admin_settings()
    app = create_app(settings)
    feed = app[ADMIN_FEED]
    async with running_app(settings, app=app) as url:
        early = await connect(url)
        await early.call("listRooms")
        assert feed.active is False  # nobody watches: a connect costs a counter increment
        ops = await admin(url)
        listed = await ops.first("all_sockets")
        assert feed.active is True
        assert early.sio.get_sid("/") in {s["id"] for s in listed}
        late = await connect(url)
        sid = late.sio.get_sid("/")
        await ops.until("socket_connected", lambda args: args[0]["id"] == sid)
        for client in (early, late, ops):
            await client.sio.disconnect()


def test_the_admin_schema_reserves_what_the_wire_reserves() -> None:
    assert admin_schemas.RESERVED_EVENTS == sio_packets.RESERVED_EVENTS
