"""Who is connecting: a verified JWT in production, a declared identity in development.

Identity always comes from the connection's ``auth`` payload, never from event payloads.
No Socket.IO here: a refusal is ``Unauthorized``; the namespace turns it into connect_error.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from server.errors import Unauthorized

logger = logging.getLogger(__name__)

AuthMode = Literal["jwt", "dev"]
ALGORITHMS = ["HS256"]
LEEWAY_S = 30  # tolerated clock skew between the token issuer and this server
USER_ID = re.compile(r"^[^\s\x00-\x1f\x7f]{1,128}$")  # printable, no whitespace
MAX_NICKNAME = 40


@dataclass(frozen=True)
class Identity:
    user_id: str
    nickname: str


class Authenticator:
    """Turns a connection's ``auth`` payload into an Identity, or raises Unauthorized."""

    def __init__(self, secret: str | None) -> None:
        self._secret = secret
        self.mode: AuthMode = "jwt" if secret else "dev"

    def warn_if_insecure(self) -> None:
        if self.mode == "dev":
            logger.warning(
                "\n%s\nDEVELOPMENT IDENTITY MODE: HUDDLE_AUTH_SECRET is not set, so /chat "
                "believes any client that claims auth {userId, nickname}.\nAnyone can "
                "read and post as anyone. Set HUDDLE_AUTH_SECRET before exposing this server."
                "\n%s", "!" * 78, "!" * 78,
            )

    def authenticate(self, auth: Any) -> Identity:
        if not isinstance(auth, dict):
            raise Unauthorized(self._expected())
        if self._secret is None:
            return self._declared(auth)
        return self._verified(auth, self._secret)

    def _expected(self) -> str:
        if self.mode == "jwt":
            return "Send auth: {token} with a valid HS256 JWT."
        return "Development mode: send auth: {userId, nickname}."

    def _declared(self, auth: dict[str, Any]) -> Identity:
        if set(auth) - {"userId", "nickname"}:
            raise Unauthorized(self._expected())
        user_id = auth.get("userId")
        nickname = auth.get("nickname", user_id)
        return _identity(user_id, nickname, self._expected())

    def _verified(self, auth: dict[str, Any], secret: str) -> Identity:
        token = auth.get("token")
        if not isinstance(token, str) or not token:
            raise Unauthorized(self._expected())
        try:
            claims = jwt.decode(
                token, secret, algorithms=ALGORITHMS, leeway=LEEWAY_S,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired.") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"The token is invalid: {exc}") from None
        sub = claims["sub"]
        return _identity(sub, claims.get("name", sub), "The token's sub or name is invalid.")


def _identity(user_id: Any, nickname: Any, problem: str) -> Identity:
    if not isinstance(user_id, str) or not USER_ID.match(user_id):
        raise Unauthorized(problem)
    if not isinstance(nickname, str):
        raise Unauthorized(problem)
    nickname = nickname.strip()
    if not 1 <= len(nickname) <= MAX_NICKNAME:
        raise Unauthorized(problem)
    return Identity(user_id, nickname)
