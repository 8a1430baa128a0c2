"""The private-API seam (server/private_api.py): the list is true for the installed libraries,
and nothing outside it is touched. tests/test_private_api_fallback.py runs both paths."""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Iterator
from importlib.metadata import version
from types import ModuleType
from typing import Any

import pytest

from server import private_api
from server.config import Settings
from server.engine import build_socketio
from server.private_api import COPIED, NAMES, Copied, Feature, Name
from server.wire.eio_socket import HuddleSocket
from tests.support import ROOT

pytestmark = pytest.mark.unit

LIBRARIES = ("aiohttp", "engineio", "socketio", "marshmallow")
OURS = ("server", "namespaces", "schemas")


# -- the list is true for the installed libraries -------------------------------------------
@pytest.mark.parametrize(("dist", "prefix"), sorted(private_api.SUPPORTED.items()))
def test_installed_versions_are_the_supported_ones(dist: str, prefix: str) -> None:
    assert version(dist).startswith(prefix), f"{dist} {version(dist)}: re-check the list"


def live_instances() -> dict[str, Any]:
    sio = build_socketio(Settings())
    return {private_api.SIO: sio, private_api.EIO: sio.eio, private_api.MGR: sio.manager,
            "engineio.async_socket.AsyncSocket": HuddleSocket(sio.eio, "sid")}


@pytest.mark.parametrize("feature", list(Feature))
def test_every_listed_name_matches_the_installed_libraries(feature: Feature) -> None:
    """Names (with their parameters), copied sources and call paths; instance state is looked
    for on live instances of Huddle's own subclasses."""
    assert private_api.problems(feature, live_instances()) == []


def test_a_difference_is_reported() -> None:
    entry = Name(Feature.PROTOCOL, private_api.SIO, "_handle_connect", ("sid", "namespace"))
    missing = Name(Feature.PROTOCOL, private_api.SIO, "_no_such_method")
    assert "parameters" in _problem_of(entry)
    assert "AttributeError" in _problem_of(missing)


def _problem_of(entry: Name) -> str:
    try:
        private_api._check_name(entry, {})
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


# -- nothing outside the list is touched ------------------------------------------------------
def our_modules() -> Iterator[ModuleType]:
    for package in OURS:
        root = importlib.import_module(package)
        yield root
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if info.name != "server.__main__":
                yield importlib.import_module(info.name)


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and not name.endswith("_")


def _library(cls: type) -> bool:
    return cls.__module__.split(".")[0] in LIBRARIES


def self_names(tree: ast.AST) -> set[str]:
    """Private names a class body defines, or reaches through ``self``/``cls``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in ("self", "cls"):
            names.add(node.attr)
    body = tree.body[0].body if isinstance(tree, ast.Module) else []  # type: ignore[attr-defined]
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return {name for name in names if is_private(name)}


@functools.cache
def class_names(cls: type) -> frozenset[str]:
    """``self_names`` of a class's source."""
    return frozenset(self_names(ast.parse(textwrap.dedent(inspect.getsource(cls)))))


@functools.cache
def library_names(cls: type) -> frozenset[str]:
    names = {name for name in vars(cls) if is_private(name)}
    try:
        names |= class_names(cls)
    except (OSError, TypeError):  # compiled (Cython) classes: their vars are all there is
        names |= {name for name in dir(cls) if is_private(name)}
    return frozenset(names)


def our_classes() -> Iterator[type]:
    for module in our_modules():
        for value in vars(module).values():
            if inspect.isclass(value) and value.__module__ == module.__name__:
                yield value


def listed_on(cls: type) -> set[str]:
    owners = {c for c in cls.__mro__ if _library(c)}
    entries: list[Name | Copied] = [*NAMES, *COPIED]
    return {entry.name for entry in entries if private_api.resolve(entry.owner) in owners}


def test_every_private_library_name_our_subclasses_touch_is_listed() -> None:
    """Our subclasses of library classes: each private name they define (an override) or
    reach through ``self`` that the library class also has must be listed for that class."""
    unlisted = {}
    checked = 0
    for cls in our_classes():
        bases = [base for base in cls.__mro__ if _library(base)]
        if not bases:
            continue
        checked += 1
        library = set().union(*(library_names(base) for base in bases))
        ours = set().union(*(class_names(c) for c in cls.__mro__
                             if c.__module__.split(".")[0] in OURS))
        missing = (ours & library) - listed_on(cls)
        if missing:
            unlisted[cls.__qualname__] = sorted(missing)
    assert checked >= 10  # HuddleSocketServer, HuddleEngineServer, HuddleSocket, the fields...
    assert unlisted == {}


def _outside_accesses() -> Iterator[tuple[str, str]]:
    """(where, name) of every ``obj._name`` in our code whose obj is not self/cls, and of
    every name imported from a private library module."""
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and is_private(node.attr) and not (
                        isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    yield f"{where}:{node.lineno}", node.attr
                elif isinstance(node, ast.ImportFrom) and node.module and any(
                        part.startswith("_") for part in node.module.split(".")[1:]):
                    for alias in node.names:
                        yield f"{where}:{node.lineno}", f"{node.module}.{alias.name}"


def test_every_private_name_reached_from_outside_is_listed() -> None:
    """``something._name`` on an object that is not ours, or an import from a private module,
    must be listed; a name that only our own classes define is ours to use."""
    ours_only: set[str] = set()
    library: set[str] = set()
    for cls in our_classes():
        ours_only |= class_names(cls)
        for base in cls.__mro__:
            if _library(base):
                library |= library_names(base)
    for entry in NAMES:
        owner = private_api.resolve(entry.owner)
        if isinstance(owner, type):
            library |= library_names(owner)
    listed = {entry.name for entry in NAMES} | {f"{e.owner}.{e.name}" for e in NAMES}
    unlisted = [f"{where} {name}" for where, name in _outside_accesses()
                if name not in listed and (name in library or name not in ours_only)]
    assert unlisted == []


def test_the_scans_see_what_they_look_for() -> None:
    names = {name for _, name in _outside_accesses()}
    assert "_trigger_event" in names  # eio_socket: self.server._trigger_event
    assert "aiohttp._websocket.reader.WebSocketDataQueue" in names
    assert "_post_start" in self_names(ast.parse(textwrap.dedent(inspect.getsource(
        importlib.import_module("server.wire.ws_inbound").HuddleWebSocketResponse))))


def test_the_fallbacks_are_documented() -> None:
    degradable = {Feature.INBOUND_FAST_PATH, Feature.DIRECT_WRITES, Feature.COMPILED_LOADERS}
    assert set(private_api.FALLBACKS) == degradable
