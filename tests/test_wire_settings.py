"""The protocol layer's settings, and its small pure parts (client address, token bucket)."""

from __future__ import annotations

import pytest

from server.config import SettingsError, load_settings
from server.wire.clientip import ClientAddress
from server.wire.throttle import TokenBucket

pytestmark = pytest.mark.unit


def test_defaults_are_safe_for_production() -> None:
    settings = load_settings({})
    assert settings.profile == "default" and settings.parser == "json"
    assert settings.trusted_proxies == ()  # X-Forwarded-For ignored unless configured
    assert (settings.rate_limit_per_s, settings.rate_limit_burst) == (50, 200)
    assert settings.max_queued_bytes == 8_000_000 and settings.max_attachments == 10


def test_protocol_settings_parse() -> None:
    settings = load_settings({"HUDDLE_PROFILE": "conformance", "HUDDLE_PARSER": "MsgPack",
                              "HUDDLE_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1,::1",
                              "HUDDLE_RATE_LIMIT_PER_S": "0"})
    assert settings.profile == "conformance" and settings.parser == "msgpack"
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1", "::1")
    assert settings.rate_limit_per_s == 0


@pytest.mark.parametrize(("env", "value"), [
    ("HUDDLE_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local"),
    ("HUDDLE_PARSER", "cbor"),
    ("HUDDLE_PROFILE", "fast"),
    ("HUDDLE_RATE_LIMIT_BURST", "0"),
    ("HUDDLE_MAX_QUEUED_BYTES", "10"),
])
def test_bad_values_name_the_variable(env: str, value: str) -> None:
    with pytest.raises(SettingsError, match=env):
        load_settings({env: value})


def test_client_address_trusts_only_configured_hops() -> None:
    resolve = ClientAddress(["10.0.0.0/8"]).resolve
    assert resolve("198.51.100.9", "203.0.113.7") == "198.51.100.9"  # untrusted peer
    assert resolve("10.0.0.2", "203.0.113.7") == "203.0.113.7"
    assert resolve("10.0.0.2", "1.1.1.1, 203.0.113.7, 10.9.9.9") == "203.0.113.7"  # spoof skipped
    assert resolve("10.0.0.2", "10.1.1.1") == "10.1.1.1"  # only proxies: the farthest one
    assert resolve("10.0.0.2", None) == "10.0.0.2"


def test_token_bucket_bursts_then_refills() -> None:
    bucket = TokenBucket(rate=10, burst=3, stamp=100.0)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    # 0.2 s at 10/s: two tokens back
    assert [bucket.take(100.2) for _ in range(3)] == [True, True, False]
