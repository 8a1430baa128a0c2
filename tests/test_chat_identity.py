"""Identity on /chat: verified JWTs when a secret is set, declared identities otherwise."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import jwt
import pytest

from server.config import Settings, SettingsError, load_settings
from tests.chat_support import open_tab, refused
from tests.support import free_port, running_app

pytestmark = pytest.mark.e2e

SECRET = "test-secret-that-is-at-least-32-bytes-long"


def token(sub: str = "alice", name: str | None = "Alice", *, secret: str = SECRET,
          expires_in: int = 300, **claims: object) -> str:
    body: dict[str, object] = {"sub": sub, "exp": int(time.time()) + expires_in, **claims}
    if name is not None:
        body["name"] = name
    return jwt.encode(body, secret, algorithm="HS256")


@pytest.fixture
async def jwt_server() -> AsyncIterator[str]:
    async with running_app(Settings(port=free_port(), auth_secret=SECRET)) as url:
        yield url


async def test_a_valid_token_names_the_user(jwt_server: str) -> None:
    tab = await open_tab(jwt_server, "alice", auth={"token": token()})
    try:
        session = await tab.session()
        assert (session["userId"], session["nickname"]) == ("alice", "Alice")
        sent = await tab.ok("directMessage", {"toUserId": "bob", "text": "hi",
                                              "clientMsgId": "1"})
        assert sent["message"]["senderId"] == "alice"
    finally:
        await tab.close()


async def test_nickname_defaults_to_the_subject(jwt_server: str) -> None:
    tab = await open_tab(jwt_server, "u-42", auth={"token": token("u-42", None)})
    try:
        assert (await tab.session())["nickname"] == "u-42"
    finally:
        await tab.close()


@pytest.mark.parametrize("auth", [
    {"token": token(expires_in=-3600)},
    {"token": token(secret="another-secret-that-is-32-bytes-long!!")},
    {"token": jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256")},  # no exp
    {"token": jwt.encode({"exp": int(time.time()) + 60}, SECRET, algorithm="HS256")},  # no sub
    {"token": token(sub="has space")},
    {"token": "not.a.jwt"},
    {"userId": "alice", "nickname": "Alice"},  # development identities are off
    None,
])
async def test_bad_tokens_are_refused(jwt_server: str, auth: object) -> None:
    error = await refused(jwt_server, auth)
    assert error["code"] == "unauthorized" and error["message"]
    assert error["data"] == {"code": "unauthorized", "message": error["message"]}


async def test_readyz_reports_the_auth_mode(jwt_server: str) -> None:
    dev = Settings(port=free_port())
    async with running_app(dev) as dev_server, aiohttp.ClientSession() as http:
        for url, mode in ((jwt_server, "jwt"), (dev_server, "dev")):
            async with http.get(f"{url}/readyz") as response:
                assert (await response.json())["auth"] == mode


def test_chat_settings_parse_and_fail_fast() -> None:
    settings = load_settings({"HUDDLE_AUTH_SECRET": SECRET, "HUDDLE_CHAT_RATE_LIMIT": "5",
                              "HUDDLE_CHAT_RATE_WINDOW_MS": "2000"})
    assert (settings.auth_secret, settings.chat_rate_limit) == (SECRET, 5)
    assert settings.chat_rate_window_ms == 2000
    assert SECRET not in repr(settings)
    assert load_settings({"HUDDLE_AUTH_SECRET": ""}).auth_secret is None
    for env, raw in (("HUDDLE_AUTH_SECRET", "short"), ("HUDDLE_CHAT_RATE_LIMIT", "0"),
                     ("HUDDLE_CHAT_RATE_WINDOW_MS", "ten")):
        with pytest.raises(SettingsError, match=env):
            load_settings({env: raw})
