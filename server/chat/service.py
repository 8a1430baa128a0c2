"""The messenger service: chats, messages, read cursors, unread counts. No Socket.IO here.

All truth lives in the store, so every tab on every node sees the same chats and counts:
- ``chat:<id>`` the chat document; ``user:<id>:chats`` the chats a user belongs to;
- ``chat:<id>:messages`` the sequenced log (seq per chat, no gaps, once per clientMsgId);
- ``chat:<id>:read:<user>`` a member's read cursor; unread is derived, never stored, as
  "seqs above the cursor that the reader did not send" (``Store.log_count_after``).
Presence lives in server/chat/presence.py.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from server.chat import rules
from server.chat.rules import Chat
from server.chat.views import ChatMessage, ChatSummary, Session, UnreadBadge
from server.clock import iso_now
from server.errors import Forbidden, NotFound, RateLimited
from server.identity import Identity
from server.store import Doc, Store

logger = logging.getLogger(__name__)

Summary = ChatSummary


@dataclass(frozen=True)
class Sent:
    """A send's outcome. ``created`` is False for a retry: nothing is broadcast then."""

    chat: Chat
    message: ChatMessage
    created: bool
    updates: dict[str, Summary]  # per member: the chat as their list shows it now
    badges: dict[str, UnreadBadge]  # per member: their unreadBadge


@dataclass(frozen=True)
class Read:
    chat_id: str
    seq: int  # the reader's cursor after the call
    moved: bool  # False when the cursor was already there: nothing to announce
    unread: int
    badge: UnreadBadge


