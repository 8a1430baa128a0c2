"""Storage behind one interface, with a memory twin and a Redis twin chosen by URL scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from server.store.base import Doc, Mutator, Store
from server.store.memory import MemoryStore
from server.store.redis import RedisStore

__all__ = ["Doc", "MemoryStore", "Mutator", "RedisStore", "Store", "open_store"]


def open_store(url: str, *, timeout_s: float = 1.0) -> Store:
    """Return the store twin for ``url``: ``memory://`` or ``redis://``/``rediss://``."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore()
    if scheme in ("redis", "rediss"):
        return RedisStore(url, timeout_s=timeout_s)
    raise ValueError(f"unsupported store URL scheme {scheme!r}")
