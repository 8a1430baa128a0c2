"""Who is online, across tabs and nodes: a store-backed set of connections per user.

A user is online while ``user:<id>:conns`` is non-empty. Adding or removing a connection
returns the set's size in the same atomic step, so exactly one connection sees "first in"
(0 -> 1) and exactly one sees "last out" (1 -> 0), even when tabs on different nodes race.
Each node also records which users it holds connections for (``node:<id>:chat-users``) so that
a crashed node's connections can be removed by ``forget_node`` (the cluster cleanup hook).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from server.chat import rules
from server.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """``user_id`` came online or went offline; ``peers`` share a chat with them."""

    user_id: str
    online: bool
    peers: list[str]


class PresenceService:
    def __init__(self, store: Store, *, node_id: str) -> None:
        self._store = store
        self._node = node_id

    def _entry(self, conn: str) -> str:
        return f"{self._node}/{conn}"

    async def connect(self, user_id: str, conn: str) -> Change | None:
        """Record a connection; a Change when it is the user's first anywhere."""
        await self._store.index_add(rules.node_users_key(self._node), user_id)
        size = await self._store.index_add(rules.conns_key(user_id), self._entry(conn))
        return Change(user_id, True, await self.peers(user_id)) if size == 1 else None

    async def disconnect(self, user_id: str, conn: str) -> Change | None:
        """Forget a connection; a Change when it was the user's last anywhere."""
        size = await self._store.index_remove(rules.conns_key(user_id), self._entry(conn))
        return Change(user_id, False, await self.peers(user_id)) if size == 0 else None

    async def forget_node(self, node_id: str) -> list[Change]:
        """Remove every connection a (dead) node held; the users that went offline."""
        prefix = f"{node_id}/"
        changes = []
        users_key = rules.node_users_key(node_id)
        for user_id in await self._store.index_members(users_key):
            conns = await self._store.index_members(rules.conns_key(user_id))
            stale = [c for c in conns if c.startswith(prefix)]
            if stale and await self._store.index_remove(rules.conns_key(user_id), *stale) == 0:
                changes.append(Change(user_id, False, await self.peers(user_id)))
        await self._store.delete(users_key)
        if changes:
            logger.info("node %s forgotten: %s users offline", node_id, len(changes))
        return changes

    async def online(self, user_ids: list[str]) -> list[str]:
        keys = [rules.conns_key(u) for u in user_ids]
        sizes = await self._store.index_sizes(keys)
        return [u for u, size in zip(user_ids, sizes, strict=True) if size > 0]

    async def peers(self, user_id: str) -> list[str]:
        """Everyone who shares at least one chat with ``user_id``."""
        ids = await self._store.index_members(rules.chats_key(user_id))
        docs = await self._store.get_many([rules.chat_key(i) for i in ids])
        members = {m for doc in docs if doc for m in doc["members"]}
        members.discard(user_id)
        return sorted(members)