class ChatService:
    def __init__(
        self,
        store: Store,
        *,
        rate_limit: int = 20,
        rate_window_ms: int = 10_000,
        now: Callable[[], str] = iso_now,
    ) -> None:
        self._store = store
        self._rate_limit = rate_limit
        self._rate_window_ms = rate_window_ms
        self._now = now

    # -- chats ---------------------------------------------------------------------------
    async def remember(self, who: Identity) -> None:
        """Keep the latest nickname, used to title direct chats for the other person."""
        await self._store.put(rules.profile_key(who.user_id), {"nickname": who.nickname})

    async def open_chat(self, who: Identity, peer: str) -> Summary:
        chat = rules.direct_chat(who.user_id, peer, self._now())
        await self._check_room_for(chat)
        stored = await self._store.mutate(rules.chat_key(chat.chat_id), _create_once(chat))
        await self._enroll(stored)
        return (await self._summaries(who.user_id, [stored]))[0]

    async def create_group(
        self, who: Identity, title: str, invited: list[str]
    ) -> tuple[Chat, dict[str, Summary]]:
        """A new group; returns it with each member's summary of it."""
        members = rules.group_members(who.user_id, invited)
        chat = Chat(uuid.uuid4().hex, "group", members, self._now(), who.user_id, title)
        await self._check_room_for(chat)
        await self._store.put(rules.chat_key(chat.chat_id), chat.to_doc())
        await self._enroll(chat)
        return chat, {m: (await self._summaries(m, [chat]))[0] for m in members}

    async def list_chats(self, user_id: str) -> list[Summary]:
        ids = await self._store.index_members(rules.chats_key(user_id))
        return await self._summaries(user_id, await self._load_many(ids))

    async def session(self, who: Identity) -> Session:
        """The greeting without presence: ``online`` is the namespace's to fill."""
        chats = await self.list_chats(who.user_id)
        return {
            "userId": who.user_id,
            "nickname": who.nickname,
            "totalUnread": sum(c["unread"] for c in chats),
            "chats": chats,
            "online": [],
        }

    async def member_chat(self, user_id: str, chat_id: str) -> Chat:
        """The chat, if ``user_id`` belongs to it: not_found, then forbidden."""
        doc = await self._store.get(rules.chat_key(chat_id))
        if doc is None:
            raise NotFound(f"Chat {chat_id} does not exist.")
        chat = Chat.from_doc(doc)
        chat.require_member(user_id)
        return chat

    async def subscribe(
        self, user_id: str, chat_id: str
    ) -> tuple[list[ChatMessage], dict[str, int]]:
        """The last page of messages and every member's read cursor."""
        chat = await self.member_chat(user_id, chat_id)
        messages = await self._store.log_range(
            rules.messages_key(chat_id), limit=rules.HISTORY_PAGE
        )
        return _messages(messages), await self._cursors(chat)

    async def history(
        self, user_id: str, chat_id: str, before: int | None, limit: int
    ) -> tuple[list[ChatMessage], bool]:
        await self.member_chat(user_id, chat_id)
        page = await self._store.log_range(
            rules.messages_key(chat_id), limit=limit + 1, before=before
        )
        return _messages(page[-limit:]), len(page) > limit

    # -- messages ------------------------------------------------------------------------
    async def send(self, who: Identity, chat_id: str, text: str, client_msg_id: str) -> Sent:
        chat = await self.member_chat(who.user_id, chat_id)
        return await self._append(who, chat, text, client_msg_id)

    async def direct_message(
        self, who: Identity, peer: str, text: str, client_msg_id: str
    ) -> Sent:
        """openChat + sendChat in one step."""
        summary = await self.open_chat(who, peer)
        return await self.send(who, summary["chatId"], text, client_msg_id)

    async def _append(self, who: Identity, chat: Chat, text: str, client_msg_id: str) -> Sent:
        log = rules.messages_key(chat.chat_id)
        token = rules.send_token(who.user_id, client_msg_id)
        # A retry is answered before the quota: retrying must never cost a slot or fail.
        original = await self._store.log_find(log, token)
        if original is not None:
            return Sent(chat, _message(original), False, {}, {})
        wait_ms = await self._store.rate_hit(
            rules.quota_key(who.user_id), limit=self._rate_limit, window_ms=self._rate_window_ms
        )
        if wait_ms:
            raise RateLimited(
                f"Too many messages: at most {self._rate_limit} per "
                f"{self._rate_window_ms / 1000:g} s.", retryAfterMs=wait_ms,
            )
        body = {
            "id": uuid.uuid4().hex, "chatId": chat.chat_id, "senderId": who.user_id,
            "senderName": who.nickname, "text": text, "clientMsgId": client_msg_id,
            "createdAt": self._now(),
        }
        # Durable before ok: the ack is only built after the store accepted the entry.
        message, created = await self._store.log_append_once(
            log, body, cap=rules.HISTORY_CAP, token=token, mark=who.user_id
        )
        if not created:
            return Sent(chat, _message(message), False, {}, {})
        # The chat's newest entry and its names are the same for every member: read them once.
        # Each member's unread map is their own; overlap those round trips.
        last = (await self._store.log_last([log]))[0]
        names = await self._nicknames(set(chat.members)) if chat.kind == "direct" else {}
        unreads = await asyncio.gather(*(self._unread_map(m) for m in chat.members))
        updates, badges = {}, {}
        for member, unread in zip(chat.members, unreads, strict=True):
            updates[member] = chat.summary(member, names, _maybe(last),
                                           unread.get(chat.chat_id, 0))
            badges[member] = rules.badge(unread, chat.chat_id)
        return Sent(chat, _message(message), True, updates, badges)

    # -- read cursors --------------------------------------------------------------------
    async def mark_read(self, user_id: str, chat_id: str, seq: int) -> Read:
        """Move the reader's cursor forward to ``seq`` (clamped to the newest message)."""
        await self.member_chat(user_id, chat_id)
        log = rules.messages_key(chat_id)
        last = (await self._store.log_last([log]))[0]
        target = min(seq, int(last["seq"]) if last else 0)
        before, after = await self._store.mutate(
            rules.cursor_key(chat_id, user_id), _advance(target)
        )
        await self._store.log_unmark(log, user_id, after)
        unread = await self._unread_map(user_id)
        return Read(chat_id, after, after > before, unread.get(chat_id, 0),
                    rules.badge(unread, chat_id))

    # -- internals -----------------------------------------------------------------------
    async def _check_room_for(self, chat: Chat) -> None:
        keys = [rules.chats_key(m) for m in chat.members]
        for member, size in zip(chat.members, await self._store.index_sizes(keys), strict=True):
            if size < rules.MAX_CHATS_PER_USER:
                continue
            if chat.chat_id not in await self._store.index_members(rules.chats_key(member)):
                raise Forbidden(
                    f"{member} already has {rules.MAX_CHATS_PER_USER} chats, the limit.",
                    limit=rules.MAX_CHATS_PER_USER,
                )

    async def _enroll(self, chat: Chat) -> None:
        for member in chat.members:
            await self._store.index_add(rules.chats_key(member), chat.chat_id)

    async def _load_many(self, ids: list[str]) -> list[Chat]:
        docs = await self._store.get_many([rules.chat_key(i) for i in ids])
        return [Chat.from_doc(doc) for doc in docs if doc is not None]

    async def _cursors(self, chat: Chat) -> dict[str, int]:
        docs = await self._store.get_many([rules.cursor_key(chat.chat_id, m) for m in chat.members])
        return {m: int(d["seq"]) if d else 0 for m, d in zip(chat.members, docs, strict=True)}

    async def _unread_map(self, user_id: str) -> dict[str, int]:
        ids = await self._store.index_members(rules.chats_key(user_id))
        cursors = await self._store.get_many([rules.cursor_key(i, user_id) for i in ids])
        queries = [
            (rules.messages_key(i), int(c["seq"]) if c else 0, user_id)
            for i, c in zip(ids, cursors, strict=True)
        ]
        return dict(zip(ids, await self._store.log_count_after(queries), strict=True))

    async def _summaries(
        self, viewer: str, chats: list[Chat], unread: dict[str, int] | None = None
    ) -> list[Summary]:
        if unread is None:
            unread = await self._unread_map(viewer)
        lasts = await self._store.log_last([rules.messages_key(c.chat_id) for c in chats])
        names = await self._nicknames({m for c in chats if c.kind == "direct" for m in c.members})
        summaries = [
            chat.summary(viewer, names, _maybe(last), unread.get(chat.chat_id, 0))
            for chat, last in zip(chats, lasts, strict=True)
        ]
        # Newest activity first, the order a chat list shows.
        summaries.sort(key=_activity, reverse=True)
        return summaries

    async def _nicknames(self, user_ids: set[str]) -> dict[str, str]:
        ordered = sorted(user_ids)
        docs = await self._store.get_many([rules.profile_key(u) for u in ordered])
        return {u: str(d["nickname"]) for u, d in zip(ordered, docs, strict=True) if d}


