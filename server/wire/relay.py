"""The relay hop: a request for a session another node owns is forwarded to that node.

Every Engine.IO sid names its owner (server/wire/sids.py). A node that receives a polling
request or a WebSocket upgrade for a sid it does not own looks the owner up in a ``Directory``,
checks the sid's MAC with the owner's key, and forwards the request to the owner, which answers
it exactly as it answers its own clients:

- polling GET / POST: one frame on the channel to the owner (server/wire/relay_channel.py); the
  owner's status and body go back to the client, so a POST is answered ``ok`` only once the
  owner accepted the packets, and the owner alone enforces one GET at a time;
- WebSocket: a WebSocket to the owner's Engine.IO route, frames copied both ways in order (the
  session stays on its owner; the node holding the client's socket only pipes frames).

A relayed WebSocket carries ``X-Huddle-Relay``; a node never relays such a request again, so a
stale directory entry can never make requests loop. Nothing here knows about Redis: the
directory is an interface (server/cluster/directory.py keeps it in the store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from aiohttp import WSMsgType, web
from yarl import URL

from server.wire import sids
from server.wire.relay_channel import (
    AUTH_HEADER,
    CHANNEL_TRANSPORT,
    HEARTBEAT_S,
    OP_END_POLL,
    OP_GET,
    Channel,
    ChannelClosed,
    Relayed,
    channel_token,
)

logger = logging.getLogger(__name__)
RELAY_HEADER = "X-Huddle-Relay"  # the relaying node's tag; a relayed request is never relayed
CONNECT_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Peer:
    """A live node as the directory knows it."""

    tag: str
    node: str
    url: str  # where other nodes reach its HTTP port, e.g. http://10.0.0.7:5000
    key: bytes  # its sid MAC key


class Directory(Protocol):
    async def lookup(self, tag: str) -> Peer | None:
        """The live node whose sids carry ``tag``; None when unknown or unreachable. Never
        raises, and waits at most the store timeout."""
        ...


class RelayFailed(Exception):
    """The owner could not be reached, or did not answer within the relay timeout."""


class Refused(Exception):
    """A relayed WebSocket upgrade is refused (by this node or by the owner) with this status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"owner answered {status}")
        self.status = status


@dataclass
class RelayStats:
    """Counters for logs and metrics."""

    polls: int = 0
    posts: int = 0
    websockets: int = 0
    failures: int = 0
    in_flight: int = 0  # polling requests waiting for their owner right now
    open_websockets: int = 0  # piped right now


