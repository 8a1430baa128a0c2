"""Typed settings, read once from the environment (and CLI overrides), failing fast."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar
from urllib.parse import urlsplit

LogFormat = Literal["text", "json"]
Profile = Literal["default", "bench", "conformance"]
PROFILES: tuple[Profile, ...] = ("default", "bench", "conformance")
Parser = Literal["json", "msgpack"]
EventLoop = Literal["uvloop", "asyncio"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
T = TypeVar("T")


class SettingsError(ValueError):
    """A configuration value is invalid; the message names the variable."""


def _default_node_id() -> str:
    # Unique per process so that a restarted node never claims a dead node's state.
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 5000
    redis_url: str | None = None
    cors_origins: tuple[str, ...] = ("*",)
    ping_interval_ms: int = 25_000
    ping_timeout_ms: int = 20_000
    max_payload_bytes: int = 1_000_000
    log_level: str = "INFO"
    log_format: LogFormat = "text"
    ws_deflate: bool = False
    node_id: str = field(default_factory=_default_node_id)
    profile: Profile = "default"
    # None means development identity mode (see server/identity.py); never printed.
    auth_secret: str | None = field(default=None, repr=False)
    chat_rate_limit: int = 20
    chat_rate_window_ms: int = 10_000
    parser: Parser = "json"
    trusted_proxies: tuple[str, ...] = ()
    rate_limit_per_s: int = 50
    rate_limit_burst: int = 200
    max_queued_bytes: int = 8_000_000
    max_attachments: int = 10
    # Cluster liveness (docs/deploy.md): a node refreshes its heartbeat every interval; the
    # survivors remove a dead node's players at most ghost_bound after it stopped.
    heartbeat_interval_ms: int = 5_000
    ghost_bound_ms: int = 30_000
    redis_timeout_ms: int = 1_000
    event_loop: EventLoop = "uvloop"
    # Where the other nodes reach this one for the relay hop (docs/cluster.md); None means
    # http://<host>:<port>, with this machine's address when host is a wildcard.
    relay_url: str | None = None
    # Operations (docs/operations.md): /metrics, the demo page at /, the admin namespace.
    metrics: bool = True
    demo: bool = True
    admin_user: str | None = None
    # A bcrypt hash; the admin namespace is on only when both are set. Never printed.
    admin_password_hash: str | None = field(default=None, repr=False)
    admin_readonly: bool = False

    @property
    def admin(self) -> bool:
        return self.admin_user is not None and self.admin_password_hash is not None

    @property
    def store_url(self) -> str:
        return self.redis_url or "memory://"

    @property
    def advertised_url(self) -> str:
        if self.relay_url:
            return self.relay_url
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            try:
                host = socket.gethostbyname(socket.gethostname())
            except OSError:
                host = "127.0.0.1"
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def heartbeat_ttl_ms(self) -> int:
        # Survivors scan once per interval, so expiry + one scan stays within the bound.
        return self.ghost_bound_ms - self.heartbeat_interval_ms


# One row per setting: environment variable, CLI flag, Settings field, parser.
# CLI flags are only another way to spell the variable, so both go through the same parser.
def _int_in(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"must be an integer between {lo} and {hi}") from None
        if not lo <= value <= hi:
            raise ValueError(f"must be an integer between {lo} and {hi}")
        return value

    return parse


def _redis_url(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError("must look like redis://host:port/db or rediss://...")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError("has an invalid port") from None
    return raw


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip() for o in raw.split(",") if o.strip())
    if not origins:
        raise ValueError("must be '*' or a comma-separated list of origins")
    for origin in origins:
        if origin != "*" and not urlsplit(origin).scheme:
            raise ValueError(f"origin {origin!r} needs a scheme, e.g. https://example.com")
    return origins


def _log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def _log_format(raw: str) -> LogFormat:
    value = raw.strip().lower()
    if value == "text":
        return "text"
    if value == "json":
        return "json"
    raise ValueError("must be 'text' or 'json'")


def _profile(raw: str) -> Profile:
    value = raw.strip().lower()
    for profile in PROFILES:
        if value == profile:
            return profile
    raise ValueError(f"must be one of {', '.join(PROFILES)}")


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be true or false")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return parse


def _networks(raw: str) -> tuple[str, ...]:
    # Validated here so that a typo stops start-up; server/wire/clientip.py parses them again.
    items = tuple(part.strip() for part in raw.split(",") if part.strip())
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
    return items


def _http_url(raw: str) -> str | None:
    raw = raw.strip().rstrip("/")
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError("must look like http://10.0.0.7:5000 (how other nodes reach this one)")
    try:
        _ = parts.port
    except ValueError:
        raise ValueError("has an invalid port") from None
    return raw


def _non_empty(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw.strip()


def _secret(raw: str) -> str | None:
    if not raw:
        return None
    # HS256 with a short key is guessable offline from any token; PyJWT warns below 32 bytes.
    if len(raw.encode()) < 32:
        raise ValueError("must be at least 32 bytes long")
    return raw


def _bcrypt_hash(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    # $2a$/$2b$/$2y$, a two-digit cost, then 53 characters of salt and digest.
    if not re.fullmatch(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}", value):
        raise ValueError("must be a bcrypt hash ($2b$12$...); make one with "
                         "python -m server.admin.password")
    return value


def _optional(raw: str) -> str | None:
    return raw.strip() or None


@dataclass(frozen=True)
class Option:
    env: str
    flag: str
    field: str
    parse: Callable[[str], object]
    help: str


OPTIONS: tuple[Option, ...] = (
    Option("HOST", "--host", "host", _non_empty, "interface to bind (default 127.0.0.1)"),
    Option("PORT", "--port", "port", _int_in(1, 65535), "TCP port (default 5000)"),
    Option("REDIS_URL", "--redis-url", "redis_url", _redis_url,
           "Redis URL; unset means the embedded in-memory mode"),
    Option("HUDDLE_CORS_ORIGINS", "--cors-origins", "cors_origins", _origins,
           "comma-separated allowed origins, or * (default *)"),
    Option("HUDDLE_PING_INTERVAL_MS", "--ping-interval-ms", "ping_interval_ms",
           _int_in(100, 600_000), "Engine.IO ping interval in ms (default 25000)"),
    Option("HUDDLE_PING_TIMEOUT_MS", "--ping-timeout-ms", "ping_timeout_ms",
           _int_in(100, 600_000), "Engine.IO ping timeout in ms (default 20000)"),
    Option("HUDDLE_MAX_PAYLOAD_BYTES", "--max-payload-bytes", "max_payload_bytes",
           _int_in(1024, 100_000_000), "largest accepted message in bytes (default 1000000)"),
    Option("HUDDLE_LOG_LEVEL", "--log-level", "log_level", _log_level,
           "DEBUG, INFO, WARNING, ERROR (default INFO)"),
    Option("HUDDLE_LOG_FORMAT", "--log-format", "log_format", _log_format,
           "text or json (default text)"),
    Option("HUDDLE_WS_DEFLATE", "--ws-deflate", "ws_deflate", _bool,
           "accept permessage-deflate on WebSockets; ~4x memory per idle socket (default false)"),
    Option("HUDDLE_NODE_ID", "--node-id", "node_id", _non_empty,
           "this node's id in a cluster (default: host-pid-random)"),
    Option("HUDDLE_PROFILE", "--profile", "profile", _profile,
           "default (lobby, chat), bench (benchmark) or conformance (protocol test server)"),
    Option("HUDDLE_AUTH_SECRET", "--auth-secret", "auth_secret", _secret,
           "HS256 secret for /chat JWTs (>= 32 bytes); unset means development identities"),
    Option("HUDDLE_CHAT_RATE_LIMIT", "--chat-rate-limit", "chat_rate_limit",
           _int_in(1, 100_000), "chat messages allowed per user per window (default 20)"),
    Option("HUDDLE_CHAT_RATE_WINDOW_MS", "--chat-rate-window-ms", "chat_rate_window_ms",
           _int_in(100, 86_400_000), "the chat quota window in ms (default 10000)"),
    Option("HUDDLE_PARSER", "--parser", "parser", _choice("json", "msgpack"),
           "json (default) or msgpack, for socket.io-msgpack-parser clients"),
    Option("HUDDLE_TRUSTED_PROXIES", "--trusted-proxies", "trusted_proxies", _networks,
           "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed (default none)"),
    Option("HUDDLE_RATE_LIMIT_PER_S", "--rate-limit-per-s", "rate_limit_per_s",
           _int_in(0, 1_000_000), "inbound events per second per connection; 0 = off (default 50)"),
    Option("HUDDLE_RATE_LIMIT_BURST", "--rate-limit-burst", "rate_limit_burst",
           _int_in(1, 1_000_000), "inbound event burst per connection (default 200)"),
    Option("HUDDLE_MAX_QUEUED_BYTES", "--max-queued-bytes", "max_queued_bytes",
           _int_in(10_000, 1_000_000_000),
           "outgoing bytes queued for one client before it is dropped as too slow (default 8 MB)"),
    Option("HUDDLE_HEARTBEAT_MS", "--heartbeat-ms", "heartbeat_interval_ms",
           _int_in(50, 600_000), "cluster heartbeat and crash-scan interval in ms (default 5000)"),
    Option("HUDDLE_GHOST_BOUND_MS", "--ghost-bound-ms", "ghost_bound_ms",
           _int_in(150, 3_600_000),
           "a crashed node's players are gone within this many ms (default 30000)"),
    Option("HUDDLE_REDIS_TIMEOUT_MS", "--redis-timeout-ms", "redis_timeout_ms",
           _int_in(50, 60_000), "timeout of every Redis call in ms (default 1000)"),
    Option("HUDDLE_EVENT_LOOP", "--event-loop", "event_loop", _choice("uvloop", "asyncio"),
           "uvloop (default; asyncio where uvloop is not installed) or asyncio"),
    Option("HUDDLE_RELAY_URL", "--relay-url", "relay_url", _http_url,
           "URL other nodes use to reach this one for the relay hop (default http://host:port)"),
    Option("HUDDLE_METRICS", "--metrics", "metrics", _bool,
           "serve Prometheus metrics at /metrics (default true)"),
    Option("HUDDLE_DEMO", "--demo", "demo", _bool,
           "serve the demo page at / (default true; false for production)"),
    Option("HUDDLE_ADMIN_USER", "--admin-user", "admin_user", _optional,
           "Socket.IO Admin UI user; with the hash, turns on /admin (default off)"),
    Option("HUDDLE_ADMIN_PASSWORD_HASH", "--admin-password-hash", "admin_password_hash",
           _bcrypt_hash, "bcrypt hash of the admin password (python -m server.admin.password)"),
    Option("HUDDLE_ADMIN_READONLY", "--admin-readonly", "admin_readonly", _bool,
           "admin UI may look but not join, leave, disconnect or emit (default false)"),
)


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build Settings from environment-style strings; raise SettingsError naming the variable."""
    values: dict[str, object] = {}
    for option in OPTIONS:
        raw = environ.get(option.env)
        if raw is None:
            continue
        try:
            values[option.field] = option.parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{option.env} ({option.flag}) {exc}; got {raw!r}") from None
    settings = Settings(**values)  # type: ignore[arg-type]
    if (settings.admin_user is None) != (settings.admin_password_hash is None):
        raise SettingsError(
            "HUDDLE_ADMIN_USER (--admin-user) and HUDDLE_ADMIN_PASSWORD_HASH "
            "(--admin-password-hash) turn on the admin namespace together; set both or neither"
        )
    if settings.ghost_bound_ms < 3 * settings.heartbeat_interval_ms:
        raise SettingsError(
            "HUDDLE_GHOST_BOUND_MS (--ghost-bound-ms) must be at least 3x HUDDLE_HEARTBEAT_MS "
            f"so a live node refreshes its heartbeat twice before it could expire; got "
            f"{settings.ghost_bound_ms} and {settings.heartbeat_interval_ms}"
        )
    return settings
