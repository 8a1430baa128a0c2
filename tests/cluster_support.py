"""Cluster test parts: a Redis that can be killed, paused and restarted on the same port, Huddle
nodes as OS processes, and real nginx running deploy/nginx.conf. Everything is stopped at the
end of its context manager, even when the test fails.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.support import ROOT, WAIT_S, eventually, free_port, stop_process, wait_for_port

STOP_S = 10.0


class RedisProcess:
    """A private redis-server on a fixed free port that tests can kill, pause and restart."""

    def __init__(self, workdir: Path) -> None:
        self.workdir, self.port = workdir, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; run scripts/bootstrap --test")
        # Persistence on (AOF, fsync always): a restarted Redis keeps acked chat messages,
        # as a production Redis configured per docs/deploy.md does.
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_S)
            self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, STOP_S)
            self.proc = None


@contextmanager
def redis_process() -> Iterator[RedisProcess]:
    workdir = Path(tempfile.mkdtemp(prefix="huddle-redis-"))
    redis = RedisProcess(workdir)
    try:
        redis.start()
        yield redis
    finally:
        redis.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Node:
    """``python -m server`` as a separate OS process, logging to a file for post-mortems."""

    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server", "--port", str(self.port)],
                cwd=ROOT, env={**os.environ, **self.env}, stdout=out, stderr=out,
            )
        wait_for_port(self.port)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=STOP_S)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, STOP_S)


GHOST_BOUND_S = 3.0  # the test nodes' HUDDLE_GHOST_BOUND_MS
HEARTBEAT_S = 0.5  # the test nodes' HUDDLE_HEARTBEAT_MS


def node_env(redis_url: str, **extra: str) -> dict[str, str]:
    """Settings for test nodes: a short ghost bound (3 s) and fast pings."""
    return {
        "REDIS_URL": redis_url,
        "HUDDLE_HEARTBEAT_MS": str(int(HEARTBEAT_S * 1000)),
        "HUDDLE_GHOST_BOUND_MS": str(int(GHOST_BOUND_S * 1000)),
        "HUDDLE_PING_INTERVAL_MS": "1000",
        "HUDDLE_PING_TIMEOUT_MS": "2000",
        "HUDDLE_LOG_LEVEL": "INFO",
        **extra,
    }


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise RuntimeError("nginx is not installed; run scripts/bootstrap --test")
    return found


def site_config(upstreams: list[int], listen: int) -> str:
    """deploy/nginx.conf with our nodes in its upstream and our port in `listen`."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = "".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;\n" for port in upstreams
    )
    text, count = re.subn(r"(?m)^    server 127\.0\.0\.1:\d+[^\n]*\n(?:    server [^\n]*\n)*",
                          servers, text, count=1)
    assert count == 1, "deploy/nginx.conf lost its upstream server lines"
    text, count = re.subn(r"(?m)^    listen \d+;", f"    listen 127.0.0.1:{listen};", text)
    assert count == 1, "deploy/nginx.conf lost its listen line"
    return text


@dataclass
class Nginx:
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def nginx(upstreams: list[int]) -> Iterator[Nginx]:
    """Real nginx in the foreground, all of its files inside a temporary directory."""
    workdir = Path(tempfile.mkdtemp(prefix="huddle-nginx-"))
    port = free_port()
    (workdir / "site.conf").write_text(site_config(upstreams, port))
    temp = {name: workdir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    # As root, nginx's workers would switch to `nobody`, who cannot write our 0700 temp dirs
    # (request bodies over 16 KB are buffered there).
    user = "user root;" if os.geteuid() == 0 else ""
    (workdir / "nginx.conf").write_text(f"""
{user}
daemon off;
master_process on;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {workdir}/access.log;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {workdir}/site.conf;
}}
""")
    server = Nginx(port, workdir, logs=[workdir / "error.log", workdir / "access.log"])
    server.proc = subprocess.Popen(
        [nginx_binary(), "-p", str(workdir), "-c", str(workdir / "nginx.conf"),
         "-e", str(workdir / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        try:
            wait_for_port(port)
        except RuntimeError:
            err = server.proc.stderr.read().decode() if server.proc.stderr else ""
            raise RuntimeError(f"nginx did not start: {err}") from None
        yield server
    finally:
        # SIGQUIT: graceful stop of master and worker.
        with suppress(ProcessLookupError):
            server.proc.send_signal(signal.SIGQUIT)
        try:
            server.proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=STOP_S)
        if server.proc.stderr:
            server.proc.stderr.close()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Cluster:
    redis: RedisProcess
    nodes: list[Node]
    lb: Nginx

    async def node_of(self, affinity: str) -> str:
        """The node id nginx routes ``affinity`` to (asked through nginx itself)."""
        timeout = aiohttp.ClientTimeout(total=WAIT_S)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(f"{self.lb.url}/healthz", params={"affinity": affinity}) as reply,
        ):
            return str((await reply.json())["node"])

    async def affinities(self, count: int) -> list[str]:
        """Affinity keys that nginx sends to ``count`` different live nodes (bounded search)."""
        found: dict[str, str] = {}
        for i in range(200):
            key = f"k{i}"
            node = await self.node_of(key)
            if node not in found.values():
                found[key] = node
            if len(found) == count:
                return list(found)
        raise AssertionError(f"nginx spread 200 keys over only {set(found.values())}")

    def node_id(self, index: int) -> str:
        return f"node{index + 1}"

    def dump_logs(self) -> str:
        parts = []
        for node in self.nodes:
            parts.append(f"--- {node.log.name}\n{node.log.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


@contextmanager
def cluster(size: int = 3, **env: str) -> Iterator[Cluster]:
    """A Redis, ``size`` Huddle nodes (ids node1..nodeN) and nginx in front of them."""
    with ExitStack() as stack:
        redis = stack.enter_context(redis_process())
        logdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="huddle-nodes-")))
        nodes = []
        for i in range(size):
            node = Node(free_port(), node_env(redis.url, HUDDLE_NODE_ID=f"node{i + 1}", **env),
                        logdir / f"node{i + 1}.log")
            stack.callback(node.stop)
            node.start()
            nodes.append(node)
        lb = stack.enter_context(nginx([n.port for n in nodes]))
        yield Cluster(redis, nodes, lb)


async def readiness(url: str) -> int:
    """The status /readyz answers (0 when nothing answers within a second)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http,
            http.get(f"{url}/readyz") as reply,
        ):
            return reply.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def wait_for_readiness(url: str, status: int, timeout_s: float = WAIT_S) -> None:
    """Wait until /readyz answers ``status``."""

    async def answers() -> bool:
        seen = await readiness(url)
        assert seen == status, f"{url}/readyz answered {seen}, not {status}"
        return True

    await eventually(answers, f"ready ({status})", within_s=timeout_s, every_s=0.1)
