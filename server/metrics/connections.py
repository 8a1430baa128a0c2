"""Connects, disconnects and refusals, counted as the protocol layer reports them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from server.wire.observers import ConnectionObserver


class ConnectionCounts(ConnectionObserver):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.connects = Counter(
            "huddle_connects", "Socket.IO namespace connects that succeeded.",
            ["namespace"], registry=registry)
        self.disconnects = Counter(
            "huddle_disconnects", "Socket.IO namespace disconnects, by python-socketio's reason.",
            ["namespace", "reason"], registry=registry)
        self.refusals = Counter(
            "huddle_connects_refused", "Socket.IO namespace connects refused, by error code.",
            ["namespace", "code"], registry=registry)
        self.upgrades = Counter(
            "huddle_transport_upgrades", "Engine.IO sessions upgraded from polling to WebSocket.",
            registry=registry)

    def connected(self, sid: str, namespace: str, eio_sid: str) -> None:
        self.connects.labels(namespace).inc()

    def refused(self, namespace: str, code: str) -> None:
        # Unknown namespaces are refused too: one label for all of them bounds the cardinality.
        self.refusals.labels(namespace if code != "invalid_namespace" else "(unknown)",
                            code).inc()

    def disconnected(self, sid: str, namespace: str, reason: str) -> None:
        self.disconnects.labels(namespace, reason).inc()

    def upgraded(self, eio_sid: str) -> None:
        self.upgrades.inc()
