"""What the ``/admin`` namespace asks for: logins, every node's sockets, cluster-wide commands."""

from __future__ import annotations

import logging
from typing import Any

from server.admin.auth import AdminAuth
from server.admin.feed import AdminFeed
from server.admin.local import LocalSockets
from server.cluster.bus import ClusterBus
from server.errors import Forbidden

logger = logging.getLogger(__name__)

SOCKETS, COMMAND, WATCH = "admin.sockets", "admin.command", "admin.watch"
# The Admin UI's feature flags (its lib/typed-events.ts): the commands, then what the server
# reports. AGGREGATED_EVENTS: the dashboard's counters in server_stats. ALL_EVENTS: the UI then
# shows its Sockets, Rooms, Clients and Events views, fed by all_sockets and the live updates.
# The per-event stream (event_received / event_sent) is not sent: it would put the admin
# namespace on every event's path (docs/decisions.md).
COMMANDS = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"]
REPORTS = ["AGGREGATED_EVENTS", "ALL_EVENTS"]
READ_ONLY = "The admin namespace is read-only (HUDDLE_ADMIN_READONLY)."


class AdminService:
    def __init__(self, *, auth: AdminAuth, bus: ClusterBus, local: LocalSockets,
                 feed: AdminFeed, readonly: bool) -> None:
        self.auth, self.bus, self.readonly = auth, bus, readonly
        bus.on(SOCKETS, local.sockets)
        bus.on(COMMAND, local.apply)
        bus.on(WATCH, self._watched)
        self._feed, self._local = feed, local
        feed.announce = self.watch_everywhere

    async def _watched(self, _: dict[str, Any]) -> bool:
        self._feed.watch()
        return True

    async def watch_everywhere(self) -> None:
        """Tell every node's feed that an admin watches (they report for the next 6 s)."""
        await self.bus.ask_all(WATCH, {}, timeout_s=1.0)

    async def login(self, auth: Any) -> str | None:
        """A new session id, or None for a known session; Unauthorized otherwise."""
        return await self.auth.login(auth)

    def features(self) -> list[str]:
        """The UI's ``config.supportedFeatures``."""
        return ([] if self.readonly else COMMANDS) + REPORTS

    async def all_sockets(self) -> list[dict[str, Any]]:
        """The sockets of every node that answered. Every node starts reporting first, so a
        socket that connects meanwhile is in the list or in a later socket_connected."""
        await self.watch_everywhere()
        replies = await self.bus.ask_all(SOCKETS, {})
        return [socket for reply in replies if reply for socket in reply]

    def check_writable(self) -> None:
        if self.readonly:
            raise Forbidden(READ_ONLY)

    async def send_event(self, nsp: str, room: str | None, event: str, args: list[Any]) -> None:
        """Send ``event`` to a namespace (or a room of it) on every node, as the operator asked:
        an arbitrary event, outside the client contract."""
        self.check_writable()
        await self._local.sio.emit(event, tuple(args), namespace=nsp, to=room)

    async def command(self, op: str, nsp: str, *, room: str | None = None,
                      filter: str | None = None, close: bool = False) -> int:
        """Apply ``op`` (join, leave, disconnect) on every node; how many sockets it touched."""
        self.check_writable()
        body = {"op": op, "nsp": nsp, "room": room, "filter": filter, "close": close}
        counts = await self.bus.ask_all(COMMAND, body)
        return sum(count for count in counts if isinstance(count, int))
