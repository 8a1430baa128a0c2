"""Latency histograms in plain Python, cheap enough for the per-event path.

An observation is one bisect and two additions, with no lock and no label lookup; the
cumulative buckets Prometheus wants are built only when /metrics is scraped (server/metrics/).
"""

from __future__ import annotations

from bisect import bisect_left

# Seconds. Handlers: a memory-store handler takes tens of microseconds, a Redis round trip
# about a millisecond, a store timeout one second.
HANDLER_BOUNDS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                  0.25, 0.5, 1.0, 2.5)
# Ping round trips and Redis calls: loopback is well under a millisecond, a WAN tens of ms.
NETWORK_BOUNDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                  2.5, 5.0)


class Timings:
    """Counts of durations per bucket (``le`` semantics: a bucket holds values <= its bound)."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...] = HANDLER_BOUNDS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count of values <= le)`` pairs ending with ``+Inf``, as Prometheus lists them."""
        pairs, running = [], 0
        for bound, count in zip((*map(repr, self.bounds), "+Inf"), self.counts, strict=True):
            running += count
            pairs.append((bound, running))
        return pairs
