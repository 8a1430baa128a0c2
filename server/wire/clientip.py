"""The client's real address: the peer, or X-Forwarded-For when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddress:
    def __init__(self, trusted: Iterable[str]) -> None:
        self.trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(item, strict=False) for item in trusted
        )

    def is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def resolve(self, peer: str | None, forwarded_for: str | None) -> str:
        """Walk X-Forwarded-For right to left, skipping trusted hops; the first other is the client.

        Only a trusted peer's header is read at all, so a client cannot spoof its address.
        """
        address = peer or ""
        if not forwarded_for or not self.is_trusted(address):
            return address
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return address  # garbage in the chain: stop at the last address we trust
            address = hop
            if not self.is_trusted(hop):
                return hop
        return address
