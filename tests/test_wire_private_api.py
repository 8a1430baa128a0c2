"""Fails if python-engineio / python-socketio change the private API server/wire/ builds on."""

from __future__ import annotations

import hashlib
import importlib
import inspect
from importlib.metadata import version
from typing import Any

import pytest

from server.config import Settings
from server.engine import build_socketio
from server.wire import private_api


def _resolve(path: str) -> Any:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(path)


@pytest.mark.parametrize(("dist", "prefix"), sorted(private_api.SUPPORTED.items()))
def test_installed_versions_are_the_pinned_ones(dist: str, prefix: str) -> None:
    assert version(dist).startswith(prefix), f"{dist} {version(dist)}: re-check server/wire/"


@pytest.mark.parametrize(("owner", "name", "params"), private_api.ATTRIBUTES,
                         ids=[f"{o}.{n}" for o, n, _ in private_api.ATTRIBUTES])
def test_private_attribute_exists(owner: str, name: str, params: tuple[str, ...] | None) -> None:
    attr = getattr(_resolve(owner), name)
    if params is not None:
        signature = list(inspect.signature(attr).parameters)
        assert signature[1:1 + len(params)] == list(params), signature


def test_instance_state_exists() -> None:
    sio = build_socketio(Settings())
    sock_cls = _resolve("engineio.async_socket.AsyncSocket")
    sock = sock_cls(sio.eio, "sid")
    for name in private_api.INSTANCE_STATE["engineio.async_socket.AsyncSocket"]:
        assert hasattr(sock, name), name
    for name in private_api.INSTANCE_STATE["engineio.AsyncServer"]:
        assert hasattr(sio.eio, name), name
    assert callable(sio.eio._async["translate_request"])
    for name in private_api.INSTANCE_STATE["socketio.AsyncServer"]:
        assert hasattr(sio, name), name
    for name in private_api.INSTANCE_STATE["socketio.base_manager.BaseManager"]:
        assert hasattr(sio.manager, name), name
    assert type(sio.eio).__name__ == "HuddleEngineServer"


@pytest.mark.parametrize(("module", "function", "needle"), private_api.CALL_PATHS)
def test_call_paths_are_unchanged(module: str, function: str, needle: str) -> None:
    target: Any = importlib.import_module(module)
    for name in function.split("."):
        target = getattr(target, name)
    assert needle in inspect.getsource(target)


@pytest.mark.parametrize(("module", "function", "digest"), private_api.COPIED)
def test_copied_methods_are_unchanged_upstream(module: str, function: str, digest: str) -> None:
    target: Any = importlib.import_module(module)
    for name in function.split("."):
        target = getattr(target, name)
    source = inspect.getsource(target)
    assert hashlib.sha256(source.encode()).hexdigest() == digest, f"{module}.{function} changed"
