"""Token buckets: per-connection event rate limits and rate-limited logging of client faults."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    burst: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.burst

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class ThrottledLog:
    """Logs at most ``burst`` client-fault lines, refilling ``per_s`` a second; counts the rest.

    A hostile client can send a malformed packet per millisecond: one line (no traceback) per
    fault would flood the disks of every node it touches.
    """

    def __init__(self, logger: logging.Logger, per_s: float = 5, burst: float = 20) -> None:
        self.logger = logger
        self.bucket = TokenBucket(per_s, burst)
        self.suppressed = 0

    def info(self, msg: str, *args: object) -> None:
        if not self.bucket.take():
            self.suppressed += 1
            return
        if self.suppressed:
            self.logger.info("(%s similar client faults not logged)", self.suppressed)
            self.suppressed = 0
        self.logger.info(msg, *args)
