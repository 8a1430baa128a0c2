"""Prometheus metrics for one node: ``GET /metrics`` in the text exposition format.

The layers count into plain Python objects (``WireStats``, ``EventStats``, ``FanoutStats``,
``ClusterStats``, ``StoreStats``, ``server.timing.Timings``); this package is the only one that
imports ``prometheus_client``, and turns those objects into metric families when scraped. Rare
events (connects, disconnects, refusals) use prometheus_client's own counters. docs/operations.md
lists every metric.
"""

from server.metrics.node import Metrics, metrics_routes

__all__ = ["Metrics", "metrics_routes"]