class Relay:
    def __init__(self, directory: Directory, tag: str, *, timeout_s: float, max_answer_bytes: int,
                 max_payload: int, ws_deflate: bool = False) -> None:
        self.directory, self.tag = directory, tag
        self.timeout_s = timeout_s  # bound on every relayed request (a long poll included)
        self.max_answer_bytes = max_answer_bytes  # one poll answer at most (the owner's cap)
        self.max_payload, self.ws_deflate = max_payload, ws_deflate
        self.stats = RelayStats()
        self._session: aiohttp.ClientSession | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._channels: dict[tuple[str, str], Channel] = {}  # (owner tag, Engine.IO path)
        self._opening: dict[tuple[str, str], asyncio.Lock] = {}
        self._polls: dict[int, tuple[Channel, str]] = {}  # relayed GETs waiting for their owner

    async def owner(self, sid: str) -> Peer | None:
        """The peer that issued ``sid``, if it is live and the sid's MAC is its own."""
        tag = sids.tag_of(sid)
        if tag is None or tag == self.tag:
            return None
        peer = await self.directory.lookup(tag)
        return peer if peer is not None and sids.verify(sid, peer.key) else None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # No pool limit: each relayed request stands for one client request, which the
                # load balancer and the node's own accept loop already bound.
                connector=aiohttp.TCPConnector(limit=0),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S),
                # No Accept-Encoding: the owner answers uncompressed and this node compresses
                # for its client as usual.
                skip_auto_headers=("Accept-Encoding", "User-Agent"), auto_decompress=False)
        return self._session

    def _url(self, peer: Peer, request: web.BaseRequest) -> URL:
        return URL(peer.url.rstrip("/") + request.rel_url.raw_path_qs, encoded=True)

    async def call(self, request: web.BaseRequest, peer: Peer, op: int, sid: str,
                   body: bytes = b"") -> Relayed:
        """Forward one polling request (``op``) to the session's owner; its answer."""
        if op == OP_GET:
            self.stats.polls += 1
        else:
            self.stats.posts += 1
        self.stats.in_flight += 1
        try:
            channel = await self._channel(peer, request.path)
            if op == OP_GET:
                self._polls[id(request)] = (channel, sid)
            return await channel.call(op, sid, body, self.timeout_s)
        except (ChannelClosed, TimeoutError) as exc:
            self.stats.failures += 1
            raise RelayFailed(f"to node {peer.node}: {exc!r}") from None
        finally:
            self.stats.in_flight -= 1
            self._polls.pop(id(request), None)

    async def _channel(self, peer: Peer, path: str) -> Channel:
        key = (peer.tag, path)
        channel = self._channels.get(key)
        if channel is not None and channel.open:
            return channel
        async with self._opening.setdefault(key, asyncio.Lock()):
            channel = self._channels.get(key)
            if channel is not None and channel.open:
                return channel
            url = URL(peer.url.rstrip("/") + path, encoded=True).with_query(
                EIO="4", transport=CHANNEL_TRANSPORT)
            headers = {RELAY_HEADER: self.tag,
                       AUTH_HEADER: channel_token(peer.key, self.tag, peer.tag)}
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    ws = await self._client().ws_connect(
                        url, headers=headers, heartbeat=HEARTBEAT_S,
                        max_msg_size=self.max_answer_bytes,
                        compress=0)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                self.stats.failures += 1
                raise RelayFailed(f"no channel to node {peer.node}: {exc!r}") from None
            self._channels[key] = channel = Channel(ws)
            logger.info("relay channel open to node %s (%s)", peer.node, path)
            return channel

    async def websocket(self, request: web.Request, peer: Peer) -> web.WebSocketResponse:
        """Open a WebSocket to the owner, then accept the client's and pipe frames both ways
        until either side closes. Refusals by the owner reach the client as HTTP errors."""
        client = web.WebSocketResponse(max_msg_size=self.max_payload, compress=self.ws_deflate,
                                       autoping=True, timeout=CONNECT_TIMEOUT_S)
        if not client.can_prepare(request).ok:
            raise Refused(400)  # not a WebSocket handshake: nothing to open at the owner
        self.stats.websockets += 1
        try:
            async with asyncio.timeout(self.timeout_s):
                upstream = await self._client().ws_connect(
                    self._url(peer, request), headers={RELAY_HEADER: self.tag}, autoping=True,
                    max_msg_size=self.max_answer_bytes, compress=0,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CONNECT_TIMEOUT_S))
        except aiohttp.WSServerHandshakeError as exc:
            raise Refused(exc.status) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self.stats.failures += 1
            raise RelayFailed(f"WebSocket to node {peer.node}: {exc!r}") from None
        try:
            await client.prepare(request)
            await self._pipe(client, upstream)
        finally:
            await _close(upstream, client)
        return client

    async def _pipe(self, client: web.WebSocketResponse,
                    upstream: aiohttp.ClientWebSocketResponse) -> None:
        self.stats.open_websockets += 1
        up = asyncio.create_task(_copy(client, upstream), name="relay-ws-up")
        self._pipes.add(up)
        try:
            await _copy(upstream, client)
        finally:
            self.stats.open_websockets -= 1
            self._pipes.discard(up)
            up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await up

    async def drain(self) -> None:
        """On shutdown: ask each owner to end the polls this node relays (they come back with
        a NOOP, or with what was queued, and the client polls again through another node),
        and close relayed WebSockets (their clients reconnect). Bounded by the connect timeout.
        """
        ends = [self._end_poll(channel, sid) for channel, sid in self._polls.values()]
        await asyncio.gather(*ends)
        for task in list(self._pipes):
            task.cancel()

    async def _end_poll(self, channel: Channel, sid: str) -> None:
        with contextlib.suppress(ChannelClosed, TimeoutError):
            await channel.call(OP_END_POLL, sid, b"", CONNECT_TIMEOUT_S)

    async def close(self) -> None:
        for task in list(self._pipes):
            task.cancel()
        for channel in list(self._channels.values()):
            await channel.close()
        self._channels.clear()
        if self._session is not None:
            await self._session.close()


WebSocket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


async def _copy(source: WebSocket, target: WebSocket) -> None:
    """Frames from ``source`` to ``target`` in order, until ``source`` closes. Each send waits
    while the target's TCP buffer is over its high-water mark, so at most one frame plus that
    buffer sits in this node per direction; the owner's own byte cap does the rest."""
    try:
        async for msg in source:
            if msg.type == WSMsgType.TEXT:
                await target.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await target.send_bytes(msg.data)
            else:
                return  # an error frame or an oversized message
    except (ConnectionError, RuntimeError) as exc:
        logger.debug("relay pipe stopped: %r", exc)


async def _close(upstream: aiohttp.ClientWebSocketResponse,
                 client: web.WebSocketResponse) -> None:
    code = upstream.close_code or client.close_code or 1000
    with contextlib.suppress(Exception):
        await upstream.close()
    with contextlib.suppress(Exception):
        if client.prepared:
            await client.close(code=code)
