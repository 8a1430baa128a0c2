"""Fixtures that start real servers and clean them up even when a test fails."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any, Protocol, TypeVar

import pytest
import redis
from huddle_client.runtime import BaseClient

from server.config import Settings
from server.store import Store, open_store
from tests.chat_support import Tab, close_all, open_tab
from tests.cluster_support import Cluster, cluster
from tests.support import (
    CONTRACT_BREAKS,
    Client,
    connect,
    free_port,
    redis_server,
    running_app,
)


@pytest.fixture(autouse=True)
def server_events_keep_the_contract() -> Iterator[None]:
    """Fails a test whose clients received a server event that docs/asyncapi.yaml does not
    declare, or whose payload breaks its declared schema (tests/contract_check.py)."""
    CONTRACT_BREAKS.clear()
    yield
    breaks = list(CONTRACT_BREAKS)
    CONTRACT_BREAKS.clear()
    assert breaks == [], breaks

# Registered in pyproject.toml; `./scripts/test --fast` runs -m "not cluster and not js".
TIERS = ("unit", "e2e", "cluster", "js")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test belongs to a tier, so that the fast inner loop knows what it leaves out."""
    untiered = [item.nodeid for item in items
                if not any(item.get_closest_marker(tier) for tier in TIERS)]
    if untiered:
        raise pytest.UsageError(
            f"tests without a tier marker ({', '.join(TIERS)}): set pytestmark in "
            + ", ".join(sorted({nodeid.split("::")[0] for nodeid in untiered})))


@pytest.fixture(scope="session")
def redis_url_session() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def redis_url(redis_url_session: str) -> str:
    """A real, empty Redis for this test."""
    client = redis.Redis.from_url(redis_url_session)
    client.flushall()
    client.close()
    return redis_url_session


@pytest.fixture(params=["memory", "redis"])
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """Each store twin in turn: contract tests take this fixture and run against both."""
    opened = open_store(store_url)
    yield opened
    await opened.close()


@pytest.fixture
def settings(store_url: str) -> Settings:
    redis = None if store_url == "memory://" else store_url
    return Settings(port=free_port(), redis_url=redis, ping_interval_ms=1000, ping_timeout_ms=2000)


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[str]:
    async with running_app(settings) as url:
        yield url


ClientFactory = Callable[..., Awaitable[Client]]


@pytest.fixture
async def client_factory(server: str) -> AsyncIterator[ClientFactory]:
    clients: list[Client] = []

    async def make(**kwargs: Any) -> Client:
        client = await connect(server, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        if client.sio.connected:
            await client.sio.disconnect()


C = TypeVar("C", bound=BaseClient)


class TypedConnect(Protocol):
    async def __call__(self, client: C, auth: dict[str, str] | None = None) -> C: ...


@pytest.fixture
async def typed(server: str) -> AsyncIterator[TypedConnect]:
    """Connect generated clients (huddle_client) to this test's server: ``lobby = await
    typed(LobbyClient())``; all are disconnected at the end."""
    async with AsyncExitStack() as stack:

        async def connect(client: C, auth: dict[str, str] | None = None) -> C:
            await client.connect(server, auth=auth)
            stack.push_async_callback(client.disconnect)
            return client

        yield connect


@pytest.fixture
async def chat_tabs(server: str) -> AsyncIterator[Callable[..., Awaitable[Tab]]]:
    """Open ``/chat`` tabs as any user on this test's server; all are closed at the end."""
    opened: list[Tab] = []

    async def make(user_id: str, nickname: str | None = None, **kwargs: Any) -> Tab:
        tab = await open_tab(server, user_id, nickname, **kwargs)
        opened.append(tab)
        return tab

    yield make
    for tab in opened:
        await tab.close()


@pytest.fixture
def lb_cluster() -> Iterator[Cluster]:
    """A Redis, three Huddle nodes and nginx running deploy/nginx.conf, stopped at the end."""
    with cluster(3) as running:
        yield running


@pytest.fixture
async def tabs() -> AsyncIterator[list[Tab]]:
    """``/chat`` tabs a test opens on servers of its own; all are closed at the end."""
    opened: list[Tab] = []
    yield opened
    await close_all(opened)
