"""Admin UI test helpers: credentials with a cheap bcrypt cost, and an admin client."""

from __future__ import annotations

from typing import Any

from server.admin.password import hash_password
from tests.support import Client, connect

ADMIN_USER = "ops"
ADMIN_PASSWORD = "correct horse battery staple"
# Cost 4 (the minimum) keeps logins fast in tests; production hashes use 12.
ADMIN_HASH = hash_password(ADMIN_PASSWORD, rounds=4)
LOGIN = {"username": ADMIN_USER, "password": ADMIN_PASSWORD}


def admin_env(**extra: str) -> dict[str, str]:
    return {"HUDDLE_ADMIN_USER": ADMIN_USER, "HUDDLE_ADMIN_PASSWORD_HASH": ADMIN_HASH, **extra}


async def admin(url: str, auth: Any = None, **kwargs: Any) -> Client:
    """An admin client on ``/admin`` (it records events of every namespace). The admin
    namespace is an operator's tool, outside the client contract (docs/asyncapi.yaml)."""
    return await connect(url, namespaces=["/admin"], auth=LOGIN if auth is None else auth,
                         contract=False, **kwargs)


def stats_nodes(client: Client) -> set[str]:
    return {stats["serverId"] for stats in client.named("server_stats")}
