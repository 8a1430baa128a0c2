"""Which node owns which Engine.IO sessions: the relay directory, kept in the store.

Each process registers ``relay:<tag>`` -> ``{node, url, key}`` with a TTL and lists its tag in
``relay:tags``, refreshing both every heartbeat interval; a node that stops refreshing drops
out after the TTL (or at once when it stops gracefully). Lookups are served from a local copy
that every refresh rebuilds from the store, so relaying keeps working while the store is
unreachable; a tag the copy does not know yet is read from the store once (bounded by the store
timeout). On the memory store this is the single-node twin: only this node is listed, so every
foreign tag is unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.errors import Unavailable
from server.store import Store
from server.tasks import cancel_and_wait
from server.wire.relay import Peer

logger = logging.getLogger(__name__)
TAGS_INDEX = "relay:tags"


def entry_key(tag: str) -> str:
    return f"relay:{tag}"


class PeerDirectory:
    def __init__(self, store: Store, me: Peer, *, interval_ms: int, ttl_ms: int) -> None:
        self.store, self.me = store, me
        self.interval_s, self.ttl_ms = interval_ms / 1000, ttl_ms
        self.peers: dict[str, Peer] = {me.tag: me}
        self._task: asyncio.Task[None] | None = None
        self._registered = False

    async def lookup(self, tag: str) -> Peer | None:
        peer = self.peers.get(tag)
        if peer is not None:
            return peer
        try:
            doc = await self.store.get(entry_key(tag))
        except Unavailable:
            return None
        peer = _peer(tag, doc)
        if peer is not None:
            self.peers[tag] = peer
        return peer

    # -- lifetime --------------------------------------------------------------------------
    async def start(self) -> None:
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name=f"relay-directory-{self.me.tag}")

    async def stop(self) -> None:
        """Leave the directory (graceful exit): other nodes stop relaying here at once."""
        await cancel_and_wait(self._task)
        with contextlib.suppress(Unavailable):
            await self.store.delete(entry_key(self.me.tag))
            await self.store.index_remove(TAGS_INDEX, self.me.tag)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            await self.refresh()

    async def refresh(self) -> None:
        """Register this node again, then rebuild the local copy; keeps the copy when the
        store is unreachable."""
        try:
            await self.store.put(entry_key(self.me.tag), _doc(self.me), ttl_ms=self.ttl_ms)
            await self.store.index_add(TAGS_INDEX, self.me.tag)
            if not self._registered:
                logger.info("relay: this node is %s at %s", self.me.tag, self.me.url)
                self._registered = True
            tags = await self.store.index_members(TAGS_INDEX)
            docs = await self.store.get_many([entry_key(tag) for tag in tags])
        except Unavailable:
            logger.debug("relay directory: store unavailable; keeping %d peers", len(self.peers))
            return
        peers = {tag: peer for tag, doc in zip(tags, docs, strict=True)
                 if (peer := _peer(tag, doc)) is not None}
        gone = [tag for tag, doc in zip(tags, docs, strict=True) if doc is None]
        self.peers = {**peers, self.me.tag: self.me}
        if gone:
            with contextlib.suppress(Unavailable):
                await self.store.index_remove(TAGS_INDEX, *gone)


def _doc(peer: Peer) -> dict[str, str]:
    return {"node": peer.node, "url": peer.url, "key": peer.key.hex()}


def _peer(tag: str, doc: dict[str, object] | None) -> Peer | None:
    if doc is None:
        return None
    try:
        return Peer(tag, str(doc["node"]), str(doc["url"]), bytes.fromhex(str(doc["key"])))
    except (KeyError, ValueError):
        logger.warning("relay directory: unreadable entry for tag %s", tag)
        return None
