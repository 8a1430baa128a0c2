"""Who may use the admin namespace: one user, a bcrypt hash, sessions kept in the store."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Any

import bcrypt

from server.errors import Unauthorized
from server.store import Store

SESSION_TTL_MS = 24 * 3_600_000
INVALID = "invalid credentials"  # the UI shows its own message for exactly this text


def session_key(session_id: str) -> str:
    return f"admin:session:{session_id}"


def check_password(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # over bcrypt's 72 bytes, or a malformed hash
        return False


class AdminAuth:
    def __init__(self, store: Store, *, user: str, password_hash: str) -> None:
        self._store, self._user, self._hash = store, user, password_hash

    async def login(self, auth: Any) -> str | None:
        """Check the UI's ``auth``: ``{sessionId}`` or ``{username, password}``.

        Returns a new session id after a password login, None for a known session; raises
        Unauthorized otherwise.
        """
        if not isinstance(auth, dict):
            raise Unauthorized(INVALID)
        session_id = auth.get("sessionId")
        if (isinstance(session_id, str) and 0 < len(session_id) <= 64
                and await self._store.get(session_key(session_id)) is not None):
            return None
        username, password = auth.get("username"), auth.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise Unauthorized(INVALID)
        # bcrypt is slow on purpose (~0.2 s): keep it off the event loop.
        valid = await asyncio.to_thread(check_password, password, self._hash)
        if not (valid and hmac.compare_digest(username.encode(), self._user.encode())):
            raise Unauthorized(INVALID)
        session_id = secrets.token_hex(16)
        await self._store.put(session_key(session_id), {"user": self._user},
                              ttl_ms=SESSION_TTL_MS)
        return session_id
