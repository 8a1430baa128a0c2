"""/metrics: a scripted session over real sockets, then the counters, parsed as Prometheus does."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import aiohttp
import pytest
import socketio
from prometheus_client.parser import text_string_to_metric_families

from server.cluster.registry import NodeRegistry
from server.config import Settings
from server.engine import build_socketio
from server.metrics import Metrics
from server.store import open_store
from tests.metrics_support import scrape, scrape_until, value
from tests.support import WAIT_S, connect, free_port, running_app

pytestmark = pytest.mark.e2e


def settings_for(**changes: object) -> Settings:
    base = Settings(port=free_port(), ping_interval_ms=300, ping_timeout_ms=2000)
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_a_scripted_session_shows_in_the_counters() -> None:
    async with running_app(settings_for()) as url:
        host = await connect(url)
        guest = await connect(url, transports=["polling"])
        chat = await connect(url, namespaces=["/chat"], auth={"userId": "ada"})
        created = await host.call("createRoom", {"nickname": "Ada"})
        assert created["ok"] is True
        code = created["room"]["code"]
        assert (await guest.call("joinRoom", {"nickname": "Bob", "code": code}))["ok"] is True
        bad = await guest.call("joinRoom", {"nickname": "", "code": code})
        assert bad["code"] == "validation_error"
        gone = await guest.call("joinRoom", {"nickname": "Cy", "code": "ZZZZZZ"})
        assert gone["code"] == "room_not_found"
        unknown = await guest.call("dance", {})
        assert unknown["code"] == "unknown_event"
        refused = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(url, namespaces=["/chat"], transports=["websocket"],
                                  wait_timeout=WAIT_S)
        await refused.disconnect()

        before = await scrape(url)
        assert value(before, "huddle_connections", transport="websocket", namespace="/") == 1
        assert value(before, "huddle_connections", transport="polling", namespace="/") == 1
        assert value(before, "huddle_connections", transport="websocket", namespace="/chat") == 1

        await guest.sio.disconnect()
        after = await scrape_until(url, lambda s: value(
            s, "huddle_connections", transport="polling", namespace="/") == 0)
        assert value(after, "huddle_connections", transport="polling", namespace="/") == 0
        assert value(after, "huddle_connects_total", namespace="/") == 2
        assert value(after, "huddle_connects_total", namespace="/chat") == 1
        assert value(after, "huddle_disconnects_total", namespace="/",
                     reason="client disconnect") == 1
        assert value(after, "huddle_connects_refused_total", namespace="/chat",
                     code="unauthorized") == 1
        assert value(after, "huddle_events_received_total", namespace="/",
                     event="createRoom") == 1
        assert value(after, "huddle_events_received_total", namespace="/", event="joinRoom") == 3
        assert value(after, "huddle_events_received_total", namespace="/", event="other") == 1
        assert value(after, "huddle_events_received_total", namespace="/chat",
                     event="sendChat") == 0
        assert value(after, "huddle_error_acks_total", code="validation_error") == 1
        assert value(after, "huddle_error_acks_total", code="room_not_found") == 1
        assert value(after, "huddle_error_acks_total", code="unknown_event") == 1
        assert value(after, "huddle_event_handler_seconds_count", event="joinRoom") == 3
        assert value(after, "huddle_event_handler_seconds_bucket", event="joinRoom",
                     le="+Inf") == 3
        assert value(after, "huddle_event_handler_seconds_sum", event="createRoom") > 0
        assert value(after, "huddle_outbound_packets_total") > 0
        assert value(after, "huddle_outbound_bytes_total") > value(
            after, "huddle_outbound_packets_total")
        assert value(after, "huddle_fanout_dropped_total") == 0
        assert value(after, "huddle_cluster_nodes_alive") == 1
        await host.sio.disconnect()
        await chat.sio.disconnect()


async def test_heartbeats_feed_the_ping_histogram() -> None:
    async with running_app(settings_for()) as url:
        client = await connect(url)
        # The server pings every 300 ms; the client's pong closes one round trip.
        samples = await scrape_until(url, lambda s: value(s, "huddle_ping_rtt_seconds_count") > 0)
        assert value(samples, "huddle_ping_rtt_seconds_count") >= 1
        assert 0 < value(samples, "huddle_ping_rtt_seconds_sum") < WAIT_S
        await client.sio.disconnect()


async def test_rate_limited_events_are_counted() -> None:
    async with running_app(settings_for(rate_limit_per_s=1, rate_limit_burst=3)) as url:
        client = await connect(url)
        # Straight through python-socketio, past the registry check: the wire layer's
        # rate_limited ack has no retryAfterMs yet (issue 10 bug 9, branch i10-lifecycle).
        answers = [await client.sio.call("listRooms", timeout=WAIT_S) for _ in range(5)]
        assert [a["ok"] for a in answers] == [True, True, True, False, False]
        samples = await scrape(url)
        assert value(samples, "huddle_rate_limited_events_total") == 2
        assert value(samples, "huddle_error_acks_total", code="rate_limited") == 2
        assert value(samples, "huddle_events_received_total", namespace="/",
                     event="listRooms") == 3
        await client.sio.disconnect()


async def test_redis_mode_adds_store_and_fanout_metrics(redis_url: str) -> None:
    async with running_app(settings_for(redis_url=redis_url)) as url:
        host = await connect(url)
        created = await host.call("createRoom", {"nickname": "Ada"})
        assert created["ok"] is True
        await host.wait_for(f"players{created['room']['code']}")
        samples = await scrape_until(
            url, lambda s: value(s, "huddle_fanout_publish_seconds_count") > 0)
        assert value(samples, "huddle_store_call_seconds_count", op="mutate") >= 1
        assert value(samples, "huddle_fanout_published_total") >= 1
        assert value(samples, "huddle_fanout_publish_seconds_count") >= 1
        assert value(samples, "huddle_fanout_listening") == 1
        assert value(samples, "huddle_fanout_outbox_depth") == 0
        assert value(samples, "huddle_fanout_dropped_total") == 0
        assert value(samples, "huddle_node_info", node=host_node(samples), store="redis") == 1
        await host.sio.disconnect()


def host_node(samples: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> str:
    for name, labels in samples:
        if name == "huddle_node_info":
            return dict(labels)["node"]
    raise AssertionError("no huddle_node_info sample")


async def test_metrics_can_be_turned_off() -> None:
    async with (running_app(settings_for(metrics=False)) as url, aiohttp.ClientSession() as http,
                http.get(f"{url}/metrics") as reply):
        assert reply.status == 404


def test_recovery_attempts_are_exported_by_outcome() -> None:
    """The hook for connection-state recovery (issue 11): its counts, by outcome."""

    @dataclass
    class Recovery:
        recovered: int = 0
        failed: dict[str, int] = field(default_factory=dict)

    recovery = Recovery(recovered=3, failed={"expired": 2, "unknown_pid": 1})
    sio = build_socketio(Settings())
    store = open_store("memory://")
    metrics = Metrics(node_id="n1", sio=sio, store=store, fanout=None, events={},
                      cluster=NodeRegistry(store, "n1", interval_ms=1000, ttl_ms=3000),
                      recovery=recovery)
    samples = {(s.name, s.labels.get("outcome")): s.value
               for family in text_string_to_metric_families(metrics.render().decode())
               for s in family.samples if s.name == "huddle_recovery_attempts_total"}
    assert samples == {("huddle_recovery_attempts_total", "recovered"): 3,
                       ("huddle_recovery_attempts_total", "expired"): 2,
                       ("huddle_recovery_attempts_total", "unknown_pid"): 1}
