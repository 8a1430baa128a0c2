"""A lobby game and a direct message with the typed client; ``mypy --strict`` checks it.

Run against a server started with ``./scripts/serve``:
    python clients/python/examples/quickstart.py http://127.0.0.1:5000
"""

from __future__ import annotations

import asyncio
import sys

from huddle_client import ChatClient, HuddleError, LobbyClient
from huddle_client.types import ChatMessage, PlayerView, RoomView


async def lobby_game(url: str) -> list[PlayerView]:
    host, guest = LobbyClient(), LobbyClient()
    await host.connect(url)
    await guest.connect(url)
    try:
        room: RoomView = await host.create_room(nickname="ann", max_players=4)
        await guest.join_room(nickname="bob", code=room["code"])
        players = await host.on.players(room["code"]).next(where=lambda p: len(p) == 2)
        await guest.ready(ready=True)
        assert await host.on.all_ready.next(where=bool)
        await host.start_game()
        start = await guest.on.game_start.next()
        print(f"{start['code']} started at {start['startedAt']}")
        try:
            await guest.join_room(nickname="cat", code=room["code"])
        except HuddleError as error:
            print(error.code, error.error)  # game_started
        return players
    finally:
        await host.disconnect()
        await guest.disconnect()


async def direct_message(url: str) -> ChatMessage:
    ann, bob = ChatClient(), ChatClient()
    await ann.connect(url, auth={"userId": "ann", "nickname": "Ann"})
    await bob.connect(url, auth={"userId": "bob", "nickname": "Bob"})
    try:
        sent = await ann.direct_message(to_user_id="bob", text="hi Bob", client_msg_id="m1")
        chat_id = sent["chat"]["chatId"]
        update = await bob.on.chat_list_update.next(where=lambda c: c["chatId"] == chat_id)
        page = await bob.subscribe(chat_id=update["chatId"])
        await bob.mark_read(chat_id=update["chatId"], seq=page["messages"][-1]["seq"])
        return page["messages"][-1]
    finally:
        await ann.disconnect()
        await bob.disconnect()


async def main(url: str) -> None:
    players = await lobby_game(url)
    print([p["nickname"] for p in players])
    message = await direct_message(url)
    print(message["senderName"], message["text"])


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000"))
