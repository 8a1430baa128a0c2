"""Settings come from the environment (and CLI flags) and fail fast, naming the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from server.__main__ import parse_overrides
from server.config import Settings, SettingsError, load_settings
from tests.support import ROOT

pytestmark = pytest.mark.unit


def test_defaults() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port, settings.redis_url) == ("127.0.0.1", 5000, None)
    assert settings.store_url == "memory://"
    assert settings.ws_deflate is False
    assert (settings.ping_interval_ms, settings.ping_timeout_ms) == (25_000, 20_000)
    assert settings.event_loop == "uvloop"


def test_values_are_parsed() -> None:
    settings = load_settings({
        "HOST": "0.0.0.0", "PORT": "8080", "REDIS_URL": "redis://cache:6380/2",
        "HUDDLE_CORS_ORIGINS": "https://a.example, https://b.example",
        "HUDDLE_PING_INTERVAL_MS": "300", "HUDDLE_PING_TIMEOUT_MS": "200",
        "HUDDLE_MAX_PAYLOAD_BYTES": "2048", "HUDDLE_LOG_LEVEL": "debug",
        "HUDDLE_LOG_FORMAT": "JSON", "HUDDLE_WS_DEFLATE": "true",
    })
    assert settings == Settings(
        host="0.0.0.0", port=8080, redis_url="redis://cache:6380/2",
        cors_origins=("https://a.example", "https://b.example"), ping_interval_ms=300,
        ping_timeout_ms=200, max_payload_bytes=2048, log_level="DEBUG", log_format="json",
        ws_deflate=True, node_id=settings.node_id,
    )
    assert settings.store_url == "redis://cache:6380/2"


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("PORT", "abc"), ("PORT", "70000"), ("REDIS_URL", "http://x"),
        ("REDIS_URL", "redis://host:notaport"), ("HUDDLE_CORS_ORIGINS", "example.com"),
        ("HUDDLE_PING_INTERVAL_MS", "0"), ("HUDDLE_MAX_PAYLOAD_BYTES", "-1"),
        ("HUDDLE_LOG_LEVEL", "LOUD"), ("HUDDLE_LOG_FORMAT", "xml"), ("HUDDLE_WS_DEFLATE", "maybe"),
        ("HUDDLE_EVENT_LOOP", "trio"), ("HUDDLE_METRICS", "sometimes"), ("HUDDLE_DEMO", "2"),
        ("HUDDLE_ADMIN_PASSWORD_HASH", "hunter2"), ("HUDDLE_ADMIN_READONLY", "ro"),
    ],
)
def test_bad_values_name_the_variable(env: str, value: str) -> None:
    with pytest.raises(SettingsError, match=env):
        load_settings({env: value})


def test_operations_settings() -> None:
    defaults = load_settings({})
    assert (defaults.metrics, defaults.demo, defaults.admin) == (True, True, False)
    hashed = "$2b$12$" + "a" * 53
    settings = load_settings({
        "HUDDLE_METRICS": "false", "HUDDLE_DEMO": "off", "HUDDLE_ADMIN_USER": "ops",
        "HUDDLE_ADMIN_PASSWORD_HASH": hashed, "HUDDLE_ADMIN_READONLY": "true",
    })
    assert (settings.metrics, settings.demo, settings.admin) == (False, False, True)
    assert (settings.admin_user, settings.admin_password_hash) == ("ops", hashed)
    assert settings.admin_readonly is True
    assert hashed not in repr(settings)


@pytest.mark.parametrize("half", ["HUDDLE_ADMIN_USER", "HUDDLE_ADMIN_PASSWORD_HASH"])
def test_admin_needs_both_user_and_hash(half: str) -> None:
    value = "ops" if half == "HUDDLE_ADMIN_USER" else "$2b$12$" + "a" * 53
    with pytest.raises(SettingsError, match="set both or neither"):
        load_settings({half: value})


def test_empty_redis_url_means_memory() -> None:
    assert load_settings({"REDIS_URL": ""}).store_url == "memory://"


def test_cli_flags_override_the_environment() -> None:
    overrides = parse_overrides(["--port", "6001", "--ws-deflate", "on"])
    settings = load_settings({"PORT": "6000", **overrides})
    assert settings.port == 6001 and settings.ws_deflate is True


def test_bad_value_stops_startup_with_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "server", "--ping-interval-ms", "soon"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "HUDDLE_PING_INTERVAL_MS" in lines[0], proc.stderr
