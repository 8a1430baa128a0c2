"""Scraping /metrics the way Prometheus does, parsed with prometheus_client's own parser."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.support import WAIT_S

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str) -> Samples:
    """Every sample of ``url``/metrics, keyed by (sample name, labels)."""
    async with (aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT_S)) as http,
                http.get(f"{url}/metrics") as reply):
        assert reply.status == 200, reply.status
        assert reply.content_type == "text/plain"
        text = await reply.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value; 0 for a labelled series that was never incremented."""
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape_until(url: str, ready: Callable[[Samples], bool]) -> Samples:
    """Scrape until ``ready`` holds (bounded by WAIT_S): counters move after the socket event
    that the test saw, e.g. a disconnect is counted when the server has handled it."""
    deadline = time.monotonic() + WAIT_S
    while True:
        samples = await scrape(url)
        if ready(samples) or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.05)
