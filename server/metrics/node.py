"""The node's metric families, built at scrape time from the layers' own counters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from namespaces.dispatch import EventStats
from server.cluster.fanout import RedisFanout
from server.cluster.registry import NodeRegistry
from server.errors import ErrorCode
from server.metrics.connections import ConnectionCounts
from server.store import Store
from server.timing import Timings
from server.wire.sio_server import HuddleSocketServer

OTHER_EVENT = "other"  # the label of events not in their namespace's table (bounded labels)


class RecoveryCounts(Protocol):
    """What connection-state recovery (issue 11) counts: successes, and failures by reason.

    Its ``RecoveryStats`` has this shape; pass it to ``Metrics`` once recovery is wired in.
    """

    @property
    def recovered(self) -> int: ...

    @property
    def failed(self) -> Mapping[str, int]: ...


def histogram(name: str, doc: str, labels: list[str],
              series: Iterable[tuple[list[str], Timings]]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=labels)
    for values, timings in series:
        family.add_metric(values, timings.cumulative(), timings.total)
    return family


def merged(timings: Iterable[Timings]) -> Timings | None:
    """One histogram summing several with the same bounds (None if there are none)."""
    total: Timings | None = None
    for part in timings:
        if total is None:
            total = Timings(part.bounds)
        total.counts = [a + b for a, b in zip(total.counts, part.counts, strict=True)]
        total.total += part.total
    return total


class NodeCollector(Collector):
    """Everything that is read rather than counted here: gauges and the layers' counters."""

    def __init__(self, *, sio: HuddleSocketServer, cluster: NodeRegistry, store: Store,
                 fanout: RedisFanout | None, events: Mapping[str, EventStats],
                 recovery: RecoveryCounts | None = None) -> None:
        self.sio, self.cluster, self.store, self.fanout = sio, cluster, store, fanout
        self.events, self.recovery = events, recovery

    def collect(self) -> Iterator[Metric]:
        yield from self._connections()
        yield from self._events()
        yield from self._wire()
        yield from self._fanout()
        yield from self._cluster()
        yield from self._store()
        yield self._recovery()

    def _connections(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("huddle_connections", "Open Socket.IO namespace connections.",
                                  labels=["transport", "namespace"])
        sockets, manager = self.sio.eio.sockets, self.sio.manager
        for namespace in sorted(set(self.sio.namespace_handlers) | set(manager.get_namespaces())):
            counts = {"polling": 0, "websocket": 0}
            for _sid, eio_sid in manager.get_participants(namespace, None):
                sock = sockets.get(eio_sid)
                if sock is not None:
                    counts["websocket" if sock.upgraded else "polling"] += 1
            for transport, count in counts.items():
                gauge.add_metric([transport, namespace], count)
        yield gauge
        yield GaugeMetricFamily("huddle_engineio_sessions", "Open Engine.IO sessions.",
                                value=len(sockets))

    def _events(self) -> Iterator[Metric]:
        received = CounterMetricFamily(
            "huddle_events_received", "Inbound events that reached their namespace, by event "
            f"(names outside the namespace's table count as '{OTHER_EVENT}').",
            labels=["namespace", "event"])
        errors: dict[str, int] = {}
        by_event: dict[str, list[Timings]] = {}
        for namespace, stats in sorted(self.events.items()):
            for name, timings in stats.handler_seconds.items():
                received.add_metric([namespace, name], timings.count)
                by_event.setdefault(name, []).append(timings)
            received.add_metric([namespace, OTHER_EVENT], stats.unknown)
            for code, count in stats.error_acks.items():
                errors[code] = errors.get(code, 0) + count
        yield received
        series = [([name], merged(parts)) for name, parts in sorted(by_event.items())]
        yield histogram("huddle_event_handler_seconds",
                        "Time from an event's dispatch to its ack, by event.", ["event"],
                        [(labels, t) for labels, t in series if t is not None])
        wire = self.sio.stats
        limited = ErrorCode.RATE_LIMITED.value
        errors[limited] = errors.get(limited, 0) + wire.limited_acks
        acks = CounterMetricFamily("huddle_error_acks", "Acks answered {ok: false}, by code.",
                                   labels=["code"])
        for code, count in sorted(errors.items()):
            acks.add_metric([code], count)
        yield acks

    def _wire(self) -> Iterator[Metric]:
        wire = self.sio.stats
        yield CounterMetricFamily("huddle_rate_limited_events",
                                  "Inbound events refused by the per-connection rate limit.",
                                  value=wire.limited_events)
        yield CounterMetricFamily("huddle_flood_disconnects",
                                  "Connections closed for flooding past the rate limit.",
                                  value=wire.flood_disconnects)
        yield CounterMetricFamily("huddle_outbound_packets",
                                  "Engine.IO packets written to clients (or queued for a poll).",
                                  value=wire.packets_out)
        yield CounterMetricFamily("huddle_outbound_bytes",
                                  "Bytes of those packets (WebSocket frames as written).",
                                  value=wire.bytes_out)
        yield histogram("huddle_ping_rtt_seconds",
                        "Engine.IO heartbeat: ping written to pong received.", [],
                        [([], self.sio.eio.ping_rtt)])

    def _fanout(self) -> Iterator[Metric]:
        fanout = self.fanout
        stats = fanout.stats if fanout is not None else None
        yield CounterMetricFamily(
            "huddle_fanout_dropped", "Broadcasts never published to other nodes (outbox full "
            "or older than its window); always 0 without Redis.",
            value=stats.dropped if stats else 0)
        if fanout is None or stats is None:
            return
        yield CounterMetricFamily("huddle_fanout_published", "Broadcasts published to Redis.",
                                  value=stats.published)
        yield CounterMetricFamily("huddle_fanout_publish_failures",
                                  "Failed publish attempts (the messages stay queued).",
                                  value=stats.publish_failures)
        yield CounterMetricFamily("huddle_fanout_resubscribes",
                                  "Times the fan-out subscription was opened again.",
                                  value=stats.resubscribes)
        yield GaugeMetricFamily("huddle_fanout_outbox_depth",
                                "Broadcasts waiting to be published.", value=stats.queued)
        yield GaugeMetricFamily("huddle_fanout_listening",
                                "1 while the fan-out subscription is live.",
                                value=int(fanout.listening))
        yield histogram("huddle_fanout_publish_seconds",
                        "One publish round trip to Redis (a batch of up to 64 broadcasts).",
                        [], [([], stats.publish_seconds)])

    def _cluster(self) -> Iterator[Metric]:
        stats = self.cluster.stats
        yield GaugeMetricFamily("huddle_cluster_nodes_alive",
                                "Nodes with a live heartbeat at this node's last scan.",
                                value=stats.nodes_alive)
        yield CounterMetricFamily("huddle_cluster_crash_cleanups",
                                  "Dead nodes this node cleaned up after.",
                                  value=stats.nodes_reaped)
        yield CounterMetricFamily("huddle_cluster_members_reaped",
                                  "Connections of dead nodes removed by this node.",
                                  value=stats.members_reaped)
        yield CounterMetricFamily("huddle_cluster_heartbeat_failures",
                                  "Heartbeats that could not be written.",
                                  value=stats.heartbeats_failed)
        yield CounterMetricFamily("huddle_cluster_cleanups_deferred",
                                  "Disconnect cleanups retried later (store down).",
                                  value=stats.cleanups_deferred)
        yield CounterMetricFamily("huddle_cluster_fenced",
                                  "Times this node found it had been declared dead.",
                                  value=stats.fenced)

    def _recovery(self) -> Metric:
        attempts = CounterMetricFamily(
            "huddle_recovery_attempts", "Connection-state recovery attempts, by outcome "
            "('recovered', or why it failed).", labels=["outcome"])
        if self.recovery is not None:
            attempts.add_metric(["recovered"], self.recovery.recovered)
            for reason, count in sorted(self.recovery.failed.items()):
                attempts.add_metric([reason], count)
        return attempts

    def _store(self) -> Iterator[Metric]:
        stats = self.store.stats
        yield histogram("huddle_store_call_seconds", "Store (Redis) calls, by operation.",
                        ["op"], [([op], t) for op, t in sorted(stats.seconds.items())])
        errors = CounterMetricFamily("huddle_store_errors",
                                     "Store calls that failed (Redis unreachable or timed out).",
                                     labels=["op"])
        for op, count in sorted(stats.errors.items()):
            errors.add_metric([op], count)
        yield errors


class Metrics:
    """One node's registry: build it once per app, scrape it with ``render``."""

    def __init__(self, *, node_id: str, sio: HuddleSocketServer, cluster: NodeRegistry,
                 store: Store, fanout: RedisFanout | None, events: Mapping[str, EventStats],
                 recovery: RecoveryCounts | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.connections = ConnectionCounts(self.registry)
        sio.watch(self.connections)
        info = GaugeMetricFamily("huddle_node_info", "Constant 1, labelled with this node.",
                                 labels=["node", "store"])
        info.add_metric([node_id, store.kind], 1)
        self.registry.register(_Constant(info))
        # Connection-state recovery (issue 11) is not on main yet: huddle_recovery_attempts
        # has no samples until app.py passes its RecoveryStats as ``recovery``.
        self.registry.register(NodeCollector(sio=sio, cluster=cluster, store=store,
                                             fanout=fanout, events=events, recovery=recovery))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Constant(Collector):
    def __init__(self, metric: Metric) -> None:
        self.metric = metric

    def collect(self) -> Iterator[Metric]:
        yield self.metric


def metrics_routes(metrics: Metrics) -> list[web.RouteDef]:
    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/metrics", scrape)]
