"""Cluster membership: node heartbeats, per-node connection indexes and crash cleanup.

Every node writes ``node:<id>:alive`` with a TTL each heartbeat interval and lists itself in
``cluster:nodes``. A domain (the lobby, later the messenger) tracks each stateful connection in
``node:<id>:<domain>``. When a node's heartbeat has expired, one survivor claims
``node:<id>:reaper`` and runs the domain's cleanup hook once per tracked member, so the usual
leave broadcasts go out exactly once. With the memory store there is one node and nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server.clock import iso_now
from server.errors import Unavailable
from server.store import Store
from server.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

NODES_INDEX = "cluster:nodes"
# A cleanup hook removes one member of a dead node (or a local member whose own cleanup
# failed while the store was down) and broadcasts the change. It must be idempotent.
MemberHook = Callable[[str], Awaitable[None]]
# A node hook runs once per dead node after the member hooks: a safety net that sweeps
# anything the node left without a tracked member (the lobby checks each player's `node`).
NodeHook = Callable[[str], Awaitable[None]]
# Called when this node learns it was declared dead (it was cut off from the store for longer
# than the ghost bound): its clients' state is gone, so it should drop them to make them rejoin.
FencedHook = Callable[[], Awaitable[None]]
TOMBSTONE_TTL_MS = 3_600_000


def heartbeat_key(node: str) -> str:
    return f"node:{node}:alive"


def members_key(node: str, domain: str) -> str:
    return f"node:{node}:{domain}"


def reaper_key(node: str) -> str:
    return f"node:{node}:reaper"


def tombstone_key(node: str) -> str:
    return f"node:{node}:reaped"


@dataclass
class ClusterStats:
    """Counters for logs now and the metrics endpoint later."""

    heartbeats_failed: int = 0
    scans: int = 0  # scans of the node index for expired heartbeats (after the start window)
    nodes_reaped: int = 0
    members_reaped: int = 0
    cleanups_deferred: int = 0
    fenced: int = 0
    nodes_alive: int = 1  # this node and every node whose heartbeat the last scan found


class NodeRegistry:
    def __init__(self, store: Store, node_id: str, *, interval_ms: int, ttl_ms: int) -> None:
        self.store, self.node = store, node_id
        self.interval_s, self.ttl_ms = interval_ms / 1000, ttl_ms
        self.stats = ClusterStats()
        self._hooks: dict[str, MemberHook] = {}
        self._node_hooks: list[NodeHook] = []
        self._fenced_hooks: list[FencedHook] = []
        self._deferred: set[tuple[str, str]] = set()
        self._healthy_since: float | None = None
        self._in_outage = False
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- what domains use ------------------------------------------------------------------
    def on_dead_member(self, domain: str, hook: MemberHook) -> None:
        """Register ``domain``'s cleanup; call before ``start``."""
        self._hooks[domain] = hook

    def on_dead_node(self, hook: NodeHook) -> None:
        self._node_hooks.append(hook)

    def on_fenced(self, hook: FencedHook) -> None:
        self._fenced_hooks.append(hook)

    async def track(self, domain: str, member: str) -> None:
        """Record that ``member`` (a connection of this node) holds state in ``domain``."""
        await self.store.index_add(members_key(self.node, domain), member)

    async def untrack(self, domain: str, member: str) -> None:
        await self.store.index_remove(members_key(self.node, domain), member)

    def defer(self, domain: str, member: str) -> None:
        """A local cleanup failed (store down): run the hook again on the next tick."""
        self.stats.cleanups_deferred += 1
        self._deferred.add((domain, member))

    # -- lifetime --------------------------------------------------------------------------
    async def start(self) -> None:
        with contextlib.suppress(Unavailable):
            if await self._id_in_use():
                logger.error("node id %s is already alive elsewhere; ids must be unique",
                             self.node)
            else:
                # Leftovers of an earlier process that used the same explicit node id (it
                # crashed, or was killed, before its heartbeat expired).
                await self.reap(self.node)
                await self.store.delete(tombstone_key(self.node))
        self._task = asyncio.create_task(self._run(), name=f"cluster-{self.node}")

    async def _id_in_use(self) -> bool:
        """Is another live process beating under our id? Watch its heartbeat for 1.5 intervals.

        A heartbeat left by our own previous life (killed with -9) stops changing; a live
        duplicate rewrites it every interval. Bounded: at most 1.5 heartbeat intervals.
        """
        first = await self.store.get(heartbeat_key(self.node))
        if first is None:
            return False
        deadline = time.monotonic() + 1.5 * self.interval_s
        while time.monotonic() < deadline:
            await asyncio.sleep(min(0.1, self.interval_s / 4))
            now = await self.store.get(heartbeat_key(self.node))
            if now is not None and now != first:
                return True
        return False

    async def stop(self) -> None:
        """Graceful exit, after connections were closed: leave the registry if nothing is left."""
        self._stopping = True
        await cancel_and_wait(self._task)
        with contextlib.suppress(Unavailable):
            for domain in self._hooks:
                if await self.store.index_members(members_key(self.node, domain)):
                    return  # let a survivor clean these up once our heartbeat expires
            await self.store.index_remove(NODES_INDEX, self.node)
            await self.store.delete(heartbeat_key(self.node))

    async def _run(self) -> None:
        while not self._stopping:
            await self.tick()
            await asyncio.sleep(self.interval_s)

    async def tick(self) -> None:
        """One heartbeat, then deferred cleanups, then a scan for dead nodes."""
        try:
            await self.beat()
            await self._retry_deferred()
            await self.scan()
        except Unavailable:
            # Once per outage at WARNING: every tick would repeat it until the store is back.
            level = logging.DEBUG if self._in_outage else logging.WARNING
            logger.log(level, "cluster tick on node %s: store unavailable", self.node)
            self._in_outage = True
        except Exception:
            logger.exception("cluster tick on node %s failed", self.node)

    async def beat(self) -> None:
        try:
            await self.store.put(heartbeat_key(self.node), {"node": self.node, "at": iso_now()},
                                 ttl_ms=self.ttl_ms)
            await self.store.index_add(NODES_INDEX, self.node)
            fenced = await self.store.get(tombstone_key(self.node))
        except Unavailable:
            self.stats.heartbeats_failed += 1
            self._healthy_since = None
            raise
        if self._healthy_since is None:
            self._healthy_since = time.monotonic()
        if self._in_outage:
            logger.warning("node %s reaches the store again", self.node)
            self._in_outage = False
        if fenced is not None:
            await self._fence(str(fenced.get("by", "?")))

    async def _fence(self, by: str) -> None:
        self.stats.fenced += 1
        logger.error("node %s was declared dead by %s while cut off; dropping its clients",
                     self.node, by)
        await self.store.delete(tombstone_key(self.node))
        for hook in self._fenced_hooks:
            await hook()

    async def scan(self) -> None:
        # After an outage every heartbeat may have expired at once. Wait until live nodes had
        # two intervals to beat again, so a survivor never mistakes them for dead.
        if self._healthy_since is None or (
            time.monotonic() - self._healthy_since < 2 * self.interval_s
        ):
            return
        nodes = [n for n in await self.store.index_members(NODES_INDEX) if n != self.node]
        beats = await self.store.get_many([heartbeat_key(n) for n in nodes])
        self.stats.nodes_alive = 1 + sum(beat is not None for beat in beats)
        for node, beat in zip(nodes, beats, strict=True):
            if beat is None:
                await self.reap(node)
        self.stats.scans += 1

    async def reap(self, node: str) -> bool:
        """Clean up after ``node`` unless another survivor holds the claim; True when done."""
        lease_ms = max(self.ttl_ms, int(self.interval_s * 4000))
        if not await self.store.claim(reaper_key(node), self.node, ttl_ms=lease_ms):
            return False
        started = time.monotonic()
        count = 0
        for domain, hook in self._hooks.items():
            index = members_key(node, domain)
            for member in await self.store.index_members(index):
                await hook(member)
                # Removed one by one: a survivor taking over after our crash skips these.
                await self.store.index_remove(index, member)
                await self.store.claim(reaper_key(node), self.node, ttl_ms=lease_ms)
                count += 1
        for node_hook in self._node_hooks:
            await node_hook(node)
        if node != self.node:
            # Tells the node, should it come back, that its clients' state is gone.
            await self.store.put(tombstone_key(node), {"by": self.node},
                                 ttl_ms=TOMBSTONE_TTL_MS)
        await self.store.index_remove(NODES_INDEX, node)
        if node == self.node:
            await self.store.delete(reaper_key(node))
        # Otherwise the claim stays until its lease ends: a survivor that listed the node just
        # before we removed it cannot claim it again and repeat the node hooks.
        if node != self.node or count:
            self.stats.nodes_reaped += node != self.node
            self.stats.members_reaped += count
            logger.warning("reaped node %s: %d member(s) removed in %.3fs by node %s",
                           node, count, time.monotonic() - started, self.node)
        return True

    async def _retry_deferred(self) -> None:
        for domain, member in sorted(self._deferred):
            hook = self._hooks.get(domain)
            if hook is not None:
                await hook(member)
            self._deferred.discard((domain, member))
