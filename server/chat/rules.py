"""Pure messenger rules: limits, store keys, chat documents and the shapes on the wire.

Nothing here touches the store or the network, so every rule is testable on its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from server.chat.views import ChatKind, ChatMessage, ChatSummary, UnreadBadge
from server.errors import Forbidden, InvalidRequest

# Documented limits (docs/chat.md). History beyond the cap is trimmed oldest first.
HISTORY_CAP = 10_000  # messages kept per chat
MAX_GROUP_MEMBERS = 50  # members of a group, creator included
MAX_CHATS_PER_USER = 1_000  # chats a user can be a member of
MAX_TEXT = 2_000
MAX_TITLE = 80
HISTORY_PAGE = 50  # default and subscribe page size
MAX_HISTORY_PAGE = 100


# -- store keys: area:id[:facet] -----------------------------------------------------------
def chat_key(chat_id: str) -> str:
    return f"chat:{chat_id}"


def messages_key(chat_id: str) -> str:
    return f"chat:{chat_id}:messages"


def cursor_key(chat_id: str, user_id: str) -> str:
    return f"chat:{chat_id}:read:{user_id}"


def chats_key(user_id: str) -> str:
    return f"user:{user_id}:chats"


def profile_key(user_id: str) -> str:
    return f"user:{user_id}:profile"


def conns_key(user_id: str) -> str:
    return f"user:{user_id}:conns"


def node_users_key(node_id: str) -> str:
    return f"node:{node_id}:chat-users"


def quota_key(user_id: str) -> str:
    return f"quota:chat:{user_id}"


def direct_chat_id(a: str, b: str) -> str:
    """The same id for a pair whoever opens it first: a hash of the sorted pair."""
    low, high = sorted((a, b))
    digest = hashlib.sha256(f"{low}\0{high}".encode()).hexdigest()[:24]
    return f"d-{digest}"


def send_token(user_id: str, client_msg_id: str) -> str:
    # A clientMsgId is unique per sender within a chat, so the token scopes it to the sender.
    return f"{user_id}\n{client_msg_id}"


@dataclass
class Chat:
    chat_id: str
    kind: ChatKind
    members: list[str]
    created_at: str
    created_by: str
    title: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Chat:
        return cls(
            chat_id=doc["chatId"], kind=doc["kind"], members=list(doc["members"]),
            created_at=doc["createdAt"], created_by=doc["createdBy"], title=doc.get("title"),
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "chatId": self.chat_id, "kind": self.kind, "members": self.members,
            "createdAt": self.created_at, "createdBy": self.created_by, "title": self.title,
        }

    def require_member(self, user_id: str) -> None:
        if user_id not in self.members:
            raise Forbidden("You are not a member of this chat.")

    def title_for(self, viewer: str, nicknames: dict[str, str]) -> str:
        """A group's own title; a direct chat is titled after the other person."""
        if self.kind == "group" and self.title:
            return self.title
        others = [m for m in self.members if m != viewer] or [viewer]
        return ", ".join(nicknames.get(m, m) for m in others)

    def summary(
        self, viewer: str, nicknames: dict[str, str], last: ChatMessage | None, unread: int
    ) -> ChatSummary:
        return {
            "chatId": self.chat_id,
            "kind": self.kind,
            "title": self.title_for(viewer, nicknames),
            "members": self.members,
            "lastMessage": last,
            "unread": unread,
        }


def direct_chat(me: str, peer: str, now: str) -> Chat:
    if me == peer:
        raise InvalidRequest("You cannot open a chat with yourself.", fields={"userId": ["self"]})
    return Chat(direct_chat_id(me, peer), "direct", sorted((me, peer)), now, me)


def group_members(creator: str, invited: list[str]) -> list[str]:
    """The creator first, then the invited in order, without duplicates; within the limit."""
    members = list(dict.fromkeys([creator, *invited]))
    if len(members) > MAX_GROUP_MEMBERS:
        raise InvalidRequest(
            f"A group has at most {MAX_GROUP_MEMBERS} members, creator included.",
            fields={"members": [f"At most {MAX_GROUP_MEMBERS - 1} others."]},
        )
    return members


def badge(per_chat: dict[str, int], changed: str | None = None) -> UnreadBadge:
    """``unreadBadge``: the total and every chat with unread messages (plus ``changed``)."""
    chats = {cid: n for cid, n in per_chat.items() if n > 0 or cid == changed}
    return {"totalUnread": sum(per_chat.values()), "chats": chats}
