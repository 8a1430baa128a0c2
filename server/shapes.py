"""Markers for the JSON documents the server sends, read by the contract generators.

A wire document is a ``TypedDict``; a field may be ``Annotated`` with a plain string (its
description) and a ``Format`` (a JSON Schema string format). Nothing here runs on a request:
the markers only feed docs/asyncapi.yaml, clients/ts and huddle_client (scripts/gen_docs.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    """A JSON Schema ``format`` of a string field, e.g. ``Format("date-time")``."""

    name: str


DATE_TIME = Format("date-time")