# The message log's entries are the documents _append wrote, plus the store's ``seq``.
def _message(doc: Doc) -> ChatMessage:
    return cast(ChatMessage, doc)


def _activity(summary: ChatSummary) -> str:
    last = summary["lastMessage"]
    return last["createdAt"] if last else ""


def _maybe(doc: Doc | None) -> ChatMessage | None:
    return None if doc is None else _message(doc)


def _messages(docs: list[Doc]) -> list[ChatMessage]:
    return cast(list[ChatMessage], docs)


# Mutators: pure functions of the stored document, safe to re-run on a write conflict.
def _create_once(chat: Chat) -> Callable[[Doc | None], tuple[Doc | None, Chat]]:
    def fn(doc: Doc | None) -> tuple[Doc | None, Chat]:
        if doc is not None:
            return doc, Chat.from_doc(doc)  # the pair's chat exists: whoever opened it first
        return chat.to_doc(), chat

    return fn


def _advance(seq: int) -> Callable[[Doc | None], tuple[Doc | None, tuple[int, int]]]:
    def fn(doc: Doc | None) -> tuple[Doc | None, tuple[int, int]]:
        before = int(doc["seq"]) if doc else 0
        after = max(before, seq)  # cursors never move back: a stale tab cannot unread
        return {"seq": after}, (before, after)

    return fn
