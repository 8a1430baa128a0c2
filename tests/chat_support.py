"""Helpers for the messenger tests: a tab is one recording client on ``/chat``."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import socketio

from server.errors import ErrorCode
from tests.support import WAIT_S, Client, connect, delivered

CHAT = "/chat"
_ids = itertools.count(1)


class Tab:
    """One browser tab of one user: a real Socket.IO connection to ``/chat``."""

    def __init__(self, client: Client, user_id: str) -> None:
        self.client = client
        self.user_id = user_id

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.client.call(event, data, namespace=CHAT)

    async def ok(self, event: str, data: Any = None) -> Any:
        """Call and insist on ``{ok: true}``."""
        ack = await self.call(event, data)
        assert ack["ok"] is True, (event, data, ack)
        return ack

    async def send(self, chat_id: str, text: str, client_msg_id: str | None = None) -> Any:
        cmid = client_msg_id or f"m{next(_ids)}"
        return (await self.ok("sendChat", {"chatId": chat_id, "text": text,
                                           "clientMsgId": cmid}))["message"]

    def named(self, name: str) -> list[Any]:
        return self.client.named(name)

    async def wait_for(self, name: str, count: int = 1) -> list[Any]:
        return await self.client.wait_for(name, count)

    async def last(self, name: str, count: int = 1) -> Any:
        return await self.client.last(name, count)

    async def session(self) -> Any:
        return await self.last("session")

    async def settle(self) -> None:
        """Everything the server sent this tab so far has arrived (``delivered``): before
        asserting that some event did not."""
        await delivered(self.client, CHAT)

    async def close(self) -> None:
        if self.client.sio.connected:
            await self.client.sio.disconnect()


async def open_tab(url: str, user_id: str, nickname: str | None = None,
                   *, auth: Any = None) -> Tab:
    credentials = auth if auth is not None else {"userId": user_id,
                                                 "nickname": nickname or user_id.title()}
    client = await connect(url, namespaces=[CHAT], auth=credentials)
    tab = Tab(client, user_id)
    await tab.wait_for("session")
    return tab


async def open_tab_into(opened: list[Tab], url: str, user_id: str) -> Tab:
    """``open_tab`` as ``user_id`` (nickname from the id), recorded in ``opened`` for cleanup."""
    tab = await open_tab(url, user_id, user_id.title())
    opened.append(tab)
    return tab


async def close_all(tabs: list[Tab]) -> None:
    for tab in tabs:
        await tab.close()
    tabs.clear()


async def refused(url: str, auth: Any) -> Any:
    """Connect with ``auth`` expecting a refusal; return the connect_error data."""
    sio = socketio.AsyncClient(reconnection=False)
    errors: asyncio.Queue[Any] = asyncio.Queue()

    async def on_error(data: Any) -> None:
        await errors.put(data)

    sio.on("connect_error", on_error, namespace=CHAT)
    try:
        await sio.connect(url, namespaces=[CHAT], auth=auth, transports=["websocket"],
                          wait_timeout=WAIT_S)
    except socketio.exceptions.ConnectionError:
        pass
    else:
        raise AssertionError("the connection was accepted")
    finally:
        await sio.disconnect()
    data = await asyncio.wait_for(errors.get(), WAIT_S)
    ErrorCode(data["code"])  # a refusal's code is a registered one too
    return data
