"""Engine.IO session ids that name their owner node, so any node can route a request.

A sid is 36 URL-safe characters, fixed layout, no separator:

    TTTTTTTT RRRRRRRRRRRRRRRR MMMMMMMMMMMM
    tag (8)  random (16)      mac (12)

- ``tag``: 48 random bits drawn once per process: the owner node's name in the relay
  directory (never its host name or node id, which clients need not learn);
- ``random``: 96 random bits, what makes a sid unguessable;
- ``mac``: the first 72 bits of HMAC-SHA256(owner's key, tag + random). Each process draws its
  own key; other nodes learn it from the directory, so a non-owner refuses a forged sid without
  a network hop. The owner never needs the MAC: a sid it did not issue is not in its table.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

TAG_LEN, RANDOM_LEN, MAC_LEN = 8, 16, 12
SID_LEN = TAG_LEN + RANDOM_LEN + MAC_LEN
_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{SID_LEN}}}")
_TAG_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{TAG_LEN}}}")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def tag_of(sid: str) -> str | None:
    """The owner tag of a well-formed sid; None for anything else (refuse it as unknown)."""
    return sid[:TAG_LEN] if _SHAPE.fullmatch(sid) else None


def mac_of(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode("ascii"), hashlib.sha256).digest()
    return _b64(digest[: MAC_LEN * 3 // 4])


def verify(sid: str, key: bytes) -> bool:
    """True when ``sid`` is well formed and its MAC was made with ``key``."""
    if tag_of(sid) is None:
        return False
    body = sid[: TAG_LEN + RANDOM_LEN]
    return hmac.compare_digest(sid[TAG_LEN + RANDOM_LEN:], mac_of(key, body))


class SessionIds:
    """This process's tag and key, and the sids it issues."""

    def __init__(self, tag: str | None = None, key: bytes | None = None) -> None:
        self.tag = tag or _b64(secrets.token_bytes(TAG_LEN * 3 // 4))
        if not _TAG_SHAPE.fullmatch(self.tag):
            raise ValueError(f"a node tag is {TAG_LEN} URL-safe base64 characters")
        self.key = key or secrets.token_bytes(32)

    def new(self) -> str:
        body = self.tag + _b64(secrets.token_bytes(RANDOM_LEN * 3 // 4))
        return body + mac_of(self.key, body)

    def owns(self, sid: str) -> bool:
        return tag_of(sid) == self.tag
