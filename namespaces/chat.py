"""The messenger protocol on ``/chat``: 1:1 and group chats, unread badges, read receipts.

Fan-out rooms (Socket.IO rooms only carry broadcasts; the truth is in the store):
- ``user:<id>``: every connection of a user, on every node: chat list, badges, presence;
- ``chat:<id>``: the connections subscribed to a chat: messages, receipts, typing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, ClassVar

import socketio

from namespaces.acks import (
    ChatAck,
    ChatMessageAck,
    ChatsAck,
    DirectMessageAck,
    Done,
    HistoryAck,
    MarkReadAck,
    SubscribeAck,
)
from namespaces.dispatch import EventNamespace, Payload, event
from namespaces.outbound import ServerEvent
from schemas import (
    CreateGroup,
    DirectMessage,
    History,
    ListChats,
    MarkRead,
    OpenChat,
    SendChat,
    Subscribe,
    Typing,
    Unsubscribe,
)
from server.chat.presence import Change, PresenceService
from server.chat.service import ChatService, Sent
from server.chat.views import (
    ChatMessage,
    ChatSummary,
    PresenceNotice,
    ReadReceipt,
    Session,
    TypingNotice,
    UnreadBadge,
)
from server.cluster.registry import NodeRegistry
from server.errors import DomainError, ErrorCode
from server.identity import Authenticator, Identity

logger = logging.getLogger(__name__)
DOMAIN = "chat"  # this namespace's name in the cluster registry

# What the server emits on /chat. ``user:<id>`` reaches every connection of a user.
SESSION = ServerEvent("session", Session,
                      "the connecting socket, once, right after connect")
CHAT_MESSAGE = ServerEvent("chatMessage", ChatMessage, "a new message, to the chat's subscribers")
CHAT_LIST_UPDATE = ServerEvent("chatListUpdate", ChatSummary,
                               "a chat as the member's list shows it now, to each member's "
                               "user:<id> (createGroup, a new message)")
UNREAD_BADGE = ServerEvent("unreadBadge", UnreadBadge,
                           "the user's unread counts, to their user:<id> (a new message, "
                           "markRead)")
MESSAGE_READ = ServerEvent("messageRead", ReadReceipt,
                           "a member's read cursor moved, to the chat's subscribers")
TYPING = ServerEvent("typing", TypingNotice,
                     "to the chat's other subscribers; best effort, never stored")
PRESENCE = ServerEvent("presence", PresenceNotice,
                       "a user's first connection opened or last one closed, to the user:<id> "
                       "of everyone who shares a chat with them")
GREET_WAIT_S = 5.0  # how long the session greeting waits for the CONNECT packet to go out


def _refusal(code: ErrorCode, message: str) -> socketio.exceptions.ConnectionRefusedError:
    """connect_error data ``{message, code, data: {code, message}}``.

    The JS client turns the packet into ``Error(data.message)`` with ``err.data = data.data``;
    the Python client hands over the whole dict. Both find ``code`` and ``message``.
    """
    refusal = socketio.exceptions.ConnectionRefusedError(
        message, {"code": code, "message": message}
    )
    refusal.error_args["code"] = code
    return refusal


def user_room(user_id: str) -> str:
    return f"user:{user_id}"


def chat_room(chat_id: str) -> str:
    return f"chat:{chat_id}"


class ChatNamespace(EventNamespace):
    server_events: ClassVar[tuple[ServerEvent[Any], ...]] = (
        SESSION, CHAT_MESSAGE, CHAT_LIST_UPDATE, UNREAD_BADGE, MESSAGE_READ, TYPING, PRESENCE)

    def __init__(
        self,
        namespace: str,
        *,
        chat: ChatService,
        presence: PresenceService,
        auth: Authenticator,
        cluster: NodeRegistry | None = None,
    ) -> None:
        super().__init__(namespace)
        self.chat = chat
        self.presence = presence
        self.auth = auth
        self.cluster = cluster
        self._greetings: set[asyncio.Task[None]] = set()
        if cluster is not None:
            # A dead node's connections are swept by one survivor; a failed disconnect here
            # (store down) is retried on the next heartbeat tick instead of leaving a ghost.
            cluster.on_dead_node(self.remove_node)
            cluster.on_dead_member(DOMAIN, self.retry_disconnect)

    # -- connection lifecycle --------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Refused with connect_error ``{code: "unauthorized", message}`` without identity.

        Joins ``user:<id>``, then emits ``session {userId, nickname, totalUnread, chats,
        online}`` and, on the user's first connection anywhere, ``presence`` to their peers.
        """
        try:
            who = self.auth.authenticate(auth)
            await self.save_session(sid, {"userId": who.user_id, "nickname": who.nickname})
            await self.enter_room(sid, user_room(who.user_id))
            await self.chat.remember(who)
            change = await self.presence.connect(who.user_id, sid)
        except DomainError as exc:
            logger.info("connect refused sid=%s ns=%s: %s", sid, self.namespace, exc.code)
            raise _refusal(exc.code, exc.message) from None
        logger.info("connect sid=%s ns=%s user=%s", sid, self.namespace, who.user_id)
        # The CONNECT packet is only sent after this handler returns, so greet afterwards.
        task = asyncio.create_task(self._greet(sid, who, change))
        self._greetings.add(task)
        task.add_done_callback(self._greetings.discard)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        """Emits ``presence {userId, online: false}`` when the user's last connection ends."""
        session = await self.get_session(sid)
        if "userId" not in session:
            return
        try:
            await self._go_offline(session["userId"], sid)
        except Exception:
            logger.exception("presence on disconnect failed sid=%s ns=%s", sid, self.namespace)
            if self.cluster is not None:
                self.cluster.defer(DOMAIN, json.dumps([session["userId"], sid]))

    async def retry_disconnect(self, member: str) -> None:
        """Cluster hook: a disconnect whose presence update failed earlier, run again."""
        user_id, sid = json.loads(member)
        await self._go_offline(user_id, sid)

    async def remove_node(self, node: str) -> None:
        """Cluster hook: a dead node's connections are gone; tell the peers who went offline."""
        for change in await self.presence.forget_node(node):
            await self._announce(change)

    async def _go_offline(self, user_id: str, sid: str) -> None:
        change = await self.presence.disconnect(user_id, sid)
        if change is not None:
            await self._announce(change)

    async def _greet(self, sid: str, who: Identity, change: Change | None) -> None:
        deadline = time.monotonic() + GREET_WAIT_S
        while not self.server.manager.is_connected(sid, self.namespace):
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.005)
        try:
            session = await self.chat.session(who)
            peers = sorted({m for c in session["chats"] for m in c["members"]} - {who.user_id})
            session["online"] = await self.presence.online(peers)
            await SESSION.emit(self, session, to=sid)
            if change is not None:
                await self._announce(change)
        except Exception:
            logger.exception("session greeting failed sid=%s ns=%s", sid, self.namespace)

    # -- chats -------------------------------------------------------------------------------
    @event("openChat", OpenChat)
    async def open_chat(self, sid: str, data: Payload) -> ChatAck:
        """OpenChat -> ``{ok, chat}``: the pair's one direct chat summary."""
        chat = await self.chat.open_chat(await self._who(sid), data["user_id"])
        return {"ok": True, "chat": chat}

    @event("createGroup", CreateGroup)
    async def create_group(self, sid: str, data: Payload) -> ChatAck:
        """CreateGroup -> ``{ok, chat}``; emits ``chatListUpdate`` (a chat summary) to every
        member's ``user:<id>``."""
        who = await self._who(sid)
        _, updates = await self.chat.create_group(who, data["title"], data["members"])
        for member, summary in updates.items():
            await CHAT_LIST_UPDATE.emit(self, summary, room=user_room(member))
        return {"ok": True, "chat": updates[who.user_id]}

    @event("listChats", ListChats)
    async def list_chats(self, sid: str, data: Payload) -> ChatsAck:
        """ListChats -> ``{ok, chats: [{chatId, kind, title, members, lastMessage, unread}]}``."""
        who = await self._who(sid)
        return {"ok": True, "chats": await self.chat.list_chats(who.user_id)}

    @event("subscribe", Subscribe)
    async def subscribe(self, sid: str, data: Payload) -> SubscribeAck:
        """Subscribe -> ``{ok, messages (last 50, ascending), readCursors: {userId: seq}}``;
        members only (``forbidden``)."""
        who = await self._who(sid)
        messages, cursors = await self.chat.subscribe(who.user_id, data["chat_id"])
        await self.enter_room(sid, chat_room(data["chat_id"]))
        return {"ok": True, "messages": messages, "readCursors": cursors}

    @event("unsubscribe", Unsubscribe)
    async def unsubscribe(self, sid: str, data: Payload) -> Done:
        """Unsubscribe -> ``{ok}``; always succeeds."""
        await self.leave_room(sid, chat_room(data["chat_id"]))
        return {"ok": True}

    # -- messages ----------------------------------------------------------------------------
    @event("sendChat", SendChat)
    async def send_chat(self, sid: str, data: Payload) -> ChatMessageAck:
        """SendChat -> ``{ok, message}``; emits ``chatMessage`` to subscribers and
        ``chatListUpdate`` + ``unreadBadge`` to each member's ``user:<id>``. A repeated
        clientMsgId answers the original message and emits nothing. Over quota:
        ``{ok: false, code: "rate_limited", retryAfterMs}``."""
        sent = await self.chat.send(
            await self._who(sid), data["chat_id"], data["text"], data["client_msg_id"]
        )
        await self._publish(sent)
        return {"ok": True, "message": sent.message}

    @event("directMessage", DirectMessage)
    async def direct_message(self, sid: str, data: Payload) -> DirectMessageAck:
        """DirectMessage -> ``{ok, chat, message}``; emits as sendChat."""
        who = await self._who(sid)
        sent = await self.chat.direct_message(
            who, data["to_user_id"], data["text"], data["client_msg_id"]
        )
        await self._publish(sent)
        chat = sent.updates.get(who.user_id) or await self.chat.open_chat(who, data["to_user_id"])
        return {"ok": True, "chat": chat, "message": sent.message}

    @event("history", History)
    async def history(self, sid: str, data: Payload) -> HistoryAck:
        """History -> ``{ok, messages (ascending seq), hasMore}``; members only."""
        who = await self._who(sid)
        messages, more = await self.chat.history(
            who.user_id, data["chat_id"], data["before_seq"], data["limit"]
        )
        return {"ok": True, "messages": messages, "hasMore": more}

    @event("markRead", MarkRead)
    async def mark_read(self, sid: str, data: Payload) -> MarkReadAck:
        """MarkRead -> ``{ok, seq, unread, totalUnread}``; when the cursor moved, emits
        ``messageRead {chatId, userId, seq}`` to subscribers and ``unreadBadge`` to the
        reader's ``user:<id>``."""
        who = await self._who(sid)
        read = await self.chat.mark_read(who.user_id, data["chat_id"], data["seq"])
        if read.moved:
            receipt: ReadReceipt = {"chatId": read.chat_id, "userId": who.user_id,
                                    "seq": read.seq}
            await MESSAGE_READ.emit(self, receipt, room=chat_room(read.chat_id))
            await UNREAD_BADGE.emit(self, read.badge, room=user_room(who.user_id))
        return {"ok": True, "seq": read.seq, "unread": read.unread,
                "totalUnread": read.badge["totalUnread"]}

    @event("typing", Typing)
    async def typing(self, sid: str, data: Payload) -> Done:
        """Typing -> ``{ok}``; emits ``typing {chatId, userId, typing}`` to the chat's other
        subscribers. Best effort: never stored, never replayed."""
        who = await self._who(sid)
        await self.chat.member_chat(who.user_id, data["chat_id"])
        notice: TypingNotice = {"chatId": data["chat_id"], "userId": who.user_id,
                                "typing": data["typing"]}
        await TYPING.emit(self, notice, room=chat_room(data["chat_id"]), skip_sid=sid)
        return {"ok": True}

    # -- fan-out -----------------------------------------------------------------------------
    async def _who(self, sid: str) -> Identity:
        session = await self.get_session(sid)
        return Identity(session["userId"], session["nickname"])

    async def _publish(self, sent: Sent) -> None:
        if not sent.created:
            return
        await CHAT_MESSAGE.emit(self, sent.message, room=chat_room(sent.chat.chat_id))
        # Per room the order holds (list update, then badge); rooms go out side by side.
        await asyncio.gather(*(self._notify_member(sent, m) for m in sent.chat.members))

    async def _notify_member(self, sent: Sent, member: str) -> None:
        room = user_room(member)
        await CHAT_LIST_UPDATE.emit(self, sent.updates[member], room=room)
        await UNREAD_BADGE.emit(self, sent.badges[member], room=room)

    async def _announce(self, change: Change) -> None:
        notice: PresenceNotice = {"userId": change.user_id, "online": change.online}
        for peer in change.peers:
            await PRESENCE.emit(self, notice, room=user_room(peer))
