"""This node's side of the admin protocol: its sockets as the UI shows them, commands on them,
and its ``server_stats``."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from server.wire.sio_server import HuddleSocketServer

logger = logging.getLogger(__name__)
REDACTED_HEADERS = frozenset({"cookie", "authorization"})  # the UI needs neither


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def handshake(environ: dict[str, Any]) -> dict[str, Any]:
    """The socket's handshake as the UI's "initial request" panel lists it."""
    headers = {key[5:].lower().replace("_", "-"): value
               for key, value in environ.items() if key.startswith("HTTP_")}
    for name in REDACTED_HEADERS & headers.keys():
        headers[name] = "(redacted)"
    issued = float(environ.get("huddle.issued", time.time()))
    query = environ.get("QUERY_STRING", "")
    return {
        "address": environ.get("REMOTE_ADDR"),
        "headers": headers,
        "query": dict(parse_qsl(query)),
        "issued": int(issued * 1000),
        "time": iso(issued),
        "secure": environ.get("wsgi.url_scheme") == "https",
        "url": environ.get("PATH_INFO", "") + (f"?{query}" if query else ""),
        "xdomain": "HTTP_ORIGIN" in environ,
    }


class LocalSockets:
    def __init__(self, sio: HuddleSocketServer, node_id: str) -> None:
        self.sio, self.node = sio, node_id
        self.started = time.monotonic()

    def transport(self, eio_sid: str) -> str:
        sock = self.sio.eio.sockets.get(eio_sid)
        return "websocket" if sock is not None and sock.upgraded else "polling"

    async def describe(self, sid: str, namespace: str, eio_sid: str) -> dict[str, Any] | None:
        """One socket in the UI's shape, or None if it is already gone."""
        environ = self.sio.environ.get(eio_sid)
        if environ is None or self.sio.manager.eio_sid_from_sid(sid, namespace) != eio_sid:
            return None
        data: dict[str, Any] = {"node": self.node}
        with contextlib.suppress(KeyError):  # the connection went away meanwhile
            data.update(await self.sio.get_session(sid, namespace))
        return {
            "id": sid,
            "clientId": eio_sid[:12],  # enough to group a client's sockets, not its session id
            "transport": self.transport(eio_sid),
            "nsp": namespace,
            "data": data,
            "handshake": handshake(environ),
            "rooms": list(self.sio.manager.get_rooms(sid, namespace)),
        }

    async def sockets(self, _: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every socket connected to this node, in every namespace."""
        found = []
        for namespace in list(self.sio.manager.get_namespaces()):
            for sid, eio_sid in self.sio.manager.get_participants(namespace, None):
                described = await self.describe(sid, namespace, eio_sid)
                if described is not None:
                    found.append(described)
        return found

    def _targets(self, namespace: str, room: str | None) -> list[str]:
        return [sid for sid, _ in self.sio.manager.get_participants(namespace, room)]

    async def apply(self, command: dict[str, Any]) -> int:
        """Apply join, leave or disconnect to this node's matching sockets; how many."""
        op, namespace, room = command["op"], command["nsp"], command.get("room")
        targets = self._targets(namespace, command.get("filter"))
        for sid in targets:
            if op == "join":
                await self.sio.enter_room(sid, str(room), namespace)
            elif op == "leave":
                await self.sio.leave_room(sid, str(room), namespace)
            elif op == "disconnect":
                await self.sio.disconnect(sid, namespace, ignore_queue=True,
                                          close_transport=bool(command.get("close")))
            else:
                raise ValueError(f"unknown admin command {op!r}")
        if targets:
            logger.info("admin %s on node %s: %d socket(s) of %s", op, self.node, len(targets),
                        namespace)
        return len(targets)

    def stats(self, aggregated: list[dict[str, Any]]) -> dict[str, Any]:
        sockets = self.sio.eio.sockets
        namespaces = [{"name": ns, "socketsCount": len(self._targets(ns, None))}
                      for ns in sorted(set(self.sio.namespace_handlers)
                                       | set(self.sio.manager.get_namespaces()))]
        return {
            "serverId": self.node,
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "uptime": round(time.monotonic() - self.started, 3),
            "clientsCount": len(sockets),
            "pollingClientsCount": sum(not s.upgraded for s in sockets.values()),
            "aggregatedEvents": aggregated,
            "namespaces": namespaces,
        }
