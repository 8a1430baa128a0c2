"""The import picture: no cycles among our modules or packages, and no arrow pointing back up.

Imports are read from the source (``ast``), including those under ``if TYPE_CHECKING:``: a cycle
that only the type checker sees is still two modules that cannot be understood apart.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.unit

OURS = ("server", "namespaces", "schemas", "contract")
# Rules of the game and their storage: no Socket.IO, no web server (STYLE.md, "The shape").
DOMAIN = ("server.lobby", "server.chat", "server.identity", "server.errors", "server.clock",
          "server.store", "server.cluster.registry", "schemas")
WEB = ("socketio", "engineio", "aiohttp")
# What the store may import of ours: itself, the error types it raises, and the latency
# buckets it times its calls into (server/timing.py: a leaf, standard library only).
STORE_MAY_IMPORT = ("server.store", "server.errors", "server.timing")
# The wiring at the top, which nothing else may import.
APP = ("server.app", "server.__main__", "server.engine", "server.profiles")
# Build-time tooling above the app: the contract generators read what create_app registers.
TOOLING = ("contract",)


def _module_name(path_parts: tuple[str, ...]) -> str:
    parts = list(path_parts)
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules() -> dict[str, ast.Module]:
    modules = {}
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = _module_name(path.relative_to(ROOT).parts)
            modules[name] = ast.parse(path.read_text(), str(path))
    return modules


def imported_names(module: str, tree: ast.Module) -> set[str]:
    """Every module ``module`` imports (ours or not), by absolute name; for ``from a import b``
    both ``a`` and ``a.b`` (``b`` may be a submodule)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: relative import (we write absolute ones)"
            base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def module_graph(modules: Mapping[str, ast.Module]) -> dict[str, set[str]]:
    """Our module -> the modules of ours it imports. ``from pkg import sub`` points at ``sub``
    only; importing a submodule is not an arrow to its package's ``__init__``."""
    graph: dict[str, set[str]] = {}
    for name, tree in modules.items():
        targets = set()
        for imported in imported_names(name, tree):
            if imported in modules and imported != name:
                targets.add(imported)
        # Drop the package when one of its submodules is the real target.
        graph[name] = {t for t in targets
                       if not any(other.startswith(t + ".") for other in targets)}
    return graph


def unit_of(module: str) -> str:
    """The concern a module belongs to: ``server.<package>``, a top-level ``server.<module>``,
    ``namespaces`` or ``schemas``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "server" and len(parts) > 1 else parts[0]


def unit_graph(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    units: dict[str, set[str]] = {}
    for source, targets in graph.items():
        edges = units.setdefault(unit_of(source), set())
        edges.update(unit_of(t) for t in targets if unit_of(t) != unit_of(source))
    return units


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def _in(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@pytest.fixture(scope="module")
def modules() -> dict[str, ast.Module]:
    return our_modules()


@pytest.fixture(scope="module")
def graph(modules: dict[str, ast.Module]) -> dict[str, set[str]]:
    return module_graph(modules)


# -- the checker itself --------------------------------------------------------------------
def test_the_graph_sees_real_and_type_checking_imports(graph: dict[str, set[str]]) -> None:
    assert "namespaces.dispatch" in graph["namespaces.lobby"]
    assert "server.wire.eio_socket" in graph["server.wire.eio_server"]
    tree = ast.parse("from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    from server.wire.eio_server import X\n")
    assert module_graph({"server.wire.eio_socket": tree, "server.wire.eio_server": ast.Module(
        body=[], type_ignores=[])})["server.wire.eio_socket"] == {"server.wire.eio_server"}


def test_find_cycle_finds_a_cycle_and_only_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


# -- the rules -----------------------------------------------------------------------------
def test_no_import_cycle_among_modules(graph: dict[str, set[str]]) -> None:
    assert find_cycle(graph) is None


def test_no_import_cycle_among_packages(graph: dict[str, set[str]]) -> None:
    assert find_cycle(unit_graph(graph)) is None


def test_domain_code_imports_no_socketio_or_aiohttp(modules: dict[str, ast.Module]) -> None:
    offending = {name: sorted(n for n in imported_names(name, tree) if _in(n, WEB))
                 for name, tree in modules.items() if _in(name, DOMAIN)}
    assert {k: v for k, v in offending.items() if v} == {}


def test_domain_code_imports_nothing_above_it(graph: dict[str, set[str]]) -> None:
    above = ("namespaces", "server.wire", "server.cluster.fanout", *APP)
    offending = {name: sorted(t for t in targets if _in(t, above))
                 for name, targets in graph.items() if _in(name, DOMAIN)}
    assert {k: v for k, v in offending.items() if v} == {}


def test_namespaces_import_no_redis(modules: dict[str, ast.Module]) -> None:
    offending = {name: sorted(n for n in imported_names(name, tree) if _in(n, ("redis",)))
                 for name, tree in modules.items() if _in(name, ("namespaces",))}
    assert {k: v for k, v in offending.items() if v} == {}


def test_store_imports_nothing_above_it(graph: dict[str, set[str]]) -> None:
    offending = {name: sorted(t for t in targets if not _in(t, STORE_MAY_IMPORT))
                 for name, targets in graph.items() if _in(name, ("server.store",))}
    assert {k: v for k, v in offending.items() if v} == {}


def test_nothing_imports_the_app_wiring(graph: dict[str, set[str]]) -> None:
    offending = {name: sorted(t for t in targets if _in(t, APP))
                 for name, targets in graph.items() if not _in(name, (*APP, *TOOLING))}
    assert {k: v for k, v in offending.items() if v} == {}


def test_the_server_never_imports_the_contract_tooling(graph: dict[str, set[str]]) -> None:
    offending = {name: sorted(t for t in targets if _in(t, TOOLING))
                 for name, targets in graph.items() if not _in(name, TOOLING)}
    assert {k: v for k, v in offending.items() if v} == {}


def test_the_protocol_layer_knows_no_domain(graph: dict[str, set[str]]) -> None:
    domain_or_up = ("namespaces", "server.lobby", "server.chat", "server.cluster", "schemas")
    offending = {name: sorted(t for t in targets if _in(t, domain_or_up))
                 for name, targets in graph.items() if _in(name, ("server.wire",))}
    assert {k: v for k, v in offending.items() if v} == {}
